/* pcm.sweep: rule "conformance sweep" of app/program/README.md, the job of
 * ChromiumOS alsa_conformance_test. Per PCM stream: what it offers, HW_REFINE
 * by HW_REFINE; then every configuration of the plan opened, configured, run
 * for `for` ns while hw_ptr is fitted against time, stopped and closed. The
 * plan and the fit are app/program/sweep.ts's, line for line; the simulator
 * runs the same calls (app/targets/sim/sweep.ts). Each configuration is one
 * `conformance` event (R_JSON); pass or fail is the host's analysis. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <sound/asound.h>

#include "agent.h"

static const int sweep_rates[] = { 5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 64000, 88200, 96000, 176400, 192000, 384000 };
static const int sweep_periods[] = { 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192 };
#define NRATES (int)(sizeof sweep_rates / sizeof sweep_rates[0])
#define NPERIODS (int)(sizeof sweep_periods / sizeof sweep_periods[0])
#define MAX_CHANNELS 32
#define DEFAULT_PERIOD_MAX 1024
#define MIN_PERIODS_RUN 8
#define PERIODS_PER_BUFFER 4
#define MAX_POINTS 4096
#define MAX_PLAN 512

/* The formats the lab knows (PCM_FORMATS of app/vocabulary/ops.ts), in SNDRV_PCM_FORMAT_* order. */
static const struct {
	int v;
	const char *name;
	int bytes;
} formats[] = {
	{ SNDRV_PCM_FORMAT_S8, "S8", 1 }, { SNDRV_PCM_FORMAT_U8, "U8", 1 }, { SNDRV_PCM_FORMAT_S16_LE, "S16_LE", 2 },
	{ SNDRV_PCM_FORMAT_S16_BE, "S16_BE", 2 }, { SNDRV_PCM_FORMAT_U16_LE, "U16_LE", 2 }, { SNDRV_PCM_FORMAT_S24_LE, "S24_LE", 4 },
	{ SNDRV_PCM_FORMAT_S32_LE, "S32_LE", 4 }, { SNDRV_PCM_FORMAT_FLOAT_LE, "FLOAT_LE", 4 }, { SNDRV_PCM_FORMAT_FLOAT64_LE, "FLOAT64_LE", 8 },
	{ SNDRV_PCM_FORMAT_S24_3LE, "S24_3LE", 3 },
};
#define NFORMATS (int)(sizeof formats / sizeof formats[0])

struct offer {
	int formats[NFORMATS], nformats; /* indexes into formats[] */
	int channels[MAX_CHANNELS], nchannels;
	int rates[NRATES], nrates;
	int periods[NPERIODS], nperiods;
};

struct config {
	const char *vary;
	int fmt; /* index into formats[] */
	int channels, rate, period;
};

struct where {
	int card, device, capture;
	char card_id[40];
};

static int neg_errno(void) { return errno ? -errno : -EIO; }

static const char *err_name(int e)
{
	switch (-e) {
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EIO: return "EIO";
	case EPIPE: return "EPIPE";
	case ESTRPIPE: return "ESTRPIPE";
	case EBADFD: return "EBADFD";
	case EINTR: return "EINTR";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	case ETIMEDOUT: return "ETIMEDOUT";
	}
	return "EIO";
}

/* HW_REFINE's "anything", read/write interleaved: the lab transfers with READI/WRITEI */
static void hw_any_rw(struct snd_pcm_hw_params *p)
{
	hw_any(p);
	hw_set(p, SNDRV_PCM_HW_PARAM_ACCESS, SNDRV_PCM_ACCESS_RW_INTERLEAVED);
}

static void set_fmt(struct snd_pcm_hw_params *p, int v) { hw_set(p, SNDRV_PCM_HW_PARAM_FORMAT, (unsigned)v); }

/* the integer range an interval allows (open ends are exclusive) */
static void iv_range(struct snd_pcm_hw_params *p, int param, long *lo, long *hi)
{
	struct snd_interval *v = hw_interval(p, param);
	*lo = (long)v->min + (v->openmin ? 1 : 0);
	*hi = (long)v->max - (v->openmax ? 1 : 0);
}

static int refine(int fd, struct snd_pcm_hw_params *p) { return ioctl(fd, SNDRV_PCM_IOCTL_HW_REFINE, p) < 0 ? neg_errno() : 0; }

