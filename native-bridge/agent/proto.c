/* Framing, checksums and the typed field encoding (PROTOCOL.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* CRC-32 (IEEE, as zlib), slicing-by-8: the writer thread checksums every
 * byte the agent sends, so the bytewise table loop would be its hottest code. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
}

uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	uint32_t c = 0xFFFFFFFFu;
	while (n >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;
		c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^ crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void frame_header(uint8_t h[FRAME_HDR], uint8_t type, const uint8_t *payload, uint32_t len)
{
	h[0] = FRAME_MAGIC0;
	h[1] = FRAME_MAGIC1;
	h[2] = PROTO_VERSION;
	h[3] = type;
	put32(h + 4, len);
	put32(h + 8, crc32_ieee(payload, len));
	put32(h + 12, crc32_ieee(h, 12));
}

/* ---- write buffer ---- */

void wb_init(struct wbuf *w, size_t cap)
{
	w->len = 0;
	w->cap = cap ? cap : 256;
	w->p = malloc(w->cap);
	if (!w->p)
		abort();
}

void wb_free(struct wbuf *w)
{
	free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
}

void wb_grow(struct wbuf *w, size_t n)
{
	size_t c = w->cap ? w->cap : 256;
	while (c < w->len + n)
		c *= 2;
	uint8_t *p = realloc(w->p, c);
	if (!p)
		abort(); /* out of memory: nothing sensible left to report with */
	w->p = p;
	w->cap = c;
}

void wf_bool(struct wbuf *w, uint8_t key, int v)
{
	wb_u8(w, key);
	wb_u8(w, V_BOOL);
	wb_u8(w, v ? 1 : 0);
}

void wf_float(struct wbuf *w, uint8_t key, double v)
{
	wb_u8(w, key);
	wb_u8(w, V_FLOAT);
	wb_f64(w, v);
}

void wf_strn(struct wbuf *w, uint8_t key, const char *s, size_t n)
{
	if (n > 0xFFFF)
		n = 0xFFFF;
	wb_u8(w, key);
	wb_u8(w, V_STR);
	wb_u16(w, (uint16_t)n);
	wb_bytes(w, s, n);
}

void wf_str(struct wbuf *w, uint8_t key, const char *s) { wf_strn(w, key, s, strlen(s)); }

void wf_range(struct wbuf *w, uint8_t key, int64_t lo, int64_t hi)
{
	wb_u8(w, key);
	wb_u8(w, V_RANGE);
	wb_u8(w, V_INT);
	wb_i64(w, lo);
	wb_u8(w, V_INT);
	wb_i64(w, hi);
}

void wf_blob(struct wbuf *w, uint8_t key, const void *b, size_t n)
{
	wb_u8(w, key);
	wb_u8(w, V_BLOB);
	wb_u32(w, (uint32_t)n);
	wb_bytes(w, b, n);
}

/* ---- reader ---- */

const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = 1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 4);
	return p ? get32(p) : 0;
}

int64_t rd_i64(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 8);
	if (!p)
		return 0;
	uint64_t u = 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	return (int64_t)u;
}

double rd_f64(struct rd *r)
{
	int64_t i = rd_i64(r);
	double d;
	memcpy(&d, &i, 8);
	return d;
}

/* ---- arena: one allocation pool per program, freed at once ---- */

struct arena {
	struct arena *next;
	size_t used, cap;
	_Alignas(16) uint8_t data[];
};

