/* The runtime of a C reproducer written by `stresslab repro`: everything a
 * reproducer does besides the program itself (the lanes, written further
 * down as one function each, where "the program" begins). It executes a
 * resolved program exactly as the lab's native agent does: the rules are the
 * agent's own (native-bridge/agent/rules.h, copied in at "@repro:rules"), the
 * barriers are the agent's fuzzy-sync barriers, at_period polls SYNC_PTR like
 * the agent's timing.c, seq.read's fault buffer is a PROT_NONE page, and
 * buffers laid out by HOLD / UNMAPPED_FROM are the agent's window.c (a
 * userfaultfd handler thread that meets a barrier before resolving the page;
 * a PROT_NONE tail).
 * What the agent streams to the lab, a reproducer checks itself where user
 * space can see it: a torn HW_PARAMS readback, a lane stuck in one call
 * (its /proc/self/task/<tid>/{wchan,stack} sampled until the stack proves it
 * is not moving), and kernel reports in /dev/kmsg.
 *
 * Kept in one file with the program on purpose: a driver developer attaches
 * one .c file to a bug report. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>
#include <sound/asequencer.h>

#include "../agent/rules.h" /* @repro:rules */

/* ops and helpers a program may not use */
#define OP static __attribute__((unused)) int64_t
#define RT static __attribute__((unused))
#define MS 1000000LL
#define US 1000LL
#define MAX_LANES 64
#define MAX_HANDLES 64
#define MAX_CARDS 32
#define MAX_ACCEPTED 16

/* ---- the program's shape (the generated part fills these) ---- */

enum handle_kind { PCM = 1, SEQ = 2 };

struct handle_def {
	const char *name;
	int kind;
};

struct barrier_def {
	const char *name;
	int parties;
	uint64_t members; /* bit i: lane i meets it (a barrier step, or a buffer held on it) */
};

struct lane;
typedef void lane_fn(struct lane *L);

struct lane_def {
	const char *name;
	lane_fn *fn;
	long iterations;  /* 0: until the budget ends */
	uint32_t stream;  /* the lane generator's stream */
	const int64_t *timeouts; /* per step; NULL: the program's hang timeout */
};

struct program {
	const char *name;
	uint32_t seed;
	int64_t duration;     /* ns */
	int64_t hang_timeout; /* ns */
	int nhandles, nbarriers, nlanes;
	const struct handle_def *handles;
	const struct barrier_def *barriers;
	const struct lane_def *lanes;
	struct lane_def setup, teardown;
	int holds; /* some step holds its buffer with userfaultfd */
};

static const struct program *P;

/* ---- options and verdict ---- */

static struct {
	int64_t duration;
	long max_iterations; /* 0: the program's */
	int verbose, trace, allow_unbind;
	/* -c FROM=TO: the card the program names FROM is the card with id TO on this machine */
	int ncardmap;
	const char *cardmap[MAX_CARDS][2];
} opt;

static _Atomic int stop_all;
static _Atomic int verdict; /* 0 none, 1 a finding */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t t0;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&out_lock);
	fprintf(stdout, "[%10.6f] ", (double)(now_ns() - t0) / 1e9);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	va_end(ap);
}

