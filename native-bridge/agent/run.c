/* The run: setup on the controller thread, one thread per lane, teardown,
 * and the stop sequence that interrupts lanes blocked in the kernel. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

void frame_send(uint8_t type, const uint8_t *payload, size_t len);

static _Atomic(struct run *) g_run;
static _Atomic int g_tainted; /* a lane never came back: refuse new runs */


int64_t run_t(const struct run *r, int64_t abs_ns) { return abs_ns - r->t0; }

struct run *run_current(void) { return atomic_load(&g_run); }

/* ---- xoshiro128** seeded through splitmix32: bit-identical to app/sim/kernel/rng.ts,
 * so the host can predict and check every value an agent lane draws. ---- */

static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void rng_seed(struct rng *r, uint32_t seed, uint32_t stream)
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

uint32_t rng_u32(struct rng *r)
{
	uint32_t res = rotl(r->b * 5u, 7) * 9u;
	uint32_t t = r->b << 9;
	r->c ^= r->a;
	r->d ^= r->b;
	r->b ^= r->c;
	r->a ^= r->d;
	r->c ^= t;
	r->d = rotl(r->d, 11);
	return res;
}

double rng_float(struct rng *r) { return rng_u32(r) / 4294967296.0; }

int64_t rng_int(struct rng *r, int64_t min, int64_t max)
{
	return min + (int64_t)floor(rng_float(r) * (double)(max - min + 1));
}

uint8_t *lane_buf(struct lane *l, size_t n)
{
	if (n > l->xcap) {
		free(l->xbuf);
		l->xcap = n + 4096;
		l->xbuf = calloc(1, l->xcap);
		if (!l->xbuf)
			abort();
	}
	return l->xbuf;
}

/* ---- argument resolution ---- */

int64_t arg_int(const struct resolved *r, int key, int64_t dflt) { return has(r, key) ? r->i[key] : dflt; }
double arg_num(const struct resolved *r, int key, double dflt) { return has(r, key) ? r->f[key] : dflt; }

static void set_scalar(struct resolved *r, int k, const struct value *v)
{
	r->present |= 1ull << k;
	r->type[k] = v->type;
	r->i[k] = v->i;
	r->f[k] = v->f;
	r->s[k] = v->s;
	r->slen[k] = v->n;
}

static void resolve(struct exec *x)
{
	struct resolved *r = &x->r;
	r->present = r->varied = r->listed = 0;
	const struct step *s = x->step;
	for (int i = 0; i < s->nargs; i++) {
		const struct arg *a = &s->args[i];
		int k = a->key;
		if (a->v.type == V_LIST) {
			int idx = x->iter < 0 ? 0 : (int)(x->iter % a->v.n);
			set_scalar(r, k, &a->v.items[idx]);
			r->idx[k] = idx;
			r->varied |= 1ull << k;
			r->listed |= 1ull << k;
		} else if (a->v.type == V_RANGE) {
			const struct value *lo = &a->v.items[0], *hi = &a->v.items[1];
			struct value v = { 0 };
			if (lo->type == V_INT) {
				v.type = V_INT;
				v.i = rng_int(&x->lane->rng, lo->i, hi->i);
				v.f = (double)v.i;
			} else {
				v.type = V_FLOAT;
				v.f = lo->f + rng_float(&x->lane->rng) * (hi->f - lo->f);
				v.i = (int64_t)v.f;
			}
			set_scalar(r, k, &v);
			r->varied |= 1ull << k;
		} else {
			set_scalar(r, k, &a->v);
		}
	}
}

/* ---- executing a step ---- */

static int64_t dispatch(struct exec *x)
{
	int op = x->step->op;
	if (op >= OP_PCM_OPEN && op <= OP_PCM_CLOSE)
		return op_pcm(x);
	if (op >= OP_SEQ_OPEN && op <= OP_SEQ_CLOSE)
		return op_seq(x);
	if (op == OP_CTL_WRITE || op == OP_CTL_READ)
		return op_ctl(x);
	if (op == OP_DEV_DETACH || op == OP_DEV_ATTACH)
		return op_device(x);
	if (op == OP_AT_PERIOD)
		return op_timing(x);
	return op_timing(x);
}

struct lane_scratch {
	struct wbuf out, rec;
};

