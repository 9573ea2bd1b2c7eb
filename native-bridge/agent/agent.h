/* Audio Stress Lab native agent: shared declarations.
 *
 * The agent executes a resolved program (app/program; PROTOCOL.md, "RUN") with one
 * POSIX thread per lane and raw ALSA ioctls, and streams what happened back
 * as batched binary event records. Everything that can block in the kernel
 * runs on lane threads; the main thread keeps serving the protocol so the
 * host can always ask for a stop, a ping or a device listing.
 */
#ifndef STRESSLAB_AGENT_H
#define STRESSLAB_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h"
#include "proto.h"
#include "rules.h"

#define AGENT_VERSION "0.1.0"

#define MAX_LANES 64
#define MAX_HANDLES 255
#define MAX_BARRIERS 64
#define MAX_STEPS 256
#define MAX_CARDS 32

/* Lane indexes used in event records for the two pseudo-lanes. */
#define LANE_SETUP 254
#define LANE_TEARDOWN 255

/* ---- the program (see PROTOCOL.md "RUN") ---- */

struct step {
	int op;
	int handle;           /* index into the handle table, -1 when the op has none */
	int64_t timeout;      /* ns; 0 = the program's hang timeout */
	int nargs;
	struct arg *args;
};

enum lane_role { ROLE_LANE = 0, ROLE_SETUP = 1, ROLE_TEARDOWN = 2 };

struct lane_def {
	char name[64];
	int role;
	int64_t iterations; /* 0: until the run's duration ends */
	uint32_t rng_stream; /* the lane generator's stream (lane index, setup 1000, teardown 1001) */
	int nsteps;
	struct step *steps;
};

enum handle_kind { HK_PCM = 1, HK_SEQ = 2 };

struct handle_def {
	char name[40];
	int kind;
};

struct barrier_def {
	char name[40];
	int parties;
};

#define RUNF_ALLOW_UNBIND 1u /* device.detach may unbind drivers through sysfs */
#define RUNF_HOST_DEVICES 2u /* ask the host first (virtual lab: USB unplug via QMP) */
#define RUNF_NO_METRICS 4u   /* skip the extra STATUS calls metrics need (benchmarks) */

struct program {
	uint8_t *payload; /* owns the RUN payload: strings point into it */
	struct arena *arena;
	uint64_t seed;
	int64_t duration;     /* ns */
	int64_t hang_timeout; /* ns */
	uint32_t flags;
	int nhandles, nbarriers, nlanes;
	struct handle_def handles[MAX_HANDLES];
	struct barrier_def barriers[MAX_BARRIERS];
	struct lane_def lanes[MAX_LANES];
	struct lane_def setup, teardown;
};

/* Parses a RUN payload; on failure returns NULL and writes a reason to err. */
struct program *program_parse(uint8_t *payload, size_t len, char *err, size_t errlen);
void program_free(struct program *p);

/* ---- the run ---- */

/* Per-handle live state. Several lanes share a handle on purpose (racing
 * HW_PARAMS on one fd); everything a lane may read while another writes is
 * atomic so that the races stay in the kernel, not in the agent. */
struct pcm_state {
	_Atomic int card, device, subdevice, stream;
	/* what the last successful HW_PARAMS granted since the handle was opened (rule "granted parameters") */
	_Atomic int format, channels, rate, access;
	_Atomic long period_size, buffer_size;
	_Atomic int frame_bytes;     /* last configured */
	_Atomic int max_frame_bytes; /* largest ever configured: sizes scratch buffers */
	_Atomic uint64_t boundary;
};

struct seq_state {
	_Atomic int client;
	_Atomic int nonblock;
};

struct stream_metrics; /* metrics.c */

struct handle {
	const struct handle_def *def;
	int index;
	_Atomic int fd;
	struct pcm_state pcm;
	struct seq_state seq;
	struct stream_metrics *m;
};

struct lane;

struct run {
	struct program *prog;
	int64_t t0;           /* CLOCK_MONOTONIC ns at run start */
	int64_t deadline;     /* absolute ns */
	_Atomic int stop;     /* lanes finish their current step and leave */
	_Atomic int stopped_by_host;
	struct handle handles[MAX_HANDLES];
	struct lab_barrier *barriers;
	struct lane *lanes[MAX_LANES + 2];
	_Atomic int nlanes_total;
	pthread_t controller;
	_Atomic int done;
	_Atomic int hung_lanes;
	struct ctl_files ctl; /* rule "control files" (rules.h) */
	/* device.detach bookkeeping for re-attach by sysfs bind */
	char unbound_driver[MAX_CARDS][256];
	char unbound_dev[MAX_CARDS][128];
};

struct evbuf; /* emit.c */

struct lane {
	struct run *run;
	const struct lane_def *def;
	int index; /* 0..63, LANE_SETUP, LANE_TEARDOWN */
	pthread_t thread;
	_Atomic pid_t tid;
	_Atomic int finished;
	struct rng rng;
	struct evbuf *ev;
	/* watched by the watchdog */
	_Atomic int64_t op_start; /* abs ns, 0 = not inside an op */
	_Atomic int cur_step;
	_Atomic int64_t cur_iter;
	_Atomic int64_t cur_bound;
	_Atomic int64_t hung_reported_for; /* op_start value already reported */
	_Atomic uint64_t ops; /* written by this lane only; read by the heartbeat */
	/* sequencer numbering: per handle sent by this lane (rule "sequencer numbering") */
	uint32_t seq_next[MAX_HANDLES];
	/* barrier alignment (timing.c): its own generator, so the lane's argument draws stay the program's */
	struct lab_barrier *pending_barrier;
	struct rng align_rng;
	/* race windows on demand (window.c), created at the lane's first one */
	struct window *win;
	/* scratch */
	uint8_t *xbuf;
	size_t xcap;
	double phase; /* sine generator */
};