/* A finding user space can see: say it once, and stop the run (as the lab stops at its first critical finding). */
static void found(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void found(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (atomic_exchange(&verdict, 1) == 0)
		say("REPRODUCED: %s", msg);
	else
		say("also: %s", msg);
	atomic_store(&stop_all, 1);
}

/* ---- handles (rule "handles": one open file per handle, shared by every lane) ---- */

struct accepted {
	char lane[48];
	int access, format, channels, rate;
	long period_size, periods, buffer_size;
};

struct handle {
	_Atomic int fd;
	/* rule "granted parameters": what the last successful HW_PARAMS granted since the handle was opened */
	_Atomic long period_size, buffer_size;
	_Atomic int rate, channels, access, frame_bytes, max_frame_bytes;
	_Atomic uint64_t boundary;
	_Atomic int card, device, subdevice, capture;
	_Atomic int client; /* sequencer client, -1 while closed */
	_Atomic int nonblock;
	/* torn HW_PARAMS: configurations accepted since the last readback, and what the runtime should hold */
	pthread_mutex_t torn_lock;
	struct accepted pending[MAX_ACCEPTED], current[MAX_ACCEPTED];
	int npending, ncurrent;
};

static struct handle H[MAX_HANDLES];
static struct ctl_files CTL; /* rule "control files" (rules.h) */

/* ---- lanes ---- */

struct lane {
	const struct lane_def *def;
	int index; /* -1 setup, -2 teardown */
	pthread_t thread;
	_Atomic pid_t tid;
	struct rng rng, align_rng;
	_Atomic int step;
	_Atomic long iter;
	_Atomic int64_t op_start; /* 0: not inside an op */
	const char *_Atomic op;
	_Atomic int done;
	struct window *win; /* the buffer layout of the step running (HOLD, UNMAPPED_FROM) */
	uint32_t seq_next[MAX_HANDLES]; /* rule "sequencer numbering" */
	uint8_t *xbuf;
	size_t xcap;
	double phase;
	struct lab_barrier *pending_barrier;
	int64_t checked_st, checked_at; /* the watchdog's last look at a long call */
	_Atomic long ops;
	long errors;
	char tr[4096]; /* the request of the step running, for -T */
	size_t trn;
};

static struct lane *lanes[MAX_LANES + 2];
static int nlanes_all;

static uint8_t *lane_buf(struct lane *L, size_t n)
{
	if (n > L->xcap) {
		free(L->xbuf);
		L->xcap = n + 4096;
		L->xbuf = calloc(1, L->xcap);
		if (!L->xbuf)
			abort();
	}
	return L->xbuf;
}

/* race windows on demand: defined with the barriers they meet */
static uint8_t *window_buffer(struct lane *L, uint8_t *plain, size_t len, int fill, int *err);
static int64_t window_edge(struct lane *L);
static void tr_layout(struct lane *L);

/* A step begins: the watchdog and the trace know where the lane is. False when the run is stopping. */
RT int step_begin(struct lane *L, int step, long iter)
{
	if (L->index != -2 && atomic_load_explicit(&stop_all, memory_order_relaxed))
		return 0;
	atomic_store(&L->step, step);
	atomic_store(&L->iter, iter);
	return 1;
}

/* A step runs its op inside the generated loops: `STEP(n) op(...)`. */
#define STEP(n)                         \
	if (!step_begin(L, (n), iter)) \
		break;                  \
	else

/* Draws, in the order the generated code makes them: the lane's generator, as the lab's. */
RT int64_t draw(struct lane *L, int64_t min, int64_t max) { return rng_int(&L->rng, min, max); }
RT double draw_float(struct lane *L, double min, double max) { return min + rng_float(&L->rng) * (max - min); }

/* ---- the request trace (-T): one JSON line per executed step, as the lab's events carry it (`req`) ---- */

static void tr_raw(struct lane *L, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tr_raw(struct lane *L, const char *key, const char *fmt, ...)
{
	if (!opt.trace || L->trn >= sizeof L->tr - 64)
		return;
	L->trn += (size_t)snprintf(L->tr + L->trn, sizeof L->tr - L->trn, "%s\"%s\":", L->trn ? "," : "", key);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(L->tr + L->trn, sizeof L->tr - L->trn, fmt, ap);
	va_end(ap);
	if (n > 0)
		L->trn += (size_t)n < sizeof L->tr - L->trn ? (size_t)n : sizeof L->tr - L->trn - 1;
}
static void tr_int(struct lane *L, const char *key, int64_t v) { tr_raw(L, key, "%lld", (long long)v); }
static void tr_num(struct lane *L, const char *key, double v) { tr_raw(L, key, "%.17g", v); }
static void tr_bool(struct lane *L, const char *key, int v) { tr_raw(L, key, "%s", v ? "true" : "false"); }
static void tr_str(struct lane *L, const char *key, const char *v) { tr_raw(L, key, "\"%s\"", v); }

/* ---- ops: begin, end ---- */

static const char *errname(int e);
static void lane_barrier_note(struct lane *L, int64_t dur);

static void op_begin(struct lane *L, const char *op)
{
	L->trn = 0;
	atomic_store(&L->op, op);
	atomic_store_explicit(&L->op_start, now_ns(), memory_order_release);
}

static void window_end(struct lane *L);

static int64_t op_end(struct lane *L, int64_t ret)
{
	window_end(L);
	int64_t t = atomic_exchange(&L->op_start, 0);
	if (L->pending_barrier)
		lane_barrier_note(L, now_ns() - t);
	L->ops++;
	if (ret < 0)
		L->errors++;
	if (opt.trace) {
		pthread_mutex_lock(&out_lock);
		printf("{\"lane\":\"%s\",\"iter\":%ld,\"step\":%d,\"op\":\"%s\",\"ret\":%lld%s%s%s,\"req\":{%.*s}}\n", L->def->name, atomic_load(&L->iter), atomic_load(&L->step),
		       atomic_load(&L->op), (long long)ret, ret < 0 ? ",\"errno\":\"" : "", ret < 0 ? errname((int)-ret) : "", ret < 0 ? "\"" : "", (int)L->trn, L->tr);
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
	} else if (opt.verbose) {
		say("%-14s iter %-5ld step %-2d %-22s -> %lld%s%s (%.1f us)", L->def->name, atomic_load(&L->iter), atomic_load(&L->step), atomic_load(&L->op), (long long)ret,
		    ret < 0 ? " " : "", ret < 0 ? errname((int)-ret) : "", (double)(now_ns() - t) / 1e3);
	}
	return ret;
}

static int neg_errno(void) { return errno ? -errno : -EIO; }

static int hfd(int h) { return atomic_load_explicit(&H[h].fd, memory_order_acquire); }

/* ---- cards (rule "cards") ---- */

struct card {
	const char *id; /* NULL: by number */
	int num;
};
#define CARD_ID(s) ((struct card){ (s), -1 })
#define CARD_NUM(n) ((struct card){ NULL, (n) })

static void tr_card(struct lane *L, struct card c)
{
	if (c.id)
		tr_str(L, "card", c.id);
	else
		tr_int(L, "card", c.num);
}

/* A card id is found through the /proc/asound/<id> symlink; one that names no card is ENODEV. */
static const char *card_id_here(const char *id)
{
	for (int i = 0; i < opt.ncardmap; i++)
		if (!strcmp(opt.cardmap[i][0], id))
			return opt.cardmap[i][1];
	return id;
}

static int card_number(struct card c)
{
	if (!c.id)
		return c.num;
	const char *id = card_id_here(c.id);
	char path[96], link[64];
	snprintf(path, sizeof path, "/proc/asound/%s", id);
	ssize_t l = readlink(path, link, sizeof link - 1);
	if (l <= 0)
		return -ENODEV;
	link[l] = 0;
	int card;
	if (sscanf(link, "card%d", &card) != 1)
		return -ENODEV;
	return card;
}

/* ---- PCM ---- */

/* A hw_params request: 0 is "not named" (access and format are stored + 1). */
struct hw_req {
	int access, format;
	long channels, rate, period_size, periods, buffer_size;
};
#define ACCESS(x) (SNDRV_PCM_ACCESS_##x + 1)
#define FORMAT(x) (SNDRV_PCM_FORMAT_##x + 1)

/* hw_params preferences (rule "preferences"): none, or the lab's defaults for what a preset leaves open */
static const struct hw_req no_preference __attribute__((unused)) = { 0 };
static const struct hw_req lab_preference __attribute__((unused)) = { .format = FORMAT(S16_LE), .channels = 2, .rate = 48000, .period_size = 1024, .periods = 4 };

static const struct {
	const char *name;
	int v;
} formats[] = {
	{ "S8", SNDRV_PCM_FORMAT_S8 }, { "U8", SNDRV_PCM_FORMAT_U8 }, { "S16_LE", SNDRV_PCM_FORMAT_S16_LE }, { "S16_BE", SNDRV_PCM_FORMAT_S16_BE },
	{ "U16_LE", SNDRV_PCM_FORMAT_U16_LE }, { "S24_LE", SNDRV_PCM_FORMAT_S24_LE }, { "S32_LE", SNDRV_PCM_FORMAT_S32_LE }, { "S24_3LE", SNDRV_PCM_FORMAT_S24_3LE },
	{ "FLOAT_LE", SNDRV_PCM_FORMAT_FLOAT_LE }, { "FLOAT64_LE", SNDRV_PCM_FORMAT_FLOAT64_LE },
};
static const char *const access_names[] = { "mmap_interleaved", "mmap_noninterleaved", "mmap_complex", "rw_interleaved", "rw_noninterleaved" };
static const char *const access_proc[] = { "MMAP_INTERLEAVED", "MMAP_NONINTERLEAVED", "MMAP_COMPLEX", "RW_INTERLEAVED", "RW_NONINTERLEAVED" };

static const char *format_name(int v)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (formats[i].v == v)
			return formats[i].name;
	return "?";
}

static int format_bits(int fmt)
{
	switch (fmt) {
	case SNDRV_PCM_FORMAT_S8:
	case SNDRV_PCM_FORMAT_U8:
		return 8;
	case SNDRV_PCM_FORMAT_S16_LE:
	case SNDRV_PCM_FORMAT_S16_BE:
	case SNDRV_PCM_FORMAT_U16_LE:
		return 16;
	case SNDRV_PCM_FORMAT_S24_3LE:
		return 24;
	case SNDRV_PCM_FORMAT_FLOAT64_LE:
		return 64;
	default:
		return 32;
	}
}

static void tr_hw(struct lane *L, const struct hw_req *r)
{
	if (r->access)
		tr_str(L, "access", access_names[r->access - 1]);
	if (r->format)
		tr_str(L, "format", format_name(r->format - 1));
	if (r->channels)
		tr_int(L, "channels", r->channels);
	if (r->rate)
		tr_int(L, "rate", r->rate);
	if (r->period_size)
		tr_int(L, "period_size", r->period_size);
	if (r->periods)
		tr_int(L, "periods", r->periods);
	if (r->buffer_size)
		tr_int(L, "buffer_size", r->buffer_size);
}

static void hw_request(struct snd_pcm_hw_params *p, const struct hw_req *r)
{
	hw_any(p);
	if (r->access)
		hw_set(p, SNDRV_PCM_HW_PARAM_ACCESS, (unsigned)(r->access - 1));
	if (r->format)
		hw_set(p, SNDRV_PCM_HW_PARAM_FORMAT, (unsigned)(r->format - 1));
	if (r->channels)
		hw_set(p, SNDRV_PCM_HW_PARAM_CHANNELS, (unsigned)r->channels);
	if (r->rate)
		hw_set(p, SNDRV_PCM_HW_PARAM_RATE, (unsigned)r->rate);
	if (r->period_size)
		hw_set(p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, (unsigned)r->period_size);
	if (r->periods)
		hw_set(p, SNDRV_PCM_HW_PARAM_PERIODS, (unsigned)r->periods);
	if (r->buffer_size)
		hw_set(p, SNDRV_PCM_HW_PARAM_BUFFER_SIZE, (unsigned)r->buffer_size);
}

static void forget_params(int h)
{
	atomic_store(&H[h].period_size, 0);
	atomic_store(&H[h].buffer_size, 0);
	atomic_store(&H[h].rate, 0);
	atomic_store(&H[h].boundary, 0);
}

static void torn_reset(int h)
{
	pthread_mutex_lock(&H[h].torn_lock);
	H[h].npending = H[h].ncurrent = 0;
	pthread_mutex_unlock(&H[h].torn_lock);
}

OP pcm_open(struct lane *L, int h, struct card c, int device, int subdevice, int capture, int nonblock)
{
	op_begin(L, "pcm.open");
	tr_card(L, c);
	tr_int(L, "device", device);
	tr_int(L, "subdevice", subdevice);
	tr_str(L, "stream", capture ? "capture" : "playback");
	tr_bool(L, "nonblock", nonblock);
	/* rule "handles": opening an open handle closes the old file first; rule "granted parameters": none yet */
	int old = atomic_exchange(&H[h].fd, -1);
	if (old >= 0)
		close(old);
	forget_params(h);
	torn_reset(h);
	int card = card_number(c);
	if (card < 0)
		return op_end(L, card);
	char path[64];
	snprintf(path, sizeof path, "/dev/snd/pcmC%dD%d%c", card, device, capture ? 'c' : 'p');
	/* the preferred subdevice is looked up by the opening thread on a control file it opened */
	int cfd = -1;
	if (subdevice >= 0) {
		cfd = ctl_open(card, O_RDWR);
		if (cfd < 0)
			return op_end(L, neg_errno());
		if (ioctl(cfd, SNDRV_CTL_IOCTL_PCM_PREFER_SUBDEVICE, &subdevice) < 0) {
			int e = neg_errno();
			close(cfd);
			return op_end(L, e);
		}
	}
	int fd = open(path, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
	int e = fd < 0 ? neg_errno() : 0;
	if (cfd >= 0)
		close(cfd);
	if (fd < 0)
		return op_end(L, e);
	struct snd_pcm_info info;
	memset(&info, 0, sizeof info);
	if (ioctl(fd, SNDRV_PCM_IOCTL_INFO, &info) == 0) {
		card = info.card;
		device = (int)info.device;
		subdevice = (int)info.subdevice;
	}
	int pv = SNDRV_PCM_VERSION;
	ioctl(fd, SNDRV_PCM_IOCTL_USER_PVERSION, &pv); /* older kernels lack it; harmless */
	int tt = SNDRV_PCM_TSTAMP_TYPE_MONOTONIC;
	ioctl(fd, SNDRV_PCM_IOCTL_TTSTAMP, &tt);
	atomic_store(&H[h].card, card);
	atomic_store(&H[h].device, device);
	atomic_store(&H[h].subdevice, subdevice);
	atomic_store(&H[h].capture, capture);
	old = atomic_exchange(&H[h].fd, fd);
	if (old >= 0)
		close(old); /* another lane reopened it meanwhile */
	return op_end(L, 0);
}

OP pcm_hw_refine(struct lane *L, int h, const struct hw_req *req)
{
	op_begin(L, "pcm.hw_refine");
	tr_hw(L, req);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_pcm_hw_params p;
	hw_request(&p, req);
	return op_end(L, ioctl(fd, SNDRV_PCM_IOCTL_HW_REFINE, &p) < 0 ? neg_errno() : 0);
}

OP pcm_hw_params(struct lane *L, int h, const struct hw_req *req, const struct hw_req *prefer)
{
	op_begin(L, "pcm.hw_params");
	tr_hw(L, req);
	long pref[HW_NPREFS] = { prefer->format ? prefer->format - 1 : -1, prefer->channels ? prefer->channels : -1, prefer->rate ? prefer->rate : -1,
		                 prefer->period_size ? prefer->period_size : -1, prefer->periods ? prefer->periods : -1 };
	if (opt.trace) {
		char buf[256];
		size_t n = 0;
		static const char *const keys[HW_NPREFS] = { "format", "channels", "rate", "period_size", "periods" };
		for (int i = 0; i < HW_NPREFS; i++) {
			if (pref[i] < 0)
				continue;
			if (i == 0)
				n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"format\":\"%s\"", n ? "," : "", format_name((int)pref[0]));
			else
				n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"%s\":%ld", n ? "," : "", keys[i], pref[i]);
		}
		tr_raw(L, "prefer", "{%s}", n ? buf : "");
	}
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_pcm_hw_params p;
	hw_request(&p, req);
	int kept = 0;
	int e = hw_prefer(fd, &p, pref, &kept);
	if (opt.trace) {
		static const char *const keys[HW_NPREFS] = { "format", "channels", "rate", "period_size", "periods" };
		char buf[128];
		size_t n = 0;
		for (int i = 0; i < HW_NPREFS; i++)
			if (kept & (1 << i))
				n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"%s\"", n ? "," : "", keys[i]);
		tr_raw(L, "preferred", "[%s]", n ? buf : "");
	}
	if (e < 0)
		return op_end(L, e);
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &p) < 0)
		return op_end(L, neg_errno());
	struct accepted a;
	memset(&a, 0, sizeof a);
	snprintf(a.lane, sizeof a.lane, "%s", L->def->name);
	a.access = hw_mask_first(&p, SNDRV_PCM_HW_PARAM_ACCESS);
	a.format = hw_mask_first(&p, SNDRV_PCM_HW_PARAM_FORMAT);
	a.channels = (int)hw_interval(&p, SNDRV_PCM_HW_PARAM_CHANNELS)->min;
	a.rate = (int)hw_interval(&p, SNDRV_PCM_HW_PARAM_RATE)->min;
	a.period_size = (long)hw_interval(&p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE)->min;
	a.periods = (long)hw_interval(&p, SNDRV_PCM_HW_PARAM_PERIODS)->min;
	a.buffer_size = (long)hw_interval(&p, SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->min;
	atomic_store(&H[h].rate, a.rate);
	atomic_store(&H[h].channels, a.channels);
	atomic_store(&H[h].access, a.access);
	atomic_store(&H[h].period_size, a.period_size);
	atomic_store(&H[h].buffer_size, a.buffer_size);
	atomic_store(&H[h].boundary, hw_boundary(a.buffer_size));
	int fb = format_bits(a.format) / 8 * a.channels;
	atomic_store(&H[h].frame_bytes, fb);
	int cur = atomic_load(&H[h].max_frame_bytes);
	while (fb > cur && !atomic_compare_exchange_weak(&H[h].max_frame_bytes, &cur, fb))
		;
	pthread_mutex_lock(&H[h].torn_lock);
	if (H[h].npending < MAX_ACCEPTED)
		H[h].pending[H[h].npending++] = a;
	pthread_mutex_unlock(&H[h].torn_lock);
	return op_end(L, 0);
}

