/* PCM ops: raw ioctls on /dev/snd/pcmC%dD%d[pc]. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>

#include "agent.h"

int pcm_format_bits(int fmt)
{
	switch (fmt) {
	case SNDRV_PCM_FORMAT_S8:
	case SNDRV_PCM_FORMAT_U8:
		return 8;
	case SNDRV_PCM_FORMAT_S16_LE:
	case SNDRV_PCM_FORMAT_S16_BE:
	case SNDRV_PCM_FORMAT_U16_LE:
	case SNDRV_PCM_FORMAT_U16_BE:
		return 16;
	case SNDRV_PCM_FORMAT_S24_3LE:
	case SNDRV_PCM_FORMAT_S24_3BE:
	case SNDRV_PCM_FORMAT_U24_3LE:
		return 24;
	case SNDRV_PCM_FORMAT_S24_LE:
	case SNDRV_PCM_FORMAT_S24_BE:
	case SNDRV_PCM_FORMAT_U24_LE:
	case SNDRV_PCM_FORMAT_S32_LE:
	case SNDRV_PCM_FORMAT_S32_BE:
	case SNDRV_PCM_FORMAT_U32_LE:
	case SNDRV_PCM_FORMAT_FLOAT_LE:
	case SNDRV_PCM_FORMAT_FLOAT_BE:
		return 32;
	case SNDRV_PCM_FORMAT_FLOAT64_LE:
	case SNDRV_PCM_FORMAT_FLOAT64_BE:
		return 64;
	default:
		return 0;
	}
}

static int neg_errno(void) { return errno ? -errno : -EIO; }

static struct handle *H(struct exec *x) { return &x->lane->run->handles[x->step->handle]; }

static int hfd(struct exec *x) { return atomic_load_explicit(&H(x)->fd, memory_order_acquire); }

/* ---- hw_params construction (the helpers and rule "preferences" are rules.h) ---- */

_Static_assert((int)SWV_BOUNDARY == (int)SW_BOUNDARY && (int)SWV_PERIOD == (int)SW_PERIOD && (int)SWV_BUFFER == (int)SW_BUFFER, "the protocol's sw_params values are rules.h's");

struct hwarg {
	int key, param;
};

static const struct hwarg hwargs[] = {
	{ A_ACCESS, SNDRV_PCM_HW_PARAM_ACCESS },
	{ A_FORMAT, SNDRV_PCM_HW_PARAM_FORMAT },
	{ A_CHANNELS, SNDRV_PCM_HW_PARAM_CHANNELS },
	{ A_RATE, SNDRV_PCM_HW_PARAM_RATE },
	{ A_PERIOD_SIZE, SNDRV_PCM_HW_PARAM_PERIOD_SIZE },
	{ A_PERIODS, SNDRV_PCM_HW_PARAM_PERIODS },
	{ A_BUFFER_SIZE, SNDRV_PCM_HW_PARAM_BUFFER_SIZE },
};

/* The preference keys, in rules.h's order (format, channels, rate, period_size, periods). */
static const int pref_keys[HW_NPREFS] = { A_PREF_FORMAT, A_PREF_CHANNELS, A_PREF_RATE, A_PREF_PERIOD_SIZE, A_PREF_PERIODS };

static void apply_explicit(struct snd_pcm_hw_params *p, const struct resolved *r)
{
	for (size_t i = 0; i < sizeof hwargs / sizeof hwargs[0]; i++)
		if (has(r, hwargs[i].key))
			hw_set(p, hwargs[i].param, (unsigned)r->i[hwargs[i].key]);
}

static int apply_preferences(int fd, struct snd_pcm_hw_params *p, const struct resolved *r, int *kept)
{
	long pref[HW_NPREFS];
	for (int i = 0; i < HW_NPREFS; i++)
		pref[i] = has(r, pref_keys[i]) ? (long)r->i[pref_keys[i]] : -1;
	return hw_prefer(fd, p, pref, kept);
}

