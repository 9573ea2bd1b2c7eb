/* Hang watchdog. A lane that has been inside one operation for longer than
 * its bound is reported hung only when the kernel says it is stuck there: its
 * kernel stack (/proc/<tid>/stack), sampled several times across the second
 * half of the bound, shows the same blocking frames every time, none of them
 * on the way back to user space. A slow guest is not a hang: there the stack
 * moves between samples, or the thread is already returning
 * (exit_to_user_mode_prepare) or running in user space, or it is runnable on
 * a CPU (its stack then reads empty). Such an operation keeps being watched
 * and, when it returns, is only slow (the host counts it as slow_op).
 *
 * And the rest of the run must be getting somewhere meanwhile: when the
 * guest itself stands still (its vCPUs starved on a busy host), every lane's
 * stack stands still with it.
 *
 * The loops khungtaskd never reports are caught the same way: a thread in
 * schedule_timeout_uninterruptible(1) inside snd_seq_pool_done() sleeps and
 * wakes every tick, so it is never "blocked for 120 s", but every sample
 * shows snd_seq_pool_done <- snd_seq_pool_delete <- ... <- the ioctl.
 *
 * Without root the stack is unreadable; then the wait channel stands in for
 * it (same non-empty wchan, thread sleeping, in every sample). The watchdog
 * only reads /proc; it never touches a lane's locks, so a lane stuck anywhere
 * cannot stall it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define WD_TICK_NS 10000000LL       /* 10 ms */
#define WD_SAMPLES 8                /* kept per operation (a ring) */
#define WD_MIN_SAMPLES 3            /* needed before a verdict */
#define WD_MIN_INTERVAL_NS 20000000LL
#define WD_KEY 1024

struct wd_sample {
	int64_t t;
	int64_t run_ns;  /* CPU time the thread has had (schedstat), -1 when unknown */
	uint64_t others; /* operations the other lanes had completed: is the guest getting anywhere? */
	int others_alive;
	char state;     /* R, S, D... */
	int readable;   /* the stack file had frames */
	int returning;  /* a frame on the way back to user space */
	char key[WD_KEY];   /* the blocking frames, function names only */
	char wchan[64];
};

struct wd_lane {
	int64_t op;       /* op_start being watched */
	int64_t next_at;  /* when to sample next */
	int n;            /* samples taken for this op (ring index = n % WD_SAMPLES) */
	struct wd_sample s[WD_SAMPLES];
	/* What the report shows: the last sample with a readable stack (a thread
	 * caught runnable between two sleeps has none), else the last sample. */
	char stack[4096];
	char state[64];
	char wchan[128];
	/* the probe in progress */
	char p_stack[4096];
	char p_state[64];
	char p_wchan[128];
};

static pthread_t wd_thread;
static _Atomic int wd_running;
static struct wd_lane wd_lanes[MAX_LANES + 2];

static void slurp(const char *path, char *out, size_t cap)
{
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	out[n > 0 ? n : 0] = 0;
}

void task_probe(pid_t tid, char *state, size_t sl, char *wchan, size_t wl, char *stack, size_t stl)
{
	char path[96], buf[4096];
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
	slurp(path, buf, sizeof buf);
	state[0] = 0;
	char *s = strstr(buf, "\nState:");
	if (s) {
		s += 7;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, "\n");
		snprintf(state, sl, "%.*s", (int)n, s);
	}
	snprintf(path, sizeof path, "/proc/self/task/%d/wchan", (int)tid);
	slurp(path, wchan, wl);
	if (!strcmp(wchan, "0"))
		wchan[0] = 0;
	/* the kernel stack needs root; without it the file reads as empty or fails */
	snprintf(path, sizeof path, "/proc/self/task/%d/stack", (int)tid);
	slurp(path, stack, stl);
}

/* Frames of the scheduler a blocked thread sits in, whatever it waits for. */
static int sched_frame(const char *fn)
{
	static const char *const names[] = {
		"__schedule", "schedule", "schedule_timeout", "schedule_hrtimeout_range",
		"schedule_hrtimeout_range_clock", "schedule_hrtimeout", "io_schedule",
		"io_schedule_timeout", "schedule_preempt_disabled", "preempt_schedule",
		"preempt_schedule_common", "preempt_schedule_irq", "__cond_resched",
		"_cond_resched", "msleep", "usleep_range_state", "do_nanosleep",
		"schedule_timeout_uninterruptible", "schedule_timeout_interruptible",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(fn, names[i]))
			return 1;
	return 0;
}

