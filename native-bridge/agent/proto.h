/* Wire format between the host (TypeScript) and the agent. PROTOCOL.md is the
 * specification; app/targets/agent/protocol.ts mirrors every number here. */
#ifndef STRESSLAB_PROTO_H
#define STRESSLAB_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PROTO_VERSION 2
#define FRAME_MAGIC0 0x41 /* 'A' */
#define FRAME_MAGIC1 0x53 /* 'S' */
#define FRAME_HDR 16
#define FRAME_MAX_IN (4u << 20)  /* largest frame the agent accepts */
#define FRAME_MAX_OUT (1u << 20) /* EVENTS frames are split below this */

/* host -> agent */
enum {
	MSG_HELLO = 0x01,
	MSG_RUN = 0x02,
	MSG_STOP = 0x03,
	MSG_LIST = 0x04,
	MSG_REPLY = 0x05,
	MSG_PING = 0x06,
	MSG_QUIT = 0x07,
};

/* agent -> host */
enum {
	MSG_A_HELLO = 0x81,
	MSG_A_EVENTS = 0x82,
	MSG_A_ERROR = 0x83,
	MSG_A_DEVICES = 0x84,
	MSG_A_REQUEST = 0x85,
	MSG_A_PONG = 0x86,
	MSG_A_DONE = 0x87,
	MSG_A_STARTED = 0x88,
};

/* value types */
enum { V_INT = 1, V_FLOAT = 2, V_STR = 3, V_LIST = 4, V_RANGE = 5, V_BLOB = 6, V_BOOL = 7 };

/* RUN sections */
enum { SEC_CONFIG = 1, SEC_HANDLE = 2, SEC_BARRIER = 3, SEC_LANE = 4, SEC_STEP = 5 };

/* field keys: section meta (0..15) */
enum {
	K_SEED = 1, K_DURATION = 2, K_ITERATIONS = 3, K_HANG_TIMEOUT = 4, K_FLAGS = 5,
	K_NAME = 6, K_KIND = 7, K_PARTIES = 8, K_ROLE = 9,
	K_OP = 10, K_HANDLE = 11, K_TIMEOUT = 12, K_STREAM = 13,
};

/* op argument keys (16 .. A_LAST-1, at most 99): index straight into struct resolved */
enum {
	A_CARD = 16, A_DEVICE, A_SUBDEVICE, A_STREAM, A_NONBLOCK,
	A_ACCESS, A_FORMAT, A_CHANNELS, A_RATE, A_PERIOD_SIZE, A_PERIODS, A_BUFFER_SIZE,
	A_AVAIL_MIN, A_START_THRESHOLD, A_STOP_THRESHOLD,
	A_FRAMES, A_XFER_PERIODS, A_FALLBACK, A_PATTERN, A_ON, A_NAME, A_PORT,
	A_SENDER, A_DEST, A_INPUT_POOL, A_OUTPUT_POOL, A_OUTPUT_ROOM, A_TO,
	A_COUNT, A_EV_TYPE, A_SIZE, A_BLOCK, A_BYTES, A_FAULT, A_VALUE, A_INDEX,
	A_FOR, A_BARRIER, A_PERCENT,
	A_PREF_FORMAT, A_PREF_CHANNELS, A_PREF_RATE, A_PREF_PERIOD_SIZE, A_PREF_PERIODS,
	A_HOLD, A_EDGE, /* buffer layout (window.c) */
	A_RECOVER, A_PAIRS,
	A_LAST
};
/* keys 16..99: ACT records carry varied argument keys below the data keys (>= 100) */
_Static_assert(A_LAST <= 100, "argument keys must stay below the op data keys");

/* sw_params values resolved by the agent at run time (app/program/README.md, rule "sw_params") */
enum { SWV_BOUNDARY = -1, SWV_PERIOD = -2, SWV_BUFFER = -3 };