static void put_params(struct wbuf *o, struct snd_pcm_hw_params *p)
{
	wf_int(o, D_ACCESS, hw_mask_first(p, SNDRV_PCM_HW_PARAM_ACCESS));
	wf_int(o, D_FORMAT, hw_mask_first(p, SNDRV_PCM_HW_PARAM_FORMAT));
	wf_int(o, D_CHANNELS, hw_interval(p, SNDRV_PCM_HW_PARAM_CHANNELS)->min);
	wf_int(o, D_RATE, hw_interval(p, SNDRV_PCM_HW_PARAM_RATE)->min);
	wf_int(o, D_PERIOD_SIZE, hw_interval(p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE)->min);
	wf_int(o, D_PERIODS, hw_interval(p, SNDRV_PCM_HW_PARAM_PERIODS)->min);
	wf_int(o, D_BUFFER_SIZE, hw_interval(p, SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->min);
}

static void forget_params(struct handle *h)
{
	atomic_store(&h->pcm.period_size, 0);
	atomic_store(&h->pcm.buffer_size, 0);
	atomic_store(&h->pcm.rate, 0);
	atomic_store(&h->pcm.boundary, 0);
}

static void remember_params(struct handle *h, struct snd_pcm_hw_params *p)
{
	int fmt = hw_mask_first(p, SNDRV_PCM_HW_PARAM_FORMAT);
	int ch = (int)hw_interval(p, SNDRV_PCM_HW_PARAM_CHANNELS)->min;
	long bs = (long)hw_interval(p, SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->min;
	atomic_store(&h->pcm.format, fmt);
	atomic_store(&h->pcm.channels, ch);
	atomic_store(&h->pcm.rate, (int)hw_interval(p, SNDRV_PCM_HW_PARAM_RATE)->min);
	atomic_store(&h->pcm.access, hw_mask_first(p, SNDRV_PCM_HW_PARAM_ACCESS));
	atomic_store(&h->pcm.period_size, (long)hw_interval(p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE)->min);
	atomic_store(&h->pcm.buffer_size, bs);
	int fb = pcm_format_bits(fmt) / 8 * ch;
	atomic_store(&h->pcm.frame_bytes, fb);
	int cur = atomic_load(&h->pcm.max_frame_bytes);
	while (fb > cur && !atomic_compare_exchange_weak(&h->pcm.max_frame_bytes, &cur, fb))
		;
	atomic_store(&h->pcm.boundary, hw_boundary(bs));
	metrics_reset(h);
}

/* ---- ops ---- */

static int64_t do_open(struct exec *x)
{
	struct handle *h = H(x);
	const struct resolved *r = &x->r;
	/* Rule "handles": opening an open handle closes the old file first; rule
	 * "granted parameters": a (re)opened handle has none yet. */
	int old = atomic_exchange(&h->fd, -1);
	if (old >= 0)
		close(old);
	forget_params(h);
	int card = card_resolve(r, A_CARD, 0);
	if (card < 0)
		return card;
	int dev = (int)arg_int(r, A_DEVICE, 0);
	int sub = (int)arg_int(r, A_SUBDEVICE, -1);
	int capture = (int)arg_int(r, A_STREAM, 0) == 1;
	int flags = O_RDWR | O_CLOEXEC | (arg_int(r, A_NONBLOCK, 0) ? O_NONBLOCK : 0);
	char path[64];
	snprintf(path, sizeof path, "/dev/snd/pcmC%dD%d%c", card, dev, capture ? 'c' : 'p');
	/* The preferred subdevice is looked up by the opening thread's pid on a control
	 * file that thread opened, so it takes a private control fd. */
	int cfd = -1;
	if (sub >= 0) {
		cfd = ctl_open(card, O_RDWR);
		if (cfd < 0)
			return neg_errno();
		if (ioctl(cfd, SNDRV_CTL_IOCTL_PCM_PREFER_SUBDEVICE, &sub) < 0) {
			int e = neg_errno();
			close(cfd);
			return e;
		}
	}
	x->t_begin = now_ns();
	int fd = open(path, flags);
	int e = fd < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (cfd >= 0)
		close(cfd);
	if (fd < 0)
		return e;
	struct snd_pcm_info info;
	memset(&info, 0, sizeof info);
	if (ioctl(fd, SNDRV_PCM_IOCTL_INFO, &info) == 0) {
		card = info.card;
		dev = (int)info.device;
		sub = (int)info.subdevice;
	}
	int pv = SNDRV_PCM_VERSION;
	ioctl(fd, SNDRV_PCM_IOCTL_USER_PVERSION, &pv); /* older kernels lack it; harmless */
	int tt = SNDRV_PCM_TSTAMP_TYPE_MONOTONIC;
	ioctl(fd, SNDRV_PCM_IOCTL_TTSTAMP, &tt);
	atomic_store(&h->pcm.card, card);
	atomic_store(&h->pcm.device, dev);
	atomic_store(&h->pcm.subdevice, sub);
	atomic_store(&h->pcm.stream, capture);
	old = atomic_exchange(&h->fd, fd);
	if (old >= 0)
		close(old); /* another lane reopened it meanwhile: a tight open loop must not leak */
	metrics_reset(h);
	wf_int(x->out, D_CARD, card);
	wf_int(x->out, D_DEVICE, dev);
	wf_int(x->out, D_SUBDEVICE, sub);
	wf_int(x->out, D_STREAM, capture);
	return fd >= 0 ? 0 : fd;
}

static int64_t do_hw(struct exec *x, int refine)
{
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_pcm_hw_params p;
	hw_any(&p);
	apply_explicit(&p, &x->r);
	if (!refine) {
		int kept;
		int e = apply_preferences(fd, &p, &x->r, &kept);
		wf_int(x->out, D_PREFERRED, kept);
		if (e < 0)
			return e;
	}
	x->t_begin = now_ns();
	int rc = ioctl(fd, refine ? SNDRV_PCM_IOCTL_HW_REFINE : SNDRV_PCM_IOCTL_HW_PARAMS, &p);
	int e = rc < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (rc < 0)
		return e;
	if (refine) {
		/* format mask: SNDRV_PCM_FORMAT_* indexes below 64 */
		uint64_t fm = (uint64_t)hw_mask(&p, SNDRV_PCM_HW_PARAM_FORMAT)->bits[0] |
		              (uint64_t)hw_mask(&p, SNDRV_PCM_HW_PARAM_FORMAT)->bits[1] << 32;
		wf_int(x->out, D_FORMATS, (int64_t)fm);
		static const int ps[] = { SNDRV_PCM_HW_PARAM_CHANNELS, SNDRV_PCM_HW_PARAM_RATE, SNDRV_PCM_HW_PARAM_PERIOD_SIZE,
			                  SNDRV_PCM_HW_PARAM_PERIODS, SNDRV_PCM_HW_PARAM_BUFFER_SIZE };
		for (int i = 0; i < 5; i++) {
			struct snd_interval *v = hw_interval(&p, ps[i]);
			/* open ends mean "exclusive"; report the integer range actually allowed */
			int64_t lo = (int64_t)v->min + (v->openmin ? 1 : 0);
			int64_t hi = (int64_t)v->max - (v->openmax ? 1 : 0);
			wf_range(x->out, (uint8_t)(D_I_CHANNELS + i), lo, hi);
		}
		return 0;
	}
	remember_params(H(x), &p);
	put_params(x->out, &p);
	return 0;
}

static int64_t do_sw(struct exec *x)
{
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	const struct resolved *r = &x->r;
	long period = atomic_load(&h->pcm.period_size);
	long bufsz = atomic_load(&h->pcm.buffer_size);
	uint64_t boundary = atomic_load(&h->pcm.boundary);
	if (!boundary)
		boundary = (uint64_t)1 << 62;
	struct snd_pcm_sw_params sw;
	memset(&sw, 0, sizeof sw);
	sw.tstamp_mode = SNDRV_PCM_TSTAMP_ENABLE;
	sw.period_step = 1;
	int64_t am = rule_sw_value(arg_int(r, A_AVAIL_MIN, SWV_PERIOD), period, bufsz);
	int64_t st = rule_sw_value(arg_int(r, A_START_THRESHOLD, 1), period, bufsz);
	int64_t sp = rule_sw_value(arg_int(r, A_STOP_THRESHOLD, SWV_BUFFER), period, bufsz);
	wf_int(x->out, D_REQ_AVAIL_MIN, am);
	wf_int(x->out, D_REQ_START, st);
	wf_int(x->out, D_REQ_STOP, sp);
	sw.avail_min = am < 0 ? boundary : (snd_pcm_uframes_t)am;
	sw.start_threshold = st < 0 ? boundary : (snd_pcm_uframes_t)st;
	sw.stop_threshold = sp < 0 ? boundary : (snd_pcm_uframes_t)sp;
	sw.boundary = boundary;
	sw.proto = SNDRV_PCM_VERSION;
	sw.tstamp_type = SNDRV_PCM_TSTAMP_TYPE_MONOTONIC;
	if (ioctl(fd, SNDRV_PCM_IOCTL_SW_PARAMS, &sw) < 0)
		return neg_errno();
	atomic_store(&h->pcm.boundary, (uint64_t)sw.boundary);
	wf_int(x->out, D_AVAIL_MIN, (int64_t)sw.avail_min);
	wf_int(x->out, D_START_THRESHOLD, (int64_t)sw.start_threshold);
	wf_int(x->out, D_STOP_THRESHOLD, (int64_t)sw.stop_threshold);
	wf_int(x->out, D_BOUNDARY, (int64_t)sw.boundary);
	return 0;
}

static int64_t simple_ioctl(struct exec *x, unsigned long req, void *arg)
{
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	return ioctl(fd, req, arg) < 0 ? neg_errno() : 0;
}

#define xfer_buf lane_buf

/* Rule "transfer frames" (rules.h). */
static long xfer_frames(struct exec *x, struct handle *h)
{
	return rule_transfer_frames(has(&x->r, A_FRAMES) ? (long)x->r.i[A_FRAMES] : 0, arg_num(&x->r, A_XFER_PERIODS, 1), (long)arg_int(&x->r, A_FALLBACK, 1024),
	                            atomic_load(&h->pcm.period_size));
}

/* Rule "xrun recovery" (app/program/README.md), as alsa-lib's snd_pcm_recover():
 * EPIPE: STATUS (when the stream stopped), PREPARE, and START for capture;
 * ESTRPIPE: RESUME while it answers EAGAIN (every 1 ms, at most 1 s), else
 * PREPARE (+ START for capture). Reports a `recover` event; returns 0 when the
 * stream is ready again, else the -errno of the call that failed. */
static int recover_stream(struct exec *x, struct handle *h, int fd, int cause, int capture)
{
	int64_t stopped;
	char action[64];
	int r = rule_recover(fd, cause, capture, &stopped, action, sizeof action);
	/* a prepared stream is out of XRUN: its next xrun is a new one */
	metrics_reset(h);
	int64_t now = mono_ns();
	int64_t lost = stopped > 0 && now > stopped ? now - stopped : 0;
	char json[384];
	char err[48] = "";
	if (r < 0) {
		const char *n = rule_errno_name(-r);
		snprintf(err, sizeof err, ",\"errno\":\"%s\"", n ? n : "EIO");
	}
	int n = snprintf(json, sizeof json,
	                 "{\"kind\":\"recover\",\"iter\":%lld,\"step\":%d,\"cause\":\"%s\",\"action\":\"%s\",\"ret\":%d%s,\"lost_ns\":%lld}",
	                 (long long)x->iter, atomic_load(&x->lane->cur_step), cause == -EPIPE ? "EPIPE" : "ESTRPIPE", action, r, err, (long long)lost);
	if (n > 0 && (size_t)n < sizeof json)
		emit_json(x->lane->ev, x->lane->index, h->index, run_t(x->lane->run, now_ns()), json, (size_t)n);
	return r;
}

static int64_t do_xfer(struct exec *x, int capture)
{
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	long frames = xfer_frames(x, h);
	wf_int(x->out, D_REQUESTED, frames);
	/* Size for the largest frame this handle was ever configured with: a racing
	 * HW_PARAMS on another lane may change the kernel's frame size under us. */
	int fb = atomic_load(&h->pcm.max_frame_bytes);
	if (fb <= 0)
		fb = 8;
	int ch = atomic_load(&h->pcm.channels);
	if (ch <= 0)
		ch = 1;
	size_t bytes = (size_t)frames * (size_t)fb;
	uint8_t *buf = xfer_buf(x->lane, bytes);
	int nonint = atomic_load(&h->pcm.access) == SNDRV_PCM_ACCESS_RW_NONINTERLEAVED;
	if (!capture && !nonint)
		metrics_fill_playback(x, h, buf, frames, (int)arg_int(&x->r, A_PATTERN, 0));
	void *bufs[256];
	struct snd_xferi xi = { 0, buf, (snd_pcm_uframes_t)frames };
	struct snd_xfern xn = { 0, bufs, (snd_pcm_uframes_t)frames };
	if (nonint) {
		size_t per = (size_t)frames * (size_t)(fb / ch > 0 ? fb / ch : 1);
		buf = xfer_buf(x->lane, per * (size_t)ch);
		for (int c = 0; c < ch && c < 256; c++)
			bufs[c] = buf + per * (size_t)c;
	}
	if (!nonint) {
		/* a held or faulting tail (window.c); non-interleaved transfers keep plain buffers */
		int werr = 0;
		buf = window_buffer(x, buf, bytes, !capture, &werr);
		if (werr)
			return werr;
		xi.buf = buf;
	}
	unsigned long req = capture ? (nonint ? SNDRV_PCM_IOCTL_READN_FRAMES : SNDRV_PCM_IOCTL_READI_FRAMES)
	                            : (nonint ? SNDRV_PCM_IOCTL_WRITEN_FRAMES : SNDRV_PCM_IOCTL_WRITEI_FRAMES);
	x->t_begin = now_ns();
	int rc = ioctl(fd, req, nonint ? (void *)&xn : (void *)&xi);
	int e = rc < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (rc < 0 && e == -EPIPE)
		metrics_xrun(x, h, x->t_end);
	/* rule "xrun recovery": the transfer is tried once more on a stream made ready again */
	if (rc < 0 && (e == -EPIPE || e == -ESTRPIPE) && arg_int(&x->r, A_RECOVER, 0)) {
		wf_str(x->out, D_RECOVERED, e == -EPIPE ? "EPIPE" : "ESTRPIPE");
		if (recover_stream(x, h, fd, e, capture) == 0) {
			xi.result = 0;
			xn.result = 0;
			if (!capture && !nonint)
				metrics_fill_playback(x, h, buf, frames, (int)arg_int(&x->r, A_PATTERN, 0));
			rc = ioctl(fd, req, nonint ? (void *)&xn : (void *)&xi);
			e = rc < 0 ? neg_errno() : 0;
			x->t_end = now_ns();
			if (rc < 0 && e == -EPIPE)
				metrics_xrun(x, h, x->t_end);
		}
	}
	long got = nonint ? (long)xn.result : (long)xi.result;
	if (rc < 0)
		return e;
	if (capture && !nonint)
		metrics_scan_capture(x, h, buf, got, x->t_end);
	metrics_after_xfer(x, h, x->t_begin, x->t_end, frames, got, capture);
	if (got > 0)
		metrics_delay_after_xfer(x, h, fd);
	return got;
}

static int64_t do_status(struct exec *x)
{
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_pcm_status st; /* STATUS (not STATUS_EXT) reads nothing from it: the kernel fills all of it */
	/* timed by the caller: a clock read here would cost as much as the ioctl under emulation */
	if (ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st) < 0)
		return neg_errno();
	wf_int(x->out, D_STATE, st.state);
	wf_int(x->out, D_HW_PTR, (int64_t)st.hw_ptr);
	wf_int(x->out, D_APPL_PTR, (int64_t)st.appl_ptr);
	wf_int(x->out, D_AVAIL, (int64_t)st.avail);
	wf_int(x->out, D_DELAY, (int64_t)st.delay);
	if (st.state == SNDRV_PCM_STATE_XRUN)
		metrics_xrun(x, h, now_ns());
	if (!(x->lane->run->prog->flags & RUNF_NO_METRICS)) {
		metrics_status(x, h, 0, st.state, st.hw_ptr, (long)st.avail);
		metrics_delay(x, h, st.state, (long)st.delay);
	}
	return 0;
}

static const char *const access_names[] = { "MMAP_INTERLEAVED", "MMAP_NONINTERLEAVED", "MMAP_COMPLEX", "RW_INTERLEAVED", "RW_NONINTERLEAVED" };

static int format_from_name(const char *n)
{
	static const struct { const char *name; int v; } f[] = {
		{ "S8", SNDRV_PCM_FORMAT_S8 }, { "U8", SNDRV_PCM_FORMAT_U8 }, { "S16_LE", SNDRV_PCM_FORMAT_S16_LE },
		{ "S16_BE", SNDRV_PCM_FORMAT_S16_BE }, { "U16_LE", SNDRV_PCM_FORMAT_U16_LE }, { "U16_BE", SNDRV_PCM_FORMAT_U16_BE },
		{ "S24_LE", SNDRV_PCM_FORMAT_S24_LE }, { "S24_BE", SNDRV_PCM_FORMAT_S24_BE }, { "U24_LE", SNDRV_PCM_FORMAT_U24_LE },
		{ "S32_LE", SNDRV_PCM_FORMAT_S32_LE }, { "S32_BE", SNDRV_PCM_FORMAT_S32_BE }, { "U32_LE", SNDRV_PCM_FORMAT_U32_LE },
		{ "FLOAT_LE", SNDRV_PCM_FORMAT_FLOAT_LE }, { "FLOAT64_LE", SNDRV_PCM_FORMAT_FLOAT64_LE },
		{ "S24_3LE", SNDRV_PCM_FORMAT_S24_3LE }, { "S24_3BE", SNDRV_PCM_FORMAT_S24_3BE },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (!strcmp(n, f[i].name))
			return f[i].v;
	return -1;
}

/* /proc/asound/cardN/pcmD{p,c}/subS/hw_params: what the runtime really holds. */
static int64_t do_readback(struct exec *x)
{
	struct handle *h = H(x);
	if (hfd(x) < 0)
		return -EBADF;
	char path[128];
	snprintf(path, sizeof path, "/proc/asound/card%d/pcm%d%c/sub%d/hw_params", atomic_load(&h->pcm.card), atomic_load(&h->pcm.device),
	         atomic_load(&h->pcm.stream) ? 'c' : 'p', atomic_load(&h->pcm.subdevice));
	x->t_begin = now_ns();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		x->t_end = now_ns();
		return neg_errno();
	}
	char text[2048];
	ssize_t n = read(fd, text, sizeof text - 1);
	int e = n < 0 ? neg_errno() : 0;
	close(fd);
	x->t_end = now_ns();
	if (n < 0)
		return e;
	text[n] = 0;
	char raw[256];
	size_t rl = (size_t)n < sizeof raw - 1 ? (size_t)n : sizeof raw - 1;
	memcpy(raw, text, rl);
	raw[rl] = 0;
	if (!strncmp(text, "closed", 6) || !strncmp(text, "no setup", 8)) {
		wf_bool(x->out, D_PARAMS_NULL, 1);
		return 0;
	}
	long access = -1, format = -1, channels = -1, rate = -1, period = -1, buffer = -1;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char v[64];
		if (sscanf(line, "access: %63s", v) == 1) {
			for (int i = 0; i < 5; i++)
				if (!strcmp(v, access_names[i]))
					access = i;
		} else if (sscanf(line, "format: %63s", v) == 1)
			format = format_from_name(v);
		else if (sscanf(line, "channels: %ld", &channels) == 1) {
		} else if (sscanf(line, "rate: %ld", &rate) == 1) {
		} else if (sscanf(line, "period_size: %ld", &period) == 1) {
		} else if (sscanf(line, "buffer_size: %ld", &buffer) == 1) {
		}
	}
	if (period <= 0 || buffer < 0) {
		emit_note(x->lane->ev, 1, run_t(x->lane->run, x->t_end), "unparsable %s: \"%.200s\"", path, raw);
		return -EIO;
	}
	wf_int(x->out, D_ACCESS, access);
	wf_int(x->out, D_FORMAT, format);
	wf_int(x->out, D_CHANNELS, channels);
	wf_int(x->out, D_RATE, rate);
	wf_int(x->out, D_PERIOD_SIZE, period);
	/* the file has no periods line: the runtime's periods is buffer_size / period_size */
	wf_int(x->out, D_PERIODS, buffer / period);
	wf_int(x->out, D_BUFFER_SIZE, buffer);
	return 0;
}