struct arena *arena_new(void)
{
	size_t cap = 64 * 1024;
	struct arena *a = malloc(sizeof *a + cap);
	if (!a)
		abort();
	a->next = NULL;
	a->used = 0;
	a->cap = cap;
	return a;
}

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena *c = a;
	while (c->used + n > c->cap) {
		if (!c->next) {
			size_t cap = n > 64 * 1024 ? n : 64 * 1024;
			struct arena *x = malloc(sizeof *x + cap);
			if (!x)
				abort();
			x->next = NULL;
			x->used = 0;
			x->cap = cap;
			c->next = x;
		}
		c = c->next;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

void arena_free(struct arena *a)
{
	while (a) {
		struct arena *n = a->next;
		free(a);
		a = n;
	}
}

static int rd_scalar(struct rd *r, uint8_t type, struct value *v)
{
	v->type = type;
	switch (type) {
	case V_INT:
		v->i = rd_i64(r);
		v->f = (double)v->i;
		break;
	case V_BOOL:
		v->i = rd_u8(r) ? 1 : 0;
		v->f = (double)v->i;
		break;
	case V_FLOAT:
		v->f = rd_f64(r);
		v->i = (int64_t)v->f;
		break;
	case V_STR:
		v->n = rd_u16(r);
		v->s = (const char *)rd_bytes(r, v->n);
		break;
	case V_BLOB: {
		uint32_t n = rd_u32(r);
		v->s = (const char *)rd_bytes(r, n);
		v->n = n > 0xFFFF ? 0xFFFF : (uint16_t)n;
		break;
	}
	default:
		r->err = 1;
	}
	return r->err ? -1 : 0;
}

int rd_value(struct rd *r, struct value *v, struct arena *a)
{
	uint8_t type = rd_u8(r);
	if (r->err)
		return -1;
	if (type == V_LIST) {
		uint16_t n = rd_u16(r);
		if (r->err || n == 0) {
			r->err = 1;
			return -1;
		}
		v->type = V_LIST;
		v->n = n;
		v->items = arena_alloc(a, sizeof(struct value) * n);
		for (uint16_t i = 0; i < n; i++) {
			uint8_t t = rd_u8(r);
			if (t == V_LIST || t == V_RANGE || rd_scalar(r, t, &v->items[i]) < 0) {
				r->err = 1;
				return -1;
			}
		}
		return 0;
	}
	if (type == V_RANGE) {
		v->type = V_RANGE;
		v->n = 2;
		v->items = arena_alloc(a, sizeof(struct value) * 2);
		for (int i = 0; i < 2; i++) {
			uint8_t t = rd_u8(r);
			if ((t != V_INT && t != V_FLOAT) || rd_scalar(r, t, &v->items[i]) < 0) {
				r->err = 1;
				return -1;
			}
		}
		if (v->items[0].type != v->items[1].type || v->items[0].f > v->items[1].f) {
			r->err = 1;
			return -1;
		}
		return 0;
	}
	return rd_scalar(r, type, v);
}

/* ---- decoder ---- */

void decoder_init(struct decoder *d)
{
	d->cap = 64 * 1024;
	d->len = 0;
	d->buf = malloc(d->cap);
	if (!d->buf)
		abort();
	d->stalled_since = 0;
}

void decoder_feed(struct decoder *d, const uint8_t *p, size_t n)
{
	if (d->len + n > d->cap) {
		size_t c = d->cap;
		while (c < d->len + n)
			c *= 2;
		uint8_t *b = realloc(d->buf, c);
		if (!b)
			abort();
		d->buf = b;
		d->cap = c;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	d->stalled_since = 0;
}

void decoder_consume(struct decoder *d, size_t n)
{
	if (n >= d->len) {
		d->len = 0;
		return;
	}
	memmove(d->buf, d->buf + n, d->len - n);
	d->len -= n;
}

/* Offset of the next plausible frame start at or after `from`. */
static size_t next_magic(const struct decoder *d, size_t from)
{
	for (size_t i = from; i + 1 < d->len; i++)
		if (d->buf[i] == FRAME_MAGIC0 && d->buf[i + 1] == FRAME_MAGIC1)
			return i;
	/* keep a trailing first magic byte: it may be the start of a frame */
	if (d->len && d->buf[d->len - 1] == FRAME_MAGIC0 && d->len - 1 >= from)
		return d->len - 1;
	return d->len;
}

int decoder_next(struct decoder *d, struct frame *f, int *code, char *msg, size_t msglen)
{
	if (d->len == 0)
		return DEC_NEED_MORE;
	size_t m = next_magic(d, 0);
	if (m > 0) {
		decoder_consume(d, m);
		*code = E_BAD_FRAME;
		snprintf(msg, msglen, "skipped %zu bytes that are not a frame", m);
		return DEC_ERROR;
	}
	if (d->len < FRAME_HDR)
		return DEC_NEED_MORE;
	const uint8_t *h = d->buf;
	if (get32(h + 12) != crc32_ieee(h, 12)) {
		decoder_consume(d, 1);
		*code = E_BAD_FRAME;
		snprintf(msg, msglen, "frame header checksum mismatch; resynchronising");
		return DEC_ERROR;
	}
	uint32_t len = get32(h + 4);
	if (h[2] != PROTO_VERSION) {
		decoder_consume(d, 1);
		*code = E_BAD_VERSION;
		snprintf(msg, msglen, "protocol version %u, agent speaks %u", h[2], PROTO_VERSION);
		return DEC_ERROR;
	}
	if (len > FRAME_MAX_IN) {
		decoder_consume(d, 1);
		*code = E_TOO_LARGE;
		snprintf(msg, msglen, "frame of %u bytes exceeds the %u byte limit", len, FRAME_MAX_IN);
		return DEC_ERROR;
	}
	if (d->len < FRAME_HDR + (size_t)len)
		return DEC_NEED_MORE;
	if (get32(h + 8) != crc32_ieee(h + FRAME_HDR, len)) {
		decoder_consume(d, 1);
		*code = E_BAD_FRAME;
		snprintf(msg, msglen, "payload checksum mismatch in a frame of type 0x%02x (%u bytes); resynchronising", h[3], len);
		return DEC_ERROR;
	}
	f->type = h[3];
	f->version = h[2];
	f->len = len;
	f->payload = d->buf + FRAME_HDR;
	return DEC_FRAME;
}

int decoder_check_stall(struct decoder *d, int64_t now, int64_t after_ns, int *code, char *msg, size_t msglen)
{
	if (d->len == 0) {
		d->stalled_since = 0;
		return 0;
	}
	if (!d->stalled_since) {
		d->stalled_since = now;
		return 0;
	}
	if (now - d->stalled_since < after_ns)
		return 0;
	size_t have = d->len;
	decoder_consume(d, 1);
	d->stalled_since = now;
	*code = E_TRUNCATED;
	snprintf(msg, msglen, "incomplete frame (%zu bytes buffered) stopped arriving; dropped", have);
	return 1;
}
