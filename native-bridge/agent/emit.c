/* Event batching. Each lane appends finished records to its own buffer (one
 * uncontended mutex per record); a writer thread swaps the buffers out every
 * few milliseconds and ships them as EVENTS frames, so a lane issuing
 * hundreds of thousands of ioctls per second never waits on the pipe unless
 * the host stops reading (then lanes block: events are evidence, never
 * dropped). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define FLUSH_EVERY_NS 5000000LL      /* 5 ms */
#define HEARTBEAT_EVERY_NS 200000000LL /* 200 ms */
#define LANE_BUF_CAP (16u << 20)       /* a lane blocks beyond this until the writer catches up */

struct evbuf {
	pthread_mutex_t mu;
	pthread_cond_t space;
	struct wbuf w;
	struct evbuf *next;
	int registered;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct evbuf *reg_head;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cv = PTHREAD_COND_INITIALIZER;
static uint64_t flush_req, flush_done;
static _Atomic uint64_t events_total;
static _Atomic(struct run *) cur_run;
struct evbuf *g_ctl_ev;

void frame_send(uint8_t type, const uint8_t *payload, size_t len);

static void write_all(const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* the host is gone: nobody is left to report to */
			_exit(3);
		}
		p += w;
		n -= (size_t)w;
	}
}

void frame_send(uint8_t type, const uint8_t *payload, size_t len)
{
	uint8_t h[FRAME_HDR];
	frame_header(h, type, payload, (uint32_t)len);
	pthread_mutex_lock(&out_mu);
	write_all(h, FRAME_HDR);
	if (len)
		write_all(payload, len);
	pthread_mutex_unlock(&out_mu);
}

struct evbuf *evbuf_new(void)
{
	struct evbuf *e = calloc(1, sizeof *e);
	if (!e)
		abort();
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->space, NULL);
	wb_init(&e->w, 64 * 1024);
	return e;
}

void evbuf_free(struct evbuf *e)
{
	if (!e)
		return;
	wb_free(&e->w);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->space);
	free(e);
}

void emit_register(struct evbuf *e)
{
	pthread_mutex_lock(&reg_mu);
	if (!e->registered) {
		e->next = reg_head;
		reg_head = e;
		e->registered = 1;
	}
	pthread_mutex_unlock(&reg_mu);
}

/* Called after a final flush, when no lane can append any more. */
void emit_unregister_all(void)
{
	pthread_mutex_lock(&reg_mu);
	struct evbuf *e = reg_head, *keep = NULL;
	while (e) {
		struct evbuf *n = e->next;
		if (e == g_ctl_ev) {
			e->next = NULL;
			keep = e;
		} else {
			e->registered = 0;
		}
		e = n;
	}
	reg_head = keep;
	pthread_mutex_unlock(&reg_mu);
}

void emit_set_run(struct run *r) { atomic_store(&cur_run, r); }

void emit_record(struct evbuf *e, const uint8_t *rec, size_t len)
{
	pthread_mutex_lock(&e->mu);
	while (e->w.len > LANE_BUF_CAP)
		pthread_cond_wait(&e->space, &e->mu);
	wb_bytes(&e->w, rec, len);
	pthread_mutex_unlock(&e->mu);
	atomic_fetch_add_explicit(&events_total, 1, memory_order_relaxed);
}

static int64_t rel_t(int64_t abs)
{
	struct run *r = atomic_load(&cur_run);
	return r ? abs - r->t0 : abs;
}

void emit_note(struct evbuf *e, int level, int64_t t, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	struct wbuf w;
	wb_init(&w, 64 + strlen(text));
	wb_u32(&w, 0);
	wb_u8(&w, R_NOTE);
	wb_u8(&w, (uint8_t)level);
	wb_i64(&w, t);
	wb_u16(&w, (uint16_t)strlen(text));
	wb_bytes(&w, text, strlen(text));
	wb_put_u32(&w, 0, (uint32_t)w.len);
	emit_record(e ? e : g_ctl_ev, w.p, w.len);
	wb_free(&w);
}

void emit_lane(struct lane *l, int state, int step, int64_t iter, const char *detail, const char *wchan, const char *task_state, const char *stack)
{
	struct wbuf w;
	wb_init(&w, 256);
	wb_u32(&w, 0);
	wb_u8(&w, R_LANE);
	wb_u8(&w, (uint8_t)l->index);
	wb_u8(&w, (uint8_t)state);
	wb_u8(&w, 0);
	wb_u32(&w, (uint32_t)step);
	wb_i64(&w, iter);
	wb_i64(&w, rel_t(now_ns()));
	if (detail)
		wf_str(&w, L_DETAIL, detail);
	if (wchan)
		wf_str(&w, L_WCHAN, wchan);
	if (task_state)
		wf_str(&w, L_TASK_STATE, task_state);
	if (stack)
		wf_str(&w, L_STACK, stack);
	wf_int(&w, L_TID, atomic_load(&l->tid));
	wb_put_u32(&w, 0, (uint32_t)w.len);
	/* lane records travel on the controller buffer: a hung lane's own buffer is fine, but
	 * the watchdog must never wait on a lane's mutex */
	emit_record(g_ctl_ev, w.p, w.len);
	wb_free(&w);
}