/* op codes */
enum {
	OP_PCM_OPEN = 1, OP_PCM_HW_REFINE, OP_PCM_HW_PARAMS, OP_PCM_SW_PARAMS, OP_PCM_PREPARE,
	OP_PCM_START, OP_PCM_WRITE, OP_PCM_READ, OP_PCM_STATUS, OP_PCM_READBACK, OP_PCM_DROP,
	OP_PCM_DRAIN, OP_PCM_PAUSE, OP_PCM_HW_FREE, OP_PCM_CLOSE, OP_PCM_SWEEP,
	OP_SEQ_OPEN = 20, OP_SEQ_CREATE_PORT, OP_SEQ_SUBSCRIBE, OP_SEQ_SET_POOL, OP_SEQ_GET_POOL,
	OP_SEQ_SEND, OP_SEQ_READ, OP_SEQ_CLOSE,
	OP_CTL_WRITE = 30, OP_CTL_READ,
	OP_DEV_DETACH = 40, OP_DEV_ATTACH,
	OP_SLEEP = 50, OP_JITTER, OP_BARRIER, OP_AT_PERIOD,
};

/* sequencer addresses travel packed in an INT: kind << 24 | id << 8 | port */
enum { ADDR_NUMERIC = 0, ADDR_HANDLE = 1, ADDR_SELF = 2, ADDR_SUBSCRIBERS = 3 };

/* event record kinds */
/* R_JSON: events with many optional fields (kinds "recover" and "conformance" of
 * app/events/types.ts) travel as JSON text: u32 len, u8 kind, u8 lane, u8 handle
 * (255: none), u8 0, i64 t, then the text to the end of the record. */
enum { R_ACT = 1, R_LANE = 2, R_METRIC = 3, R_NOTE = 4, R_STATS = 5, R_JSON = 6 };
#define JSON_FIXED 16
#define ACT_FIXED 48

/* ACT header as it sits on the wire; the agent only runs on little-endian machines */
struct __attribute__((packed)) act_fixed {
	uint32_t len;
	uint8_t kind;
	uint8_t lane;
	uint16_t step;
	int64_t iter, t, dur, ret;
	uint32_t tid;
	uint32_t flags;
};
_Static_assert(sizeof(struct act_fixed) == ACT_FIXED, "ACT header layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian; add byte swapping for this machine");

/* op data keys in ACT records (>= 100) */
enum {
	D_CARD = 100, D_DEVICE, D_SUBDEVICE, D_STREAM,
	D_ACCESS = 110, D_FORMAT, D_CHANNELS, D_RATE, D_PERIOD_SIZE, D_PERIODS, D_BUFFER_SIZE, D_PARAMS_NULL, D_PREFERRED,
	D_FORMATS = 120, D_I_CHANNELS, D_I_RATE, D_I_PERIOD_SIZE, D_I_PERIODS, D_I_BUFFER_SIZE,
	D_AVAIL_MIN = 131, D_START_THRESHOLD, D_STOP_THRESHOLD, D_BOUNDARY, D_REQ_AVAIL_MIN, D_REQ_START, D_REQ_STOP,
	D_STATE = 140, D_HW_PTR, D_APPL_PTR, D_AVAIL, D_DELAY,
	D_REQUESTED = 150, D_HELD, D_RECOVERED,
	D_CLIENT = 160, D_PORT, D_INPUT_POOL, D_INPUT_FREE, D_OUTPUT_POOL, D_OUTPUT_FREE, D_OUTPUT_ROOM,
	D_SRC = 170, D_FIRST, D_SENT, D_REFUSED, D_DEST,
	D_EVENTS = 180, D_FOREIGN,
	D_VALUE = 190, D_CHANGED, D_VALUES, D_SLEPT, D_FRAME,
	D_GENERATION = 195, D_TARGET, D_ACTUAL, D_DCARD,
	D_NOTE = 199,
};

/* lane record fields */
enum { L_DETAIL = 200, L_WCHAN, L_TASK_STATE, L_STACK, L_TID };

/* lane states */
enum { LS_START = 0, LS_END, LS_HUNG, LS_DIED, LS_ABANDONED };

/* metric ids (MetricName in app/events/types.ts) */
enum { M_XRUNS = 1, M_LATENCY, M_HW_PTR_RATE, M_WAKEUP_LATE, M_AVAIL, M_SEQ_POOL_FREE, M_SEQ_POOL_USED, M_LATENCY_CONFIDENCE, M_DELAY };

/* error codes in ERROR frames */
enum {
	E_BAD_FRAME = 1,   /* header or payload checksum wrong, garbage skipped */
	E_TRUNCATED = 2,   /* a frame stopped arriving half-way */
	E_BAD_VERSION = 3,
	E_UNKNOWN_TYPE = 4,
	E_BAD_PROGRAM = 5,
	E_BUSY = 6,        /* RUN while a run is active, or after a lane hung */
	E_TOO_LARGE = 7,
};