static void tr_sw(struct lane *L, const char *key, int64_t v)
{
	if (v == SW_BOUNDARY)
		tr_str(L, key, "boundary");
	else
		tr_int(L, key, v);
}

/* avail_min, start_threshold, stop_threshold: frames, or SW_PERIOD, SW_BUFFER, SW_BOUNDARY (rule "sw_params") */
OP pcm_sw_params(struct lane *L, int h, int64_t avail_min, int64_t start_threshold, int64_t stop_threshold)
{
	op_begin(L, "pcm.sw_params");
	long period = atomic_load(&H[h].period_size), bufsz = atomic_load(&H[h].buffer_size);
	int64_t am = rule_sw_value(avail_min, period, bufsz);
	int64_t st = rule_sw_value(start_threshold, period, bufsz);
	int64_t sp = rule_sw_value(stop_threshold, period, bufsz);
	tr_sw(L, "avail_min", am);
	tr_sw(L, "start_threshold", st);
	tr_sw(L, "stop_threshold", sp);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	uint64_t boundary = atomic_load(&H[h].boundary);
	if (!boundary)
		boundary = (uint64_t)1 << 62;
	struct snd_pcm_sw_params sw;
	memset(&sw, 0, sizeof sw);
	sw.tstamp_mode = SNDRV_PCM_TSTAMP_ENABLE;
	sw.period_step = 1;
	sw.avail_min = am < 0 ? boundary : (snd_pcm_uframes_t)am;
	sw.start_threshold = st < 0 ? boundary : (snd_pcm_uframes_t)st;
	sw.stop_threshold = sp < 0 ? boundary : (snd_pcm_uframes_t)sp;
	sw.boundary = boundary;
	sw.proto = SNDRV_PCM_VERSION;
	sw.tstamp_type = SNDRV_PCM_TSTAMP_TYPE_MONOTONIC;
	if (ioctl(fd, SNDRV_PCM_IOCTL_SW_PARAMS, &sw) < 0)
		return op_end(L, neg_errno());
	atomic_store(&H[h].boundary, (uint64_t)sw.boundary);
	return op_end(L, 0);
}

static int64_t pcm_ioctl(struct lane *L, int h, const char *op, unsigned long req, void *arg)
{
	op_begin(L, op);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	return op_end(L, ioctl(fd, req, arg) < 0 ? neg_errno() : 0);
}

OP pcm_prepare(struct lane *L, int h) { return pcm_ioctl(L, h, "pcm.prepare", SNDRV_PCM_IOCTL_PREPARE, NULL); }
OP pcm_start(struct lane *L, int h) { return pcm_ioctl(L, h, "pcm.start", SNDRV_PCM_IOCTL_START, NULL); }
OP pcm_drop(struct lane *L, int h) { return pcm_ioctl(L, h, "pcm.drop", SNDRV_PCM_IOCTL_DROP, NULL); }
OP pcm_drain(struct lane *L, int h) { return pcm_ioctl(L, h, "pcm.drain", SNDRV_PCM_IOCTL_DRAIN, NULL); }

OP pcm_hw_free(struct lane *L, int h)
{
	int64_t r = pcm_ioctl(L, h, "pcm.hw_free", SNDRV_PCM_IOCTL_HW_FREE, NULL);
	if (r == 0)
		torn_reset(h);
	return r;
}

OP pcm_status(struct lane *L, int h)
{
	struct snd_pcm_status st; /* STATUS reads nothing from it: the kernel fills all of it */
	return pcm_ioctl(L, h, "pcm.status", SNDRV_PCM_IOCTL_STATUS, &st);
}

OP pcm_pause(struct lane *L, int h, int on)
{
	op_begin(L, "pcm.pause");
	tr_bool(L, "on", on);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	/* PAUSE takes its argument by value */
	return op_end(L, ioctl(fd, SNDRV_PCM_IOCTL_PAUSE, (long)(on ? 1 : 0)) < 0 ? neg_errno() : 0);
}

enum { SILENCE = 0, SINE = 1, IMPULSE = 2 };
enum { PLAYBACK = 0, CAPTURE = 1 };
enum { BLOCKING = 0, NONBLOCKING = 1 };
enum { NOWAIT = 0, WAIT = 1 };       /* seq.read: block until an event arrives */
enum { NO_FAULT = 0, FAULT = 1 };    /* seq.read into memory the kernel cannot write */
static const char *const pattern_names[] = { "silence", "sine", "impulse" };

/* A 440 Hz tone in S16 (a parabolic approximation of a sine: no libm), or a click at the start. */
static void fill(struct lane *L, int h, uint8_t *buf, long frames, int pattern)
{
	int fb = atomic_load(&H[h].frame_bytes), ch = atomic_load(&H[h].channels), rate = atomic_load(&H[h].rate);
	size_t bytes = (size_t)frames * (size_t)(fb > 0 ? fb : 8);
	memset(buf, 0, bytes);
	if (pattern == SILENCE || fb != 2 * ch || ch <= 0 || rate <= 0)
		return;
	int16_t *s = (int16_t *)buf;
	if (pattern == IMPULSE) {
		for (int c = 0; c < ch; c++)
			s[c] = 16384;
		return;
	}
	for (long i = 0; i < frames; i++) {
		double x = L->phase; /* in [-1, 1): half periods */
		double y = 4 * x * (1 - (x < 0 ? -x : x));
		for (int c = 0; c < ch; c++)
			s[i * ch + c] = (int16_t)(y * 8000);
		L->phase += 2.0 * 440 / rate;
		if (L->phase >= 1)
			L->phase -= 2;
	}
}

static int64_t xfer(struct lane *L, int h, int capture, long frames_given, double periods, long fallback, int pattern, int recover)
{
	op_begin(L, capture ? "pcm.read" : "pcm.write");
	long frames = rule_transfer_frames(frames_given, periods, fallback, atomic_load(&H[h].period_size));
	if (frames_given <= 0) {
		tr_num(L, "periods", periods);
		tr_int(L, "fallback", fallback);
	}
	tr_int(L, "frames", frames);
	if (!capture)
		tr_str(L, "pattern", pattern_names[pattern]);
	tr_layout(L);
	if (recover >= 0)
		tr_bool(L, "recover", recover); /* -1: a program older than the rule */
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	/* sized for the largest frame this handle was ever configured with: a racing HW_PARAMS may change it */
	int fb = atomic_load(&H[h].max_frame_bytes);
	size_t bytes = (size_t)frames * (size_t)(fb > 0 ? fb : 8);
	uint8_t *buf = lane_buf(L, bytes);
	if (!capture)
		fill(L, h, buf, frames, pattern);
	int werr;
	buf = window_buffer(L, buf, bytes, !capture, &werr);
	if (werr)
		return op_end(L, werr);
	struct snd_xferi xi = { 0, buf, (snd_pcm_uframes_t)frames };
	unsigned long req = capture ? SNDRV_PCM_IOCTL_READI_FRAMES : SNDRV_PCM_IOCTL_WRITEI_FRAMES;
	if (ioctl(fd, req, &xi) < 0) {
		int e = neg_errno();
		/* rule "xrun recovery" (rules.h): ready again, then the transfer once more */
		int64_t stopped;
		char action[64];
		if (recover <= 0 || (e != -EPIPE && e != -ESTRPIPE) || rule_recover(fd, e, capture, &stopped, action, sizeof action) < 0)
			return op_end(L, e);
		if (opt.verbose)
			say("lane %s: %s on handle %d recovered by %s", L->def->name, e == -EPIPE ? "EPIPE" : "ESTRPIPE", h, action);
		xi.result = 0;
		if (ioctl(fd, req, &xi) < 0)
			return op_end(L, neg_errno());
	}
	return op_end(L, (int64_t)xi.result);
}