void emit_metric(struct evbuf *e, int metric, int lane, int handle, int64_t t, double value)
{
	uint8_t b[24];
	struct wbuf w = { b, 0, sizeof b };
	wb_u32(&w, 24);
	wb_u8(&w, R_METRIC);
	wb_u8(&w, (uint8_t)metric);
	wb_u8(&w, (uint8_t)lane);
	wb_u8(&w, (uint8_t)(handle < 0 ? 255 : handle));
	wb_i64(&w, t);
	wb_f64(&w, value);
	emit_record(e, b, sizeof b);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void stats_record(struct wbuf *out, int64_t t)
{
	struct run *r = atomic_load(&cur_run);
	int alive = 0;
	if (r)
		for (int i = 0; i < r->nlanes_total; i++)
			if (r->lanes[i] && !atomic_load(&r->lanes[i]->finished))
				alive++;
	size_t at = out->len;
	wb_u32(out, 40);
	wb_u8(out, R_STATS);
	wb_u8(out, 0);
	wb_u16(out, 0);
	wb_i64(out, t);
	wb_i64(out, (int64_t)atomic_load(&events_total));
	wb_i64(out, r ? (int64_t)atomic_load(&r->ops) : 0);
	wb_u32(out, (uint32_t)rss_kb());
	wb_u32(out, (uint32_t)alive);
	(void)at;
}

/* Moves whole records from `src` into frames of at most FRAME_MAX_OUT. */
static void ship(struct wbuf *frame, const uint8_t *src, size_t n)
{
	size_t off = 0;
	while (off + 4 <= n) {
		uint32_t rl = (uint32_t)src[off] | (uint32_t)src[off + 1] << 8 | (uint32_t)src[off + 2] << 16 | (uint32_t)src[off + 3] << 24;
		if (rl < 5 || off + rl > n)
			break; /* cannot happen: records are built here */
		if (frame->len + rl > FRAME_MAX_OUT && frame->len) {
			frame_send(MSG_A_EVENTS, frame->p, frame->len);
			frame->len = 0;
		}
		wb_bytes(frame, src + off, rl);
		off += rl;
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	struct wbuf frame, spare;
	wb_init(&frame, 256 * 1024);
	wb_init(&spare, 64 * 1024);
	int64_t last_hb = 0;
	for (;;) {
		pthread_mutex_lock(&flush_mu);
		uint64_t req = flush_req;
		if (req == flush_done) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += FLUSH_EVERY_NS;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&flush_cv, &flush_mu, &ts);
			req = flush_req;
		}
		pthread_mutex_unlock(&flush_mu);

		pthread_mutex_lock(&reg_mu);
		for (struct evbuf *e = reg_head; e; e = e->next) {
			pthread_mutex_lock(&e->mu);
			if (e->w.len) {
				struct wbuf t = e->w;
				e->w = spare;
				e->w.len = 0;
				spare = t;
				pthread_cond_broadcast(&e->space);
			}
			pthread_mutex_unlock(&e->mu);
			if (spare.len) {
				ship(&frame, spare.p, spare.len);
				spare.len = 0;
			}
		}
		pthread_mutex_unlock(&reg_mu);

		int64_t now = now_ns();
		if (atomic_load(&cur_run) && now - last_hb >= HEARTBEAT_EVERY_NS) {
			stats_record(&frame, rel_t(now));
			last_hb = now;
		}
		if (frame.len) {
			frame_send(MSG_A_EVENTS, frame.p, frame.len);
			frame.len = 0;
		}
		if (req != flush_done) {
			pthread_mutex_lock(&flush_mu);
			flush_done = req;
			pthread_cond_broadcast(&flush_cv);
			pthread_mutex_unlock(&flush_mu);
		}
	}
	return NULL;
}

void emit_flush(void)
{
	pthread_mutex_lock(&flush_mu);
	uint64_t want = ++flush_req;
	pthread_cond_broadcast(&flush_cv);
	while (flush_done < want)
		pthread_cond_wait(&flush_cv, &flush_mu);
	pthread_mutex_unlock(&flush_mu);
}

void emit_start(void)
{
	g_ctl_ev = evbuf_new();
	emit_register(g_ctl_ev);
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, writer_main, NULL) != 0)
		abort();
	pthread_attr_destroy(&a);
}
