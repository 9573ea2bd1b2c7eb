/* Event batching. Each lane owns a single-producer ring: appending a record
 * is a memcpy and one release store, no lock and no system call, so a lane
 * issuing hundreds of thousands of ioctls per second spends its time in the
 * kernel, not here. A writer thread drains every ring every few milliseconds
 * and ships the records as EVENTS frames. Records are never dropped: when the
 * host stops reading, a lane whose ring is full waits for the writer. The one
 * ring shared by several threads (controller, watchdog) takes a mutex. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define FLUSH_EVERY_NS 5000000LL      /* 5 ms */
#define HEARTBEAT_EVERY_NS 200000000LL /* 200 ms */
#define KMSG_SYNC_EVERY_NS 1000000000LL /* a clock line in the kernel log every second of a run */
#define RING_CAP (2u << 20)            /* per lane; a power of two */
#define RING_TAIL_MIN 8                /* fewer bytes than this before the end of the ring are skipped */

struct evbuf {
	uint8_t *ring;
	_Atomic uint64_t head; /* consumer position, counts bytes ever consumed */
	_Atomic uint64_t tail; /* producer position */
	_Atomic uint32_t space; /* futex word: bumped whenever the writer frees space */
	_Atomic uint32_t waiting;
	_Atomic uint64_t count; /* records ever appended */
	int shared;             /* several producers: they take mu */
	pthread_mutex_t mu;
	struct evbuf *next;
	int registered;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct evbuf *reg_head;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cv = PTHREAD_COND_INITIALIZER;
static uint64_t flush_req, flush_done;
static uint64_t events_retired; /* counts of buffers no longer registered */
static _Atomic(struct run *) cur_run;
struct evbuf *g_ctl_ev;

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
	e->ring = malloc(RING_CAP); /* pages are only touched as the ring fills */
	if (!e->ring)
		abort();
	pthread_mutex_init(&e->mu, NULL);
	return e;
}

void evbuf_free(struct evbuf *e)
{
	if (!e)
		return;
	free(e->ring);
	pthread_mutex_destroy(&e->mu);
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
			events_retired += atomic_load(&e->count);
		}
		e = n;
	}
	reg_head = keep;
	pthread_mutex_unlock(&reg_mu);
}

void emit_set_run(struct run *r) { atomic_store(&cur_run, r); }

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

/* Ring entries are [u32 entry length][u32 sequence][record]. The sequence is
 * one counter for the whole agent, taken at the moment a record is published:
 * the writer merges the rings by it, so the host sees records in the order
 * the operations finished across all lanes (an operation that ended before
 * another began always comes first), which is the order the simulator emits
 * in and the order the detectors reason in. */
#define ENTRY_HDR 8
#define PAD_SEQ 0xFFFFFFFFu
static _Atomic uint32_t g_seq;