/* ---- what to run (app/program/sweep.ts) ---- */

static void defaults(const struct offer *o, int *fmt, int *ch, int *rate)
{
	*fmt = o->formats[0];
	for (int i = 0; i < o->nformats; i++)
		if (o->formats[i] == 2) /* S16_LE */
			*fmt = 2;
	*ch = o->channels[0];
	for (int i = 0; i < o->nchannels; i++)
		if (o->channels[i] == 2)
			*ch = 2;
	*rate = o->rates[0];
	for (int i = 0; i < o->nrates; i++)
		if (o->rates[i] == 48000)
			*rate = 48000;
}

static int period_for(int rate, int64_t for_ns, const struct offer *o)
{
	int best = 0, min = INT_MAX;
	for (int i = 0; i < o->nperiods; i++) {
		int p = o->periods[i];
		if (p < min)
			min = p;
		if (p <= DEFAULT_PERIOD_MAX && (double)p * MIN_PERIODS_RUN * 1e9 <= (double)rate * (double)for_ns && p > best)
			best = p;
	}
	return best ? best : min;
}

static int plan_add(struct config *plan, int n, const char *vary, int fmt, int ch, int rate, int period)
{
	for (int i = 0; i < n; i++)
		if (plan[i].fmt == fmt && plan[i].channels == ch && plan[i].rate == rate && plan[i].period == period)
			return n;
	if (n == MAX_PLAN)
		return n;
	plan[n] = (struct config){ vary, fmt, ch, rate, period };
	return n + 1;
}

static int make_plan(const struct offer *o, int64_t for_ns, int pairs, struct config *plan)
{
	if (!o->nformats || !o->nchannels || !o->nrates || !o->nperiods)
		return 0;
	int df, dc, dr;
	defaults(o, &df, &dc, &dr);
	int n = 0, p0 = period_for(dr, for_ns, o);
	n = plan_add(plan, n, "default", df, dc, dr, p0);
	for (int i = 0; i < o->nformats; i++)
		n = plan_add(plan, n, "format", o->formats[i], dc, dr, p0);
	for (int i = 0; i < o->nchannels; i++)
		n = plan_add(plan, n, "channels", df, o->channels[i], dr, p0);
	for (int i = 0; i < o->nrates; i++)
		n = plan_add(plan, n, "rate", df, dc, o->rates[i], period_for(o->rates[i], for_ns, o));
	for (int i = 0; i < o->nperiods; i++)
		if ((double)o->periods[i] * MIN_PERIODS_RUN * 1e9 <= (double)dr * (double)for_ns)
			n = plan_add(plan, n, "period_size", df, dc, dr, o->periods[i]);
	if (pairs)
		for (int c = 0; c < o->nchannels; c++)
			for (int f = 0; f < o->nformats; f++)
				for (int r = 0; r < o->nrates; r++)
					n = plan_add(plan, n, "pairs", o->formats[f], o->channels[c], o->rates[r], period_for(o->rates[r], for_ns, o));
	return n;
}

/* ---- the calls ---- */

static int open_stream(const struct where *w)
{
	char path[64];
	snprintf(path, sizeof path, "/dev/snd/pcmC%dD%d%c", w->card, w->device, w->capture ? 'c' : 'p');
	/* O_NONBLOCK, so a busy device answers EBUSY instead of waiting; then blocking transfers */
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return neg_errno();
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	int pv = SNDRV_PCM_VERSION;
	ioctl(fd, SNDRV_PCM_IOCTL_USER_PVERSION, &pv);
	int tt = SNDRV_PCM_TSTAMP_TYPE_MONOTONIC;
	ioctl(fd, SNDRV_PCM_IOCTL_TTSTAMP, &tt);
	return fd;
}

