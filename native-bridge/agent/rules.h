/* The run-time rules of a resolved program (app/program/README.md), in C,
 * once. The native agent compiles this header, and `stresslab repro` copies
 * it verbatim into every C reproducer it writes, so the two make the same
 * decisions for the same program: each lane's random draws, which hardware
 * parameter preferences a device keeps, how many frames a transfer moves,
 * the sw_params values, where in a period at_period waits, and how numbered
 * sequencer events are written and recognised, how lanes meet at a barrier
 * and leave it, and which control files stay open.
 *
 * Everything here is a static inline function of plain values (no agent
 * state), so a reproducer needs nothing else from the agent. */
#ifndef STRESSLAB_RULES_H
#define STRESSLAB_RULES_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>
#include <sound/asequencer.h>

/* ---- each lane's generator ----
 * xoshiro128** seeded through splitmix32 with (seed, stream): bit for bit
 * app/sim/kernel/rng.ts. A lane's stream is its index (setup 1000, teardown
 * 1001); a step draws its range arguments in the order the program lists them. */

struct rng {
	uint32_t a, b, c, d;
};

static inline uint32_t rng_rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static inline void rng_seed(struct rng *r, uint32_t seed, uint32_t stream)
{
	uint32_t s = seed ^ (uint32_t)((stream + 1u) * 0x9e3779b9u);
	uint32_t out[4];
	for (int i = 0; i < 4; i++) {
		s += 0x9e3779b9u;
		uint32_t z = s;
		z = (z ^ (z >> 16)) * 0x85ebca6bu;
		z = (z ^ (z >> 13)) * 0xc2b2ae35u;
		out[i] = z ^ (z >> 16);
	}
	r->a = out[0];
	r->b = out[1];
	r->c = out[2];
	r->d = out[3];
	if ((r->a | r->b | r->c | r->d) == 0)
		r->a = 1;
}

static inline uint32_t rng_u32(struct rng *r)
{
	uint32_t res = rng_rotl(r->b * 5u, 7) * 9u;
	uint32_t t = r->b << 9;
	r->c ^= r->a;
	r->d ^= r->b;
	r->b ^= r->c;
	r->a ^= r->d;
	r->c ^= t;
	r->d = rng_rotl(r->d, 11);
	return res;
}

/* uniform in [0, 1) */
static inline double rng_float(struct rng *r) { return rng_u32(r) / 4294967296.0; }

/* uniform integer in [min, max] (the product is never negative: truncation is floor, and no libm) */
static inline int64_t rng_int(struct rng *r, int64_t min, int64_t max)
{
	return min + (int64_t)(rng_float(r) * (double)(max - min + 1));
}

/* ---- hardware parameters ---- */

static inline struct snd_mask *hw_mask(struct snd_pcm_hw_params *p, int param) { return &p->masks[param - SNDRV_PCM_HW_PARAM_FIRST_MASK]; }
static inline struct snd_interval *hw_interval(struct snd_pcm_hw_params *p, int param)
{
	return &p->intervals[param - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL];
}
static inline int hw_is_mask(int param) { return param >= SNDRV_PCM_HW_PARAM_FIRST_MASK && param <= SNDRV_PCM_HW_PARAM_LAST_MASK; }

/* Everything allowed: the starting point of a request (what alsa-lib's snd_pcm_hw_params_any asks). */
static inline void hw_any(struct snd_pcm_hw_params *p)
{
	memset(p, 0, sizeof *p);
	for (int m = SNDRV_PCM_HW_PARAM_FIRST_MASK; m <= SNDRV_PCM_HW_PARAM_LAST_MASK; m++)
		memset(hw_mask(p, m), 0xff, sizeof(struct snd_mask));
	for (int i = SNDRV_PCM_HW_PARAM_FIRST_INTERVAL; i <= SNDRV_PCM_HW_PARAM_LAST_INTERVAL; i++) {
		hw_interval(p, i)->min = 0;
		hw_interval(p, i)->max = UINT_MAX;
	}
	p->rmask = ~0u;
	p->info = ~0u;
}

