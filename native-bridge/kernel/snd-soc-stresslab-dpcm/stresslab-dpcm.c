// SPDX-License-Identifier: GPL-2.0
/*
 * StressDPCM: an ASoC card with a dynamic PCM (DPCM) path and no hardware,
 * for stress-testing sound/soc/soc-pcm.c in a virtual machine.
 *
 *   PCM 0 "MultiMedia1 (*)"  front end (dynamic link, CPU DAI "StressFE")
 *        |-- [Speaker Switch]   --> back end "SSP0-Codec" (no_pcm, CPU DAI "SSP0")
 *        `-- [Headphone Switch] --> back end "SSP1-Codec" (no_pcm, CPU DAI "SSP1")
 *
 * The codec side of every link is the ASoC dummy codec. The front end's
 * period interrupt is an hrtimer that calls snd_pcm_period_elapsed(), so a
 * stream left to run dry ends in an xrun inside the interrupt, where the
 * front end's trigger walks the list of back ends. The two DAPM switches
 * route the front end to the back ends: writing one runs
 * snd_soc_dpcm_runtime_update(), which connects or disconnects (and frees)
 * a back-end link. This is the path of the 2014 "dpcm_be_disconnect race"
 * report (seed 001 of Audio Stress Lab).
 *
 * The back-end ports take be_stop_delay_us to stop, the way a serial port
 * waits for its FIFO to drain: the trigger walk then stays on one back-end
 * link for that long.
 */
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <sound/pcm.h>
#include <sound/soc.h>
#include <sound/soc-dapm.h>

#define DRV_NAME "stresslab-dpcm"

static unsigned int be_stop_delay_us = 500;
module_param(be_stop_delay_us, uint, 0644);
MODULE_PARM_DESC(be_stop_delay_us, "How long a back-end port takes to stop (trigger STOP), in microseconds");

struct stress_fe {
	struct hrtimer timer;
	struct snd_pcm_substream *substream;	/* set while the front end is open */
	ktime_t base;				/* time of frame 0 of the buffer */
	ktime_t period;
	atomic_t running;
};

/* one card, one front-end substream: the card's drvdata belongs to ASoC */
static struct stress_fe stress_fe;

static const struct snd_pcm_hardware stress_fe_hw = {
	.info = SNDRV_PCM_INFO_MMAP | SNDRV_PCM_INFO_MMAP_VALID |
		SNDRV_PCM_INFO_INTERLEAVED | SNDRV_PCM_INFO_BLOCK_TRANSFER,
	.formats = SNDRV_PCM_FMTBIT_S16_LE,
	.rates = SNDRV_PCM_RATE_48000,
	.rate_min = 48000,
	.rate_max = 48000,
	.channels_min = 2,
	.channels_max = 2,
	.buffer_bytes_max = 256 * 1024,
	.period_bytes_min = 64,
	.period_bytes_max = 64 * 1024,
	.periods_min = 2,
	.periods_max = 1024,
};

static bool is_fe(struct snd_pcm_substream *substream)
{
	struct snd_soc_pcm_runtime *rtd = asoc_substream_to_rtd(substream);

	return !rtd->dai_link->no_pcm;
}

static struct stress_fe *fe_of(struct snd_soc_component *component)
{
	return &stress_fe;
}

/* the DMA engine's period interrupt */
static enum hrtimer_restart stress_fe_period(struct hrtimer *timer)
{
	struct stress_fe *fe = container_of(timer, struct stress_fe, timer);

	if (!atomic_read(&fe->running))
		return HRTIMER_NORESTART;
	/* at an xrun this stops the stream: the FE trigger walks the BE list */
	snd_pcm_period_elapsed(fe->substream);
	if (!atomic_read(&fe->running))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, fe->period);
	return HRTIMER_RESTART;
}

static int stress_pcm_construct(struct snd_soc_component *component,
				struct snd_soc_pcm_runtime *rtd)
{
	snd_pcm_set_managed_buffer_all(rtd->pcm, SNDRV_DMA_TYPE_VMALLOC, NULL, 0, 0);
	return 0;
}

static int stress_open(struct snd_soc_component *component,
		       struct snd_pcm_substream *substream)
{
	struct stress_fe *fe = fe_of(component);

	if (!is_fe(substream))
		return 0;
	fe->substream = substream;
	return snd_soc_set_runtime_hwparams(substream, &stress_fe_hw);
}

static int stress_close(struct snd_soc_component *component,
			struct snd_pcm_substream *substream)
{
	struct stress_fe *fe = fe_of(component);