static int probe(int fd, struct offer *o)
{
	memset(o, 0, sizeof *o);
	struct snd_pcm_hw_params any, p;
	hw_any_rw(&any);
	int r = refine(fd, &any);
	if (r < 0)
		return r;
	for (int i = 0; i < NFORMATS; i++) {
		int v = formats[i].v;
		if ((hw_mask(&any, SNDRV_PCM_HW_PARAM_FORMAT)->bits[v >> 5] >> (v & 31)) & 1u)
			o->formats[o->nformats++] = i;
	}
	long lo, hi;
	iv_range(&any, SNDRV_PCM_HW_PARAM_CHANNELS, &lo, &hi);
	for (long ch = lo; ch <= hi && ch <= MAX_CHANNELS; ch++) {
		hw_any_rw(&p);
		hw_set(&p, SNDRV_PCM_HW_PARAM_CHANNELS, (unsigned)ch);
		if (refine(fd, &p) == 0)
			o->channels[o->nchannels++] = (int)ch;
	}
	iv_range(&any, SNDRV_PCM_HW_PARAM_RATE, &lo, &hi);
	for (int i = 0; i < NRATES; i++) {
		if (sweep_rates[i] < lo || sweep_rates[i] > hi)
			continue;
		hw_any_rw(&p);
		hw_set(&p, SNDRV_PCM_HW_PARAM_RATE, (unsigned)sweep_rates[i]);
		if (refine(fd, &p) == 0)
			o->rates[o->nrates++] = sweep_rates[i];
	}
	if (!o->nformats || !o->nchannels || !o->nrates)
		return -EINVAL;
	int df, dc, dr;
	defaults(o, &df, &dc, &dr);
	iv_range(&any, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, &lo, &hi);
	for (int i = 0; i < NPERIODS; i++) {
		if (sweep_periods[i] < lo || sweep_periods[i] > hi)
			continue;
		hw_any_rw(&p);
		set_fmt(&p, formats[df].v);
		hw_set(&p, SNDRV_PCM_HW_PARAM_CHANNELS, (unsigned)dc);
		hw_set(&p, SNDRV_PCM_HW_PARAM_RATE, (unsigned)dr);
		hw_set(&p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, (unsigned)sweep_periods[i]);
		if (refine(fd, &p) == 0)
			o->periods[o->nperiods++] = sweep_periods[i];
	}
	if (!o->nperiods) {
		/* no power of two fits: the smallest period the defaults allow */
		hw_any_rw(&p);
		set_fmt(&p, formats[df].v);
		hw_set(&p, SNDRV_PCM_HW_PARAM_CHANNELS, (unsigned)dc);
		hw_set(&p, SNDRV_PCM_HW_PARAM_RATE, (unsigned)dr);
		r = refine(fd, &p);
		if (r < 0)
			return r;
		iv_range(&p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, &lo, &hi);
		o->periods[o->nperiods++] = (int)lo;
	}
	return 0;
}

/* Least-squares fit of hw_ptr over time (fitRate in app/program/sweep.ts). */
static int fit_rate(const int64_t *t, const uint64_t *f, int n, double *rate, double *error, double *se)
{
	if (n < 3)
		return 0;
	double st = 0, sf = 0;
	for (int i = 0; i < n; i++) {
		st += (double)(t[i] - t[0]) / 1e9;
		sf += (double)(f[i] - f[0]);
	}
	double mt = st / n, mf = sf / n, sxy = 0, sxx = 0;
	for (int i = 0; i < n; i++) {
		double xx = (double)(t[i] - t[0]) / 1e9 - mt;
		sxy += xx * ((double)(f[i] - f[0]) - mf);
		sxx += xx * xx;
	}
	if (!(sxx > 0))
		return 0;
	*rate = sxy / sxx;
	double a = mf - *rate * mt, ss = 0;
	for (int i = 0; i < n; i++) {
		double e = (double)(f[i] - f[0]) - (a + *rate * ((double)(t[i] - t[0]) / 1e9));
		ss += e * e;
	}
	*error = sqrt(ss / n);
	*se = sqrt(ss / (n - 2) / sxx);
	return 1;
}

struct outcome {
	int ret;
	const char *stage;
	int granted;
	unsigned g_rate, g_channels;
	long g_period, g_buffer;
	int g_format;
	int points, wakeups, xruns;
	int fitted;
	double rate, error, se;
	int64_t jit_mean, jit_max, ran;
};