/* Fixes one parameter to one value (a mask bit for access and format, an integer interval otherwise). */
static inline void hw_set(struct snd_pcm_hw_params *p, int param, unsigned v)
{
	if (hw_is_mask(param)) {
		struct snd_mask *m = hw_mask(p, param);
		memset(m, 0, sizeof *m);
		if (v < SNDRV_MASK_MAX)
			m->bits[v >> 5] |= 1u << (v & 31);
		return;
	}
	struct snd_interval *i = hw_interval(p, param);
	i->min = i->max = v;
	i->openmin = i->openmax = 0;
	i->integer = 1;
	i->empty = 0;
}

/* Does the (refined) space still contain v? */
static inline int hw_allows(struct snd_pcm_hw_params *p, int param, unsigned v)
{
	if (hw_is_mask(param))
		return v < SNDRV_MASK_MAX && (hw_mask(p, param)->bits[v >> 5] >> (v & 31)) & 1u;
	struct snd_interval *i = hw_interval(p, param);
	if (i->empty)
		return 0;
	if (v < i->min || (i->openmin && v == i->min))
		return 0;
	if (v > i->max || (i->openmax && v == i->max))
		return 0;
	return 1;
}

static inline int hw_mask_first(struct snd_pcm_hw_params *p, int param)
{
	for (unsigned b = 0; b < SNDRV_MASK_MAX; b++)
		if ((hw_mask(p, param)->bits[b >> 5] >> (b & 31)) & 1u)
			return (int)b;
	return -1;
}

/* Rule "preferences": format, channels, rate, period_size, periods, in this
 * order (app/program/ops.ts HW_PREFER_ORDER); bit i of `kept` is preference i. */
#define HW_NPREFS 5

/* For each preference given (pref[i] >= 0), in order: HW_REFINE the request so
 * far and keep the preference only if the refined space contains it, so a
 * preference never makes a device fail that would accept the explicit part of
 * the request. A failing HW_REFINE ends the step with its errno. */
static inline int hw_prefer(int fd, struct snd_pcm_hw_params *p, const long pref[HW_NPREFS], int *kept)
{
	static const int hw_pref_params[HW_NPREFS] = {
		SNDRV_PCM_HW_PARAM_FORMAT, SNDRV_PCM_HW_PARAM_CHANNELS, SNDRV_PCM_HW_PARAM_RATE, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, SNDRV_PCM_HW_PARAM_PERIODS,
	};
	*kept = 0;
	for (int i = 0; i < HW_NPREFS; i++) {
		if (pref[i] < 0)
			continue;
		if (ioctl(fd, SNDRV_PCM_IOCTL_HW_REFINE, p) < 0)
			return errno ? -errno : -EIO;
		if (hw_allows(p, hw_pref_params[i], (unsigned)pref[i])) {
			hw_set(p, hw_pref_params[i], (unsigned)pref[i]);
			*kept |= 1 << i;
		}
	}
	return 0;
}

/* The pointer boundary the kernel computes for a buffer size (snd_pcm_hw_params: the
 * largest buffer_size * 2^n that fits a long), for sw_params before the kernel says. */
static inline uint64_t hw_boundary(long buffer_size)
{
	uint64_t b = (uint64_t)buffer_size;
	if (b)
		while (b * 2 <= (uint64_t)LONG_MAX - (uint64_t)buffer_size)
			b *= 2;
	return b;
}

/* ---- rule "transfer frames" ----
 * `frames` as given (> 0); else periods x the granted period size rounded half
 * up, at least 1; with no period granted yet, `fallback` frames (the kernel,
 * not user space, then answers: EBADFD). */
static inline long rule_transfer_frames(long frames, double periods, long fallback, long granted_period)
{
	if (frames > 0)
		return frames;
	if (granted_period <= 0)
		return fallback;
	long f = (long)(periods * (double)granted_period + 0.5);
	return f > 0 ? f : 1;
}

