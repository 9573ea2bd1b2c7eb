/* Sequencer ops on /dev/snd/seq. Every event the agent sends carries its
 * sender stream id and a sequence number, so readers can account for each
 * one (delivered, refused at send, or gone in a pool resize/overflow). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>
#include <sound/asequencer.h>

#include "agent.h"

static int neg_errno(void) { return errno ? -errno : -EIO; }
static struct handle *H(struct exec *x) { return &x->lane->run->handles[x->step->handle]; }
static int hfd(struct exec *x) { return atomic_load_explicit(&H(x)->fd, memory_order_acquire); }

/* Resolves a packed address (PROTOCOL.md "Sequencer addresses"). */
static int resolve_addr(struct exec *x, int64_t packed, struct snd_seq_addr *a)
{
	int kind = (int)((packed >> 24) & 0xFF);
	int id = (int)((packed >> 8) & 0xFFFF);
	int port = (int)(packed & 0xFF);
	struct run *r = x->lane->run;
	switch (kind) {
	case ADDR_NUMERIC:
		a->client = (unsigned char)id;
		a->port = (unsigned char)port;
		return 0;
	case ADDR_HANDLE:
	case ADDR_SELF: {
		struct handle *h = kind == ADDR_SELF ? H(x) : &r->handles[id];
		int c = atomic_load(&h->seq.client);
		if (c < 0)
			return -EBADF;
		a->client = (unsigned char)c;
		a->port = (unsigned char)port;
		return 0;
	}
	case ADDR_SUBSCRIBERS:
		a->client = SNDRV_SEQ_ADDRESS_SUBSCRIBERS;
		a->port = SNDRV_SEQ_ADDRESS_UNKNOWN;
		return 0;
	}
	return -EINVAL;
}

static int64_t do_open(struct exec *x)
{
	struct handle *h = H(x);
	int nb = arg_int(&x->r, A_NONBLOCK, 0) ? 1 : 0;
	/* Rule "handles": opening an open handle closes the old file first */
	int old = atomic_exchange(&h->fd, -1);
	if (old >= 0)
		close(old);
	atomic_store(&h->seq.client, -1);
	x->t_begin = now_ns();
	int fd = open("/dev/snd/seq", O_RDWR | O_CLOEXEC | (nb ? O_NONBLOCK : 0));
	int e = fd < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (fd < 0)
		return e;
	int client = -1;
	if (ioctl(fd, SNDRV_SEQ_IOCTL_CLIENT_ID, &client) < 0) {
		e = neg_errno();
		close(fd);
		return e;
	}
	struct snd_seq_client_info ci;
	memset(&ci, 0, sizeof ci);
	ci.client = client;
	if (ioctl(fd, SNDRV_SEQ_IOCTL_GET_CLIENT_INFO, &ci) == 0) {
		if (has(&x->r, A_NAME) && x->r.type[A_NAME] == V_STR) {
			size_t n = x->r.slen[A_NAME] < sizeof ci.name - 1 ? x->r.slen[A_NAME] : sizeof ci.name - 1;
			memcpy(ci.name, x->r.s[A_NAME], n);
			ci.name[n] = 0;
		} else {
			snprintf(ci.name, sizeof ci.name, "stresslab %s", h->def->name);
		}
		ioctl(fd, SNDRV_SEQ_IOCTL_SET_CLIENT_INFO, &ci);
	}
	atomic_store(&h->seq.client, client);
	atomic_store(&h->seq.nonblock, nb);
	old = atomic_exchange(&h->fd, fd);
	if (old >= 0)
		close(old); /* another lane reopened it meanwhile */
	wf_int(x->out, D_CLIENT, client);
	return 0;
}

static int64_t do_create_port(struct exec *x)
{
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_seq_port_info pi;
	memset(&pi, 0, sizeof pi);
	pi.addr.client = (unsigned char)atomic_load(&h->seq.client);
	if (arg_int(&x->r, A_PORT, -1) >= 0) {
		pi.addr.port = (unsigned char)x->r.i[A_PORT];
		pi.flags = SNDRV_SEQ_PORT_FLG_GIVEN_PORT;
	}
	if (has(&x->r, A_NAME) && x->r.type[A_NAME] == V_STR) {
		size_t n = x->r.slen[A_NAME] < sizeof pi.name - 1 ? x->r.slen[A_NAME] : sizeof pi.name - 1;
		memcpy(pi.name, x->r.s[A_NAME], n);
	} else {
		snprintf(pi.name, sizeof pi.name, "%s", h->def->name);
	}
	pi.capability = SNDRV_SEQ_PORT_CAP_READ | SNDRV_SEQ_PORT_CAP_WRITE | SNDRV_SEQ_PORT_CAP_SUBS_READ |
	                SNDRV_SEQ_PORT_CAP_SUBS_WRITE | SNDRV_SEQ_PORT_CAP_DUPLEX;
	pi.type = SNDRV_SEQ_PORT_TYPE_MIDI_GENERIC | SNDRV_SEQ_PORT_TYPE_APPLICATION;
	pi.midi_channels = 16;
	if (ioctl(fd, SNDRV_SEQ_IOCTL_CREATE_PORT, &pi) < 0)
		return neg_errno();
	wf_int(x->out, D_PORT, pi.addr.port);
	return pi.addr.port;
}