static size_t json_event(char *j, size_t cap, const struct where *w, const char *vary, const char *fmt, int ch, int rate, int period, const struct outcome *o)
{
	size_t n = 0;
#define PUT(...)                                                              \
	do {                                                                  \
		int k_ = snprintf(j + n, n < cap ? cap - n : 0, __VA_ARGS__); \
		if (k_ > 0)                                                   \
			n += (size_t)k_;                                      \
	} while (0)
	PUT("{\"kind\":\"conformance\",\"card\":%d,\"card_id\":\"%s\",\"device\":%d,\"stream\":\"%s\",\"vary\":\"%s\",\"format\":\"%s\",\"channels\":%d,\"rate\":%d,\"period_size\":%d,\"ret\":%d",
	    w->card, w->card_id, w->device, w->capture ? "capture" : "playback", vary, fmt, ch, rate, period, o->ret);
	if (o->ret < 0)
		PUT(",\"errno\":\"%s\",\"stage\":\"%s\"", err_name(o->ret), o->stage);
	if (o->granted) {
		const char *gf = "?";
		for (int i = 0; i < NFORMATS; i++)
			if (formats[i].v == o->g_format)
				gf = formats[i].name;
		PUT(",\"granted\":{\"rate\":%u,\"period_size\":%ld,\"buffer_size\":%ld,\"channels\":%u,\"format\":\"%s\"}", o->g_rate, o->g_period, o->g_buffer, o->g_channels, gf);
	}
	if (o->ran) {
		PUT(",\"points\":%d", o->points);
		if (o->fitted)
			PUT(",\"measured_rate\":%.3f,\"rate_error\":%.3f,\"rate_se\":%.3f", o->rate, o->error, o->se);
		PUT(",\"wakeups\":%d", o->wakeups);
		if (o->wakeups)
			PUT(",\"jitter_mean_ns\":%lld,\"jitter_max_ns\":%lld", (long long)o->jit_mean, (long long)o->jit_max);
		PUT(",\"xruns\":%d,\"ran_ns\":%lld", o->xruns, (long long)o->ran);
	}
	PUT("}");
#undef PUT
	return n < cap ? n : cap - 1;
}

static void emit_config(struct exec *x, const struct where *w, const char *vary, const char *fmt, int ch, int rate, int period, const struct outcome *o)
{
	char j[1024];
	size_t n = json_event(j, sizeof j, w, vary, fmt, ch, rate, period, o);
	emit_json(x->lane->ev, x->lane->index, -1, run_t(x->lane->run, now_ns()), j, n);
}

/* PREPARE, then a full buffer of silence starts playback; capture is started. */
static int begin(int fd, int capture, uint8_t *buf, long buffer, const char **stage)
{
	if (ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0) {
		*stage = "prepare";
		return neg_errno();
	}
	if (capture) {
		*stage = "start";
		return ioctl(fd, SNDRV_PCM_IOCTL_START) < 0 ? neg_errno() : 0;
	}
	*stage = "transfer";
	struct snd_xferi xi = { 0, buf, (snd_pcm_uframes_t)buffer };
	return ioctl(fd, SNDRV_PCM_IOCTL_WRITEI_FRAMES, &xi) < 0 ? neg_errno() : 0;
}