OP pcm_write_frames(struct lane *L, int h, long frames, int pattern, int recover) { return xfer(L, h, 0, frames, 0, 0, pattern, recover); }
OP pcm_write_periods(struct lane *L, int h, double periods, long fallback, int pattern, int recover) { return xfer(L, h, 0, 0, periods, fallback, pattern, recover); }
OP pcm_read_frames(struct lane *L, int h, long frames, int recover) { return xfer(L, h, 1, frames, 0, 0, SILENCE, recover); }
OP pcm_read_periods(struct lane *L, int h, double periods, long fallback, int recover) { return xfer(L, h, 1, 0, periods, fallback, SILENCE, recover); }

static int same_config(const struct accepted *got, const struct accepted *a)
{
	return got->access == a->access && got->format == a->format && got->channels == a->channels && got->rate == a->rate &&
	       got->period_size == a->period_size && got->buffer_size == a->buffer_size && got->periods == a->periods;
}

static void describe(char *out, size_t n, const struct accepted *a)
{
	snprintf(out, n, "period_size %ld x periods %ld = buffer_size %ld (%s, %d ch, %d Hz)", a->period_size, a->periods, a->buffer_size, format_name(a->format),
	         a->channels, a->rate);
}

/* /proc/asound/cardN/pcmD{p,c}/subS/hw_params is what the runtime really holds. After
 * concurrent HW_PARAMS it must equal exactly one configuration the kernel accepted; a mix
 * of two is a torn configuration (the lab's torn-hw-params finding). */
OP pcm_readback(struct lane *L, int h)
{
	op_begin(L, "pcm.readback");
	if (hfd(h) < 0)
		return op_end(L, -EBADF);
	char path[128];
	snprintf(path, sizeof path, "/proc/asound/card%d/pcm%d%c/sub%d/hw_params", atomic_load(&H[h].card), atomic_load(&H[h].device),
	         atomic_load(&H[h].capture) ? 'c' : 'p', atomic_load(&H[h].subdevice));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return op_end(L, neg_errno());
	char text[2048];
	ssize_t n = read(fd, text, sizeof text - 1);
	int e = n < 0 ? neg_errno() : 0;
	close(fd);
	if (n < 0)
		return op_end(L, e);
	text[n] = 0;
	if (!strncmp(text, "closed", 6) || !strncmp(text, "no setup", 8))
		return op_end(L, 0);
	struct accepted got;
	memset(&got, 0, sizeof got);
	got.access = got.format = -1;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char v[64];
		if (sscanf(line, "access: %63s", v) == 1) {
			for (int i = 0; i < 5; i++)
				if (!strcmp(v, access_proc[i]))
					got.access = i;
		} else if (sscanf(line, "format: %63s", v) == 1) {
			for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
				if (!strcmp(v, formats[i].name))
					got.format = formats[i].v;
		} else if (sscanf(line, "channels: %d", &got.channels) == 1) {
		} else if (sscanf(line, "rate: %d", &got.rate) == 1) {
		} else if (sscanf(line, "period_size: %ld", &got.period_size) == 1) {
		} else if (sscanf(line, "buffer_size: %ld", &got.buffer_size) == 1) {
		}
	}
	if (got.period_size <= 0)
		return op_end(L, -EIO);
	got.periods = got.buffer_size / got.period_size; /* the file has no periods line */
	struct handle *hd = &H[h];
	pthread_mutex_lock(&hd->torn_lock);
	struct accepted *cand = hd->npending ? hd->pending : hd->current;
	int ncand = hd->npending ? hd->npending : hd->ncurrent;
	int match = -1;
	for (int i = 0; i < ncand; i++)
		if (same_config(&got, &cand[i]))
			match = i;
	char msg[1536] = "";
	if (ncand && match < 0) {
		size_t m = 0;
		char d[160];
		describe(d, sizeof d, &got);
		m += (size_t)snprintf(msg + m, sizeof msg - m, "torn HW_PARAMS on %s: the runtime holds %s, which matches none of the %d accepted:", P->handles[h].name, d, ncand);
		for (int i = 0; i < ncand && m < sizeof msg; i++) {
			describe(d, sizeof d, &cand[i]);
			m += (size_t)snprintf(msg + m, sizeof msg - m, " %s asked %s;", cand[i].lane, d);
		}
	}
	if (ncand) {
		/* the runtime now holds what it holds; rounds after this one compare with it */
		hd->ncurrent = 0;
		for (int i = 0; i < ncand; i++)
			if (match < 0 || same_config(&got, &cand[i]))
				hd->current[hd->ncurrent++] = cand[i];
		hd->npending = 0;
	}
	pthread_mutex_unlock(&hd->torn_lock);
	if (msg[0])
		found("%s", msg);
	return op_end(L, 0);
}

OP pcm_close(struct lane *L, int h)
{
	op_begin(L, "pcm.close");
	torn_reset(h);
	int fd = atomic_exchange(&H[h].fd, -1);
	if (fd < 0)
		return op_end(L, -EBADF);
	return op_end(L, close(fd) < 0 ? neg_errno() : 0);
}

/* ---- sequencer ---- */

/* A sequencer address (rule "sequencer addresses"). */
struct seq_to {
	int kind; /* 0 client, 1 handle, 2 self, 3 subscribers */
	int id, port;
};
#define TO_CLIENT(c, p) ((struct seq_to){ 0, (c), (p) })
#define TO_HANDLE(h, p) ((struct seq_to){ 1, (h), (p) })
#define TO_SELF(p) ((struct seq_to){ 2, 0, (p) })
#define TO_SUBSCRIBERS ((struct seq_to){ 3, 0, 0 })

static void tr_addr(struct lane *L, const char *key, struct seq_to a)
{
	switch (a.kind) {
	case 0:
		tr_raw(L, key, "{\"kind\":\"client\",\"client\":%d,\"port\":%d}", a.id, a.port);
		break;
	case 1:
		tr_raw(L, key, "{\"kind\":\"handle\",\"handle\":%d,\"port\":%d}", a.id, a.port);
		break;
	case 2:
		tr_raw(L, key, "{\"kind\":\"self\",\"port\":%d}", a.port);
		break;
	default:
		tr_raw(L, key, "{\"kind\":\"subscribers\"}");
	}
}

static int resolve_addr(int self, struct seq_to a, struct snd_seq_addr *out)
{
	switch (a.kind) {
	case 0:
		out->client = (unsigned char)a.id;
		out->port = (unsigned char)a.port;
		return 0;
	case 1:
	case 2: {
		int c = atomic_load(&H[a.kind == 2 ? self : a.id].client);
		if (c < 0)
			return -EBADF;
		out->client = (unsigned char)c;
		out->port = (unsigned char)a.port;
		return 0;
	}
	default:
		out->client = SNDRV_SEQ_ADDRESS_SUBSCRIBERS;
		out->port = SNDRV_SEQ_ADDRESS_UNKNOWN;
		return 0;
	}
}

OP seq_open(struct lane *L, int h, const char *name, int nonblock)
{
	op_begin(L, "seq.open");
	tr_str(L, "name", name);
	tr_bool(L, "nonblock", nonblock);
	int old = atomic_exchange(&H[h].fd, -1);
	if (old >= 0)
		close(old);
	atomic_store(&H[h].client, -1);
	int fd = open("/dev/snd/seq", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0)
		return op_end(L, neg_errno());
	int client = -1;
	if (ioctl(fd, SNDRV_SEQ_IOCTL_CLIENT_ID, &client) < 0) {
		int e = neg_errno();
		close(fd);
		return op_end(L, e);
	}
	struct snd_seq_client_info ci;
	memset(&ci, 0, sizeof ci);
	ci.client = client;
	if (ioctl(fd, SNDRV_SEQ_IOCTL_GET_CLIENT_INFO, &ci) == 0) {
		snprintf(ci.name, sizeof ci.name, "%s", name);
		ioctl(fd, SNDRV_SEQ_IOCTL_SET_CLIENT_INFO, &ci);
	}
	atomic_store(&H[h].client, client);
	atomic_store(&H[h].nonblock, nonblock);
	old = atomic_exchange(&H[h].fd, fd);
	if (old >= 0)
		close(old);
	return op_end(L, 0);
}

OP seq_create_port(struct lane *L, int h, const char *name, int port)
{
	op_begin(L, "seq.create_port");
	tr_str(L, "name", name);
	tr_int(L, "port", port);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_seq_port_info pi;
	memset(&pi, 0, sizeof pi);
	pi.addr.client = (unsigned char)atomic_load(&H[h].client);
	if (port >= 0) {
		pi.addr.port = (unsigned char)port;
		pi.flags = SNDRV_SEQ_PORT_FLG_GIVEN_PORT;
	}
	snprintf(pi.name, sizeof pi.name, "%s", name);
	pi.capability = SNDRV_SEQ_PORT_CAP_READ | SNDRV_SEQ_PORT_CAP_WRITE | SNDRV_SEQ_PORT_CAP_SUBS_READ | SNDRV_SEQ_PORT_CAP_SUBS_WRITE | SNDRV_SEQ_PORT_CAP_DUPLEX;
	pi.type = SNDRV_SEQ_PORT_TYPE_MIDI_GENERIC | SNDRV_SEQ_PORT_TYPE_APPLICATION;
	pi.midi_channels = 16;
	if (ioctl(fd, SNDRV_SEQ_IOCTL_CREATE_PORT, &pi) < 0)
		return op_end(L, neg_errno());
	return op_end(L, pi.addr.port);
}

OP seq_subscribe(struct lane *L, int h, struct seq_to sender, struct seq_to dest)
{
	op_begin(L, "seq.subscribe");
	tr_addr(L, "sender", sender);
	tr_addr(L, "dest", dest);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_seq_port_subscribe s;
	memset(&s, 0, sizeof s);
	int e = resolve_addr(h, sender, &s.sender);
	if (!e)
		e = resolve_addr(h, dest, &s.dest);
	if (e)
		return op_end(L, e);
	return op_end(L, ioctl(fd, SNDRV_SEQ_IOCTL_SUBSCRIBE_PORT, &s) < 0 ? neg_errno() : 0);
}