/* ---- rule "sw_params" ----
 * SW_PERIOD is the granted period size (1 when none), SW_BUFFER the granted
 * buffer size (the boundary when none), SW_BOUNDARY the runtime's boundary. */
enum { SW_BOUNDARY = -1, SW_PERIOD = -2, SW_BUFFER = -3 };

static inline int64_t rule_sw_value(int64_t v, long period, long buffer)
{
	if (v == SW_PERIOD)
		return period > 0 ? period : 1;
	if (v == SW_BUFFER)
		return buffer > 0 ? buffer : SW_BOUNDARY;
	return v;
}

/* ---- rule "at_period" ----
 * The frame within a period of P frames to wait for: floor(percent / 100 x P),
 * 0..P (P is the period's end, where its interrupt fires); the DMA position to
 * wait for from `hw`, in the next period when it is already there or past it. */
static inline uint64_t rule_at_period_frame(double percent, uint64_t P) { return percent <= 0 ? 0 : (uint64_t)(percent / 100.0 * (double)P); }

static inline uint64_t rule_at_period_target(uint64_t hw, uint64_t P, uint64_t frame)
{
	uint64_t target = hw / P * P + frame;
	if (hw % P >= frame)
		target += P;
	return target;
}

/* SYNC_PTR with HWSYNC: the stream's state and pointers; 0 or -errno. */
static inline int pcm_sync_ptr(int fd, int *state, uint64_t *hw_ptr, uint64_t *appl_ptr)
{
	struct snd_pcm_sync_ptr sp;
	memset(&sp, 0, sizeof sp);
	sp.flags = SNDRV_PCM_SYNC_PTR_HWSYNC | SNDRV_PCM_SYNC_PTR_APPL | SNDRV_PCM_SYNC_PTR_AVAIL_MIN;
	if (ioctl(fd, SNDRV_PCM_IOCTL_SYNC_PTR, &sp) < 0)
		return errno ? -errno : -EIO;
	*state = sp.s.status.state;
	*hw_ptr = sp.s.status.hw_ptr;
	if (appl_ptr)
		*appl_ptr = sp.c.control.appl_ptr;
	return 0;
}

/* ---- rule "xrun recovery" ----
 * A transfer with `recover` that failed with EPIPE or ESTRPIPE makes the stream
 * ready again as alsa-lib's snd_pcm_recover() does, then is tried once more.
 * EPIPE: PREPARE, and START for capture. ESTRPIPE: RESUME, again every 1 ms
 * while it answers EAGAIN (at most 1 s); if it fails, PREPARE (+ START for
 * capture). `*stopped_ns` gets the stream's trigger_tstamp (when the xrun
 * stopped it; CLOCK_MONOTONIC once TTSTAMP asked for it), 0 when unknown;
 * `action` the calls made ("prepare", "prepare+start", "resume", "prepare
 * (resume: -38)+start"). Returns 0 when the stream is ready, else the -errno
 * of the call that failed. */
/* The names of the errnos a stream's calls answer (the lab's events name errnos, not numbers); NULL for others. */
static inline const char *rule_errno_name(int e)
{
	switch (e) {
	case EPIPE: return "EPIPE";
	case ESTRPIPE: return "ESTRPIPE";
	case EBADFD: return "EBADFD";
	case ENOSYS: return "ENOSYS";
	case EAGAIN: return "EAGAIN";
	case ENODEV: return "ENODEV";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case EIO: return "EIO";
	case EINTR: return "EINTR";
	case ENOENT: return "ENOENT";
	case ENXIO: return "ENXIO";
	case ENOMEM: return "ENOMEM";
	case ETIMEDOUT: return "ETIMEDOUT";
	}
	return NULL;
}

