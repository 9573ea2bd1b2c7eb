// The wire format between this process and the native agent
// (native-bridge/PROTOCOL.md). Every number here mirrors
// native-bridge/agent/proto.h; a unit test checks the two agree.
import { crc32 } from 'node:zlib';

export const PROTO_VERSION = 2;
export const FRAME_HDR = 16;
export const MAGIC0 = 0x41;
export const MAGIC1 = 0x53;
/** Largest frame the host accepts from the agent (the agent splits EVENTS below 1 MiB). */
export const FRAME_MAX_IN = 4 << 20;

export const MSG = {
  HELLO: 0x01,
  RUN: 0x02,
  STOP: 0x03,
  LIST: 0x04,
  REPLY: 0x05,
  PING: 0x06,
  QUIT: 0x07,
  A_HELLO: 0x81,
  A_EVENTS: 0x82,
  A_ERROR: 0x83,
  A_DEVICES: 0x84,
  A_REQUEST: 0x85,
  A_PONG: 0x86,
  A_DONE: 0x87,
  A_STARTED: 0x88,
} as const;

export const V = { INT: 1, FLOAT: 2, STR: 3, LIST: 4, RANGE: 5, BLOB: 6, BOOL: 7 } as const;

export const SEC = { CONFIG: 1, HANDLE: 2, BARRIER: 3, LANE: 4, STEP: 5 } as const;

export const K = {
  SEED: 1,
  DURATION: 2,
  ITERATIONS: 3,
  HANG_TIMEOUT: 4,
  FLAGS: 5,
  NAME: 6,
  KIND: 7,
  PARTIES: 8,
  ROLE: 9,
  OP: 10,
  HANDLE: 11,
  TIMEOUT: 12,
  STREAM: 13,
} as const;

/** Argument keys, in the order of proto.h (A_CARD = 16 ...). */
export const ARG_KEYS = [
  'card', 'device', 'subdevice', 'stream', 'nonblock',
  'access', 'format', 'channels', 'rate', 'period_size', 'periods', 'buffer_size',
  'avail_min', 'start_threshold', 'stop_threshold',
  'frames', 'xfer_periods', 'fallback', 'pattern', 'on', 'name', 'port',
  'sender', 'dest', 'input_pool', 'output_pool', 'output_room', 'to',
  'count', 'ev_type', 'size', 'block', 'bytes', 'fault', 'value', 'index',
  'for', 'barrier', 'percent',
  'pref_format', 'pref_channels', 'pref_rate', 'pref_period_size', 'pref_periods',
  'hold', 'edge',
  'recover', 'pairs',
] as const;
export type ArgKey = (typeof ARG_KEYS)[number];
export const A: Record<ArgKey, number> = Object.fromEntries(ARG_KEYS.map((k, i) => [k, 16 + i])) as Record<ArgKey, number>;

export const OP: Record<string, number> = {
  'pcm.open': 1,
  'pcm.hw_refine': 2,
  'pcm.hw_params': 3,
  'pcm.sw_params': 4,
  'pcm.prepare': 5,
  'pcm.start': 6,
  'pcm.write': 7,
  'pcm.read': 8,
  'pcm.status': 9,
  'pcm.readback': 10,
  'pcm.drop': 11,
  'pcm.drain': 12,
  'pcm.pause': 13,
  'pcm.hw_free': 14,
  'pcm.close': 15,
  'pcm.sweep': 16,
  'seq.open': 20,
  'seq.create_port': 21,
  'seq.subscribe': 22,
  'seq.set_client_pool': 23,
  'seq.get_client_pool': 24,
  'seq.send': 25,
  'seq.read': 26,
  'seq.close': 27,
  'ctl.write': 30,
  'ctl.read': 31,
  'device.detach': 40,
  'device.attach': 41,
  sleep: 50,
  jitter: 51,
  barrier: 52,
  at_period: 53,
};

export const ADDR = { NUMERIC: 0, HANDLE: 1, SELF: 2, SUBSCRIBERS: 3 } as const;

