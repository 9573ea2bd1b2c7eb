/* Race windows on demand, as syzkaller makes them (app/program/README.md,
 * "Buffers"): a step's user buffer laid out so that the kernel's copy of it
 * stops part way.
 *
 * - edge >= 0, hold < 0: ordinary memory up to byte `edge`, a PROT_NONE page
 *   after it, so copy_to_user/copy_from_user fault there (EFAULT);
 * - hold >= 0: the buffer from byte `edge` on is registered with userfaultfd
 *   (MISSING mode) and not populated, so the kernel's first touch blocks in
 *   handle_userfault. The lane's fault handler thread then meets barrier
 *   `hold` for the lane, waits until the other lanes that met it are blocked
 *   inside their next call (or have finished it; at most HOLD_SETTLE_MAX_NS),
 *   and only then resolves every held page at once (UFFDIO_COPY of the
 *   bytes the buffer should hold), which lets the kernel path continue.
 *
 * A held step meets its barrier exactly once per execution: from the
 * handler, or in window_end() when the kernel never touched the held part
 * (or the op made no system call), so the lanes waiting there are never left
 * behind. The step's record says which (D_HELD). The special part starts on
 * a page boundary: the buffer is placed `edge` bytes before it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/* the simulator's values (app/program/resolve.ts) */
#define HOLD_SETTLE_MAX_NS 100000000LL
#define HOLD_POLL_NS 20000L

struct window {
	struct lane *lane;
	int uffd; /* -1 until the lane first holds a buffer */
	pthread_t thread;
	int wake[2]; /* closes the handler at the end of the run */
	/* this execution's layout */
	int active, hold;
	uint8_t *region;
	size_t region_len;
	uint8_t *buf;     /* what the system call gets: `edge` bytes before `special` */
	uint8_t *special; /* page-aligned start of the unmapped or held part */
	size_t special_len;
	uint8_t *staging; /* what the held pages must contain when resolved */
	size_t staging_cap;
	_Atomic int faulted; /* the handler took this execution's fault */
	_Atomic int busy;    /* the handler is between the fault and UFFDIO_COPY */
};

static size_t page_size(void)
{
	static size_t pg;
	if (!pg) {
		long v = sysconf(_SC_PAGESIZE);
		pg = v > 0 ? (size_t)v : 4096;
	}
	return pg;
}

int window_probe(char *err, size_t errlen)
{
	int fd = window_uffd_open(1);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd == -EPERM)
		snprintf(err, errlen,
		         "the program holds buffers with userfaultfd (hold:), but userfaultfd() was refused (EPERM): kernel-mode faults need "
		         "the agent to run as root (or with CAP_SYS_PTRACE), or sysctl vm.unprivileged_userfaultfd=1");
	else if (fd == -ENOSYS)
		snprintf(err, errlen, "the program holds buffers with userfaultfd (hold:), but this kernel has no userfaultfd (CONFIG_USERFAULTFD is off)");
	else
		snprintf(err, errlen, "the program holds buffers with userfaultfd (hold:), but userfaultfd() failed: %s", strerror(-fd));
	return -1;
}

static int64_t step_fixed(const struct step *s, int key, int64_t dflt)
{
	for (int i = 0; i < s->nargs; i++)
		if (s->args[i].key == key && s->args[i].v.type == V_INT)
			return s->args[i].v.i;
	return dflt;
}

/* Does lane l meet barrier b (a barrier step, or a buffer held on it)? */
static int meets(const struct lane *l, int b)
{
	for (int i = 0; i < l->def->nsteps; i++) {
		const struct step *s = &l->def->steps[i];
		if ((s->op == OP_BARRIER && step_fixed(s, A_BARRIER, -1) == b) || step_fixed(s, A_HOLD, -1) == b)
			return 1;
	}
	return 0;
}

static int timing_op(int op) { return op == OP_SLEEP || op == OP_JITTER || op == OP_BARRIER || op == OP_AT_PERIOD; }

/* After the barrier released: wait until every other lane that met it is
 * inside its next call and blocked there, or has finished that call. */
static void settle(struct window *w)
{
	struct run *r = w->lane->run;
	struct lane *others[MAX_LANES + 2];
	uint64_t base[MAX_LANES + 2];
	int n = 0, total = atomic_load(&r->nlanes_total);
	for (int i = 0; i < total; i++) {
		struct lane *o = r->lanes[i];
		if (o && o != w->lane && o->def->role == ROLE_LANE && meets(o, w->hold)) {
			others[n] = o;
			base[n++] = atomic_load_explicit(&o->ops, memory_order_relaxed);
		}
	}
	int64_t until = now_ns() + HOLD_SETTLE_MAX_NS;
	while (now_ns() < until && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int all = 1;
		for (int i = 0; i < n && all; i++) {
			struct lane *o = others[i];
			if (atomic_load(&o->finished) || atomic_load_explicit(&o->ops, memory_order_relaxed) >= base[i] + 2)
				continue;
			int si = atomic_load_explicit(&o->cur_step, memory_order_relaxed);
			int inside = atomic_load_explicit(&o->op_start, memory_order_acquire) != 0 && si >= 0 && si < o->def->nsteps &&
			             !timing_op(o->def->steps[si].op);
			if (!inside || !window_task_blocked(atomic_load(&o->tid)))
				all = 0;
		}
		if (all)
			return;
		struct timespec ts = { 0, HOLD_POLL_NS };
		nanosleep(&ts, NULL);
	}
}