/* Frames a thread passes through on its way out of the kernel. */
static int return_frame(const char *fn)
{
	return !strncmp(fn, "exit_to_user_mode", 17) || !strncmp(fn, "syscall_exit_to_user_mode", 25) ||
	       !strncmp(fn, "irqentry_exit_to_user_mode", 26) || !strcmp(fn, "ret_from_fork") ||
	       !strncmp(fn, "__syscall_exit", 14);
}

/* System call entry frames: present under every call, so they say nothing about where it waits. */
static int entry_frame(const char *fn)
{
	return !strcmp(fn, "do_syscall_64") || !strncmp(fn, "entry_SYSCALL", 13) || !strncmp(fn, "__x64_sys_", 10) ||
	       !strncmp(fn, "__do_sys_", 9) || !strncmp(fn, "__se_sys_", 9) || !strncmp(fn, "asm_", 4);
}

/* "[<0>] snd_seq_pool_done+0x9a/0x130 [snd_seq]\n" lines into the blocking frames' names. */
static void stack_key(const char *stack, struct wd_sample *out)
{
	char *k = out->key;
	size_t left = sizeof out->key;
	int frames = 0, inside = 0;
	out->key[0] = 0;
	out->returning = 0;
	for (const char *p = stack; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *f = memchr(p, ']', len);
		f = f ? f + 1 : p;
		while (f < p + len && *f == ' ')
			f++;
		char fn[128];
		size_t n = strcspn(f, "+ \n");
		size_t rest = (size_t)(p + len - f);
		if (n > rest)
			n = rest;
		snprintf(fn, sizeof fn, "%.*s", (int)n, f);
		if (fn[0]) {
			frames++;
			if (return_frame(fn))
				out->returning = 1;
			/* the scheduler's frames on top are where any wait ends up: skip them */
			if (!(inside == 0 && sched_frame(fn)) && !entry_frame(fn)) {
				inside = 1;
				int w = snprintf(k, left, "%s%s", k == out->key ? "" : "<", fn);
				if (w > 0 && (size_t)w < left) {
					k += w;
					left -= (size_t)w;
				}
			}
		}
		p += len + (eol ? 1 : 0);
	}
	out->readable = frames > 0;
}