void emit_record(struct evbuf *e, const uint8_t *rec, size_t len)
{
	if (e->shared)
		pthread_mutex_lock(&e->mu);
	size_t elen = ENTRY_HDR + len;
	uint64_t t = atomic_load_explicit(&e->tail, memory_order_relaxed);
	size_t off = (size_t)(t & (RING_CAP - 1));
	size_t pad = off + elen > RING_CAP ? RING_CAP - off : 0;
	uint64_t need = pad + elen;
	for (;;) {
		uint32_t sp = atomic_load_explicit(&e->space, memory_order_acquire);
		uint64_t h = atomic_load_explicit(&e->head, memory_order_acquire);
		if (t + need - h <= RING_CAP)
			break;
		/* full: the host is not keeping up; wait for the writer to free space */
		atomic_store(&e->waiting, 1);
		struct timespec ts = { 0, 10000000 };
		futex(&e->space, FUTEX_WAIT_PRIVATE, sp, &ts);
	}
	if (pad >= RING_TAIL_MIN) {
		uint32_t hdr[2] = { (uint32_t)pad, PAD_SEQ };
		memcpy(e->ring + off, hdr, ENTRY_HDR);
	}
	uint8_t *p = e->ring + ((t + pad) & (RING_CAP - 1));
	uint32_t l32 = (uint32_t)elen;
	memcpy(p, &l32, 4);
	memcpy(p + ENTRY_HDR, rec, len);
	/* numbered last, right before publishing, so that numbering order is publishing order */
	uint32_t seq = atomic_fetch_add_explicit(&g_seq, 1, memory_order_acq_rel);
	if (seq == PAD_SEQ)
		seq = atomic_fetch_add_explicit(&g_seq, 1, memory_order_acq_rel);
	memcpy(p + 4, &seq, 4);
	atomic_store_explicit(&e->count, atomic_load_explicit(&e->count, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&e->tail, t + need, memory_order_release);
	if (e->shared)
		pthread_mutex_unlock(&e->mu);
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

void emit_json(struct evbuf *e, int lane, int handle, int64_t t, const char *json, size_t n)
{
	struct wbuf w;
	wb_init(&w, JSON_FIXED + n);
	wb_u32(&w, (uint32_t)(JSON_FIXED + n));
	wb_u8(&w, R_JSON);
	wb_u8(&w, (uint8_t)lane);
	wb_u8(&w, (uint8_t)(handle < 0 ? 255 : handle));
	wb_u8(&w, 0);
	wb_i64(&w, t);
	wb_bytes(&w, json, n);
	emit_record(e ? e : g_ctl_ev, w.p, w.len);
	wb_free(&w);
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
	uint64_t events = events_retired, ops = 0;
	for (struct evbuf *e = reg_head; e; e = e->next) /* the caller holds reg_mu */
		events += atomic_load_explicit(&e->count, memory_order_relaxed);
	if (r)
		for (int i = 0; i < r->nlanes_total; i++)
			if (r->lanes[i])
				ops += atomic_load_explicit(&r->lanes[i]->ops, memory_order_relaxed);
	wb_i64(out, (int64_t)events);
	wb_i64(out, (int64_t)ops);
	wb_u32(out, (uint32_t)rss_kb());
	wb_u32(out, (uint32_t)alive);
	(void)at;
}

/* ---- draining: a k-way merge of the rings by sequence number ---- */

struct cursor {
	struct evbuf *e;
	uint64_t pos, tail;
	uint32_t seq; /* of the entry at pos */
};

/* Moves pos past padding; returns 0 when the ring has nothing more before tail. */
static int cursor_settle(struct cursor *c)
{
	while (c->pos < c->tail) {
		size_t off = (size_t)(c->pos & (RING_CAP - 1));
		if (RING_CAP - off < RING_TAIL_MIN) {
			c->pos += RING_CAP - off;
			continue;
		}
		uint32_t hdr[2];
		memcpy(hdr, c->e->ring + off, ENTRY_HDR);
		if (hdr[1] == PAD_SEQ) {
			c->pos += hdr[0];
			continue;
		}
		c->seq = hdr[1];
		return 1;
	}
	return 0;
}

static int seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

static void heap_down(struct cursor **h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && seq_before(h[l]->seq, h[m]->seq))
			m = l;
		if (r < n && seq_before(h[r]->seq, h[m]->seq))
			m = r;
		if (m == i)
			return;
		struct cursor *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void ship(struct wbuf *frame, const uint8_t *rec, uint32_t rl)
{
	if (frame->len + rl > FRAME_MAX_OUT && frame->len) {
		frame_send(MSG_A_EVENTS, frame->p, frame->len);
		frame->len = 0;
	}
	wb_bytes(frame, rec, rl);
}

static void release(struct evbuf *e, uint64_t pos)
{
	if (pos == atomic_load_explicit(&e->head, memory_order_relaxed))
		return;
	atomic_store_explicit(&e->head, pos, memory_order_release);
	atomic_fetch_add_explicit(&e->space, 1, memory_order_acq_rel);
	if (atomic_exchange(&e->waiting, 0))
		futex(&e->space, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* Ships every record numbered before the pass began, across all rings, in number
 * order. Records numbered later wait for the next pass. The caller holds reg_mu. */
static void drain_all(struct wbuf *frame)
{
	static struct cursor cur[MAX_LANES * 2 + 8];
	static struct cursor *heap[MAX_LANES * 2 + 8];
	uint32_t cutoff = atomic_load_explicit(&g_seq, memory_order_acquire);
	int n = 0, k = 0;
	for (struct evbuf *e = reg_head; e && n < (int)(sizeof cur / sizeof cur[0]); e = e->next) {
		struct cursor *c = &cur[n++];
		c->e = e;
		c->pos = atomic_load_explicit(&e->head, memory_order_relaxed);
		c->tail = atomic_load_explicit(&e->tail, memory_order_acquire);
		if (cursor_settle(c) && seq_before(c->seq, cutoff))
			heap[k++] = c;
	}
	for (int i = k / 2 - 1; i >= 0; i--)
		heap_down(heap, k, i);
	while (k) {
		struct cursor *c = heap[0];
		size_t off = (size_t)(c->pos & (RING_CAP - 1));
		uint32_t elen;
		memcpy(&elen, c->e->ring + off, 4);
		ship(frame, c->e->ring + off + ENTRY_HDR, elen - ENTRY_HDR);
		c->pos += elen;
		if (cursor_settle(c) && seq_before(c->seq, cutoff))
			heap_down(heap, k, 0);
		else {
			heap[0] = heap[--k];
			heap_down(heap, k, 0);
		}
	}
	for (int i = 0; i < n; i++)
		release(cur[i].e, cur[i].pos);
}

static void *writer_main(void *arg)
{
	(void)arg;
	struct wbuf frame;
	wb_init(&frame, 256 * 1024);
	int64_t last_hb = 0, last_sync = 0;
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
		drain_all(&frame);
		int64_t now = now_ns();
		int beat = now - last_hb >= HEARTBEAT_EVERY_NS;
		if (beat && atomic_load(&cur_run))
			stats_record(&frame, rel_t(now));
		pthread_mutex_unlock(&reg_mu);

		if (beat && atomic_load(&cur_run) && now - last_sync >= KMSG_SYNC_EVERY_NS) {
			kmsg_sync();
			last_sync = now;
		}
		if (beat) {
			/* straight into the frame: the writer must never wait on a ring only it drains */
			const char *note = clock_tick();
			if (note && atomic_load(&cur_run)) {
				size_t n = strlen(note);
				wb_u32(&frame, (uint32_t)(16 + n));
				wb_u8(&frame, R_NOTE);
				wb_u8(&frame, 1);
				wb_i64(&frame, rel_t(now));
				wb_u16(&frame, (uint16_t)n);
				wb_bytes(&frame, note, n);
			}
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
	g_ctl_ev->shared = 1;
	emit_register(g_ctl_ev);
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, writer_main, NULL) != 0)
		abort();
	pthread_attr_destroy(&a);
}
