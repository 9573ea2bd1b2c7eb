/* The run clock: CLOCK_MONOTONIC nanoseconds, read twice per operation.
 *
 * Where the kernel's clocksource is the TSC, clock_gettime is a vDSO call of
 * a few tens of nanoseconds and is used as is. Where it is not (an emulated
 * guest on HPET: ~800 ns, more than the ioctls being timed), the agent reads
 * the TSC itself and maps it onto CLOCK_MONOTONIC through an anchor that the
 * writer thread refreshes every 200 ms. The mapping is slewed, never stepped
 * (timestamps stay monotonic), and checked at each refresh: if the TSC strays
 * more than 100 us from CLOCK_MONOTONIC the agent falls back to clock_gettime
 * for good and says so. */
#include <fcntl.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "agent.h"

static char how[200] = "timestamps from clock_gettime(CLOCK_MONOTONIC)";

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#ifdef HAVE_TSC
/* seqlock-protected anchor: t = mono + (tsc - tsc0) * k */
static _Atomic uint32_t seq;
static _Atomic int64_t a_mono;
static _Atomic uint64_t a_tsc;
static _Atomic uint64_t a_k_bits; /* double, ns per tick */
static _Atomic uint64_t a_mult;   /* the same as a 32.32 fixed-point factor: no floating point on the hot path */
static _Atomic int use_tsc;
static int64_t base_mono; /* first calibration, for a long baseline */
static uint64_t base_tsc;
static char clock_note[160];

static double k_get(void)
{
	uint64_t b = atomic_load_explicit(&a_k_bits, memory_order_relaxed);
	double d;
	memcpy(&d, &b, 8);
	return d;
}

static void anchor_set(int64_t m, uint64_t t, double k)
{
	uint64_t b;
	memcpy(&b, &k, 8);
	atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
	atomic_store_explicit(&a_mono, m, memory_order_relaxed);
	atomic_store_explicit(&a_tsc, t, memory_order_relaxed);
	atomic_store_explicit(&a_k_bits, b, memory_order_relaxed);
	atomic_store_explicit(&a_mult, (uint64_t)(k * 4294967296.0), memory_order_relaxed);
	atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
}

static int64_t tsc_now(void)
{
	for (;;) {
		uint32_t s = atomic_load_explicit(&seq, memory_order_acquire);
		if (s & 1)
			continue;
		int64_t m = atomic_load_explicit(&a_mono, memory_order_relaxed);
		uint64_t t0 = atomic_load_explicit(&a_tsc, memory_order_relaxed);
		uint64_t mult = atomic_load_explicit(&a_mult, memory_order_relaxed);
		uint64_t t = __rdtsc();
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&seq, memory_order_relaxed) != s)
			continue;
		int64_t d = (int64_t)(t - t0);
		/* an anchor is refreshed every 200 ms, so d is small and never negative by much */
		if (d < 0)
			return m - (int64_t)(((unsigned __int128)(uint64_t)-d * mult) >> 32);
		return m + (int64_t)(((unsigned __int128)(uint64_t)d * mult) >> 32);
	}
}
#endif

int64_t now_ns(void)
{
#ifdef HAVE_TSC
	if (atomic_load_explicit(&use_tsc, memory_order_relaxed))
		return tsc_now();
#endif
	return mono();
}

int64_t mono_ns(void) { return mono(); }

void clock_init(void)
{
#ifdef HAVE_TSC
	char src[64] = "";
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, src, sizeof src - 1);
		close(fd);
		src[n > 0 ? n : 0] = 0;
		src[strcspn(src, "\n")] = 0;
	}
	if (!src[0] || !strcmp(src, "tsc") || getenv("STRESSLAB_NO_TSC"))
		return; /* the vDSO is already fast, or we cannot tell: leave it to the kernel */
	int64_t m0 = mono();
	uint64_t t0 = __rdtsc();
	struct timespec ts = { 0, 20000000 };
	nanosleep(&ts, NULL);
	int64_t m1 = mono();
	uint64_t t1 = __rdtsc();
	if (t1 <= t0 || m1 <= m0)
		return;
	base_mono = m0;
	base_tsc = t0;
	anchor_set(m1, t1, (double)(m1 - m0) / (double)(t1 - t0));
	atomic_store(&use_tsc, 1);
	snprintf(how, sizeof how, "the kernel's clocksource is %s: the agent reads the TSC, calibrated against CLOCK_MONOTONIC (ns/tick %.6f)", src,
	         k_get());
#endif
}

const char *clock_describe(void) { return how; }

/* Called by the writer thread every 200 ms. Returns a note to emit, or NULL. */
const char *clock_tick(void)
{
#ifdef HAVE_TSC
	if (!atomic_load(&use_tsc))
		return NULL;
	int64_t m = mono();
	uint64_t t = __rdtsc();
	int64_t predicted = tsc_now();
	int64_t err = predicted - m;
	if (err > 100000 || err < -100000) {
		atomic_store(&use_tsc, 0);
		snprintf(clock_note, sizeof clock_note, "the TSC strayed %lld us from CLOCK_MONOTONIC; timestamps now come from clock_gettime", (long long)(err / 1000));
		snprintf(how, sizeof how, "%s", clock_note);
		return clock_note;
	}
	/* rate over the whole run so far, then slew: continue from the predicted time and
	 * absorb the error over the next interval instead of jumping */
	double k = (double)(m - base_mono) / (double)(t - base_tsc);
	double interval = 200e6;
	k *= 1.0 - (double)err / interval;
	anchor_set(predicted, t, k);
#endif
	return NULL;
}

/* ---- tying the kernel log's clock to ours ----
 * /dev/kmsg stamps records with the kernel's local_clock(), which usually runs
 * with CLOCK_MONOTONIC but need not (an emulated guest whose TSC and HPET
 * drift apart shows tens of milliseconds). The agent therefore writes its own
 * time into the kernel log now and then; the host maps each kernel timestamp
 * through the nearest such line. Without permission to write (not root) the
 * host falls back to assuming the two clocks agree. */
static int kmsg_fd = -1;

void kmsg_sync(void)
{
	if (kmsg_fd == -2)
		return;
	if (kmsg_fd < 0) {
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
		if (kmsg_fd < 0) {
			kmsg_fd = -2;
			return;
		}
	}
	char line[96];
	int n = snprintf(line, sizeof line, "<6>stresslab-agent: clock sync %lld\n", (long long)now_ns());
	if (write(kmsg_fd, line, (size_t)n) < 0) {
		close(kmsg_fd);
		kmsg_fd = -2;
	}
}