	if (!is_fe(substream))
		return 0;
	atomic_set(&fe->running, 0);
	hrtimer_cancel(&fe->timer);
	fe->substream = NULL;
	return 0;
}

static int stress_prepare(struct snd_soc_component *component,
			  struct snd_pcm_substream *substream)
{
	struct snd_pcm_runtime *runtime = substream->runtime;
	struct stress_fe *fe = fe_of(component);

	if (!is_fe(substream))
		return 0;
	fe->period = ns_to_ktime(div_u64((u64)runtime->period_size * NSEC_PER_SEC, runtime->rate));
	return 0;
}

static int stress_trigger(struct snd_soc_component *component,
			  struct snd_pcm_substream *substream, int cmd)
{
	struct stress_fe *fe = fe_of(component);

	if (!is_fe(substream))
		return 0;
	switch (cmd) {
	case SNDRV_PCM_TRIGGER_START:
	case SNDRV_PCM_TRIGGER_RESUME:
	case SNDRV_PCM_TRIGGER_PAUSE_RELEASE:
		fe->base = hrtimer_cb_get_time(&fe->timer);
		atomic_set(&fe->running, 1);
		hrtimer_start(&fe->timer, fe->period, HRTIMER_MODE_REL_SOFT);
		return 0;
	case SNDRV_PCM_TRIGGER_STOP:
	case SNDRV_PCM_TRIGGER_SUSPEND:
	case SNDRV_PCM_TRIGGER_PAUSE_PUSH:
		/* atomic context (maybe the interrupt itself): .sync_stop waits */
		atomic_set(&fe->running, 0);
		hrtimer_try_to_cancel(&fe->timer);
		return 0;
	}
	return -EINVAL;
}

static int stress_sync_stop(struct snd_soc_component *component,
			    struct snd_pcm_substream *substream)
{
	if (is_fe(substream))
		hrtimer_cancel(&fe_of(component)->timer);
	return 0;
}

static snd_pcm_uframes_t stress_pointer(struct snd_soc_component *component,
					struct snd_pcm_substream *substream)
{
	struct snd_pcm_runtime *runtime = substream->runtime;
	struct stress_fe *fe = fe_of(component);
	u64 frames;

	if (!is_fe(substream))
		return 0;
	frames = div_u64((u64)ktime_to_ns(ktime_sub(hrtimer_cb_get_time(&fe->timer), fe->base)) * runtime->rate,
			 NSEC_PER_SEC);
	return do_div(frames, runtime->buffer_size);
}

/* a back-end port: stopping it waits for its FIFO to drain */
static int stress_be_trigger(struct snd_pcm_substream *substream, int cmd,
			     struct snd_soc_dai *dai)
{
	unsigned int left = READ_ONCE(be_stop_delay_us);

	switch (cmd) {
	case SNDRV_PCM_TRIGGER_STOP:
	case SNDRV_PCM_TRIGGER_SUSPEND:
	case SNDRV_PCM_TRIGGER_PAUSE_PUSH:
		dev_dbg(dai->dev, "%s: stop, draining for %u us\n", dai->name, left);
		while (left) {
			unsigned int step = min(left, 100U);

			udelay(step);
			left -= step;
		}
		dev_dbg(dai->dev, "%s: stopped\n", dai->name);
		break;
	}
	return 0;
}

static const struct snd_soc_dai_ops stress_be_dai_ops = {
	.trigger = stress_be_trigger,
};

#define STRESS_STREAM(sname) {				\
	.stream_name = sname,				\
	.channels_min = 2,				\
	.channels_max = 2,				\
	.rates = SNDRV_PCM_RATE_48000,			\
	.formats = SNDRV_PCM_FMTBIT_S16_LE,		\
}

static struct snd_soc_dai_driver stress_dais[] = {
	{ .name = "StressFE", .playback = STRESS_STREAM("FE Playback") },
	{ .name = "SSP0", .playback = STRESS_STREAM("SSP0 Playback"), .ops = &stress_be_dai_ops },
	{ .name = "SSP1", .playback = STRESS_STREAM("SSP1 Playback"), .ops = &stress_be_dai_ops },
};

static const struct snd_kcontrol_new speaker_switch = SOC_DAPM_SINGLE("Switch", SND_SOC_NOPM, 0, 1, 0);
static const struct snd_kcontrol_new headphone_switch = SOC_DAPM_SINGLE("Switch", SND_SOC_NOPM, 0, 1, 0);