static inline int rule_recover(int fd, int cause, int capture, int64_t *stopped_ns, char *action, size_t cap)
{
	struct snd_pcm_status st;
	memset(&st, 0, sizeof st);
	*stopped_ns = 0;
	if (ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st) == 0)
		*stopped_ns = (int64_t)st.trigger_tstamp.tv_sec * 1000000000LL + st.trigger_tstamp.tv_nsec;
	int r, prepared = 1;
	if (cause == -EPIPE) {
		r = ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0 ? (errno ? -errno : -EIO) : 0;
		snprintf(action, cap, "prepare");
	} else {
		r = ioctl(fd, SNDRV_PCM_IOCTL_RESUME) < 0 ? (errno ? -errno : -EIO) : 0;
		for (int waited = 0; r == -EAGAIN && waited < 1000; waited++) {
			struct timespec ms = { 0, 1000000 };
			nanosleep(&ms, NULL);
			r = ioctl(fd, SNDRV_PCM_IOCTL_RESUME) < 0 ? (errno ? -errno : -EIO) : 0;
		}
		if (r == 0) {
			snprintf(action, cap, "resume");
			prepared = 0;
		} else {
			const char *why = rule_errno_name(-r);
			if (why)
				snprintf(action, cap, "prepare (resume: %s)", why);
			else
				snprintf(action, cap, "prepare (resume: %d)", r);
			r = ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0 ? (errno ? -errno : -EIO) : 0;
		}
	}
	if (r == 0 && prepared && capture) {
		r = ioctl(fd, SNDRV_PCM_IOCTL_START) < 0 ? (errno ? -errno : -EIO) : 0;
		size_t n = strlen(action);
		if (n + 7 <= cap)
			memcpy(action + n, "+start", 7);
	}
	return r;
}

/* ---- numbered sequencer events ----
 * Every event carries its stream id (lane << 8 | handle) and a number counting
 * from 0 per stream (rule "sequencer numbering"): controller param =
 * 0x5A000000 | id, value = number; note-on channel/off_velocity = id, note
 * 60, velocity 0x5A, duration = number; sysex F0 7D 'S' 'L' id:u16 number:u32
 * ... F7; all tagged 0x5A. */

#define SEQ_TAG 0x5A
#define SEQ_CTRL_MAGIC 0x5A000000u
#define SEQ_NOTE 60
#define SEQ_VELOCITY 0x5A
#define SEQ_SYSEX_MIN 12
#define SEQ_EV_SIZE ((int)sizeof(struct snd_seq_event))
/* kernel-internal flag bits in ext.len (seq_memory.h), never part of the length */
#define SEQ_EXT_FLAG_MASK 0xc0000000u

enum { SEQ_EV_NOTE = 0, SEQ_EV_CONTROLLER = 1, SEQ_EV_SYSEX = 2 };

/* Writes one numbered event at `out` (room for SEQ_EV_SIZE + size bytes); returns its length. */
static inline size_t seq_event_build(uint8_t *out, int type, int size, int port, const struct snd_seq_addr *dest, uint16_t src, uint32_t num)
{
	struct snd_seq_event ev;
	memset(&ev, 0, sizeof ev);
	ev.queue = SNDRV_SEQ_QUEUE_DIRECT;
	ev.tag = SEQ_TAG;
	ev.source.port = (unsigned char)port;
	ev.dest = *dest;
	if (type == SEQ_EV_CONTROLLER) {
		ev.type = SNDRV_SEQ_EVENT_CONTROLLER;
		ev.data.control.param = SEQ_CTRL_MAGIC | src;
		ev.data.control.value = (int)num;
	} else if (type == SEQ_EV_NOTE) {
		/* NOTEON, not NOTE: the kernel refuses direct NOTE events (they need a queue) */
		ev.type = SNDRV_SEQ_EVENT_NOTEON;
		ev.data.note.channel = (unsigned char)(src & 0xFF);
		ev.data.note.off_velocity = (unsigned char)(src >> 8);
		ev.data.note.note = SEQ_NOTE;
		ev.data.note.velocity = SEQ_VELOCITY;
		ev.data.note.duration = num;
	} else {
		ev.type = SNDRV_SEQ_EVENT_SYSEX;
		ev.flags = SNDRV_SEQ_EVENT_LENGTH_VARIABLE;
		ev.data.ext.len = (unsigned)size;
		memcpy(out, &ev, SEQ_EV_SIZE);
		uint8_t *d = out + SEQ_EV_SIZE;
		memset(d, 0, (size_t)size);
		d[0] = 0xF0;
		d[1] = 0x7D; /* non-commercial manufacturer id */
		d[2] = 'S';
		d[3] = 'L';
		d[4] = (uint8_t)src;
		d[5] = (uint8_t)(src >> 8);
		memcpy(d + 6, &num, 4);
		d[size - 1] = 0xF7;
		return (size_t)SEQ_EV_SIZE + (size_t)size;
	}
	memcpy(out, &ev, SEQ_EV_SIZE);
	return SEQ_EV_SIZE;
}