static void run_config(struct exec *x, const struct where *w, const struct config *c, int64_t for_ns, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	int fd = open_stream(w);
	if (fd < 0) {
		o->ret = fd;
		o->stage = "open";
		return;
	}
	struct snd_pcm_hw_params p;
	hw_any_rw(&p);
	set_fmt(&p, formats[c->fmt].v);
	hw_set(&p, SNDRV_PCM_HW_PARAM_CHANNELS, (unsigned)c->channels);
	hw_set(&p, SNDRV_PCM_HW_PARAM_RATE, (unsigned)c->rate);
	hw_set(&p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, (unsigned)c->period);
	struct snd_pcm_hw_params q = p;
	int r = refine(fd, &q);
	if (r < 0) {
		o->ret = r;
		o->stage = "refine";
		close(fd);
		return;
	}
	q = p;
	hw_set(&q, SNDRV_PCM_HW_PARAM_PERIODS, PERIODS_PER_BUFFER);
	if (refine(fd, &q) == 0) {
		q = p;
		hw_set(&q, SNDRV_PCM_HW_PARAM_PERIODS, PERIODS_PER_BUFFER);
	} else
		q = p;
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &q) < 0) {
		o->ret = neg_errno();
		o->stage = "hw_params";
		close(fd);
		return;
	}
	o->granted = 1;
	o->g_rate = hw_interval(&q, SNDRV_PCM_HW_PARAM_RATE)->min;
	o->g_channels = hw_interval(&q, SNDRV_PCM_HW_PARAM_CHANNELS)->min;
	o->g_period = (long)hw_interval(&q, SNDRV_PCM_HW_PARAM_PERIOD_SIZE)->min;
	o->g_buffer = (long)hw_interval(&q, SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->min;
	o->g_format = -1;
	for (int b = 0; b < 64; b++)
		if ((hw_mask(&q, SNDRV_PCM_HW_PARAM_FORMAT)->bits[b >> 5] >> (b & 31)) & 1u) {
			o->g_format = b;
			break;
		}
	long P = o->g_period, B = o->g_buffer;
	struct snd_pcm_sw_params sw;
	memset(&sw, 0, sizeof sw);
	uint64_t boundary = (uint64_t)B;
	while (boundary * 2 <= (uint64_t)LONG_MAX - (uint64_t)B)
		boundary *= 2;
	sw.tstamp_mode = SNDRV_PCM_TSTAMP_ENABLE;
	sw.period_step = 1;
	sw.avail_min = (snd_pcm_uframes_t)P;
	sw.start_threshold = w->capture ? 1 : (snd_pcm_uframes_t)B;
	sw.stop_threshold = (snd_pcm_uframes_t)B;
	sw.boundary = boundary;
	sw.proto = SNDRV_PCM_VERSION;
	sw.tstamp_type = SNDRV_PCM_TSTAMP_TYPE_MONOTONIC;
	if (ioctl(fd, SNDRV_PCM_IOCTL_SW_PARAMS, &sw) < 0) {
		o->ret = neg_errno();
		o->stage = "sw_params";
		close(fd);
		return;
	}
	int fbytes = formats[c->fmt].bytes * (int)o->g_channels;
	if (fbytes <= 0)
		fbytes = 8;
	size_t bytes = (size_t)B * (size_t)fbytes;
	uint8_t *buf = malloc(bytes);
	int64_t *pt = malloc(MAX_POINTS * sizeof *pt);
	uint64_t *pf = malloc(MAX_POINTS * sizeof *pf);
	if (!buf || !pt || !pf)
		abort();
	memset(buf, formats[c->fmt].v == SNDRV_PCM_FORMAT_U8 ? 0x80 : 0, bytes);
	const char *stage = NULL;
	r = begin(fd, w->capture, buf, B, &stage);
	if (r < 0) {
		o->ret = r;
		o->stage = stage;
		goto out;
	}
	int64_t t0 = now_ns(), last = -1;
	double period_ns = (double)P * 1e9 / (double)o->g_rate;
	double dev_sum = 0;
	int64_t dev_max = 0;
	unsigned long req = w->capture ? SNDRV_PCM_IOCTL_READI_FRAMES : SNDRV_PCM_IOCTL_WRITEI_FRAMES;
	while (now_ns() - t0 < for_ns) {
		struct snd_xferi xi = { 0, buf, (snd_pcm_uframes_t)P };
		int rc = ioctl(fd, req, &xi);
		int64_t tr = now_ns();
		if (rc < 0 && errno == EPIPE) {
			o->xruns++;
			o->points = 0;
			last = -1;
			r = begin(fd, w->capture, buf, B, &stage);
			if (r < 0) {
				o->ret = r;
				o->stage = stage;
				break;
			}
			continue;
		}
		if (rc < 0) {
			o->ret = neg_errno();
			o->stage = "transfer";
			break;
		}
		if (last >= 0) {
			double d = fabs((double)(tr - last) - period_ns);
			dev_sum += d;
			if ((int64_t)d > dev_max)
				dev_max = (int64_t)d;
			o->wakeups++;
		}
		last = tr;
		struct snd_pcm_status st;
		memset(&st, 0, sizeof st);
		if (ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st) == 0 && st.state == SNDRV_PCM_STATE_RUNNING && o->points < MAX_POINTS) {
			int64_t ts = (int64_t)st.tstamp.tv_sec * 1000000000LL + st.tstamp.tv_nsec;
			pt[o->points] = ts ? ts : mono_ns();
			pf[o->points] = st.hw_ptr;
			o->points++;
		}
		if (lane_stopping(x->lane)) {
			o->ret = -EINTR;
			o->stage = "transfer";
			break;
		}
	}
	o->ran = now_ns() - t0;
	if (o->ran <= 0)
		o->ran = 1;
	ioctl(fd, SNDRV_PCM_IOCTL_DROP);
	o->fitted = fit_rate(pt, pf, o->points, &o->rate, &o->error, &o->se);
	if (o->wakeups) {
		o->jit_mean = (int64_t)llround(dev_sum / o->wakeups);
		o->jit_max = dev_max;
	}
