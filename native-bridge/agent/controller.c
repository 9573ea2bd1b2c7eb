/* The run's controller: setup on its own thread, one thread per lane, the
 * deadline, the stop sequence that interrupts lanes blocked in the kernel,
 * teardown, and DONE. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

static _Atomic(struct run *) g_run;
static _Atomic int g_tainted; /* a lane never came back: refuse new runs */

int64_t run_t(const struct run *r, int64_t abs_ns) { return abs_ns - r->t0; }

struct run *run_current(void) { return atomic_load(&g_run); }

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
	ctl_files_close_all(&r->ctl);
}

static void *controller_main(void *arg)
{
	struct run *r = arg;
	struct program *p = r->prog;
	int abandoned = 0;

	watchdog_start(r);
	if (p->setup.nsteps) {
		struct lane *s = lane_new(r, &p->setup, LANE_SETUP);
		lane_publish(r, s);
		lane_run_inline(s);
	}
	int first = r->nlanes_total;
	for (int i = 0; i < p->nlanes; i++) {
		struct lane *l = lane_new(r, &p->lanes[i], i);
		lane_publish(r, l);
		if (pthread_create(&l->thread, NULL, lane_thread, l) != 0) {
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
		struct lane *t = lane_new(r, &p->teardown, LANE_TEARDOWN);
		lane_publish(r, t);
		lane_run_inline(t);
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
	for (int i = 0; i < r->nlanes_total; i++)
		lane_free(r->lanes[i]);
	for (int i = 0; i < r->prog->nhandles; i++)
		metrics_free(r->handles[i].m);
	barriers_free(r->barriers, r->prog->nbarriers);
	pthread_mutex_destroy(&r->ctl.lock);
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
	signals_install();
	struct run *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->prog = p;
	ctl_files_init(&r->ctl);
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