/* ---- growable write buffer ---- */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
};
void wb_init(struct wbuf *w, size_t cap);
void wb_free(struct wbuf *w);
void wb_grow(struct wbuf *w, size_t n);
/* The writers below sit on every operation's path: inline, one capacity check
 * each, stores of native little-endian values (see the static asserts). */
static inline void wb_reserve(struct wbuf *w, size_t n)
{
	if (w->len + n > w->cap)
		wb_grow(w, n);
}
static inline void wb_bytes(struct wbuf *w, const void *b, size_t n)
{
	wb_reserve(w, n);
	memcpy(w->p + w->len, b, n);
	w->len += n;
}
static inline void wb_u8(struct wbuf *w, uint8_t v) { wb_bytes(w, &v, 1); }
static inline void wb_u16(struct wbuf *w, uint16_t v) { wb_bytes(w, &v, 2); }
static inline void wb_u32(struct wbuf *w, uint32_t v) { wb_bytes(w, &v, 4); }
static inline void wb_i64(struct wbuf *w, int64_t v) { wb_bytes(w, &v, 8); }
static inline void wb_f64(struct wbuf *w, double v) { wb_bytes(w, &v, 8); }
static inline void wb_put_u32(struct wbuf *w, size_t at, uint32_t v) { memcpy(w->p + at, &v, 4); }
/* typed fields: key + value */
static inline void wf_int(struct wbuf *w, uint8_t key, int64_t v)
{
	wb_reserve(w, 10);
	uint8_t *p = w->p + w->len;
	p[0] = key;
	p[1] = V_INT;
	memcpy(p + 2, &v, 8);
	w->len += 10;
}
void wf_bool(struct wbuf *w, uint8_t key, int v);
void wf_float(struct wbuf *w, uint8_t key, double v);
void wf_str(struct wbuf *w, uint8_t key, const char *s);
void wf_strn(struct wbuf *w, uint8_t key, const char *s, size_t n);
void wf_range(struct wbuf *w, uint8_t key, int64_t lo, int64_t hi);
void wf_blob(struct wbuf *w, uint8_t key, const void *b, size_t n);

/* ---- reader ---- */
struct rd {
	const uint8_t *p, *end;
	int err;
};
uint8_t rd_u8(struct rd *r);
uint16_t rd_u16(struct rd *r);
uint32_t rd_u32(struct rd *r);
int64_t rd_i64(struct rd *r);
double rd_f64(struct rd *r);
const uint8_t *rd_bytes(struct rd *r, size_t n);

struct value {
	uint8_t type;
	uint16_t n;    /* string length or list size */
	int64_t i;
	double f;
	const char *s; /* not NUL-terminated */
	struct value *items; /* LIST items, or RANGE [lo, hi] */
};

struct arena;
struct arena *arena_new(void);
void *arena_alloc(struct arena *a, size_t n);
void arena_free(struct arena *a);
/* Parses one typed value; lists may not nest. Returns 0, or -1 and sets r->err. */
int rd_value(struct rd *r, struct value *v, struct arena *a);

/* ---- frames ---- */
uint32_t crc32_ieee(const uint8_t *p, size_t n);
void frame_header(uint8_t hdr[FRAME_HDR], uint8_t type, const uint8_t *payload, uint32_t len);

/* Incremental decoder with resynchronisation: garbage before a frame, bad
 * checksums and stalled partial frames are reported and skipped. */
struct decoder {
	uint8_t *buf;
	size_t len, cap;
	int64_t stalled_since; /* ns when a partial frame stopped growing, 0 = none */
};
struct frame {
	uint8_t type;
	uint8_t version;
	uint32_t len;
	uint8_t *payload; /* points into the decoder buffer; valid until the next call */
};
/* Result of decoder_next. */
enum { DEC_NEED_MORE = 0, DEC_FRAME = 1, DEC_ERROR = 2 };
void decoder_init(struct decoder *d);
void decoder_feed(struct decoder *d, const uint8_t *p, size_t n);
/* On DEC_ERROR, *code and msg describe what was skipped. */
int decoder_next(struct decoder *d, struct frame *f, int *code, char *msg, size_t msglen);
/* Called when input has been idle: a partial frame older than `after_ns` is dropped (truncated). */
int decoder_check_stall(struct decoder *d, int64_t now, int64_t after_ns, int *code, char *msg, size_t msglen);
void decoder_consume(struct decoder *d, size_t n);

#endif