static int64_t do_subscribe(struct exec *x)
{
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_seq_port_subscribe s;
	memset(&s, 0, sizeof s);
	int e = resolve_addr(x, arg_int(&x->r, A_SENDER, 0), &s.sender);
	if (!e)
		e = resolve_addr(x, arg_int(&x->r, A_DEST, 0), &s.dest);
	if (e)
		return e;
	return ioctl(fd, SNDRV_SEQ_IOCTL_SUBSCRIBE_PORT, &s) < 0 ? neg_errno() : 0;
}

static int64_t do_get_pool(struct exec *x)
{
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_seq_client_pool p;
	memset(&p, 0, sizeof p);
	p.client = atomic_load(&h->seq.client);
	x->t_begin = now_ns();
	int rc = ioctl(fd, SNDRV_SEQ_IOCTL_GET_CLIENT_POOL, &p);
	int e = rc < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (rc < 0)
		return e;
	wf_int(x->out, D_INPUT_POOL, p.input_pool);
	wf_int(x->out, D_INPUT_FREE, p.input_free);
	wf_int(x->out, D_OUTPUT_POOL, p.output_pool);
	wf_int(x->out, D_OUTPUT_FREE, p.output_free);
	wf_int(x->out, D_OUTPUT_ROOM, p.output_room);
	int64_t t = run_t(x->lane->run, x->t_end);
	emit_metric(x->lane->ev, M_SEQ_POOL_FREE, x->lane->index, h->index, t, p.input_free);
	emit_metric(x->lane->ev, M_SEQ_POOL_USED, x->lane->index, h->index, t, p.input_pool - p.input_free);
	return 0;
}

/* A size of 0 leaves that pool as it is: the kernel's own meaning of 0 in
 * SET_CLIENT_POOL, so one ioctl changes only the pools the step names. */
static int64_t do_set_pool(struct exec *x)
{
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_seq_client_pool p;
	memset(&p, 0, sizeof p);
	p.client = atomic_load(&h->seq.client);
	p.input_pool = (int)arg_int(&x->r, A_INPUT_POOL, 0);
	p.output_pool = (int)arg_int(&x->r, A_OUTPUT_POOL, 0);
	p.output_room = (int)arg_int(&x->r, A_OUTPUT_ROOM, 0);
	if (p.input_pool > 0)
		wf_int(x->out, D_INPUT_POOL, p.input_pool);
	if (p.output_pool > 0)
		wf_int(x->out, D_OUTPUT_POOL, p.output_pool);
	if (p.output_room > 0)
		wf_int(x->out, D_OUTPUT_ROOM, p.output_room);
	x->t_begin = now_ns();
	int rc = ioctl(fd, SNDRV_SEQ_IOCTL_SET_CLIENT_POOL, &p);
	int e = rc < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	return e;
}

static int64_t do_send(struct exec *x)
{
	struct lane *l = x->lane;
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	struct snd_seq_addr dest;
	int e = resolve_addr(x, arg_int(&x->r, A_TO, 0), &dest);
	if (e)
		return e;
	int count = (int)arg_int(&x->r, A_COUNT, 1);
	int type = (int)arg_int(&x->r, A_EV_TYPE, SEQ_EV_CONTROLLER);
	int size = (int)arg_int(&x->r, A_SIZE, SEQ_SYSEX_MIN);
	if (count < 1)
		count = 1;
	if (size < SEQ_SYSEX_MIN)
		size = SEQ_SYSEX_MIN;
	int port = (int)arg_int(&x->r, A_PORT, 0);
	uint16_t src = (uint16_t)((l->index & 0xFF) << 8 | (h->index & 0xFF));
	size_t per = type == SEQ_EV_SYSEX ? (size_t)SEQ_EV_SIZE + (size_t)size : (size_t)SEQ_EV_SIZE;
	uint8_t *buf = lane_buf(l, per * (size_t)count);
	uint32_t first = l->seq_next[h->index];
	wf_int(x->out, D_FIRST, first);
	for (int i = 0; i < count; i++)
		seq_event_build(buf + per * (size_t)i, type, size, port, &dest, src, first + (uint32_t)i);

	int sent = 0;
	int64_t ret = 0;
	x->t_begin = now_ns();
	while (sent < count) {
		ssize_t n = write(fd, buf + per * (size_t)sent, per * (size_t)(count - sent));
		if (n < 0) {
			ret = neg_errno();
			break;
		}
		/* a short write means the next event failed; the loop retries it alone to learn the errno */
		int whole = (int)((size_t)n / per);
		if (whole == 0 && (size_t)n < per) {
			ret = -EIO;
			break;
		}
		sent += whole;
	}
	x->t_end = now_ns();
	wf_int(x->out, D_SRC, src);
	wf_int(x->out, D_SENT, sent);
	if (ret < 0)
		wf_int(x->out, D_REFUSED, (int64_t)first + sent);
	wf_int(x->out, D_DEST, dest.client << 8 | dest.port);
	/* a refused number is used up; numbers after it were never tried and are reused */
	l->seq_next[h->index] = first + (uint32_t)sent + (ret < 0 ? 1u : 0u);
	return ret < 0 ? ret : sent;
}