static void exec_step(struct lane *l, struct lane_scratch *sc, int si, int64_t iter)
{
	struct run *r = l->run;
	const struct step *s = &l->def->steps[si];
	struct exec x;
	x.lane = l;
	x.step = s;
	x.iter = iter;
	sc->out.len = 0;
	x.out = &sc->out;
	x.t_begin = x.t_end = 0;
	resolve(&x);

	atomic_store_explicit(&l->cur_step, si, memory_order_relaxed);
	atomic_store_explicit(&l->cur_iter, iter, memory_order_relaxed);
	atomic_store_explicit(&l->cur_bound, s->timeout > 0 ? s->timeout : r->prog->hang_timeout, memory_order_relaxed);
	int64_t t0 = now_ns();
	atomic_store_explicit(&l->op_start, t0, memory_order_release);
	int64_t ret = dispatch(&x);
	int64_t t1 = now_ns();
	atomic_store_explicit(&l->op_start, 0, memory_order_release);
	if (x.t_begin) {
		t0 = x.t_begin;
		t1 = x.t_end ? x.t_end : t1;
	}
	if (l->pending_barrier && s->op != OP_BARRIER)
		barrier_note(l, t1 - t0);

	/* the fixed part in one store; records are little-endian (static assert in proto.h) */
	struct wbuf *w = &sc->rec;
	struct act_fixed h = {
		0, R_ACT, (uint8_t)l->index, (uint16_t)si, iter, t0 - r->t0, t1 - t0, ret,
		(uint32_t)atomic_load_explicit(&l->tid, memory_order_relaxed), 0,
	};
	w->len = 0;
	wb_bytes(w, &h, sizeof h);
	for (uint64_t v = x.r.varied; v; v &= v - 1) {
		int k = __builtin_ctzll(v);
		if ((x.r.listed >> k) & 1)
			wf_int(w, (uint8_t)k, x.r.idx[k]);
		else if (x.r.type[k] == V_FLOAT)
			wf_float(w, (uint8_t)k, x.r.f[k]);
		else
			wf_int(w, (uint8_t)k, x.r.i[k]);
	}
	wb_bytes(w, sc->out.p, sc->out.len);
	wb_put_u32(w, 0, (uint32_t)w->len);
	emit_record(l->ev, w->p, w->len);
	/* single writer: a plain increment, no locked instruction on the hot path */
	atomic_store_explicit(&l->ops, atomic_load_explicit(&l->ops, memory_order_relaxed) + 1, memory_order_relaxed);
}

static int lane_should_stop(const struct lane *l)
{
	return l->index != LANE_TEARDOWN && atomic_load_explicit(&l->run->stop, memory_order_relaxed);
}

static void run_lane_body(struct lane *l)
{
	struct run *r = l->run;
	struct lane_scratch sc;
	wb_init(&sc.out, 4096);
	wb_init(&sc.rec, 4096);
	int64_t iters = l->def->iterations ? l->def->iterations : r->prog->iterations;
	if (l->index == LANE_SETUP || l->index == LANE_TEARDOWN) {
		int64_t it = l->index == LANE_SETUP ? -1 : -2;
		for (int si = 0; si < l->def->nsteps && !lane_should_stop(l); si++)
			exec_step(l, &sc, si, it);
	} else {
		for (int64_t it = 0; !iters || it < iters; it++) {
			/* the controller raises stop at the deadline: no clock read per iteration */
			if (lane_should_stop(l))
				break;
			for (int si = 0; si < l->def->nsteps; si++) {
				if (lane_should_stop(l))
					break;
				exec_step(l, &sc, si, it);
			}
		}
	}
	wb_free(&sc.out);
	wb_free(&sc.rec);
}

static void on_sigusr1(int sig) { (void)sig; }