static const struct snd_soc_dapm_widget stress_widgets[] = {
	SND_SOC_DAPM_SWITCH("Speaker", SND_SOC_NOPM, 0, 0, &speaker_switch),
	SND_SOC_DAPM_SWITCH("Headphone", SND_SOC_NOPM, 0, 0, &headphone_switch),
};

/* front end -> switch -> back-end DAI (the DAI widgets are named by their streams) */
static const struct snd_soc_dapm_route stress_routes[] = {
	{ "Speaker", "Switch", "FE Playback" },
	{ "SSP0 Playback", NULL, "Speaker" },
	{ "Headphone", "Switch", "FE Playback" },
	{ "SSP1 Playback", NULL, "Headphone" },
};

static const struct snd_soc_component_driver stress_component = {
	.name = DRV_NAME,
	.pcm_construct = stress_pcm_construct,
	.open = stress_open,
	.close = stress_close,
	.prepare = stress_prepare,
	.trigger = stress_trigger,
	.sync_stop = stress_sync_stop,
	.pointer = stress_pointer,
	.dapm_widgets = stress_widgets,
	.num_dapm_widgets = ARRAY_SIZE(stress_widgets),
	.dapm_routes = stress_routes,
	.num_dapm_routes = ARRAY_SIZE(stress_routes),
};

SND_SOC_DAILINK_DEF(fe_cpu, DAILINK_COMP_ARRAY(COMP_CPU("StressFE")));
SND_SOC_DAILINK_DEF(ssp0_cpu, DAILINK_COMP_ARRAY(COMP_CPU("SSP0")));
SND_SOC_DAILINK_DEF(ssp1_cpu, DAILINK_COMP_ARRAY(COMP_CPU("SSP1")));
SND_SOC_DAILINK_DEF(dummy, DAILINK_COMP_ARRAY(COMP_DUMMY()));
SND_SOC_DAILINK_DEF(platform, DAILINK_COMP_ARRAY(COMP_PLATFORM(DRV_NAME)));

static struct snd_soc_dai_link stress_links[] = {
	{
		.name = "MultiMedia1",
		.stream_name = "MultiMedia1",
		.dynamic = 1,
		.dpcm_playback = 1,
		.trigger = { SND_SOC_DPCM_TRIGGER_POST, SND_SOC_DPCM_TRIGGER_POST },
		SND_SOC_DAILINK_REG(fe_cpu, dummy, platform),
	},
	{
		.name = "SSP0-Codec",
		.no_pcm = 1,
		.dpcm_playback = 1,
		SND_SOC_DAILINK_REG(ssp0_cpu, dummy),
	},
	{
		.name = "SSP1-Codec",
		.no_pcm = 1,
		.dpcm_playback = 1,
		SND_SOC_DAILINK_REG(ssp1_cpu, dummy),
	},
};

static struct snd_soc_card stress_card = {
	.name = "StressDPCM",
	.owner = THIS_MODULE,
	.dai_link = stress_links,
	.num_links = ARRAY_SIZE(stress_links),
};

static int stress_probe(struct platform_device *pdev)
{
	int ret;

	hrtimer_init(&stress_fe.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	stress_fe.timer.function = stress_fe_period;

	ret = devm_snd_soc_register_component(&pdev->dev, &stress_component,
					      stress_dais, ARRAY_SIZE(stress_dais));
	if (ret)
		return ret;
	stress_card.dev = &pdev->dev;
	return devm_snd_soc_register_card(&pdev->dev, &stress_card);
}

static struct platform_driver stress_driver = {
	.driver = { .name = DRV_NAME },
	.probe = stress_probe,
};

static struct platform_device *stress_device;

static int __init stress_init(void)
{
	int ret = platform_driver_register(&stress_driver);

	if (ret)
		return ret;
	stress_device = platform_device_register_simple(DRV_NAME, -1, NULL, 0);
	if (IS_ERR(stress_device)) {
		platform_driver_unregister(&stress_driver);
		return PTR_ERR(stress_device);
	}
	return 0;
}

static void __exit stress_exit(void)
{
	platform_device_unregister(stress_device);
	platform_driver_unregister(&stress_driver);
}

module_init(stress_init);
module_exit(stress_exit);

MODULE_DESCRIPTION("StressDPCM: an ASoC DPCM test card with an hrtimer period interrupt and DAPM routing switches");
MODULE_AUTHOR("Audio Stress Lab");
MODULE_LICENSE("GPL");