/** sw_params values the agent resolves at run time (app/program/README.md, rule "sw_params"). */
export const SWV = { BOUNDARY: -1, PERIOD: -2, BUFFER: -3 } as const;

export const REC = { ACT: 1, LANE: 2, METRIC: 3, NOTE: 4, STATS: 5, JSON: 6 } as const;
/** Header of an R_JSON record: u32 len, u8 kind, u8 lane, u8 handle (255: none), u8 0, i64 t. */
export const JSON_FIXED = 16;
export const ACT_FIXED = 48;

export const D = {
  CARD: 100, DEVICE: 101, SUBDEVICE: 102, STREAM: 103,
  ACCESS: 110, FORMAT: 111, CHANNELS: 112, RATE: 113, PERIOD_SIZE: 114, PERIODS: 115, BUFFER_SIZE: 116, PARAMS_NULL: 117, PREFERRED: 118,
  FORMATS: 120, I_CHANNELS: 121, I_RATE: 122, I_PERIOD_SIZE: 123, I_PERIODS: 124, I_BUFFER_SIZE: 125,
  AVAIL_MIN: 131, START_THRESHOLD: 132, STOP_THRESHOLD: 133, BOUNDARY: 134, REQ_AVAIL_MIN: 135, REQ_START: 136, REQ_STOP: 137,
  STATE: 140, HW_PTR: 141, APPL_PTR: 142, AVAIL: 143, DELAY: 144,
  REQUESTED: 150, HELD: 151, RECOVERED: 152,
  CLIENT: 160, PORT: 161, INPUT_POOL: 162, INPUT_FREE: 163, OUTPUT_POOL: 164, OUTPUT_FREE: 165, OUTPUT_ROOM: 166,
  SRC: 170, FIRST: 171, SENT: 172, REFUSED: 173, DEST: 174,
  EVENTS: 180, FOREIGN: 181,
  VALUE: 190, CHANGED: 191, VALUES: 192, SLEPT: 193, FRAME: 194,
  GENERATION: 195, TARGET: 196, ACTUAL: 197, DCARD: 198,
} as const;

export const L = { DETAIL: 200, WCHAN: 201, TASK_STATE: 202, STACK: 203, TID: 204 } as const;
export const LANE_STATES = ['start', 'end', 'hung', 'died', 'abandoned'] as const;
export const METRICS = [undefined, 'xruns', 'latency', 'hw_ptr_rate', 'wakeup_late', 'avail', 'seq_pool_free', 'seq_pool_used', 'latency_confidence', 'delay'] as const;

export const E = { BAD_FRAME: 1, TRUNCATED: 2, BAD_VERSION: 3, UNKNOWN_TYPE: 4, BAD_PROGRAM: 5, BUSY: 6, TOO_LARGE: 7 } as const;

export const LANE_SETUP = 254;
export const LANE_TEARDOWN = 255;

export const RUNF = { ALLOW_UNBIND: 1, HOST_DEVICES: 2, NO_METRICS: 4 } as const;
export const REQ = { DETACH: 1, ATTACH: 2 } as const;
export const REPLY_DO_IT_YOURSELF = 1;

// ---------------------------------------------------------------- frames

export function encodeFrame(type: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HDR + payload.length);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = PROTO_VERSION;
  out[3] = type;
  out.writeUInt32LE(payload.length, 4);
  out.writeUInt32LE(crc32(payload), 8);
  out.writeUInt32LE(crc32(out.subarray(0, 12)), 12);
  out.set(payload, FRAME_HDR);
  return out;
}

export interface Frame {
  type: number;
  payload: Buffer;
}

export interface FrameError {
  code: number;
  message: string;
}

