/* struct snd_pcm_hw_params by hand, for the ops that build one (pcm.c) and
 * the conformance sweep (sweep.c): masks and intervals by parameter, the
 * "anything" space HW_REFINE starts from, single values. */
#ifndef STRESSLAB_HWPARAMS_H
#define STRESSLAB_HWPARAMS_H

#include <limits.h>
#include <string.h>

#include <sound/asound.h>

static inline struct snd_mask *mask_of(struct snd_pcm_hw_params *p, int param) { return &p->masks[param - SNDRV_PCM_HW_PARAM_FIRST_MASK]; }
static inline struct snd_interval *iv_of(struct snd_pcm_hw_params *p, int param) { return &p->intervals[param - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL]; }

static inline void hw_any(struct snd_pcm_hw_params *p)
{
	memset(p, 0, sizeof *p);
	for (int m = SNDRV_PCM_HW_PARAM_FIRST_MASK; m <= SNDRV_PCM_HW_PARAM_LAST_MASK; m++)
		memset(mask_of(p, m), 0xff, sizeof(struct snd_mask));
	for (int i = SNDRV_PCM_HW_PARAM_FIRST_INTERVAL; i <= SNDRV_PCM_HW_PARAM_LAST_INTERVAL; i++) {
		iv_of(p, i)->min = 0;
		iv_of(p, i)->max = UINT_MAX;
	}
	p->rmask = ~0u;
	p->info = ~0u;
}

static inline void set_mask(struct snd_pcm_hw_params *p, int param, unsigned bit)
{
	struct snd_mask *m = mask_of(p, param);
	memset(m, 0, sizeof *m);
	if (bit < SNDRV_MASK_MAX)
		m->bits[bit >> 5] |= 1u << (bit & 31);
}

static inline int mask_has(struct snd_pcm_hw_params *p, int param, unsigned bit)
{
	return bit < SNDRV_MASK_MAX && (mask_of(p, param)->bits[bit >> 5] >> (bit & 31)) & 1u;
}

static inline int mask_first(struct snd_pcm_hw_params *p, int param)
{
	for (unsigned b = 0; b < SNDRV_MASK_MAX; b++)
		if (mask_has(p, param, b))
			return (int)b;
	return -1;
}

static inline void set_iv(struct snd_pcm_hw_params *p, int param, unsigned v)
{
	struct snd_interval *i = iv_of(p, param);
	i->min = i->max = v;
	i->openmin = i->openmax = 0;
	i->integer = 1;
	i->empty = 0;
}

#endif
