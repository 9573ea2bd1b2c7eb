/* Stream metrics: xruns, period wake-up lateness, hw_ptr rate against the
 * nominal rate, available frames, and round-trip latency by correlating a
 * known burst written to a playback stream with what a capture stream reads
 * (through snd-aloop in the virtual lab, or a cable on real hardware). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <sound/asound.h>

#include "agent.h"

#define REG_MAX 512
#define RATE_WINDOW_NS 1000000000LL
#define AVAIL_EVERY_NS 50000000LL
#define BURST 256
#define PROBE_TIMEOUT_NS 2000000000LL
#define PROBE_MIN_CORR 0.6

struct stream_metrics {
	pthread_mutex_t mu;
	uint64_t xruns, xruns_sent;
	/* the stream was seen in XRUN and has not been prepared, dropped or reopened since */
	int in_xrun;
	int64_t last_xrun_t;
	int xrun_lane;
	int n;
	int64_t t[REG_MAX];
	uint64_t hw[REG_MAX];
	_Atomic int64_t last_avail_t;
	_Atomic int64_t last_delay_t;
	float tail[BURST];
	int ntail;
};

/* one probe in flight per run: the burst is unmistakable only when alone */
static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int probe_state; /* 0 idle, 1 written (awaiting t_sent), 2 in flight */
static const struct handle *probe_handle;
static int64_t probe_t_sent;
static float burst[BURST];
static double burst_energy;

static void burst_init(void)
{
	if (burst_energy > 0)
		return;
	/* maximal-length LFSR sequence: flat spectrum, one sharp correlation peak */
	uint32_t lfsr = 0x1u;
	for (int i = 0; i < BURST; i++) {
		uint32_t bit = ((lfsr >> 0) ^ (lfsr >> 2) ^ (lfsr >> 3) ^ (lfsr >> 5)) & 1u;
		lfsr = (lfsr >> 1) | (bit << 15);
		burst[i] = (lfsr & 1u) ? 0.5f : -0.5f;
		burst_energy += (double)burst[i] * burst[i];
	}
}

