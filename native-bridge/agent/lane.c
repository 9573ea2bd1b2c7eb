/* A lane: its thread, its generator, and the loop that executes its steps
 * iteration after iteration until its iterations run out or the run stops. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

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

static int64_t dispatch(struct exec *x)
{
	int op = x->step->op;
	if (op == OP_PCM_SWEEP)
		return op_sweep(x);
	if (op >= OP_PCM_OPEN && op <= OP_PCM_CLOSE)
		return op_pcm(x);
	if (op >= OP_SEQ_OPEN && op <= OP_SEQ_CLOSE)
		return op_seq(x);
	if (op == OP_CTL_WRITE || op == OP_CTL_READ)
		return op_ctl(x);
	if (op == OP_DEV_DETACH || op == OP_DEV_ATTACH)
		return op_device(x);
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
	args_resolve(&x.r, s->args, s->nargs, iter, &l->rng);

	atomic_store_explicit(&l->cur_step, si, memory_order_relaxed);
	atomic_store_explicit(&l->cur_iter, iter, memory_order_relaxed);
	atomic_store_explicit(&l->cur_bound, s->timeout > 0 ? s->timeout : r->prog->hang_timeout, memory_order_relaxed);
	int64_t t0 = now_ns();
	atomic_store_explicit(&l->op_start, t0, memory_order_release);
	window_begin(&x);
	int64_t ret = dispatch(&x);
	int64_t t1 = now_ns();
	window_end(&x);
	atomic_store_explicit(&l->op_start, 0, memory_order_release);
	if (x.t_begin) {
		t0 = x.t_begin;
		t1 = x.t_end ? x.t_end : t1;
	}
	if (l->pending_barrier && s->op != OP_BARRIER)
		lane_barrier_note(l, t1 - t0);
	record_act(l, &sc->rec, si, iter, t0, t1, ret, &x.r, &sc->out);
	/* single writer: a plain increment, no locked instruction on the hot path */
	atomic_store_explicit(&l->ops, atomic_load_explicit(&l->ops, memory_order_relaxed) + 1, memory_order_relaxed);
}

void lane_progress(struct lane *l)
{
	atomic_store_explicit(&l->op_start, now_ns(), memory_order_release);
}

int lane_stopping(const struct lane *l)
{
	return l->index != LANE_TEARDOWN && atomic_load_explicit(&l->run->stop, memory_order_relaxed);
}

static int lane_should_stop(const struct lane *l)
{
	return l->index != LANE_TEARDOWN && atomic_load_explicit(&l->run->stop, memory_order_relaxed);
}

static void run_lane_body(struct lane *l)
{
	struct lane_scratch sc;
	wb_init(&sc.out, 4096);
	wb_init(&sc.rec, 4096);
	int64_t iters = l->def->iterations;
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

void *lane_thread(void *arg)
{
	struct lane *l = arg;
	atomic_store(&l->tid, (pid_t)syscall(SYS_gettid));
	interrupts_unblock();
	emit_lane(l, LS_START, -1, 0, NULL, NULL, NULL, NULL);
	run_lane_body(l);
	emit_lane(l, LS_END, -1, 0, NULL, NULL, NULL, NULL);
	atomic_store(&l->finished, 1);
	return NULL;
}

struct lane *lane_new(struct run *r, const struct lane_def *d, int index)
{
	struct lane *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->run = r;
	l->def = d;
	l->index = index;
	l->ev = evbuf_new();
	emit_register(l->ev);
	rng_seed(&l->rng, (uint32_t)r->prog->seed, d->rng_stream);
	rng_seed(&l->align_rng, (uint32_t)r->prog->seed, 0x10000u + d->rng_stream);
	return l;
}

void lane_publish(struct run *r, struct lane *l)
{
	int n = atomic_load(&r->nlanes_total);
	r->lanes[n] = l;
	atomic_store(&r->nlanes_total, n + 1);
}

void lane_run_inline(struct lane *l)
{
	atomic_store(&l->tid, (pid_t)syscall(SYS_gettid));
	interrupts_unblock();
	run_lane_body(l);
	interrupts_block();
	atomic_store(&l->finished, 1);
}

void lane_free(struct lane *l)
{
	window_free(l);
	evbuf_free(l->ev);
	free(l->xbuf);
	free(l);
}