/* A size of 0 leaves that pool as it is: the kernel's own meaning of 0 in SET_CLIENT_POOL. */
OP seq_set_client_pool(struct lane *L, int h, int input_pool, int output_pool, int output_room)
{
	op_begin(L, "seq.set_client_pool");
	tr_int(L, "input_pool", input_pool);
	tr_int(L, "output_pool", output_pool);
	tr_int(L, "output_room", output_room);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_seq_client_pool p;
	memset(&p, 0, sizeof p);
	p.client = atomic_load(&H[h].client);
	p.input_pool = input_pool;
	p.output_pool = output_pool;
	p.output_room = output_room;
	return op_end(L, ioctl(fd, SNDRV_SEQ_IOCTL_SET_CLIENT_POOL, &p) < 0 ? neg_errno() : 0);
}

OP seq_get_client_pool(struct lane *L, int h)
{
	op_begin(L, "seq.get_client_pool");
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_seq_client_pool p;
	memset(&p, 0, sizeof p);
	p.client = atomic_load(&H[h].client);
	return op_end(L, ioctl(fd, SNDRV_SEQ_IOCTL_GET_CLIENT_POOL, &p) < 0 ? neg_errno() : 0);
}

enum { NOTE = SEQ_EV_NOTE, CONTROLLER = SEQ_EV_CONTROLLER, SYSEX = SEQ_EV_SYSEX };
static const char *const event_names[] = { "note", "controller", "sysex" };

/* Rule "sequencer sends": one write(2) of all events; when the kernel accepts only some, the
 * rest is written again until all are accepted or a write fails. */
OP seq_send(struct lane *L, int h, struct seq_to to, int count, int type, int size, int port)
{
	op_begin(L, "seq.send");
	tr_addr(L, "to", to);
	tr_int(L, "count", count);
	tr_str(L, "type", event_names[type]);
	tr_int(L, "size", size);
	tr_int(L, "port", port);
	tr_layout(L);
	uint32_t first = L->seq_next[h];
	tr_int(L, "first", first);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	struct snd_seq_addr dest;
	int e = resolve_addr(h, to, &dest);
	if (e)
		return op_end(L, e);
	if (count < 1)
		count = 1;
	if (size < SEQ_SYSEX_MIN)
		size = SEQ_SYSEX_MIN;
	uint16_t src = (uint16_t)(((L->index < 0 ? 256 + L->index - 1 : L->index) & 0xFF) << 8 | (h & 0xFF));
	size_t per = type == SYSEX ? (size_t)SEQ_EV_SIZE + (size_t)size : (size_t)SEQ_EV_SIZE;
	uint8_t *buf = lane_buf(L, per * (size_t)count);
	for (int i = 0; i < count; i++)
		seq_event_build(buf + per * (size_t)i, type, size, port, &dest, src, first + (uint32_t)i);
	int werr;
	buf = window_buffer(L, buf, per * (size_t)count, 1, &werr);
	if (werr)
		return op_end(L, werr);
	int sent = 0;
	int64_t ret = 0;
	while (sent < count) {
		ssize_t n = write(fd, buf + per * (size_t)sent, per * (size_t)(count - sent));
		if (n < 0) {
			ret = neg_errno();
			break;
		}
		int whole = (int)((size_t)n / per);
		if (whole == 0) {
			ret = -EIO;
			break;
		}
		sent += whole;
	}
	/* rule "sequencer numbering": a refused number is used up; later ones were never tried */
	L->seq_next[h] = first + (uint32_t)sent + (ret < 0 ? 1u : 0u);
	return op_end(L, ret < 0 ? ret : sent);
}

/* Memory the kernel cannot write: copy_to_user fails and snd_seq_read() puts the
 * dequeued cell back (its putback path). Grown, never shrunk, never written. */
static void *fault_region(size_t bytes)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static void *region;
	static size_t size;
	size_t want = (bytes + 4095) / 4096 * 4096;
	pthread_mutex_lock(&mu);
	if (want > size) {
		void *p = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			region = p; /* the old one stays mapped: another lane may be reading into it */
			size = want;
		}
	}
	void *r = size >= want ? region : NULL;
	pthread_mutex_unlock(&mu);
	return r;
}

static void count_seen(void *ctx, int ours, uint16_t src, uint32_t num)
{
	(void)ctx;
	(void)ours;
	(void)src;
	(void)num;
}

OP seq_read(struct lane *L, int h, size_t bytes, int block, int fault)
{
	op_begin(L, "seq.read");
	tr_int(L, "bytes", (int64_t)bytes);
	tr_bool(L, "block", block);
	tr_bool(L, "fault", fault);
	tr_layout(L);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	/* the fd's O_NONBLOCK is shared by every lane: the per-read choice is made with poll() */
	if (block != !atomic_load(&H[h].nonblock)) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int pr = poll(&pf, 1, block ? -1 : 0);
		if (pr < 0)
			return op_end(L, neg_errno());
		if (pr == 0)
			return op_end(L, -EAGAIN);
	}
	int werr = 0;
	uint8_t *buf = fault ? fault_region(bytes) : window_buffer(L, lane_buf(L, bytes), bytes, 0, &werr);
	if (werr)
		return op_end(L, werr);
	if (!buf)
		return op_end(L, -ENOMEM);
	int64_t edge = window_edge(L);
	if (edge > 0 && !fault)
		memset(buf, 0, (size_t)edge < bytes ? (size_t)edge : bytes);
	ssize_t n = read(fd, buf, bytes);
	if (n < 0)
		return op_end(L, neg_errno());
	return op_end(L, seq_events_walk(buf, (size_t)n, count_seen, NULL));
}

OP seq_close(struct lane *L, int h)
{
	op_begin(L, "seq.close");
	int fd = atomic_exchange(&H[h].fd, -1);
	atomic_store(&H[h].client, -1);
	if (fd < 0)
		return op_end(L, -EBADF);
	return op_end(L, close(fd) < 0 ? neg_errno() : 0);
}

/* ---- controls (rule "control files": one per card, reopened after ENODEV) ---- */

static int64_t ctl_op(struct lane *L, struct card c, const char *name, int index, int write, const char *item, long value)
{
	int card = card_number(c);
	if (card < 0) {
		ctl_files_forget_gone(&CTL);
		return op_end(L, card);
	}
	int fd = ctl_files_get(&CTL, card);
	if (fd < 0)
		return op_end(L, fd);
	struct snd_ctl_elem_info info;
	int e = ctl_find_elem(fd, name, strlen(name), (unsigned)index, &info);
	if (e == -ENODEV)
		ctl_files_forget(&CTL, card, fd);
	if (e < 0)
		return op_end(L, e);
	struct snd_ctl_elem_value v;
	memset(&v, 0, sizeof v);
	v.id = info.id;
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_READ, &v) < 0) {
		e = neg_errno();
		if (e == -ENODEV)
			ctl_files_forget(&CTL, card, fd);
		return op_end(L, e);
	}
	if (!write)
		return op_end(L, 0);
	if (item) {
		if (info.type != SNDRV_CTL_ELEM_TYPE_ENUMERATED)
			return op_end(L, -EINVAL);
		value = -1;
		for (unsigned i = 0; i < info.value.enumerated.items; i++) {
			struct snd_ctl_elem_info q = info;
			q.value.enumerated.item = i;
			if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &q) == 0 && !strcmp(q.value.enumerated.name, item))
				value = i;
		}
		if (value < 0)
			return op_end(L, -EINVAL);
	}
	unsigned n = info.count > 128 ? 128 : info.count;
	for (unsigned i = 0; i < n; i++) {
		if (info.type == SNDRV_CTL_ELEM_TYPE_ENUMERATED)
			v.value.enumerated.item[i] = (unsigned)value;
		else if (info.type == SNDRV_CTL_ELEM_TYPE_INTEGER64)
			v.value.integer64.value[i] = value;
		else
			v.value.integer.value[i] = value;
	}
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_WRITE, &v) < 0) {
		e = neg_errno();
		if (e == -ENODEV)
			ctl_files_forget(&CTL, card, fd);
		return op_end(L, e);
	}
	return op_end(L, 0);
}

/* value: an integer (booleans are 0/1) */
OP ctl_write_int(struct lane *L, struct card c, const char *name, int index, long value, int boolean)
{
	op_begin(L, "ctl.write");
	tr_card(L, c);
	tr_str(L, "name", name);
	tr_int(L, "index", index);
	if (boolean)
		tr_bool(L, "value", (int)value);
	else
		tr_int(L, "value", value);
	return ctl_op(L, c, name, index, 1, NULL, value);
}

/* value: an enumerated item by name */
OP ctl_write_enum(struct lane *L, struct card c, const char *name, int index, const char *item)
{
	op_begin(L, "ctl.write");
	tr_card(L, c);
	tr_str(L, "name", name);
	tr_int(L, "index", index);
	tr_str(L, "value", item);
	return ctl_op(L, c, name, index, 1, item, 0);
}

OP ctl_read(struct lane *L, struct card c, const char *name, int index)
{
	op_begin(L, "ctl.read");
	tr_card(L, c);
	tr_str(L, "name", name);
	tr_int(L, "index", index);
	return ctl_op(L, c, name, index, 0, NULL, 0);
}

/* ---- device detach/attach: the card's driver unbound/bound through sysfs (-u only) ---- */

static char unbound_driver[MAX_CARDS][PATH_MAX], unbound_dev[MAX_CARDS][256], detached_id[MAX_CARDS][64];

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t n = write(fd, text, strlen(text));
	int e = n < 0 ? neg_errno() : 0;
	close(fd);
	return e;
}

static int card_present(const char *id)
{
	for (int c = 0; c < MAX_CARDS; c++) {
		char path[64], cur[64];
		snprintf(path, sizeof path, "/proc/asound/card%d/id", c);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cur, sizeof cur - 1);
		close(fd);
		if (n <= 0)
			continue;
		cur[n] = 0;
		cur[strcspn(cur, "\n")] = 0;
		if (!strcmp(cur, id))
			return c;
	}
	return -1;
}