static void *handler(void *arg)
{
	struct window *w = arg;
	/* the run's interruption signal is for lane threads only */
	sigset_t s;
	sigfillset(&s);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	for (;;) {
		struct pollfd pf[2] = { { w->uffd, POLLIN, 0 }, { w->wake[0], POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pf[1].revents)
			return NULL;
		struct uffd_msg msg;
		ssize_t n = read(w->uffd, &msg, sizeof msg);
		if (n != (ssize_t)sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		atomic_store(&w->busy, 1);
		if (!atomic_exchange(&w->faulted, 1)) {
			uint32_t gen;
			if (barrier_meet(w->lane, w->hold, &gen) == 0)
				settle(w);
		}
		struct uffdio_copy c = { .dst = (uintptr_t)w->special, .src = (uintptr_t)w->staging, .len = w->special_len, .mode = 0 };
		if (ioctl(w->uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST) {
			/* never leave the kernel path waiting: wake it, it faults again and gets the next copy */
			struct uffdio_range rg = { (uintptr_t)w->special, w->special_len };
			ioctl(w->uffd, UFFDIO_WAKE, &rg);
		}
		atomic_store(&w->busy, 0);
	}
}

static struct window *window_of(struct lane *l)
{
	if (!l->win) {
		struct window *w = calloc(1, sizeof *w);
		if (!w)
			abort();
		w->lane = l;
		w->uffd = -1;
		w->wake[0] = w->wake[1] = -1;
		l->win = w;
	}
	return l->win;
}

static int handler_start(struct window *w)
{
	if (w->uffd >= 0)
		return 0;
	int fd = window_uffd_open(1);
	if (fd < 0)
		return fd;
	if (pipe2(w->wake, O_CLOEXEC) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	w->uffd = fd;
	if (pthread_create(&w->thread, NULL, handler, w) != 0) {
		close(fd);
		close(w->wake[0]);
		close(w->wake[1]);
		w->uffd = w->wake[0] = w->wake[1] = -1;
		return -EAGAIN;
	}
	return 0;
}

void window_begin(struct exec *x)
{
	int hold = (int)arg_int(&x->r, A_HOLD, -1);
	int64_t edge = arg_int(&x->r, A_EDGE, -1);
	if (hold < 0 && edge < 0) {
		if (x->lane->win)
			x->lane->win->active = 0;
		return;
	}
	struct window *w = window_of(x->lane);
	w->active = 1;
	w->hold = hold;
	w->region = NULL;
	atomic_store(&w->faulted, 0);
}

uint8_t *window_buffer(struct exec *x, uint8_t *plain, size_t len, int fill, int *err)
{
	struct window *w = x->lane->win;
	*err = 0;
	if (!w || !w->active)
		return plain;
	if (w->region) /* one layout per execution: a retried write reuses it */
		return w->buf;
	size_t pg = page_size();
	size_t edge = (size_t)arg_int(&x->r, A_EDGE, 0);
	if (edge > len)
		edge = len;
	size_t before = (edge + pg - 1) / pg * pg;
	size_t after = len - edge > 0 ? (len - edge + pg - 1) / pg * pg : pg;
	uint8_t *m = mmap(NULL, before + after, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		*err = -ENOMEM;
		return NULL;
	}
	w->region = m;
	w->region_len = before + after;
	w->special = m + before;
	w->special_len = after;
	uint8_t *buf = w->buf = w->special - edge;
	if (fill && plain)
		memcpy(buf, plain, edge);
	if (w->hold < 0) {
		if (mprotect(w->special, after, PROT_NONE) < 0)
			*err = -errno;
		return *err ? NULL : buf;
	}
	int e = handler_start(w);
	if (e < 0) {
		*err = e;
		return NULL;
	}
	if (after > w->staging_cap) {
		free(w->staging);
		w->staging = calloc(1, after);
		if (!w->staging)
			abort();
		w->staging_cap = after;
	}
	memset(w->staging, 0, after);
	if (fill && plain && len > edge)
		memcpy(w->staging, plain + edge, len - edge);
	struct uffdio_register reg = { .range = { (uintptr_t)w->special, after }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(w->uffd, UFFDIO_REGISTER, &reg) < 0) {
		*err = -errno;
		return NULL;
	}
	return buf;
}

int64_t window_edge(struct exec *x)
{
	struct window *w = x->lane->win;
	return w && w->active ? arg_int(&x->r, A_EDGE, -1) : -1;
}

void window_end(struct exec *x)
{
	struct window *w = x->lane->win;
	if (!w || !w->active)
		return;
	w->active = 0;
	if (w->hold >= 0) {
		/* a signal can end the system call while the handler still waits at the barrier */
		while (atomic_load(&w->busy)) {
			struct timespec ts = { 0, HOLD_POLL_NS };
			nanosleep(&ts, NULL);
		}
		int faulted = atomic_load(&w->faulted);
		if (!faulted) {
			uint32_t gen;
			barrier_meet(x->lane, w->hold, &gen);
		}
		wf_bool(x->out, D_HELD, faulted);
	}
	if (w->region)
		munmap(w->region, w->region_len); /* unregisters the held range too */
	w->region = NULL;
}

void window_free(struct lane *l)
{
	struct window *w = l->win;
	if (!w)
		return;
	if (w->uffd >= 0) {
		if (write(w->wake[1], "x", 1) < 0) {
			/* the handler also leaves when the descriptor closes under poll; nothing else to do */
		}
		pthread_join(w->thread, NULL);
		close(w->uffd);
		close(w->wake[0]);
		close(w->wake[1]);
	}
	free(w->staging);
	free(w);
	l->win = NULL;
}