struct run *run_current(void);
int run_start(struct program *p, char *err, size_t errlen);
void run_request_stop(void);
int64_t now_ns(void);
void clock_init(void);
const char *clock_tick(void);
const char *clock_describe(void);
void kmsg_sync(void);
int64_t run_t(const struct run *r, int64_t abs_ns);

/* Executes one step; writes op data fields to `out`; returns ret (>=0 or -errno). */
struct exec {
	struct lane *lane;
	const struct step *step;
	struct resolved r;
	int64_t iter;
	struct wbuf *out;
	/* ops that do work around the syscall narrow the timed window */
	int64_t t_begin, t_end;
};

/* window.c: a step's user buffer laid out as its hold/edge arguments say */
int window_probe(char *err, size_t errlen);
void window_begin(struct exec *x);
/* `plain` (len bytes; copied in when fill) laid out for the system call; `plain` itself when the step lays out nothing */
uint8_t *window_buffer(struct exec *x, uint8_t *plain, size_t len, int fill, int *err);
/* where the unmapped or held part starts (bytes into the buffer), -1 without one */
int64_t window_edge(struct exec *x);
void window_end(struct exec *x);
void window_free(struct lane *l);
/* timing.c: arrive at barrier `index` for lane l and wait for its release (0, or -EINTR when the run stops) */
int barrier_meet(struct lane *l, int index, uint32_t *gen);

int64_t op_pcm(struct exec *x);
int64_t op_seq(struct exec *x);
int64_t op_ctl(struct exec *x);
int64_t op_device(struct exec *x);
int64_t op_timing(struct exec *x);
int64_t op_sweep(struct exec *x); /* sweep.c: rule "conformance sweep" */
/* An op made of bounded parts starts the next one: its hang clock starts again. */
void lane_progress(struct lane *l);
int lane_stopping(const struct lane *l);
/* CLOCK_MONOTONIC, ns: the clock the kernel's PCM timestamps use (TTSTAMP MONOTONIC) */
int64_t mono_ns(void);

/* barriers (timing.c) */
struct lab_barrier *barriers_create(const struct program *p);
void barriers_free(struct lab_barrier *b, int n);
void barriers_wake_all(struct lab_barrier *b, int n);
void lane_barrier_note(struct lane *l, int64_t dur);
uint8_t *lane_buf(struct lane *l, size_t n);

/* control helpers (ctl.c) */
int card_resolve(const struct resolved *x, int key, int dflt);

/* host requests (main.c): blocks until the host replies; returns the reply code. */
int host_request(int kind, int card, const char *card_id, const char *driver, int64_t timeout_ns);
enum { REQ_DETACH = 1, REQ_ATTACH = 2 };
#define REPLY_DO_IT_YOURSELF 1

/* watchdog.c */
void watchdog_start(struct run *r);
void watchdog_stop(void);
void task_probe(pid_t tid, char *state, size_t sl, char *wchan, size_t wl, char *stack, size_t stl);

/* devlist.c: the DeviceList JSON (app/devices/types.ts without "target") */
char *devices_json(size_t *len);

/* emit.c */
/* One protocol frame to the host (stdout), whole: callers on any thread. */
void frame_send(uint8_t type, const uint8_t *payload, size_t len);
struct evbuf *evbuf_new(void);
void evbuf_free(struct evbuf *e);
void emit_record(struct evbuf *e, const uint8_t *rec, size_t len);
void emit_register(struct evbuf *e);
void emit_unregister_all(void);
void emit_flush(void);
void emit_start(void);
void emit_set_run(struct run *r);
void emit_note(struct evbuf *e, int level, int64_t t, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void emit_lane(struct lane *l, int state, int step, int64_t iter, const char *detail, const char *wchan, const char *task_state, const char *stack);
void emit_metric(struct evbuf *e, int metric, int lane, int handle, int64_t t, double value);
/* A JSON event (R_JSON): the host adds kind-independent fields (lane and handle names). */
void emit_json(struct evbuf *e, int lane, int handle, int64_t t, const char *json, size_t n);
extern struct evbuf *g_ctl_ev; /* events not tied to a lane (controller, watchdog) */

/* metrics.c */
struct stream_metrics *metrics_new(void);
void metrics_free(struct stream_metrics *m);
void metrics_reset(struct handle *h);
void metrics_after_xfer(struct exec *x, struct handle *h, int64_t t_call, int64_t t_ret, long frames, long ret, int capture);
void metrics_status(struct exec *x, struct handle *h, int64_t t, int state, uint64_t hw_ptr, long avail);
void metrics_xrun(struct exec *x, struct handle *h, int64_t t);
void metrics_fill_playback(struct exec *x, struct handle *h, uint8_t *buf, long frames, int pattern);
void metrics_scan_capture(struct exec *x, struct handle *h, const uint8_t *buf, long frames, int64_t t_ret);
void metrics_run_end(struct run *r);
/* A `delay` sample of a running stream from a STATUS the caller made (every pcm.status) */
void metrics_delay(struct exec *x, struct handle *h, int state, long delay);
/* After a transfer: a STATUS for a `delay` sample, at most every DELAY_EVERY_NS per stream */
void metrics_delay_after_xfer(struct exec *x, struct handle *h, int fd);

/* pcm helpers shared with metrics and timing */
int pcm_format_bits(int fmt);
/* SYNC_PTR with HWSYNC: the stream's state and pointers; 0 or -errno */
int pcm_sync(int fd, int *state, uint64_t *hw_ptr, uint64_t *appl_ptr);

#endif