static int wait_card(const char *id, int present)
{
	for (int64_t until = now_ns() + 15000 * MS; now_ns() < until;) {
		if ((card_present(id) >= 0) == present)
			return 0;
		struct timespec ts = { 0, 2 * MS };
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

OP device_detach(struct lane *L, struct card c)
{
	op_begin(L, "device.detach");
	tr_card(L, c);
	int card = card_number(c);
	if (card < 0 || card >= MAX_CARDS)
		return op_end(L, -ENODEV);
	if (!opt.allow_unbind) {
		say("device.detach of card %d refused: it unbinds the card's driver through sysfs; run with -u to allow it", card);
		return op_end(L, -EPERM);
	}
	char link[PATH_MAX], dev[PATH_MAX], drv[PATH_MAX], id[64] = "";
	snprintf(link, sizeof link, "/proc/asound/card%d/id", card);
	int fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, id, sizeof id - 1);
		close(fd);
		id[n > 0 ? n : 0] = 0;
		id[strcspn(id, "\n")] = 0;
	}
	snprintf(link, sizeof link, "/sys/class/sound/card%d/device", card);
	if (!realpath(link, dev))
		return op_end(L, -ENODEV);
	/* a USB sound card hangs off one interface: unbinding the whole USB device is what an unplug looks like */
	char sub[PATH_MAX + 16], subsys[PATH_MAX];
	snprintf(sub, sizeof sub, "%s/subsystem", dev);
	if (realpath(sub, subsys) && !strcmp(basename(subsys), "usb") && strchr(basename(dev), ':')) {
		char *slash = strrchr(dev, '/');
		if (slash)
			*slash = 0;
	}
	snprintf(sub, sizeof sub, "%s/driver", dev);
	if (!realpath(sub, drv))
		return op_end(L, -ENODEV);
	char devcopy[PATH_MAX];
	memcpy(devcopy, dev, sizeof devcopy);
	snprintf(unbound_driver[card], sizeof unbound_driver[card], "%s", drv);
	snprintf(unbound_dev[card], sizeof unbound_dev[card], "%s", basename(devcopy));
	snprintf(detached_id[card], sizeof detached_id[card], "%s", id);
	snprintf(sub, sizeof sub, "%s/unbind", drv);
	int e = write_text(sub, unbound_dev[card]);
	if (!e)
		e = wait_card(id, 0);
	return op_end(L, e);
}

OP device_attach(struct lane *L, struct card c)
{
	op_begin(L, "device.attach");
	tr_card(L, c);
	int card = -1;
	for (int i = 0; i < MAX_CARDS; i++)
		if (unbound_driver[i][0] && (c.id ? !strcmp(detached_id[i], card_id_here(c.id)) : i == c.num))
			card = i;
	if (card < 0)
		return op_end(L, card_number(c) >= 0 ? -EBUSY : -ENODEV);
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/bind", unbound_driver[card]);
	int e = write_text(path, unbound_dev[card]);
	if (!e) {
		unbound_driver[card][0] = 0;
		e = wait_card(detached_id[card], 1);
	}
	return op_end(L, e);
}

/* ---- timing ---- */

static int stopping(struct lane *L) { return L->index != -2 && atomic_load_explicit(&stop_all, memory_order_relaxed); }

static int64_t sleep_ns(struct lane *L, int64_t ns)
{
	int64_t until = now_ns() + ns;
	struct timespec ts = { (time_t)(until / 1000000000LL), (long)(until % 1000000000LL) };
	for (;;) {
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc == 0)
			return 0;
		if (rc != EINTR)
			return -rc;
		if (stopping(L))
			return -EINTR;
	}
}

OP sleep_for(struct lane *L, int64_t ns)
{
	op_begin(L, "sleep");
	tr_int(L, "for", ns);
	return op_end(L, sleep_ns(L, ns));
}

OP jitter(struct lane *L, int64_t ns)
{
	op_begin(L, "jitter");
	tr_int(L, "for", ns);
	return op_end(L, sleep_ns(L, ns));
}

/* Barriers: rule "barriers" (rules.h), as the agent meets them. */
_Static_assert(BARRIER_MAX_LANES == MAX_LANES, "a barrier has a slot for every lane");

static struct lab_barrier *barriers;

static int barrier_stopping(const void *lane) { return stopping((struct lane *)lane); }

/* the duration of the op a lane ran right after a barrier feeds the alignment */
static void lane_barrier_note(struct lane *L, int64_t dur)
{
	struct lab_barrier *b = L->pending_barrier;
	L->pending_barrier = NULL;
	barrier_note(b, L->index, dur);
}

/* Arrive at barrier `index` and wait for its release: 0, or -EINTR when the run stops. A lane's
 * barrier step uses it, and so does a held buffer's fault handler, on that lane's behalf. */
static int barrier_meet(struct lane *L, int index)
{
	const struct barrier_env e = { now_ns, barrier_stopping, L };
	uint32_t gen;
	return barrier_arrive(&barriers[index], &e, &gen);
}

OP barrier(struct lane *L, int index)
{
	op_begin(L, "barrier");
	tr_str(L, "name", P->barriers[index].name);
	struct lab_barrier *b = &barriers[index];
	if (barrier_meet(L, index) < 0)
		return op_end(L, -EINTR);
	const struct barrier_env e = { now_ns, barrier_stopping, L };
	barrier_leave(b, &e, &L->align_rng);
	int64_t r = op_end(L, 0);
	L->pending_barrier = b;
	return r;
}

/* ---- race windows on demand (the agent's window.c; app/program/README.md, "Buffers") ----
 * `STEP(n) HOLD(B_X, from) op(...)`: the op's buffer from byte `from` on is registered with
 * userfaultfd and not populated, so the kernel's first touch blocks inside copy_to_user /
 * copy_from_user; this lane's fault handler thread meets barrier B_X for it, waits until the
 * other lanes meeting B_X are blocked inside their next call (or have finished it; at most
 * 100 ms) and only then resolves the page. `STEP(n) UNMAPPED_FROM(n) op(...)`: the buffer's
 * tail from byte n on is a PROT_NONE page, so the copy fails part way (EFAULT). A held step
 * meets its barrier once per execution: from the handler, or after the call when the kernel
 * never touched the held part. */
#define HOLD_SETTLE_MAX_NS (100 * MS)
#define HOLD_POLL_NS (20 * US)
#define HOLD(b, from) if (lay_out(L, (b), (from)), 0) {} else
#define UNMAPPED_FROM(n) if (lay_out(L, -1, (n)), 0) {} else

struct window {
	struct lane *lane;
	int uffd;
	pthread_t thread;
	int active, hold;
	int64_t edge;
	uint8_t *region, *buf, *special, *staging;
	size_t region_len, special_len, staging_cap;
	_Atomic int faulted, busy;
};

/* Said once, before any lane starts: a reproducer that cannot hold its buffers would race blind. */
static void window_probe(void)
{
	int fd = window_uffd_open(0);
	if (fd >= 0) {
		close(fd);
		return;
	}
	if (fd == -EPERM)
		fprintf(stderr, "this reproducer holds buffers with userfaultfd, which was refused (EPERM): kernel-mode faults need root "
		                "(or CAP_SYS_PTRACE), or sysctl vm.unprivileged_userfaultfd=1\n");
	else if (fd == -ENOSYS)
		fprintf(stderr, "this reproducer holds buffers with userfaultfd, which this kernel does not have (CONFIG_USERFAULTFD is off)\n");
	else
		fprintf(stderr, "this reproducer holds buffers with userfaultfd, which failed: %s\n", strerror(-fd));
	exit(2);
}

static int timing_op(const char *op)
{
	return !op || !strcmp(op, "sleep") || !strcmp(op, "jitter") || !strcmp(op, "barrier") || !strcmp(op, "at_period");
}

static void settle(struct window *w)
{
	struct lane *others[MAX_LANES + 2];
	long base[MAX_LANES + 2];
	int n = 0;
	uint64_t members = P->barriers[w->hold].members;
	for (int i = 0; i < nlanes_all; i++) {
		struct lane *o = lanes[i];
		if (o && o != w->lane && o->index >= 0 && ((members >> o->index) & 1)) {
			others[n] = o;
			base[n++] = atomic_load(&o->ops);
		}
	}
	int64_t until = now_ns() + HOLD_SETTLE_MAX_NS;
	while (now_ns() < until && !atomic_load_explicit(&stop_all, memory_order_relaxed)) {
		int all = 1;
		for (int i = 0; i < n && all; i++) {
			struct lane *o = others[i];
			if (atomic_load(&o->done) || atomic_load(&o->ops) >= base[i] + 2)
				continue;
			if (!atomic_load(&o->op_start) || timing_op(atomic_load(&o->op)) || !window_task_blocked(atomic_load(&o->tid)))
				all = 0;
		}
		if (all)
			return;
		struct timespec ts = { 0, HOLD_POLL_NS };
		nanosleep(&ts, NULL);
	}
}

static int barrier_meet(struct lane *L, int index);

static void *fault_handler(void *arg)
{
	struct window *w = arg;
	sigset_t s;
	sigfillset(&s);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	for (;;) {
		struct uffd_msg msg;
		ssize_t n = read(w->uffd, &msg, sizeof msg);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof msg)
			return NULL;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		atomic_store(&w->busy, 1);
		if (!atomic_exchange(&w->faulted, 1) && barrier_meet(w->lane, w->hold) == 0)
			settle(w);
		struct uffdio_copy c = { .dst = (uintptr_t)w->special, .src = (uintptr_t)w->staging, .len = w->special_len, .mode = 0 };
		if (ioctl(w->uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST) {
			struct uffdio_range rg = { (uintptr_t)w->special, w->special_len };
			ioctl(w->uffd, UFFDIO_WAKE, &rg);
		}
		atomic_store(&w->busy, 0);
	}
}