/* Walks events read from a client: calls `seen(ctx, ours, src, num)` for each one (ours: a
 * numbered event of the lab's); returns how many events the bytes held. */
static inline int seq_events_walk(const uint8_t *buf, size_t n, void (*seen)(void *ctx, int ours, uint16_t src, uint32_t num), void *ctx)
{
	int events = 0;
	size_t off = 0;
	while (off + SEQ_EV_SIZE <= n) {
		struct snd_seq_event ev;
		memcpy(&ev, buf + off, SEQ_EV_SIZE);
		off += SEQ_EV_SIZE;
		const uint8_t *var = NULL;
		size_t vlen = 0;
		if ((ev.flags & SNDRV_SEQ_EVENT_LENGTH_MASK) == SNDRV_SEQ_EVENT_LENGTH_VARIABLE) {
			/* variable-length data follows, padded to whole events */
			vlen = ev.data.ext.len & ~SEQ_EXT_FLAG_MASK;
			size_t padded = (vlen + SEQ_EV_SIZE - 1) / SEQ_EV_SIZE * SEQ_EV_SIZE;
			var = buf + off;
			if (off + padded > n)
				vlen = 0;
			off += padded;
		}
		events++;
		int ours = 0;
		uint16_t src = 0;
		uint32_t num = 0;
		if (ev.tag == SEQ_TAG) {
			if (ev.type == SNDRV_SEQ_EVENT_CONTROLLER && (ev.data.control.param & 0xFFFF0000u) == SEQ_CTRL_MAGIC) {
				src = (uint16_t)(ev.data.control.param & 0xFFFF);
				num = (uint32_t)ev.data.control.value;
				ours = 1;
			} else if (ev.type == SNDRV_SEQ_EVENT_NOTEON && ev.data.note.note == SEQ_NOTE && ev.data.note.velocity == SEQ_VELOCITY) {
				src = (uint16_t)(ev.data.note.channel | ev.data.note.off_velocity << 8);
				num = ev.data.note.duration;
				ours = 1;
			} else if (ev.type == SNDRV_SEQ_EVENT_SYSEX && var && vlen >= SEQ_SYSEX_MIN && var[0] == 0xF0 && var[1] == 0x7D && var[2] == 'S' &&
			           var[3] == 'L') {
				src = (uint16_t)(var[4] | var[5] << 8);
				memcpy(&num, var + 6, 4);
				ours = 1;
			}
		}
		seen(ctx, ours, src, num);
	}
	return events;
}

/* ---- rule "control files" ----
 * One control file per card for the whole run, opened at first use. One that
 * answers ENODEV (its card went away) is closed, and the next use opens
 * afresh. A step naming a card id that names no card any more also closes
 * every cached file whose card has gone: an application whose card vanished
 * lets go of its mixer, and today's kernel frees an unplugged card only at
 * the last close of its files (snd_card_free waits in trigger_card_free), so
 * a lab that kept the file would hang the unplug it is testing. */

#define CTL_FILES_MAX 32

struct ctl_files {
	pthread_mutex_t lock;
	int fd[CTL_FILES_MAX];
};

static inline void ctl_files_init(struct ctl_files *c)
{
	pthread_mutex_init(&c->lock, NULL);
	for (int i = 0; i < CTL_FILES_MAX; i++)
		c->fd[i] = -1;
}

