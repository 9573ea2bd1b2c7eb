/* stresslab-agent: serves the protocol on stdin/stdout (PROTOCOL.md).
 *   stresslab-agent            serve
 *   stresslab-agent --list     print the device listing as JSON and exit
 *   stresslab-agent --version  print versions and exit
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"


#define STALL_NS 1000000000LL

static void send_error(int code, const char *msg)
{
	struct wbuf w;
	wb_init(&w, 64 + strlen(msg));
	wf_int(&w, 1, code);
	wf_str(&w, 2, msg);
	frame_send(MSG_A_ERROR, w.p, w.len);
	wb_free(&w);
}

static void send_hello(void)
{
	struct utsname u;
	uname(&u);
	struct wbuf w;
	wb_init(&w, 256);
	wf_int(&w, 1, PROTO_VERSION);
	wf_str(&w, 2, AGENT_VERSION);
	wf_int(&w, 3, getpid());
	wf_int(&w, 4, now_ns());
	wf_int(&w, 5, (int64_t)getuid());
	wf_str(&w, 6, u.release);
	wf_str(&w, 7, u.machine);
	frame_send(MSG_A_HELLO, w.p, w.len);
	wb_free(&w);
}

/* ---- requests to the host (device detach/attach in the virtual lab) ---- */

static pthread_mutex_t req_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t req_cv = PTHREAD_COND_INITIALIZER;
static int64_t req_next = 1;
static int64_t reply_id = 0;
static int64_t reply_code = 0;

int host_request(int kind, int card, const char *card_id, const char *driver, int64_t timeout_ns)
{
	pthread_mutex_lock(&req_mu);
	int64_t id = req_next++;
	pthread_mutex_unlock(&req_mu);
	struct wbuf w;
	wb_init(&w, 128);
	wf_int(&w, 1, id);
	wf_int(&w, 2, kind);
	wf_int(&w, 3, card);
	wf_str(&w, 4, card_id);
	wf_str(&w, 5, driver);
	frame_send(MSG_A_REQUEST, w.p, w.len);
	wb_free(&w);
	int64_t until = now_ns() + timeout_ns;
	int code = -ETIMEDOUT;
	pthread_mutex_lock(&req_mu);
	for (;;) {
		if (reply_id == id) {
			code = (int)reply_code;
			reply_id = 0;
			pthread_cond_broadcast(&req_cv);
			break;
		}
		if (now_ns() >= until)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&req_cv, &req_mu, &ts);
	}
	pthread_mutex_unlock(&req_mu);
	return code;
}

static void on_reply(const uint8_t *p, uint32_t len)
{
	struct rd r = { p, p + len, 0 };
	int64_t id = 0, code = -EIO;
	struct arena *a = arena_new();
	while (r.p < r.end && !r.err) {
		uint8_t k = rd_u8(&r);
		struct value v;
		if (rd_value(&r, &v, a) < 0)
			break;
		if (k == 1 && v.type == V_INT)
			id = v.i;
		else if (k == 2 && v.type == V_INT)
			code = v.i;
	}
	arena_free(a);
	if (r.err || !id) {
		send_error(E_BAD_PROGRAM, "REPLY without a request id");
		return;
	}
	pthread_mutex_lock(&req_mu);
	/* one request is outstanding at a time per lane; wait for the slot to be taken */
	while (reply_id != 0)
		pthread_cond_wait(&req_cv, &req_mu);
	reply_id = id;
	reply_code = code;
	pthread_cond_broadcast(&req_cv);
	pthread_mutex_unlock(&req_mu);
}

/* ---- frames from the host ---- */

static int handle_frame(struct frame *f)
{
	switch (f->type) {
	case MSG_HELLO:
		send_hello();
		return 0;
	case MSG_PING:
		frame_send(MSG_A_PONG, f->payload, f->len);
		return 0;
	case MSG_LIST: {
		size_t n;
		char *j = devices_json(&n);
		frame_send(MSG_A_DEVICES, (const uint8_t *)j, n);
		free(j);
		return 0;
	}
	case MSG_RUN: {
		uint8_t *copy = malloc(f->len ? f->len : 1);
		if (!copy)
			abort();
		memcpy(copy, f->payload, f->len);
		char err[256];
		struct program *p = program_parse(copy, f->len, err, sizeof err);
		if (!p) {
			free(copy);
			send_error(E_BAD_PROGRAM, err);
			return 0;
		}
		if (run_start(p, err, sizeof err) < 0) {
			program_free(p);
			send_error(E_BUSY, err);
		}
		return 0;
	}
	case MSG_STOP:
		run_request_stop();
		return 0;
	case MSG_REPLY:
		on_reply(f->payload, f->len);
		return 0;
	case MSG_QUIT:
		return 1;
	default: {
		char m[64];
		snprintf(m, sizeof m, "unknown message type 0x%02x", f->type);
		send_error(E_UNKNOWN_TYPE, m);
		return 0;
	}
	}
}

static _Noreturn void finish_and_exit(int code)
{
	run_request_stop();
	struct run *r = run_current();
	int64_t until = now_ns() + 3000000000LL;
	while (r && !atomic_load(&r->done) && now_ns() < until) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	emit_flush();
	_exit(code);
}

static _Noreturn void serve(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* Only lane threads take SIGUSR1 (it interrupts their blocking calls at the end of a
	 * run); every other thread inherits this mask. */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	clock_init();
	emit_start();
	send_hello();
	struct decoder d;
	decoder_init(&d);
	uint8_t buf[65536];
	char msg[256];
	for (;;) {
		struct pollfd pf = { 0, POLLIN, 0 };
		int pr = poll(&pf, 1, 250);
		if (pr < 0 && errno != EINTR)
			finish_and_exit(2);
		if (pr > 0) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n == 0) {
				if (d.len) {
					snprintf(msg, sizeof msg, "input ended inside a frame (%zu bytes dropped)", d.len);
					send_error(E_TRUNCATED, msg);
				}
				finish_and_exit(0);
			}
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				finish_and_exit(2);
			}
			decoder_feed(&d, buf, (size_t)n);
		} else {
			int code;
			if (decoder_check_stall(&d, now_ns(), STALL_NS, &code, msg, sizeof msg))
				send_error(code, msg);
		}
		for (;;) {
			struct frame f;
			int code;
			int rc = decoder_next(&d, &f, &code, msg, sizeof msg);
			if (rc == DEC_NEED_MORE)
				break;
			if (rc == DEC_ERROR) {
				send_error(code, msg);
				continue;
			}
			int quit = handle_frame(&f);
			decoder_consume(&d, FRAME_HDR + f.len);
			if (quit)
				finish_and_exit(0);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("stresslab-agent %s (protocol %d)\n", AGENT_VERSION, PROTO_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--list")) {
		size_t n;
		char *j = devices_json(&n);
		fwrite(j, 1, n, stdout);
		fputc('\n', stdout);
		free(j);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--list | --version]\n  (without arguments it serves the protocol on stdin/stdout; see PROTOCOL.md)\n", argv[0]);
		return 2;
	}
	serve();
}
