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

/* ---- barriers ----
 * Release in two stages, in the spirit of LTP's fuzzy sync: the last lane to
 * arrive sets a common release instant slightly in the future and wakes the
 * others; every lane then busy-waits for that instant, so lanes leave within
 * a few hundred nanoseconds of each other instead of in futex wake-up order.
 * Once the barrier has seen the durations of the operations the lanes issue
 * right after it, each lane adds a seeded random delay within the longest of
 * them, so the relative start of the racing calls sweeps the whole window in
 * which they can overlap rather than always landing at the same offset. */

#define BARRIER_LEAD_NS 20000
#define BARRIER_SPIN_NS 300000
#define ALIGN_AFTER_SAMPLES 8

struct barrier {
	int parties;
	_Atomic uint32_t gen;
	_Atomic int arrived;
	_Atomic int64_t release_at;
	_Atomic int64_t post_ema[MAX_LANES]; /* ns, EMA of the op each lane issues after the barrier */
	_Atomic int samples;
};

struct barrier *barriers_create(const struct program *p)
{
	struct barrier *b = calloc((size_t)(p->nbarriers ? p->nbarriers : 1), sizeof *b);
	if (!b)
		abort();
	for (int i = 0; i < p->nbarriers; i++)
		b[i].parties = p->barriers[i].parties;
	return b;
}

void barriers_free(struct barrier *b, int n)
{
	(void)n;
	free(b);
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

void barriers_wake_all(struct barrier *b, int n)
{
	for (int i = 0; i < n; i++) {
		atomic_fetch_add(&b[i].gen, 1);
		futex(&b[i].gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	}
}

static int stopping(const struct lane *l)
{
	return l->index != LANE_TEARDOWN && atomic_load_explicit(&l->run->stop, memory_order_relaxed);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Feeds the alignment with the duration of the op a lane ran right after a barrier. */
void barrier_note(struct lane *l, int64_t dur)
{
	struct barrier *b = l->pending_barrier;
	l->pending_barrier = NULL;
	if (!b || l->index >= MAX_LANES)
		return;
	int64_t old = atomic_load_explicit(&b->post_ema[l->index], memory_order_relaxed);
	int64_t v = old ? old + (dur - old) / 8 : dur;
	atomic_store_explicit(&b->post_ema[l->index], v, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->samples, 1, memory_order_relaxed);
}

static int64_t do_barrier(struct exec *x)
{
	struct lane *l = x->lane;
	struct run *r = l->run;
	struct barrier *b = &r->barriers[x->r.i[A_BARRIER]];
	uint32_t g = atomic_load(&b->gen);
	int n = atomic_fetch_add(&b->arrived, 1) + 1;
	if (n >= b->parties) {
		atomic_store(&b->arrived, 0);
		atomic_store(&b->release_at, now_ns() + BARRIER_LEAD_NS);
		atomic_store(&b->gen, g + 1);
		futex(&b->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	} else {
		/* Spin first (the others are usually microseconds away), yielding so that a
		 * lane still on its way is not kept off a CPU by the lanes waiting for it
		 * (more lanes than CPUs is common); sleep in the kernel only after that. */
		int64_t spin_until = now_ns() + BARRIER_SPIN_NS;
		int spins = 0;
		while (atomic_load(&b->gen) == g) {
			if (stopping(l)) {
				wf_int(x->out, D_GENERATION, g);
				return -EINTR;
			}
			if (++spins & 63) {
				cpu_relax();
				continue;
			}
			if (now_ns() < spin_until) {
				sched_yield();
				continue;
			}
			struct timespec ts = { 0, 5000000 };
			futex(&b->gen, FUTEX_WAIT_PRIVATE, g, &ts);
		}
		if (stopping(l)) {
			wf_int(x->out, D_GENERATION, g);
			return -EINTR;
		}
	}
	int64_t at = atomic_load(&b->release_at);
	if (atomic_load_explicit(&b->samples, memory_order_relaxed) >= ALIGN_AFTER_SAMPLES * b->parties) {
		int64_t window = 0;
		for (int i = 0; i < MAX_LANES; i++) {
			int64_t v = atomic_load_explicit(&b->post_ema[i], memory_order_relaxed);
			if (v > window)
				window = v;
		}
		/* cap: alignment is about overlapping syscalls, not about sleeping */
		if (window > 2000000)
			window = 2000000;
		at += (int64_t)(rng_float(&l->align_rng) * (double)window);
	}
	while (now_ns() < at)
		cpu_relax();
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