/* open(2) of /dev/snd/controlC<card>, close-on-exec: -1 and errno on failure. */
static inline int ctl_open(int card, int flags)
{
	char path[32];
	snprintf(path, sizeof path, "/dev/snd/controlC%d", card);
	return open(path, flags | O_CLOEXEC);
}

/* The card's control file: an fd, or -errno of the open. */
static inline int ctl_files_get(struct ctl_files *c, int card)
{
	if (card < 0 || card >= CTL_FILES_MAX)
		return -ENODEV;
	pthread_mutex_lock(&c->lock);
	int fd = c->fd[card];
	if (fd < 0) {
		fd = ctl_open(card, O_RDWR);
		if (fd < 0)
			fd = errno ? -errno : -EIO;
		else
			c->fd[card] = fd;
	}
	pthread_mutex_unlock(&c->lock);
	return fd;
}

/* A call on `fd` answered ENODEV: its card went away. */
static inline void ctl_files_forget(struct ctl_files *c, int card, int fd)
{
	pthread_mutex_lock(&c->lock);
	if (card >= 0 && card < CTL_FILES_MAX && c->fd[card] == fd) {
		close(fd);
		c->fd[card] = -1;
	}
	pthread_mutex_unlock(&c->lock);
}

/* A card id named no card: close the files of every card that has gone
 * (CARD_INFO answers ENODEV on a disconnected card's file). */
static inline void ctl_files_forget_gone(struct ctl_files *c)
{
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CTL_FILES_MAX; i++) {
		struct snd_ctl_card_info info;
		if (c->fd[i] >= 0 && ioctl(c->fd[i], SNDRV_CTL_IOCTL_CARD_INFO, &info) < 0 && errno == ENODEV) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static inline void ctl_files_close_all(struct ctl_files *c)
{
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CTL_FILES_MAX; i++)
		if (c->fd[i] >= 0) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}
	pthread_mutex_unlock(&c->lock);
}

/* An element by name and index, on the mixer, PCM or card interface (in this
 * order, as a name alone does not say which): 0, or -errno of the last look. */
static inline int ctl_find_elem(int fd, const char *name, size_t len, unsigned index, struct snd_ctl_elem_info *info)
{
	static const int ifaces[] = { SNDRV_CTL_ELEM_IFACE_MIXER, SNDRV_CTL_ELEM_IFACE_PCM, SNDRV_CTL_ELEM_IFACE_CARD };
	int last = -ENOENT;
	for (size_t i = 0; i < sizeof ifaces / sizeof ifaces[0]; i++) {
		memset(info, 0, sizeof *info);
		info->id.iface = ifaces[i];
		size_t n = len < sizeof info->id.name - 1 ? len : sizeof info->id.name - 1;
		memcpy(info->id.name, name, n);
		info->id.index = index;
		if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, info) == 0)
			return 0;
		last = errno ? -errno : -EIO;
		if (last != -ENOENT)
			return last;
	}
	return last;
}

/* ---- rule "barriers" ----
 * Release in two stages, in the spirit of LTP's fuzzy sync: the last lane to
 * arrive sets a common release instant slightly in the future and wakes the
 * others; every lane then busy-waits for that instant, so lanes leave within
 * a few hundred nanoseconds of each other instead of in futex wake-up order.
 * Once the barrier has seen the durations of the operations the lanes issue
 * right after it, each lane adds a seeded random delay within the longest of
 * them (at most 2 ms: alignment is about overlapping calls, not sleeping), so
 * the relative start of the racing calls sweeps the whole window in which they
 * can overlap rather than always landing at the same offset. The clock and
 * "is the run stopping" are the caller's. */

#define BARRIER_MAX_LANES 64
#define BARRIER_LEAD_NS 20000
#define BARRIER_SPIN_NS 300000
#define BARRIER_ALIGN_AFTER_SAMPLES 8
#define BARRIER_ALIGN_MAX_NS 2000000