struct stream_metrics *metrics_new(void)
{
	struct stream_metrics *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void metrics_free(struct stream_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void metrics_reset(struct handle *h)
{
	struct stream_metrics *m = h->m;
	pthread_mutex_lock(&m->mu);
	m->n = 0;
	m->ntail = 0;
	m->in_xrun = 0;
	pthread_mutex_unlock(&m->mu);
}

static int metrics_off(const struct exec *x) { return (x->lane->run->prog->flags & RUNF_NO_METRICS) != 0; }

/* Least-squares slope of hw_ptr over time, the way alsa_conformance_test measures rate. */
static void rate_sample(struct exec *x, struct handle *h, int64_t t, uint64_t hw)
{
	struct stream_metrics *m = h->m;
	double rate = 0;
	pthread_mutex_lock(&m->mu);
	if (m->n && hw < m->hw[m->n - 1])
		m->n = 0; /* pointer went back: restarted */
	if (m->n < REG_MAX) {
		m->t[m->n] = t;
		m->hw[m->n] = hw;
		m->n++;
	}
	if (m->n >= 8 && t - m->t[0] >= RATE_WINDOW_NS) {
		double mt = 0, mh = 0;
		for (int i = 0; i < m->n; i++) {
			mt += (double)(m->t[i] - m->t[0]);
			mh += (double)(m->hw[i] - m->hw[0]);
		}
		mt /= m->n;
		mh /= m->n;
		double sxy = 0, sxx = 0;
		for (int i = 0; i < m->n; i++) {
			double dt = (double)(m->t[i] - m->t[0]) - mt, dh = (double)(m->hw[i] - m->hw[0]) - mh;
			sxy += dt * dh;
			sxx += dt * dt;
		}
		if (sxx > 0)
			rate = sxy / sxx * 1e9;
		m->t[0] = m->t[m->n - 1];
		m->hw[0] = m->hw[m->n - 1];
		m->n = 1;
	}
	pthread_mutex_unlock(&m->mu);
	if (rate > 0)
		emit_metric(x->lane->ev, M_HW_PTR_RATE, x->lane->index, h->index, run_t(x->lane->run, t), rate);
}

/* An xrun is a stream's entry into XRUN, counted once: a stream left in XRUN answers
 * EPIPE to every transfer and XRUN to every STATUS until something prepares (or drops,
 * or reopens) it, and those answers are failed operations, not more xruns (the
 * simulated kernel counts runtime->xruns the same way). The count is cumulative and
 * sent at most every XRUN_EVERY_NS per stream, and once more at the end. */
#define XRUN_EVERY_NS 50000000LL

void metrics_xrun(struct exec *x, struct handle *h, int64_t t)
{
	struct stream_metrics *m = h->m;
	pthread_mutex_lock(&m->mu);
	if (m->in_xrun) {
		pthread_mutex_unlock(&m->mu);
		return;
	}
	m->in_xrun = 1;
	uint64_t n = ++m->xruns;
	m->n = 0;
	int due = n == 1 || t - m->last_xrun_t >= XRUN_EVERY_NS;
	if (due) {
		m->last_xrun_t = t;
		m->xruns_sent = n;
	}
	m->xrun_lane = x->lane->index;
	pthread_mutex_unlock(&m->mu);
	if (due)
		emit_metric(x->lane->ev, M_XRUNS, x->lane->index, h->index, run_t(x->lane->run, t), (double)n);
}

void metrics_status(struct exec *x, struct handle *h, int64_t t, int state, uint64_t hw_ptr, long avail)
{
	/* on every STATUS: nothing here may lock or read the clock unless there is work */
	if (state == SNDRV_PCM_STATE_RUNNING)
		rate_sample(x, h, t ? t : (t = now_ns()), hw_ptr);
	if (avail < 0)
		return;
	if (!t)
		t = now_ns();
	struct stream_metrics *m = h->m;
	int64_t last = atomic_load_explicit(&m->last_avail_t, memory_order_relaxed);
	if (t - last < AVAIL_EVERY_NS || !atomic_compare_exchange_strong(&m->last_avail_t, &last, t))
		return;
	emit_metric(x->lane->ev, M_AVAIL, x->lane->index, h->index, run_t(x->lane->run, t), (double)avail);
}

/* Stream latency (metric `delay`): the frames between the application and the
 * converter, as STATUS reports them (playback frames queued, capture frames
 * captured and not read), in ns at the granted rate; only of a stream that
 * runs, as the simulator samples it (app/targets/sim/ops.ts). */
void metrics_delay(struct exec *x, struct handle *h, int state, long delay)
{
	if (state != SNDRV_PCM_STATE_RUNNING && state != SNDRV_PCM_STATE_DRAINING)
		return;
	int rate = atomic_load(&h->pcm.rate);
	if (rate <= 0 || delay < 0)
		return;
	emit_metric(x->lane->ev, M_DELAY, x->lane->index, h->index, run_t(x->lane->run, now_ns()), (double)((int64_t)delay * 1000000000LL / rate));
}

#define DELAY_EVERY_NS 50000000LL

void metrics_delay_after_xfer(struct exec *x, struct handle *h, int fd)
{
	if (metrics_off(x))
		return;
	struct stream_metrics *m = h->m;
	int64_t t = now_ns();
	int64_t last = atomic_load_explicit(&m->last_delay_t, memory_order_relaxed);
	if (t - last < DELAY_EVERY_NS || !atomic_compare_exchange_strong(&m->last_delay_t, &last, t))
		return;
	struct snd_pcm_status st;
	memset(&st, 0, sizeof st);
	if (ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st) < 0)
		return;
	metrics_delay(x, h, st.state, (long)st.delay);
}

/* Period wake-up lateness, like cyclictest but for audio periods: after a
 * transfer that had to sleep, the last period boundary the pointer crossed is
 * dated from the pointer position and the rate; lateness is how long after
 * that boundary the lane got its result back. */
void metrics_after_xfer(struct exec *x, struct handle *h, int64_t t_call, int64_t t_ret, long frames, long ret, int capture)
{
	(void)frames;
	(void)capture;
	if (probe_state == 1) {
		pthread_mutex_lock(&probe_mu);
		if (probe_state == 1 && probe_handle == h) {
			probe_t_sent = t_ret;
			probe_state = ret > 0 ? 2 : 0;
		}
		pthread_mutex_unlock(&probe_mu);
	}
	if (metrics_off(x) || ret <= 0)
		return;
	int rate = atomic_load(&h->pcm.rate);
	long P = atomic_load(&h->pcm.period_size);
	if (rate <= 0 || P <= 0)
		return;
	int64_t period_ns = (int64_t)P * 1000000000LL / rate;
	if (t_ret - t_call < period_ns / 5)
		return; /* did not wait for a period: nothing to measure */
	int fd = atomic_load(&h->fd);
	if (fd < 0)
		return;
	struct snd_pcm_status st;
	memset(&st, 0, sizeof st);
	if (ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st) < 0)
		return;
	int64_t ts = now_ns();
	if (st.state != SNDRV_PCM_STATE_RUNNING)
		return;
	uint64_t hw = st.hw_ptr;
	int64_t since_boundary = (int64_t)((hw % (uint64_t)P) * 1000000000ULL / (uint64_t)rate);
	int64_t t_boundary = ts - since_boundary;
	if (t_boundary < t_call || t_boundary > t_ret)
		return; /* the boundary we woke for is not the last one the pointer shows */
	emit_metric(x->lane->ev, M_WAKEUP_LATE, x->lane->index, h->index, run_t(x->lane->run, t_ret), (double)(t_ret - t_boundary));
	rate_sample(x, h, ts, hw);
}