/* The next op of this lane lays its buffer out: held on barrier `hold` from byte `edge`, or unmapped from `edge` (hold < 0). */
RT void lay_out(struct lane *L, int hold, int64_t edge)
{
	if (!L->win) {
		L->win = calloc(1, sizeof *L->win);
		if (!L->win)
			abort();
		L->win->lane = L;
		L->win->uffd = -1;
	}
	struct window *w = L->win;
	w->active = 1;
	w->hold = hold;
	w->edge = edge;
	w->region = NULL;
	atomic_store(&w->faulted, 0);
}

static void tr_layout(struct lane *L)
{
	struct window *w = L->win;
	int on = w && w->active;
	tr_int(L, "hold", on ? w->hold : -1);
	tr_int(L, "edge", on ? w->edge : -1);
}

/* `plain` (len bytes, copied in when fill) laid out as the step says; `plain` itself without a layout; NULL with *err. */
static uint8_t *window_buffer(struct lane *L, uint8_t *plain, size_t len, int fill, int *err)
{
	struct window *w = L->win;
	*err = 0;
	if (!w || !w->active)
		return plain;
	if (w->region)
		return w->buf;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t edge = (size_t)w->edge > len ? len : (size_t)w->edge;
	size_t before = (edge + pg - 1) / pg * pg;
	size_t after = len > edge ? (len - edge + pg - 1) / pg * pg : pg;
	uint8_t *m = mmap(NULL, before + after, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		*err = -ENOMEM;
		return NULL;
	}
	w->region = m;
	w->region_len = before + after;
	w->special = m + before;
	w->special_len = after;
	w->buf = w->special - edge;
	if (fill)
		memcpy(w->buf, plain, edge);
	if (w->hold < 0) {
		if (mprotect(w->special, after, PROT_NONE) < 0)
			*err = neg_errno();
		return *err ? NULL : w->buf;
	}
	if (w->uffd < 0) {
		int fd = window_uffd_open(0);
		if (fd < 0) {
			*err = fd;
			return NULL;
		}
		w->uffd = fd;
		if (pthread_create(&w->thread, NULL, fault_handler, w) != 0) {
			*err = -EAGAIN;
			return NULL;
		}
	}
	if (after > w->staging_cap) {
		free(w->staging);
		w->staging = calloc(1, after);
		if (!w->staging)
			abort();
		w->staging_cap = after;
	}
	memset(w->staging, 0, after);
	if (fill && len > edge)
		memcpy(w->staging, plain + edge, len - edge);
	struct uffdio_register reg = { .range = { (uintptr_t)w->special, after }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(w->uffd, UFFDIO_REGISTER, &reg) < 0) {
		*err = neg_errno();
		return NULL;
	}
	return w->buf;
}

static int64_t window_edge(struct lane *L) { return L->win && L->win->active ? L->win->edge : -1; }

static void window_end(struct lane *L)
{
	struct window *w = L->win;
	if (!w || !w->active)
		return;
	w->active = 0;
	if (w->hold >= 0) {
		while (atomic_load(&w->busy)) {
			struct timespec ts = { 0, HOLD_POLL_NS };
			nanosleep(&ts, NULL);
		}
		if (!atomic_load(&w->faulted))
			barrier_meet(L, w->hold);
		else if (opt.verbose)
			say("%-14s the kernel was held in its copy until barrier %s", L->def->name, P->barriers[w->hold].name);
	}
	if (w->region)
		munmap(w->region, w->region_len);
	w->region = NULL;
}

/* Rule "at_period": wait until the DMA position reaches floor(percent/100 x P) of the
 * granted period P (none granted: EBADFD, no system call), in the next period when it is
 * already there or past it, polling SYNC_PTR; a stream that is not running answers EBADFD. */
OP at_period(struct lane *L, int h, double percent)
{
	op_begin(L, "at_period");
	tr_num(L, "percent", percent);
	int fd = hfd(h);
	if (fd < 0)
		return op_end(L, -EBADF);
	long period = atomic_load(&H[h].period_size);
	int rate = atomic_load(&H[h].rate);
	if (period <= 0 || rate <= 0)
		return op_end(L, -EBADFD);
	uint64_t Pf = (uint64_t)period;
	uint64_t frame = rule_at_period_frame(percent, Pf);
	tr_int(L, "frame", (int64_t)frame);
	int state = 0;
	uint64_t hw = 0;
	int e = pcm_sync_ptr(fd, &state, &hw, NULL);
	if (e == -EPIPE || (!e && state != SNDRV_PCM_STATE_RUNNING))
		e = -EBADFD;
	uint64_t target = rule_at_period_target(hw, Pf, frame);
	/* a pointer that stops moving must not hold the lane for ever */
	int64_t limit = now_ns() + 4 * (int64_t)(Pf * 1000000000ULL / (uint64_t)rate) + 1000 * MS;
	while (!e && hw < target) {
		int64_t left = (int64_t)((target - hw) * 1000000000ULL / (uint64_t)rate);
		if (left > 2 * MS) {
			e = (int)sleep_ns(L, left - 1500 * US);
			if (e)
				break;
		}
		e = pcm_sync_ptr(fd, &state, &hw, NULL);
		if (e == -EPIPE || (!e && state != SNDRV_PCM_STATE_RUNNING))
			e = -EBADFD;
		else if (!e && now_ns() > limit)
			e = -ETIMEDOUT;
		else if (!e && stopping(L))
			e = -EINTR;
	}
	return op_end(L, e);
}

/* ---- watching for hangs ---- */

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

/* The frames of /proc/<tid>/stack that say where a task waits: offsets stripped, the
 * scheduler's and the system call entry's own frames left out. */
static void blocking_frames(const char *stack, char *out, size_t cap)
{
	static const char *const skip[] = { "__schedule", "schedule", "schedule_timeout", "schedule_timeout_uninterruptible", "schedule_timeout_interruptible",
		                            "schedule_preempt_disabled", "io_schedule", "do_syscall_64", "entry_SYSCALL_64_after_hwframe", "__x64_sys_ioctl",
		                            "__x64_sys_read", "__x64_sys_write", "__x64_sys_close", "syscall_exit_to_user_mode", NULL };
	size_t n = 0;
	out[0] = 0;
	for (const char *p = stack; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *f = memchr(p, ']', len);
		f = f ? f + 1 : p;
		while (*f == ' ')
			f++;
		size_t fl = strcspn(f, "+ \n");
		int skipped = 0;
		for (int i = 0; skip[i]; i++)
			if (strlen(skip[i]) == fl && !strncmp(f, skip[i], fl))
				skipped = 1;
		if (!skipped && fl && n + fl + 2 < cap) {
			memcpy(out + n, f, fl);
			n += fl;
			out[n++] = '<';
			out[n] = 0;
		}
		p = e ? e + 1 : p + len;
	}
	if (n)
		out[n - 1] = 0;
}

static const char *const timing_ops[] = { "sleep", "jitter", "barrier", "at_period", NULL };

#define HANG_SAMPLES 5
#define HANG_SAMPLE_NS (200 * MS)

/* A lane inside one system call for longer than its bound: sample where its thread is in the
 * kernel, and call it a hang only when every sample finds it in the same blocking frames (a
 * call that is slow but moving shows other frames). A sample with no kernel stack (the task
 * was running at that instant, or the file needs root) says nothing either way; the wait
 * channel stands in when the stack is never readable. */
static void check_lane(struct lane *L)
{
	int64_t st = atomic_load_explicit(&L->op_start, memory_order_acquire);
	if (!st)
		return;
	const char *op = atomic_load(&L->op);
	for (int i = 0; timing_ops[i]; i++)
		if (!strcmp(op, timing_ops[i]))
			return; /* user space waiting for user space */
	int step = atomic_load(&L->step);
	int64_t bound = L->def->timeouts ? L->def->timeouts[step] : P->hang_timeout;
	if (now_ns() - st < bound || (L->checked_st == st && now_ns() - L->checked_at < bound))
		return;
	L->checked_st = st;
	char path[96], state[256], wchan[128], stack[4096], first[1024] = "", cur[1024];
	int same = 1, seen = 0;
	for (int s = 0; s < 2 * HANG_SAMPLES && seen < HANG_SAMPLES && same; s++) {
		if (s) {
			struct timespec ts = { 0, HANG_SAMPLE_NS };
			nanosleep(&ts, NULL);
		}
		if (atomic_load(&L->op_start) != st)
			return; /* it returned */
		pid_t tid = atomic_load(&L->tid);
		snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
		slurp(path, stack, sizeof stack);
		const char *sp = strstr(stack, "\nState:");
		snprintf(state, sizeof state, "%.*s", sp ? (int)strcspn(sp + 8, "\n") : 1, sp ? sp + 8 : "?");
		snprintf(path, sizeof path, "/proc/self/task/%d/wchan", (int)tid);
		slurp(path, wchan, sizeof wchan);
		snprintf(path, sizeof path, "/proc/self/task/%d/stack", (int)tid);
		slurp(path, stack, sizeof stack);
		blocking_frames(stack, cur, sizeof cur);
		if (!cur[0] && geteuid() != 0 && wchan[0] && strcmp(wchan, "0"))
			snprintf(cur, sizeof cur, "%s", wchan); /* the stack needs root; the wait channel does not */
		say("watchdog: lane %s inside %s (iteration %ld, step %d) for %.3f s: state %s, wchan %s%s%s", L->def->name, op, atomic_load(&L->iter), step,
		    (double)(now_ns() - st) / 1e9, state, wchan[0] ? wchan : "-", stack[0] ? ", stack:\n" : " (no kernel stack in this sample)", stack);
		if (!cur[0])
			continue;
		if (!seen++)
			snprintf(first, sizeof first, "%s", cur);
		else if (strcmp(first, cur))
			same = 0;
	}
	L->checked_at = now_ns();
	if (atomic_load(&L->op_start) != st)
		return;
	if (same && seen >= 3) {
		found("hang: lane %s has been inside %s (iteration %ld, step %d) for %.3f s, in %s every time it was looked at", L->def->name, op, atomic_load(&L->iter),
		      step, (double)(now_ns() - st) / 1e9, first);
	} else {
		say("watchdog: lane %s is %s: not a hang (yet)", L->def->name, !same ? "moving between kernel functions" : "not in the kernel often enough to tell");
	}
}

