/* Hang watchdog: a lane inside one operation for longer than its bound is
 * reported once per operation, with what the kernel says about the thread
 * (task state, wait channel, kernel stack when readable). It only reads
 * /proc; it never touches a lane's locks, so a lane stuck anywhere cannot
 * stall it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static pthread_t wd_thread;
static _Atomic int wd_running;

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

static void check(struct run *r, struct lane *l, int64_t now)
{
	int64_t st = atomic_load_explicit(&l->op_start, memory_order_acquire);
	if (!st || atomic_load_explicit(&l->hung_reported_for, memory_order_relaxed) == st)
		return;
	int64_t bound = atomic_load_explicit(&l->cur_bound, memory_order_relaxed);
	if (now - st < bound)
		return;
	int step = atomic_load(&l->cur_step);
	int64_t iter = atomic_load(&l->cur_iter);
	char state[64], wchan[128], stack[4096], detail[160];
	task_probe(atomic_load(&l->tid), state, sizeof state, wchan, sizeof wchan, stack, sizeof stack);
	/* still the same op? (it may have returned while we were reading /proc) */
	if (atomic_load_explicit(&l->op_start, memory_order_acquire) != st)
		return;
	snprintf(detail, sizeof detail, "step %d (op %d) has not returned after %.3f s", step, l->def->steps[step].op, (double)(now - st) / 1e9);
	emit_lane(l, LS_HUNG, step, iter, detail, wchan[0] ? wchan : NULL, state[0] ? state : NULL, stack[0] ? stack : NULL);
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
				check(r, l, now);
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void watchdog_start(struct run *r)
{
	atomic_store(&wd_running, 1);
	if (pthread_create(&wd_thread, NULL, wd_main, r) != 0)
		atomic_store(&wd_running, 0);
}

void watchdog_stop(void)
{
	if (atomic_exchange(&wd_running, 0))
		pthread_join(wd_thread, NULL);
}