static int64_t do_close(struct exec *x)
{
	struct handle *h = H(x);
	int fd = atomic_exchange(&h->fd, -1);
	if (fd < 0)
		return -EBADF;
	return close(fd) < 0 ? neg_errno() : 0;
}

int pcm_sync(int fd, int *state, uint64_t *hw_ptr, uint64_t *appl_ptr) { return pcm_sync_ptr(fd, state, hw_ptr, appl_ptr); }

int64_t op_pcm(struct exec *x)
{
	switch (x->step->op) {
	case OP_PCM_OPEN:
		return do_open(x);
	case OP_PCM_HW_REFINE:
		return do_hw(x, 1);
	case OP_PCM_HW_PARAMS:
		return do_hw(x, 0);
	case OP_PCM_SW_PARAMS:
		return do_sw(x);
	case OP_PCM_PREPARE: {
		int64_t r = simple_ioctl(x, SNDRV_PCM_IOCTL_PREPARE, NULL);
		metrics_reset(H(x));
		return r;
	}
	case OP_PCM_START:
		return simple_ioctl(x, SNDRV_PCM_IOCTL_START, NULL);
	case OP_PCM_WRITE:
		return do_xfer(x, 0);
	case OP_PCM_READ:
		return do_xfer(x, 1);
	case OP_PCM_STATUS:
		return do_status(x);
	case OP_PCM_READBACK:
		return do_readback(x);
	case OP_PCM_DROP: {
		int64_t r = simple_ioctl(x, SNDRV_PCM_IOCTL_DROP, NULL);
		metrics_reset(H(x));
		return r;
	}
	case OP_PCM_DRAIN:
		return simple_ioctl(x, SNDRV_PCM_IOCTL_DRAIN, NULL);
	case OP_PCM_PAUSE: {
		int fd = hfd(x);
		if (fd < 0)
			return -EBADF;
		long on = arg_int(&x->r, A_ON, 1) ? 1 : 0;
		/* PAUSE takes its argument by value */
		return ioctl(fd, SNDRV_PCM_IOCTL_PAUSE, on) < 0 ? neg_errno() : 0;
	}
	case OP_PCM_HW_FREE:
		return simple_ioctl(x, SNDRV_PCM_IOCTL_HW_FREE, NULL);
	case OP_PCM_CLOSE:
		return do_close(x);
	}
	return -ENOSYS;
}