/* ---- sample formats ---- */

static void put_sample(uint8_t *p, int fmt, double v)
{
	if (v > 1)
		v = 1;
	if (v < -1)
		v = -1;
	switch (fmt) {
	case SNDRV_PCM_FORMAT_S8:
		*(int8_t *)p = (int8_t)(v * 127);
		break;
	case SNDRV_PCM_FORMAT_U8:
		*p = (uint8_t)(v * 127 + 128);
		break;
	case SNDRV_PCM_FORMAT_S16_LE: {
		int16_t s = (int16_t)(v * 32767);
		memcpy(p, &s, 2);
		break;
	}
	case SNDRV_PCM_FORMAT_S24_LE: {
		int32_t s = (int32_t)(v * 8388607);
		memcpy(p, &s, 4);
		break;
	}
	case SNDRV_PCM_FORMAT_S32_LE: {
		int32_t s = (int32_t)(v * 2147483647.0);
		memcpy(p, &s, 4);
		break;
	}
	case SNDRV_PCM_FORMAT_FLOAT_LE: {
		float f = (float)v;
		memcpy(p, &f, 4);
		break;
	}
	default:
		break;
	}
}

static int get_sample(const uint8_t *p, int fmt, float *out)
{
	switch (fmt) {
	case SNDRV_PCM_FORMAT_S8:
		*out = (float)*(const int8_t *)p / 127.0f;
		return 1;
	case SNDRV_PCM_FORMAT_U8:
		*out = ((float)*p - 128.0f) / 127.0f;
		return 1;
	case SNDRV_PCM_FORMAT_S16_LE: {
		int16_t s;
		memcpy(&s, p, 2);
		*out = (float)s / 32767.0f;
		return 1;
	}
	case SNDRV_PCM_FORMAT_S24_LE: {
		int32_t s;
		memcpy(&s, p, 4);
		s = (int32_t)((uint32_t)s << 8) >> 8;
		*out = (float)s / 8388607.0f;
		return 1;
	}
	case SNDRV_PCM_FORMAT_S32_LE: {
		int32_t s;
		memcpy(&s, p, 4);
		*out = (float)((double)s / 2147483647.0);
		return 1;
	}
	case SNDRV_PCM_FORMAT_FLOAT_LE:
		memcpy(out, p, 4);
		return 1;
	}
	return 0;
}

enum { PAT_SILENCE = 0, PAT_SINE = 1, PAT_IMPULSE = 2 };

void metrics_fill_playback(struct exec *x, struct handle *h, uint8_t *buf, long frames, int pattern)
{
	int fmt = atomic_load(&h->pcm.format);
	int ch = atomic_load(&h->pcm.channels);
	int bps = pcm_format_bits(fmt) / 8;
	if (ch <= 0 || bps <= 0) {
		memset(buf, 0, (size_t)frames * 8);
		return;
	}
	size_t fbytes = (size_t)bps * (size_t)ch;
	if (pattern == PAT_SILENCE) {
		if (fmt == SNDRV_PCM_FORMAT_U8)
			memset(buf, 0x80, (size_t)frames * fbytes);
		else
			memset(buf, 0, (size_t)frames * fbytes);
		return;
	}
	if (pattern == PAT_SINE) {
		int rate = atomic_load(&h->pcm.rate);
		double step = 2 * M_PI * 440.0 / (rate > 0 ? rate : 48000);
		double ph = x->lane->phase;
		for (long f = 0; f < frames; f++) {
			double v = 0.25 * sin(ph);
			ph += step;
			for (int c = 0; c < ch; c++)
				put_sample(buf + (size_t)f * fbytes + (size_t)c * (size_t)bps, fmt, v);
		}
		x->lane->phase = fmod(ph, 2 * M_PI);
		return;
	}
	/* impulse: the latency burst, at most one in flight */
	burst_init();
	int send = 0;
	pthread_mutex_lock(&probe_mu);
	int64_t now = now_ns();
	if (probe_state == 0 || (probe_state == 2 && now - probe_t_sent > PROBE_TIMEOUT_NS)) {
		probe_state = 1;
		probe_handle = h;
		send = 1;
	}
	pthread_mutex_unlock(&probe_mu);
	float silent = 0;
	for (long f = 0; f < frames; f++) {
		float v = send && f < BURST ? burst[f] : silent;
		for (int c = 0; c < ch; c++)
			put_sample(buf + (size_t)f * fbytes + (size_t)c * (size_t)bps, fmt, v);
	}
}