/* The CPU time a thread has had, from /proc/<tid>/schedstat ("run wait slices"); -1 without it. */
static int64_t run_time(pid_t tid)
{
	char path[96], buf[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
	slurp(path, buf, sizeof buf);
	long long v;
	return sscanf(buf, "%lld", &v) == 1 ? (int64_t)v : -1;
}

static void take_sample(struct run *r, struct lane *l, struct wd_lane *w, int64_t now)
{
	struct wd_sample *s = &w->s[w->n % WD_SAMPLES];
	s->run_ns = run_time(atomic_load(&l->tid));
	s->others = 0;
	s->others_alive = 0;
	for (int i = 0; i < r->nlanes_total && i < MAX_LANES + 2; i++) {
		struct lane *o = r->lanes[i];
		if (!o || o == l || atomic_load(&o->finished))
			continue;
		s->others += atomic_load_explicit(&o->ops, memory_order_relaxed);
		s->others_alive++;
	}
	task_probe(atomic_load(&l->tid), w->p_state, sizeof w->p_state, w->p_wchan, sizeof w->p_wchan, w->p_stack, sizeof w->p_stack);
	s->t = now;
	s->state = w->p_state[0];
	snprintf(s->wchan, sizeof s->wchan, "%s", w->p_wchan);
	stack_key(w->p_stack, s);
	if (s->readable || !w->stack[0]) {
		memcpy(w->stack, w->p_stack, sizeof w->stack);
		memcpy(w->state, w->p_state, sizeof w->state);
		memcpy(w->wchan, w->p_wchan, sizeof w->wchan);
	}
	w->n++;
}

/*
 * Stuck: the last samples (at least WD_MIN_SAMPLES, spanning a quarter of the
 * bound) all show the same blocking frames inside the call, none returning.
 * Returns the number of samples that agree, 0 when not stuck.
 */
static int stuck(const struct wd_lane *w, int64_t bound, int64_t *span)
{
	int have = w->n < WD_SAMPLES ? w->n : WD_SAMPLES;
	if (have < WD_MIN_SAMPLES)
		return 0;
	const struct wd_sample *first = NULL, *ref = NULL, *prev = NULL;
	int readable = 0, unreadable = 0;
	for (int i = 0; i < have; i++) {
		const struct wd_sample *s = &w->s[(w->n - have + i) % WD_SAMPLES];
		if (!first)
			first = s;
		if (s->returning)
			return 0;
		/* Runnable without having run since the last look: the thread is waiting
		 * for a CPU (a starved guest), which says nothing about the call. A
		 * thread looping inside the call (sleep, wake, sleep) has run. */
		if (s->state == 'R' && (s->run_ns < 0 || (prev && prev->run_ns >= 0 && s->run_ns == prev->run_ns)))
			return 0;
		prev = s;
		if (!s->readable) {
			/* running on a CPU (or no root): that sample proves nothing either way */
			unreadable++;
			continue;
		}
		if (!s->key[0])
			return 0; /* nothing but entry frames: not inside a kernel function */
		if (ref && strcmp(ref->key, s->key))
			return 0;
		ref = s;
		readable++;
	}
	const struct wd_sample *last = &w->s[(w->n - 1) % WD_SAMPLES];
	*span = last->t - first->t;
	if (*span < bound / 4)
		return 0;
	/* A guest that stood still (its vCPUs not scheduled on a busy host) shows the
	 * same stack for every lane: only a lane stuck while the others get work done
	 * is stuck in the kernel. A lane alone has nothing to compare with. */
	if (first->others_alive && last->others_alive && last->others - first->others < WD_MIN_SAMPLES)
		return 0;
	if (readable >= WD_MIN_SAMPLES)
		return readable;
	if (readable == 0 && unreadable == have) {
		/* no stack at all (not root): the same wait channel, asleep, every time */
		for (int i = 0; i < have; i++) {
			const struct wd_sample *s = &w->s[(w->n - have + i) % WD_SAMPLES];
			if (!s->wchan[0] || strcmp(s->wchan, first->wchan) || (s->state != 'D' && s->state != 'S'))
				return 0;
		}
		return have;
	}
	return 0;
}

static void check(struct run *r, int slot, struct lane *l, int64_t now)
{
	struct wd_lane *w = &wd_lanes[slot];
	int64_t st = atomic_load_explicit(&l->op_start, memory_order_acquire);
	if (!st) {
		w->op = 0;
		return;
	}
	int64_t bound = atomic_load_explicit(&l->cur_bound, memory_order_relaxed);
	if (w->op != st) {
		w->op = st;
		w->n = 0;
		w->next_at = st + bound / 2;
		w->stack[0] = 0;
	}
	if (atomic_load_explicit(&l->hung_reported_for, memory_order_relaxed) == st || now < w->next_at)
		return;
	take_sample(r, l, w, now);
	int64_t every = bound / 8 > WD_MIN_INTERVAL_NS ? bound / 8 : WD_MIN_INTERVAL_NS;
	w->next_at = now + every;
	if (now - st < bound)
		return;
	int64_t span = 0;
	int agree = stuck(w, bound, &span);
	/* still the same op? (it may have returned while we were reading /proc) */
	if (!agree || atomic_load_explicit(&l->op_start, memory_order_acquire) != st)
		return;
	int step = atomic_load(&l->cur_step);
	int64_t iter = atomic_load(&l->cur_iter);
	char detail[200];
	snprintf(detail, sizeof detail, "step %d (op %d) has not returned after %.3f s; %s unchanged in %d samples over %.3f s", step,
		 l->def->steps[step].op, (double)(now - st) / 1e9, w->stack[0] ? "kernel stack" : "wait channel", agree, (double)span / 1e9);
	emit_lane(l, LS_HUNG, step, iter, detail, w->wchan[0] ? w->wchan : NULL, w->state[0] ? w->state : NULL, w->stack[0] ? w->stack : NULL);
	atomic_store(&l->hung_reported_for, st);
	atomic_fetch_add(&r->hung_lanes, 1);
}

static void *wd_main(void *arg)
{
	struct run *r = arg;
	while (atomic_load(&wd_running)) {
		int64_t now = now_ns();
		for (int i = 0; i < r->nlanes_total && i < MAX_LANES + 2; i++) {
			struct lane *l = r->lanes[i];
			if (l)
				check(r, i, l, now);
		}
		struct timespec ts = { 0, WD_TICK_NS };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void watchdog_start(struct run *r)
{
	memset(wd_lanes, 0, sizeof wd_lanes);
	atomic_store(&wd_running, 1);
	if (pthread_create(&wd_thread, NULL, wd_main, r) != 0)
		atomic_store(&wd_running, 0);
}

void watchdog_stop(void)
{
	if (atomic_exchange(&wd_running, 0))
		pthread_join(wd_thread, NULL);
}