/**
 * Incremental frame decoder with resynchronisation, the same algorithm as the
 * agent's: bytes before a frame magic are skipped, a bad header or payload
 * checksum skips one byte and rescans, and a partial frame that stops growing
 * is dropped by `checkStall`. Every skip is reported, none is fatal.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private stalledSince = 0;

  constructor(private readonly onFrame: (f: Frame) => void, private readonly onError: (e: FrameError) => void) {}

  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.stalledSince = 0;
    this.drain();
  }

  /** Call when input has been idle; drops a partial frame that stopped arriving `afterMs` ago. */
  checkStall(nowMs: number, afterMs: number): void {
    if (!this.buf.length) {
      this.stalledSince = 0;
      return;
    }
    if (!this.stalledSince) {
      this.stalledSince = nowMs;
      return;
    }
    if (nowMs - this.stalledSince < afterMs) return;
    const had = this.buf.length;
    this.buf = this.buf.subarray(1);
    this.stalledSince = nowMs;
    this.onError({ code: E.TRUNCATED, message: `incomplete frame (${had} bytes buffered) stopped arriving; dropped` });
    this.drain();
  }

  /** At end of input: whatever is left is a truncated frame. */
  end(): void {
    if (this.buf.length) this.onError({ code: E.TRUNCATED, message: `input ended inside a frame (${this.buf.length} bytes dropped)` });
    this.buf = Buffer.alloc(0);
  }

  private drain(): void {
    for (;;) {
      const b = this.buf;
      if (!b.length) return;
      let m = 0;
      while (m + 1 < b.length && !(b[m] === MAGIC0 && b[m + 1] === MAGIC1)) m++;
      // no whole magic found: keep a trailing first magic byte, it may start a frame
      if (m + 1 >= b.length) m = b[b.length - 1] === MAGIC0 ? b.length - 1 : b.length;
      if (m > 0) {
        this.buf = b.subarray(m);
        this.onError({ code: E.BAD_FRAME, message: `skipped ${m} bytes that are not a frame` });
        continue;
      }
      if (b.length < FRAME_HDR) return;
      if (b.readUInt32LE(12) !== crc32(b.subarray(0, 12))) {
        this.buf = b.subarray(1);
        this.onError({ code: E.BAD_FRAME, message: 'frame header checksum mismatch; resynchronising' });
        continue;
      }
      const len = b.readUInt32LE(4);
      if (b[2] !== PROTO_VERSION) {
        this.buf = b.subarray(1);
        this.onError({ code: E.BAD_VERSION, message: `protocol version ${b[2]}, host speaks ${PROTO_VERSION}` });
        continue;
      }
      if (len > FRAME_MAX_IN) {
        this.buf = b.subarray(1);
        this.onError({ code: E.TOO_LARGE, message: `frame of ${len} bytes exceeds the ${FRAME_MAX_IN} byte limit` });
        continue;
      }
      if (b.length < FRAME_HDR + len) return;
      const payload = b.subarray(FRAME_HDR, FRAME_HDR + len);
      if (b.readUInt32LE(8) !== crc32(payload)) {
        this.buf = b.subarray(1);
        this.onError({ code: E.BAD_FRAME, message: `payload checksum mismatch in a frame of type 0x${b[3]!.toString(16)} (${len} bytes); resynchronising` });
        continue;
      }
      this.buf = b.subarray(FRAME_HDR + len);
      this.onFrame({ type: b[3]!, payload });
    }
  }
}

// ---------------------------------------------------------------- typed fields

export type Scalar = number | boolean | string;
export type Value =
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'blob'; v: Buffer }
  | { t: 'list'; v: Value[] }
  | { t: 'range'; v: [Value, Value] };

/** Growable little-endian writer. */
export class Writer {
  private buf = Buffer.allocUnsafe(256);
  len = 0;