static void unblock_interrupts(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void block_interrupts(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	atomic_store(&l->tid, (pid_t)syscall(SYS_gettid));
	unblock_interrupts();
	emit_lane(l, LS_START, -1, 0, NULL, NULL, NULL, NULL);
	run_lane_body(l);
	emit_lane(l, LS_END, -1, 0, NULL, NULL, NULL, NULL);
	atomic_store(&l->finished, 1);
	return NULL;
}

static struct lane *lane_new(struct run *r, const struct lane_def *d, int index, uint32_t stream)
{
	struct lane *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->run = r;
	l->def = d;
	l->index = index;
	l->ev = evbuf_new();
	emit_register(l->ev);
	rng_seed(&l->rng, (uint32_t)r->prog->seed, stream);
	rng_seed(&l->align_rng, (uint32_t)r->prog->seed, 0x10000u + stream);
	return l;
}

/* Publishes a lane to the watchdog and the heartbeat only once it is complete. */
static void add_lane(struct run *r, struct lane *l)
{
	int n = atomic_load(&r->nlanes_total);
	r->lanes[n] = l;
	atomic_store(&r->nlanes_total, n + 1);
}

/* Runs a pseudo-lane (setup/teardown) on the calling thread, watched like any lane. */
static void run_inline(struct lane *l)
{
	atomic_store(&l->tid, (pid_t)syscall(SYS_gettid));
	unblock_interrupts();
	run_lane_body(l);
	block_interrupts();
	atomic_store(&l->finished, 1);
}

static void send_done(struct run *r, int status, int abandoned, int64_t elapsed)
{
	struct wbuf w;
	wb_init(&w, 128);
	wf_int(&w, 1, status);
	wf_int(&w, 2, elapsed);
	wf_int(&w, 3, atomic_load(&r->hung_lanes));
	wf_int(&w, 4, abandoned);
	uint64_t ops = 0;
	for (int i = 0; i < r->nlanes_total; i++)
		ops += atomic_load(&r->lanes[i]->ops);
	wf_int(&w, 5, (int64_t)ops);
	frame_send(MSG_A_DONE, w.p, w.len);
	wb_free(&w);
}

static void close_leftovers(struct run *r)
{
	char names[512] = "";
	size_t off = 0;
	for (int i = 0; i < r->prog->nhandles; i++) {
		int fd = atomic_exchange(&r->handles[i].fd, -1);
		if (fd >= 0) {
			close(fd);
			off += (size_t)snprintf(names + off, off < sizeof names ? sizeof names - off : 0, "%s%s", off ? ", " : "", r->handles[i].def->name);
		}
	}
	if (off)
		emit_note(g_ctl_ev, 0, now_ns() - r->t0, "closed handles left open at the end of the run: %s", names);
	pthread_mutex_lock(&r->ctl_lock);
	for (int c = 0; c < MAX_CARDS; c++)
		if (r->ctl_fd[c] >= 0) {
			close(r->ctl_fd[c]);
			r->ctl_fd[c] = -1;
		}
	pthread_mutex_unlock(&r->ctl_lock);
}

static void *controller_main(void *arg)
{
	struct run *r = arg;
	struct program *p = r->prog;
	int abandoned = 0;

	watchdog_start(r);
	if (p->setup.nsteps) {
		struct lane *s = lane_new(r, &p->setup, LANE_SETUP, 1000);
		add_lane(r, s);
		run_inline(s);
	}
	int first = r->nlanes_total;
	for (int i = 0; i < p->nlanes; i++) {
		struct lane *l = lane_new(r, &p->lanes[i], i, (uint32_t)i);
		add_lane(r, l);
		if (pthread_create(&l->thread, NULL, lane_main, l) != 0) {
			emit_note(g_ctl_ev, 2, now_ns() - r->t0, "cannot start a thread for lane %s", l->def->name);
			atomic_store(&l->finished, 1);
			l->thread = 0;
		}
	}
	/* wait for the lanes, the deadline or a stop */
	for (;;) {
		int alive = 0;
		for (int i = first; i < r->nlanes_total; i++)
			alive += !atomic_load(&r->lanes[i]->finished);
		if (!alive || atomic_load(&r->stop) || now_ns() >= r->deadline)
			break;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&r->stop, 1);
	barriers_wake_all(r->barriers, p->nbarriers);
	/* Interrupt lanes sleeping in the kernel (blocking reads, writes, waits). A lane in
	 * uninterruptible sleep cannot be moved: it is given the scenario's hang bound to come
	 * back (a device detach may legitimately take seconds), then it is abandoned. */
	int64_t grace = p->hang_timeout > 2000000000LL ? p->hang_timeout : 2000000000LL;
	int64_t until = now_ns() + grace;
	for (;;) {
		int alive = 0;
		for (int i = first; i < r->nlanes_total; i++) {
			struct lane *l = r->lanes[i];
			if (!atomic_load(&l->finished) && l->thread) {
				alive++;
				pthread_kill(l->thread, SIGUSR1);
			}
		}
		if (!alive || now_ns() >= until)
			break;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	for (int i = first; i < r->nlanes_total; i++) {
		struct lane *l = r->lanes[i];
		if (!atomic_load(&l->finished)) {
			char st[32], wc[128], stack[2048];
			task_probe(atomic_load(&l->tid), st, sizeof st, wc, sizeof wc, stack, sizeof stack);
			emit_lane(l, LS_ABANDONED, atomic_load(&l->cur_step), atomic_load(&l->cur_iter),
			          "did not return after the run ended; left behind", wc, st, stack);
			abandoned++;
		} else if (l->thread) {
			pthread_join(l->thread, NULL);
		}
	}
	if (p->teardown.nsteps) {
		struct lane *t = lane_new(r, &p->teardown, LANE_TEARDOWN, 1001);
		add_lane(r, t);
		run_inline(t);
	}
	close_leftovers(r);
	int64_t elapsed = now_ns() - r->t0; /* the run, not the time the host takes to drain its events */
	kmsg_sync();
	metrics_run_end(r);
	watchdog_stop();
	emit_flush();
	send_done(r, atomic_load(&r->stopped_by_host) ? 1 : 0, abandoned, elapsed);
	if (abandoned)
		atomic_store(&g_tainted, 1);
	atomic_store(&r->done, 1);
	return NULL;
}

static void run_free(struct run *r)
{
	emit_unregister_all();
	for (int i = 0; i < r->nlanes_total; i++) {
		struct lane *l = r->lanes[i];
		evbuf_free(l->ev);
		free(l->xbuf);
		free(l);
	}
	for (int i = 0; i < r->prog->nhandles; i++)
		metrics_free(r->handles[i].m);
	barriers_free(r->barriers, r->prog->nbarriers);
	pthread_mutex_destroy(&r->ctl_lock);
	program_free(r->prog);
	free(r);
}

int run_start(struct program *p, char *err, size_t errlen)
{
	struct run *old = atomic_load(&g_run);
	if (atomic_load(&g_tainted)) {
		snprintf(err, errlen, "a lane of an earlier run never returned from the kernel; restart the agent");
		return -1;
	}
	if (old && !atomic_load(&old->done)) {
		snprintf(err, errlen, "a run is already active");
		return -1;
	}
	if (old) {
		pthread_join(old->controller, NULL);
		emit_set_run(NULL);
		atomic_store(&g_run, NULL);
		run_free(old);
	}
	static int sig_installed;
	if (!sig_installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sigusr1; /* no SA_RESTART: blocked syscalls return EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		sig_installed = 1;
	}
	struct run *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->prog = p;
	pthread_mutex_init(&r->ctl_lock, NULL);
	for (int c = 0; c < MAX_CARDS; c++)
		r->ctl_fd[c] = -1;
	for (int i = 0; i < p->nhandles; i++) {
		struct handle *h = &r->handles[i];
		h->def = &p->handles[i];
		h->index = i;
		atomic_init(&h->fd, -1);
		atomic_init(&h->seq.client, -1);
		h->m = metrics_new();
	}
	r->barriers = barriers_create(p);
	r->t0 = now_ns();
	r->deadline = r->t0 + p->duration;
	emit_set_run(r);
	atomic_store(&g_run, r);

	struct wbuf w;
	wb_init(&w, 64);
	wf_int(&w, 1, r->t0);
	wf_int(&w, 2, getpid());
	wf_int(&w, 3, (int64_t)p->seed);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	wf_int(&w, 4, (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec);
	frame_send(MSG_A_STARTED, w.p, w.len);
	wb_free(&w);

	emit_note(g_ctl_ev, 0, 0, "%s", clock_describe());
	kmsg_sync();
	if (pthread_create(&r->controller, NULL, controller_main, r) != 0) {
		snprintf(err, errlen, "cannot start the run controller thread");
		return -1;
	}
	return 0;
}

void run_request_stop(void)
{
	struct run *r = atomic_load(&g_run);
	if (r && !atomic_load(&r->done)) {
		atomic_store(&r->stopped_by_host, 1);
		atomic_store(&r->stop, 1);
	}
}