static _Atomic int watching = 1;

static void *watchdog(void *arg)
{
	(void)arg;
	while (atomic_load(&watching) && !atomic_load(&verdict)) {
		for (int i = 0; i < nlanes_all; i++)
			if (lanes[i] && !atomic_load(&lanes[i]->done))
				check_lane(lanes[i]);
		struct timespec ts = { 0, 10 * MS };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---- the kernel log: reports the kernel prints while the program runs ---- */

static const char *const report_starts[] = { "BUG: ", "Oops", "general protection fault", "kernel BUG at", "list_del corruption",
	                                     "list_add corruption", "Kernel panic", "INFO: task ", "Unable to handle kernel", NULL };
/* A WARNING is a finding the lab does not stop at (it is not critical): the run goes on, as the lab's does, to the crash it may precede. */
static const char warning_start[] = "WARNING: CPU:";

static int kmsg_fd = -1;
static char first_warning[512];

/* New kernel log records since the start (root only): a report's first line is a finding;
 * the report itself is printed, so the output says what the kernel said. */
static void kmsg_drain(void)
{
	static int in_report;
	char rec[8192];
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof rec - 1);
		if (n <= 0) {
			if (n < 0 && errno == EPIPE)
				continue; /* records were overwritten: skip ahead */
			return;
		}
		rec[n] = 0;
		char *text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		text[strcspn(text, "\n")] = 0;
		int starts = 0;
		for (int i = 0; report_starts[i]; i++)
			if (!strncmp(text, report_starts[i], strlen(report_starts[i])))
				starts = 1;
		if (starts) {
			in_report = 60;
			found("the kernel reported: %s", text);
		} else if (!strncmp(text, warning_start, strlen(warning_start))) {
			in_report = 60;
			if (!first_warning[0])
				snprintf(first_warning, sizeof first_warning, "%s", text);
			say("the kernel warned (the run goes on): %s", text);
		}
		if (in_report) {
			in_report--;
			say("kernel: %s", text);
		}
	}
}

static void *kmsg_reader(void *arg)
{
	(void)arg;
	while (atomic_load(&watching)) {
		struct pollfd pf = { kmsg_fd, POLLIN, 0 };
		if (poll(&pf, 1, 100) > 0)
			kmsg_drain();
	}
	return NULL;
}

/* ---- errno names ---- */

static const char *errname(int e)
{
	switch (e) {
#define E(x) \
	case x:  \
		return #x;
		E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(ENXIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EFAULT) E(EBUSY) E(ENODEV) E(EINVAL) E(ENOSPC) E(EPIPE) E(ENOTTY)
		E(ENOSYS) E(EBADFD) E(ETIMEDOUT) E(ESTRPIPE) E(EOPNOTSUPP) E(EACCES) E(EEXIST) E(ERANGE)
#undef E
	}
	return "E?";
}

/* ---- running ---- */

static void on_signal(int sig) { (void)sig; }

static void lane_body(struct lane *L)
{
	atomic_store(&L->tid, (pid_t)syscall(SYS_gettid));
	L->def->fn(L);
	atomic_store(&L->done, 1);
}

static void *lane_thread(void *arg)
{
	lane_body(arg);
	return NULL;
}

/* Called by the generated loops: another iteration? */
RT int lane_more(struct lane *L, long iter)
{
	long limit = L->def->iterations;
	if (opt.max_iterations && (!limit || opt.max_iterations < limit))
		limit = opt.max_iterations;
	return !(limit && iter >= limit) && !atomic_load_explicit(&stop_all, memory_order_relaxed);
}

static struct lane *lane_new(const struct lane_def *d, int index)
{
	struct lane *L = calloc(1, sizeof *L);
	if (!L)
		abort();
	L->def = d;
	L->index = index;
	rng_seed(&L->rng, P->seed, d->stream);
	rng_seed(&L->align_rng, P->seed, 0x10000u + d->stream);
	lanes[nlanes_all++] = L;
	return L;
}

/* @repro:program */

static void usage(const char *argv0)
{
	fprintf(stderr,
	        "usage: %s [-d SECONDS] [-i N] [-v] [-T] [-u] [-c FROM=TO]...\n"
	        "  -d SECONDS  budget (default: the program's)\n"
	        "  -i N        at most N iterations per lane\n"
	        "  -v          print every call and its result\n"
	        "  -T          print every call's request as a JSON line (as the lab's events carry it)\n"
	        "  -u          allow device.detach to unbind the card's driver through sysfs\n"
	        "  -c FROM=TO  the card the program calls FROM has the id TO here (e.g. -c SimSoC=StressDPCM)\n"
	        "exit status: 1 when a finding was seen (torn readback, hang, kernel report or warning), 0 when none, 2 bad usage\n",
	        argv0);
}

int main(int argc, char **argv)
{
	P = &program;
	opt.duration = P->duration;
	int c;
	while ((c = getopt(argc, argv, "d:i:vTuc:h")) != -1) {
		switch (c) {
		case 'd': {
			char *end;
			double s = strtod(optarg, &end);
			if (*end || s <= 0) {
				usage(argv[0]);
				return 2;
			}
			opt.duration = (int64_t)(s * 1e9);
			break;
		}
		case 'i':
			opt.max_iterations = atol(optarg);
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'T':
			opt.trace = 1;
			break;
		case 'u':
			opt.allow_unbind = 1;
			break;
		case 'c': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1] || opt.ncardmap == MAX_CARDS) {
				usage(argv[0]);
				return 2;
			}
			*eq = 0;
			opt.cardmap[opt.ncardmap][0] = optarg;
			opt.cardmap[opt.ncardmap++][1] = eq + 1;
			break;
		}
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now_ns();
	struct utsname u;
	uname(&u);
	if (!opt.trace)
		say("%s: seed %u, %d lanes, budget %.3f s, on %s %s%s", P->name, P->seed, P->nlanes, (double)opt.duration / 1e9, u.release, u.machine,
		    geteuid() ? " (not root: no kernel stacks, no kernel log)" : "");
	for (int i = 0; i < MAX_HANDLES; i++) {
		atomic_store(&H[i].fd, -1);
		atomic_store(&H[i].client, -1);
		pthread_mutex_init(&H[i].torn_lock, NULL);
	}
	ctl_files_init(&CTL);
	barriers = calloc((size_t)(P->nbarriers ? P->nbarriers : 1), sizeof *barriers);
	if (!barriers)
		abort();
	for (int i = 0; i < P->nbarriers; i++)
		barriers[i].parties = P->barriers[i].parties;
	if (P->holds)
		window_probe();
	/* SIGUSR1 without SA_RESTART: lanes blocked in the kernel return EINTR at the end */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	pthread_t kt, wt;
	if (kmsg_fd >= 0) {
		lseek(kmsg_fd, 0, SEEK_END);
		pthread_create(&kt, NULL, kmsg_reader, NULL);
	}
	pthread_create(&wt, NULL, watchdog, NULL);

	struct lane *setup = lane_new(&P->setup, -1);
	lane_body(setup);
	int64_t deadline = now_ns() + opt.duration;
	int started = 0;
	for (int i = 0; i < P->nlanes && !atomic_load(&stop_all); i++) {
		struct lane *L = lane_new(&P->lanes[i], i);
		if (pthread_create(&L->thread, NULL, lane_thread, L) != 0) {
			say("cannot start lane %s", L->def->name);
			atomic_store(&L->done, 1);
			continue;
		}
		started++;
	}
	for (;;) {
		int alive = 0;
		for (int i = 1; i < nlanes_all; i++)
			alive += !atomic_load(&lanes[i]->done);
		if (!alive || atomic_load(&stop_all) || now_ns() >= deadline)
			break;
		struct timespec ts = { 0, 5 * MS };
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop_all, 1);
	/* lanes blocked in the kernel are interrupted; one that never comes back is stuck there */
	int stuck = 0;
	for (int i = 1; i < nlanes_all; i++) {
		struct lane *L = lanes[i];
		if (atomic_load(&L->done) && !L->thread)
			continue;
		int64_t until = now_ns() + (P->hang_timeout > 2000 * MS ? P->hang_timeout : 2000 * MS);
		while (!atomic_load(&L->done) && now_ns() < until) {
			pthread_kill(L->thread, SIGUSR1);
			struct timespec ts = { 0, 20 * MS };
			nanosleep(&ts, NULL);
		}
		if (!atomic_load(&L->done)) {
			stuck++;
			say("lane %s did not come back from %s", L->def->name, atomic_load(&L->op));
		} else {
			pthread_join(L->thread, NULL);
		}
	}
	if (!stuck) {
		struct lane *td = lane_new(&P->teardown, -2);
		lane_body(td);
	}
	if (kmsg_fd >= 0) {
		struct timespec ts = { 0, 300 * MS }; /* the last reports reach the log a little later */
		nanosleep(&ts, NULL);
	}
	atomic_store(&watching, 0);
	long ops = 0, errors = 0;
	for (int i = 0; i < nlanes_all; i++) {
		ops += lanes[i]->ops;
		errors += lanes[i]->errors;
	}
	if (!opt.trace)
		say("%s: %d lanes ran %ld calls (%ld failed) in %.3f s", P->name, started, ops, errors, (double)(now_ns() - t0) / 1e9);
	if (atomic_load(&verdict)) {
		say("verdict: REPRODUCED%s", stuck ? " (a thread is stuck in the kernel: this process may not exit)" : "");
		fflush(stdout);
		_exit(1);
	}
	if (first_warning[0]) {
		say("verdict: the kernel warned, nothing critical: %s", first_warning);
		return 1;
	}
	if (!opt.trace)
		say("verdict: nothing user space can see%s", kmsg_fd < 0 ? "; check the kernel log (dmesg) for KASAN, oops or WARNING reports" : " (the kernel log had no report)");
	return stuck ? 1 : 0;
}