  private need(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let c = this.buf.length * 2;
    while (c < this.len + n) c *= 2;
    const nb = Buffer.allocUnsafe(c);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  u8(v: number): this {
    this.need(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.need(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.need(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  i64(v: number): this {
    this.need(8);
    this.buf.writeBigInt64LE(BigInt(Math.trunc(v)), this.len);
    this.len += 8;
    return this;
  }

  f64(v: number): this {
    this.need(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.need(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  value(v: Value): this {
    switch (v.t) {
      case 'int':
        return this.u8(V.INT).i64(v.v);
      case 'float':
        return this.u8(V.FLOAT).f64(v.v);
      case 'bool':
        return this.u8(V.BOOL).u8(v.v ? 1 : 0);
      case 'str': {
        const b = Buffer.from(v.v, 'utf8');
        if (b.length > 0xffff) throw new RangeError('string longer than 65535 bytes');
        return this.u8(V.STR).u16(b.length).bytes(b);
      }
      case 'blob':
        return this.u8(V.BLOB).u32(v.v.length).bytes(v.v);
      case 'list':
        this.u8(V.LIST).u16(v.v.length);
        for (const x of v.v) this.value(x);
        return this;
      case 'range':
        return this.u8(V.RANGE).value(v.v[0]).value(v.v[1]);
    }
  }

  field(key: number, v: Value): this {
    return this.u8(key).value(v);
  }

  /** A section: kind byte, u32 length, then the fields written by `body`. */
  section(kind: number, body: (w: Writer) => void): this {
    this.u8(kind);
    const at = this.len;
    this.u32(0);
    body(this);
    this.buf.writeUInt32LE(this.len - at - 4, at);
    return this;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads typed values; throws RangeError on truncation (callers turn that into an error event). */
export class Reader {
  constructor(readonly buf: Buffer, public off = 0, readonly end = buf.length) {}

  get left(): number {
    return this.end - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.end) throw new RangeError(`record truncated: needs ${n} bytes at ${this.off}, has ${this.end - this.off}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.off);
    this.off += 4;
    return v;
  }

  i64(): number {
    this.need(8);
    // two halves keep this fast; values beyond 2^53 lose precision, which no counter reaches
    const lo = this.buf.readUInt32LE(this.off);
    const hi = this.buf.readInt32LE(this.off + 4);
    this.off += 8;
    return hi * 4294967296 + lo;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  value(): Value {
    const t = this.u8();
    switch (t) {
      case V.INT:
        return { t: 'int', v: this.i64() };
      case V.FLOAT:
        return { t: 'float', v: this.f64() };
      case V.BOOL:
        return { t: 'bool', v: this.u8() !== 0 };
      case V.STR: {
        const n = this.u16();
        return { t: 'str', v: this.bytes(n).toString('utf8') };
      }
      case V.BLOB:
        return { t: 'blob', v: this.bytes(this.u32()) };
      case V.LIST: {
        const n = this.u16();
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.push(this.value());
        return { t: 'list', v: items };
      }
      case V.RANGE:
        return { t: 'range', v: [this.value(), this.value()] };
      default:
        throw new RangeError(`unknown value type ${t} at ${this.off - 1}`);
    }
  }

  /** All remaining fields as key -> value. */
  fields(): Map<number, Value> {
    const m = new Map<number, Value>();
    while (this.off < this.end) {
      const k = this.u8();
      m.set(k, this.value());
    }
    return m;
  }
}

export function scalarOf(v: Value | undefined): Scalar | undefined {
  if (!v) return undefined;
  if (v.t === 'int' || v.t === 'float' || v.t === 'bool' || v.t === 'str') return v.v;
  return undefined;
}

export function numOf(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.t === 'int' || v.t === 'float') return v.v;
  if (v.t === 'bool') return v.v ? 1 : 0;
  return undefined;
}

export function strOf(v: Value | undefined): string | undefined {
  return v && v.t === 'str' ? v.v : undefined;
}

/** Fields of a small control message (HELLO, STARTED, DONE, ERROR, REQUEST). */
export function messageFields(payload: Buffer): Map<number, Value> {
  return new Reader(payload).fields();
}

export function fieldsPayload(fields: [number, Value][]): Buffer {
  const w = new Writer();
  for (const [k, v] of fields) w.field(k, v);
  return w.done();
}
