/* Timing ops: sleep (jitter is a sleep whose length the program draws),
 * barriers that release lanes together, and at_period, which waits for the
 * DMA position to reach a point in the current period. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/* ---- barriers (rule "barriers": rules.h) ---- */

_Static_assert(BARRIER_MAX_LANES == MAX_LANES, "a barrier has a slot for every lane");

struct lab_barrier *barriers_create(const struct program *p)
{
	struct lab_barrier *b = calloc((size_t)(p->nbarriers ? p->nbarriers : 1), sizeof *b);
	if (!b)
		abort();
	for (int i = 0; i < p->nbarriers; i++)
		b[i].parties = p->barriers[i].parties;
	return b;
}

void barriers_free(struct lab_barrier *b, int n)
{
	(void)n;
	free(b);
}

void barriers_wake_all(struct lab_barrier *b, int n)
{
	for (int i = 0; i < n; i++)
		barrier_wake_all(&b[i]);
}

static int stopping(const void *lane)
{
	const struct lane *l = lane;
	return l->index != LANE_TEARDOWN && atomic_load_explicit(&l->run->stop, memory_order_relaxed);
}

/* Feeds the alignment with the duration of the op a lane ran right after a barrier. */
void lane_barrier_note(struct lane *l, int64_t dur)
{
	struct lab_barrier *b = l->pending_barrier;
	l->pending_barrier = NULL;
	barrier_note(b, l->index, dur);
}

int barrier_meet(struct lane *l, int index, uint32_t *gen)
{
	const struct barrier_env e = { now_ns, stopping, l };
	return barrier_arrive(&l->run->barriers[index], &e, gen);
}

static int64_t do_barrier(struct exec *x)
{
	struct lane *l = x->lane;
	struct lab_barrier *b = &l->run->barriers[x->r.i[A_BARRIER]];
	uint32_t g;
	if (barrier_meet(l, (int)x->r.i[A_BARRIER], &g) < 0) {
		wf_int(x->out, D_GENERATION, g);
		return -EINTR;
	}
	const struct barrier_env e = { now_ns, stopping, l };
	barrier_leave(b, &e, &l->align_rng);
	l->pending_barrier = b;
	wf_int(x->out, D_GENERATION, g);
	return 0;
}

/* ---- sleeping ---- */

static int64_t sleep_ns(struct lane *l, int64_t ns)
{
	int64_t until = now_ns() + ns;
	struct timespec ts = { (time_t)(until / 1000000000LL), (long)(until % 1000000000LL) };
	for (;;) {
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc == 0)
			return 0;
		if (rc != EINTR)
			return -rc;
		if (stopping(l))
			return -EINTR;
	}
}

/* ---- at_period ---- */

/* Rule "at_period": the frame f = floor(percent / 100 x P) of a period of the
 * granted size P (none granted: EBADFD without a system call); P is the
 * period's end, where its interrupt fires. The lane waits until the DMA
 * position reaches f in this period, or in the next one when it is already
 * at or past it, and a stream that is not running answers EBADFD. */
static int64_t do_at_period(struct exec *x)
{
	struct handle *h = &x->lane->run->handles[x->step->handle];
	int fd = atomic_load(&h->fd);
	if (fd < 0)
		return -EBADF;
	double pct = arg_num(&x->r, A_PERCENT, 0);
	wf_float(x->out, D_TARGET, pct);
	long period = atomic_load(&h->pcm.period_size);
	int rate = atomic_load(&h->pcm.rate);
	if (period <= 0 || rate <= 0) {
		wf_float(x->out, D_ACTUAL, -1);
		return -EBADFD;
	}
	uint64_t P = (uint64_t)period;
	uint64_t tgt = rule_at_period_frame(pct, P);
	wf_int(x->out, D_FRAME, (int64_t)tgt);
	int state = 0;
	uint64_t hw = 0;
	int e = pcm_sync(fd, &state, &hw, NULL);
	/* HWSYNC answers EPIPE in XRUN: for at_period that is "not running", like any stopped state */
	if (!e && state != 3 /* RUNNING */)
		e = -EBADFD;
	if (e == -EPIPE)
		e = -EBADFD;
	/* already there or past it: wait for it in the next period */
	uint64_t target = rule_at_period_target(hw, P, tgt);
	/* a pointer that stops moving (stalled DMA, stopped stream) must not hold the lane forever */
	int64_t limit = now_ns() + 4 * (int64_t)(P * 1000000000ULL / (uint64_t)rate) + 1000000000LL;
	while (!e && hw < target) {
		int64_t left = (int64_t)((target - hw) * 1000000000ULL / (uint64_t)rate);
		/* sleep while far away (timer wake-ups are late, most of all under emulation), then poll */
		if (left > 2000000) {
			e = (int)sleep_ns(x->lane, left - 1500000);
			if (e)
				break;
		}
		e = pcm_sync(fd, &state, &hw, NULL);
		if (e == -EPIPE || (!e && state != 3))
			e = -EBADFD;
		else if (!e && now_ns() > limit)
			e = -ETIMEDOUT;
		else if (!e && stopping(x->lane))
			e = -EINTR;
	}
	if (e) {
		wf_float(x->out, D_ACTUAL, -1); /* released nowhere */
		return e;
	}
	metrics_status(x, h, now_ns(), state, hw, -1);
	wf_float(x->out, D_ACTUAL, (double)(hw % P) * 100.0 / (double)P);
	return 0;
}

int64_t op_timing(struct exec *x)
{
	struct lane *l = x->lane;
	switch (x->step->op) {
	case OP_SLEEP:
		return sleep_ns(l, arg_int(&x->r, A_FOR, 0));
	case OP_JITTER: {
		int64_t d = arg_int(&x->r, A_FOR, 0);
		wf_int(x->out, D_SLEPT, d);
		return sleep_ns(l, d);
	}
	case OP_BARRIER:
		return do_barrier(x);
	case OP_AT_PERIOD:
		return do_at_period(x);
	}
	return -ENOSYS;
}