out:
	free(buf);
	free(pt);
	free(pf);
	close(fd);
}

static void card_id_of(int card, char *id, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/asound/card%d/id", card);
	id[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(id, (int)cap, f))
		id[strcspn(id, "\n")] = 0;
	fclose(f);
	/* ids are [A-Za-z0-9_]; anything else would break the JSON */
	for (char *p = id; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '_';
}

static int exists(int card, int dev, int capture)
{
	char path[64];
	snprintf(path, sizeof path, "/dev/snd/pcmC%dD%d%c", card, dev, capture ? 'c' : 'p');
	return access(path, F_OK) == 0;
}

int64_t op_sweep(struct exec *x)
{
	const struct resolved *r = &x->r;
	int cards[MAX_CARDS], ncards = 0;
	if (has(r, A_CARD) && r->type[A_CARD] != V_STR && r->i[A_CARD] == -1) {
		for (int c = 0; c < MAX_CARDS; c++) {
			char path[48];
			snprintf(path, sizeof path, "/proc/asound/card%d", c);
			if (access(path, F_OK) == 0)
				cards[ncards++] = c;
		}
	} else {
		int c = card_resolve(r, A_CARD, 0);
		if (c < 0)
			return c; /* rule "cards": an id that names no card */
		char path[48];
		snprintf(path, sizeof path, "/proc/asound/card%d", c);
		if (access(path, F_OK) != 0)
			return -ENOENT;
		cards[ncards++] = c;
	}
	int want_dev = (int)arg_int(r, A_DEVICE, -1);
	int stream = (int)arg_int(r, A_STREAM, 2); /* 0 playback, 1 capture, 2 both */
	int64_t for_ns = arg_int(r, A_FOR, 200000000LL);
	int pairs = (int)arg_int(r, A_PAIRS, 0);
	struct config *plan = malloc(MAX_PLAN * sizeof *plan);
	if (!plan)
		abort();
	int64_t configs = 0;
	int matched = 0, stopped = 0;
	for (int ci = 0; ci < ncards && !stopped; ci++)
		for (int dev = 0; dev < 32 && !stopped; dev++) {
			if (want_dev >= 0 && dev != want_dev)
				continue;
			if (!exists(cards[ci], dev, 0) && !exists(cards[ci], dev, 1))
				continue;
			matched = 1;
			for (int cap = 0; cap < 2 && !stopped; cap++) {
				if ((stream == 0 && cap) || (stream == 1 && !cap) || !exists(cards[ci], dev, cap))
					continue;
				if (lane_stopping(x->lane)) {
					stopped = 1;
					break;
				}
				lane_progress(x->lane);
				struct where w = { cards[ci], dev, cap, "" };
				card_id_of(w.card, w.card_id, sizeof w.card_id);
				struct outcome o;
				memset(&o, 0, sizeof o);
				int fd = open_stream(&w);
				if (fd < 0) {
					o.ret = fd;
					o.stage = "open";
					emit_config(x, &w, "default", "S16_LE", 0, 0, 0, &o);
					continue;
				}
				struct offer off;
				int pr = probe(fd, &off);
				close(fd);
				if (pr < 0) {
					o.ret = pr;
					o.stage = "refine";
					emit_config(x, &w, "default", "S16_LE", 0, 0, 0, &o);
					continue;
				}
				int n = make_plan(&off, for_ns, pairs, plan);
				for (int i = 0; i < n; i++) {
					if (lane_stopping(x->lane)) {
						stopped = 1;
						break;
					}
					lane_progress(x->lane);
					run_config(x, &w, &plan[i], for_ns, &o);
					configs++;
					emit_config(x, &w, plan[i].vary, formats[plan[i].fmt].name, plan[i].channels, plan[i].rate, plan[i].period, &o);
					if (o.ret == -EINTR) {
						stopped = 1;
						break;
					}
				}
			}
		}
	free(plan);
	if (want_dev >= 0 && !matched)
		return -ENOENT;
	return configs;
}