/* Memory the kernel cannot write, at least `bytes` long: copy_to_user fails
 * and snd_seq_read takes its putback path. One region for the whole agent,
 * grown (never shrunk) as reads ask for more; never written by anyone. */
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
			/* the old region stays mapped: another lane may be reading into it right now */
			region = p;
			size = want;
		}
	}
	void *r = size >= want ? region : NULL;
	pthread_mutex_unlock(&mu);
	return r;
}

/* What a read found: (src, number) pairs of the lab's events, and how many others. */
struct walk {
	uint8_t pairs[6 * 4096];
	size_t np;
	int foreign;
};

static void seen(void *ctx, int ours, uint16_t src, uint32_t num)
{
	struct walk *w = ctx;
	if (ours && w->np + 6 <= sizeof w->pairs) {
		w->pairs[w->np++] = (uint8_t)src;
		w->pairs[w->np++] = (uint8_t)(src >> 8);
		memcpy(w->pairs + w->np, &num, 4);
		w->np += 4;
	} else if (!ours) {
		w->foreign++;
	}
}

static int64_t do_read(struct exec *x)
{
	struct lane *l = x->lane;
	struct handle *h = H(x);
	int fd = hfd(x);
	if (fd < 0)
		return -EBADF;
	int block = (int)arg_int(&x->r, A_BLOCK, 1);
	size_t want = (size_t)arg_int(&x->r, A_BYTES, 64 * SEQ_EV_SIZE);
	int fault = (int)arg_int(&x->r, A_FAULT, 0);
	int nb = atomic_load(&h->seq.nonblock);
	x->t_begin = now_ns();
	/* The fd's own O_NONBLOCK is shared by every lane using it, so the per-read
	 * choice is made with poll() instead of flipping the flag. */
	if (block != !nb) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int pr = poll(&pf, 1, block ? -1 : 0);
		if (pr < 0) {
			x->t_end = now_ns();
			return neg_errno();
		}
		if (pr == 0) {
			x->t_end = now_ns();
			return -EAGAIN;
		}
	}
	uint8_t *buf = fault ? fault_region(want) : lane_buf(l, want);
	if (!buf)
		return -ENOMEM;
	ssize_t n = read(fd, buf, want);
	int e = n < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (n < 0)
		return e;
	struct walk w = { .np = 0, .foreign = 0 };
	int events = seq_events_walk(buf, (size_t)n, seen, &w);
	uint8_t *pairs = w.pairs;
	size_t np = w.np;
	int foreign = w.foreign;
	wf_blob(x->out, D_EVENTS, pairs, np);
	wf_int(x->out, D_FOREIGN, foreign);
	return events;
}

static int64_t do_close(struct exec *x)
{
	struct handle *h = H(x);
	int fd = atomic_exchange(&h->fd, -1);
	if (fd < 0)
		return -EBADF;
	return close(fd) < 0 ? neg_errno() : 0;
}

int64_t op_seq(struct exec *x)
{
	switch (x->step->op) {
	case OP_SEQ_OPEN:
		return do_open(x);
	case OP_SEQ_CREATE_PORT:
		return do_create_port(x);
	case OP_SEQ_SUBSCRIBE:
		return do_subscribe(x);
	case OP_SEQ_SET_POOL:
		return do_set_pool(x);
	case OP_SEQ_GET_POOL:
		return do_get_pool(x);
	case OP_SEQ_SEND:
		return do_send(x);
	case OP_SEQ_READ:
		return do_read(x);
	case OP_SEQ_CLOSE:
		return do_close(x);
	}
	return -ENOSYS;
}