struct lab_barrier {
	int parties;
	_Atomic uint32_t gen;
	_Atomic int arrived;
	_Atomic int64_t release_at;
	_Atomic int64_t post_ema[BARRIER_MAX_LANES]; /* ns, EMA of the op each lane issues after the barrier */
	_Atomic int samples;
};

struct barrier_env {
	int64_t (*now_ns)(void);
	int (*stopping)(const void *lane);
	const void *lane;
};

static inline long barrier_futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

static inline void barrier_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Feeds the alignment with the duration of the op lane `index` ran right after the barrier. */
static inline void barrier_note(struct lab_barrier *b, int index, int64_t dur)
{
	if (!b || index < 0 || index >= BARRIER_MAX_LANES)
		return;
	int64_t old = atomic_load_explicit(&b->post_ema[index], memory_order_relaxed);
	atomic_store_explicit(&b->post_ema[index], old ? old + (dur - old) / 8 : dur, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->samples, 1, memory_order_relaxed);
}

/* Arrives and waits for the release: 0, or -EINTR when the run stops. `*gen`
 * is the generation met. A lane's barrier step uses it, and so does a held
 * buffer's fault handler, on that lane's behalf. */
static inline int barrier_arrive(struct lab_barrier *b, const struct barrier_env *e, uint32_t *gen)
{
	uint32_t g = atomic_load(&b->gen);
	*gen = g;
	int n = atomic_fetch_add(&b->arrived, 1) + 1;
	if (n >= b->parties) {
		atomic_store(&b->arrived, 0);
		atomic_store(&b->release_at, e->now_ns() + BARRIER_LEAD_NS);
		atomic_store(&b->gen, g + 1);
		barrier_futex(&b->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
		return 0;
	}
	/* Spin first (the others are usually microseconds away), yielding so that a
	 * lane still on its way is not kept off a CPU by the lanes waiting for it
	 * (more lanes than CPUs is common); sleep in the kernel only after that. */
	int64_t spin_until = e->now_ns() + BARRIER_SPIN_NS;
	int spins = 0;
	while (atomic_load(&b->gen) == g) {
		if (e->stopping(e->lane))
			return -EINTR;
		if (++spins & 63) {
			barrier_cpu_relax();
			continue;
		}
		if (e->now_ns() < spin_until) {
			sched_yield();
			continue;
		}
		struct timespec ts = { 0, 5000000 };
		barrier_futex(&b->gen, FUTEX_WAIT_PRIVATE, g, &ts);
	}
	return e->stopping(e->lane) ? -EINTR : 0;
}

/* After a release: busy-waits until the common instant plus this lane's
 * seeded offset within the racing window. */
static inline void barrier_leave(struct lab_barrier *b, const struct barrier_env *e, struct rng *align)
{
	int64_t at = atomic_load(&b->release_at);
	if (atomic_load_explicit(&b->samples, memory_order_relaxed) >= BARRIER_ALIGN_AFTER_SAMPLES * b->parties) {
		int64_t window = 0;
		for (int i = 0; i < BARRIER_MAX_LANES; i++) {
			int64_t v = atomic_load_explicit(&b->post_ema[i], memory_order_relaxed);
			if (v > window)
				window = v;
		}
		if (window > BARRIER_ALIGN_MAX_NS)
			window = BARRIER_ALIGN_MAX_NS;
		at += (int64_t)(rng_float(align) * (double)window);
	}
	while (e->now_ns() < at)
		barrier_cpu_relax();
}

/* Every waiter wakes (the run stops). */
static inline void barrier_wake_all(struct lab_barrier *b)
{
	atomic_fetch_add(&b->gen, 1);
	barrier_futex(&b->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* ---- rule "held buffers": the two system facts it stands on ---- */

/* A userfaultfd for kernel-mode faults (no UFFD_USER_MODE_ONLY: the faults
 * this is for happen in copy_to_user/copy_from_user): an fd, or -errno. */
static inline int window_uffd_open(int nonblock)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0)
		return -errno;
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Is thread `tid` of this process blocked in the kernel (S or D in /proc/self/task/<tid>/stat)? */
static inline int window_task_blocked(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
}

#endif