void metrics_scan_capture(struct exec *x, struct handle *h, const uint8_t *buf, long frames, int64_t t_ret)
{
	if (probe_state != 2 || frames <= 0)
		return;
	int fmt = atomic_load(&h->pcm.format);
	int ch = atomic_load(&h->pcm.channels);
	int bps = pcm_format_bits(fmt) / 8;
	int rate = atomic_load(&h->pcm.rate);
	float tmp;
	if (ch <= 0 || bps <= 0 || rate <= 0 || !get_sample(buf, fmt, &tmp))
		return;
	struct stream_metrics *m = h->m;
	size_t fbytes = (size_t)bps * (size_t)ch;
	size_t total = (size_t)m->ntail + (size_t)frames;
	float *s = malloc(total * sizeof(float));
	if (!s)
		return;
	pthread_mutex_lock(&m->mu);
	memcpy(s, m->tail, (size_t)m->ntail * sizeof(float));
	size_t ntail = (size_t)m->ntail;
	pthread_mutex_unlock(&m->mu);
	for (long f = 0; f < frames; f++)
		get_sample(buf + (size_t)f * fbytes, fmt, &s[ntail + (size_t)f]); /* channel 0 */
	double best = 0;
	size_t at = 0;
	if (total >= BURST) {
		/* running energy of the window under the burst */
		double e = 0;
		for (int i = 0; i < BURST; i++)
			e += (double)s[i] * s[i];
		for (size_t o = 0; o + BURST <= total; o++) {
			if (o) {
				e += (double)s[o + BURST - 1] * s[o + BURST - 1] - (double)s[o - 1] * s[o - 1];
			}
			if (e < burst_energy * 0.01)
				continue;
			double dot = 0;
			for (int i = 0; i < BURST; i++)
				dot += (double)s[o + (size_t)i] * burst[i];
			double c = dot / sqrt(e * burst_energy);
			if (c > best) {
				best = c;
				at = o;
			}
		}
	}
	/* keep the last BURST-1 frames: a burst may straddle two reads */
	size_t keep = total < BURST - 1 ? total : BURST - 1;
	pthread_mutex_lock(&m->mu);
	memcpy(m->tail, s + total - keep, keep * sizeof(float));
	m->ntail = (int)keep;
	pthread_mutex_unlock(&m->mu);
	free(s);
	if (best < PROBE_MIN_CORR)
		return;
	pthread_mutex_lock(&probe_mu);
	int64_t sent = probe_t_sent;
	int ok = probe_state == 2;
	probe_state = 0;
	pthread_mutex_unlock(&probe_mu);
	if (!ok)
		return;
	/* Application to application: from the return of the write that handed the burst to
	 * the kernel to the return of the read that gave it back. Estimating when the burst
	 * entered the capture buffer from the frame count would assume the stream delivers
	 * frames evenly at its nominal rate, which a loopback's timer (or an emulated device)
	 * does not; the read's return is measured, so the figure is never below the truth by
	 * more than nothing and above it by at most one read. */
	(void)at;
	int64_t t = run_t(x->lane->run, t_ret);
	emit_metric(x->lane->ev, M_LATENCY, x->lane->index, h->index, t, (double)(t_ret - sent));
	emit_metric(x->lane->ev, M_LATENCY_CONFIDENCE, x->lane->index, h->index, t, best);
}

void metrics_run_end(struct run *r)
{
	int64_t t = now_ns();
	for (int i = 0; i < r->prog->nhandles; i++) {
		struct stream_metrics *m = r->handles[i].m;
		pthread_mutex_lock(&m->mu);
		uint64_t n = m->xruns, sent = m->xruns_sent;
		int lane = m->xrun_lane;
		m->xruns_sent = n;
		pthread_mutex_unlock(&m->mu);
		if (n != sent)
			emit_metric(g_ctl_ev, M_XRUNS, lane, i, run_t(r, t), (double)n);
	}
	pthread_mutex_lock(&probe_mu);
	probe_state = 0;
	probe_handle = NULL;
	pthread_mutex_unlock(&probe_mu);
}
