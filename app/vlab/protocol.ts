// The control channel's framing, host side. guestd (native-bridge/vlab/guestd.c)
// speaks the same thing; the constants must stay in step with it.
// Frame, little-endian: u32 len | u8 type | u32 chan | payload, len = 5 + payload.
// Binary framing rather than JSON lines: process output is arbitrary bytes and
// must cross without escaping, at the agent's event rate.

export const F = {
  // host -> guest
  EXEC: 1,
  STDIN: 2,
  STDIN_EOF: 3,
  SIGNAL: 4,
  ACK_OUT: 5,
  PING: 6,
  CHECKPOINT: 7,
  POWEROFF: 8,
  ACK_ERR: 9,
  // guest -> host
  HELLO: 64,
  STARTED: 65,
  EXEC_ERR: 66,
  STDOUT: 67,
  STDERR: 68,
  EXIT: 69,
  ACK_IN: 70,
  PONG: 71,
  KMSG: 72,
  CHECKPOINT_DONE: 73,
  LOG: 74,
} as const;

export const HEADER_BYTES = 9;
/** guestd rejects bigger frames; stdin is cut into chunks well below this. */
export const MAX_FRAME = 1 << 20;
export const STDIN_CHUNK = 64 * 1024;
/** Credit the host gives one process's stdin; guestd acknowledges what the child read. */
export const STDIN_WINDOW = 1 << 20;

export interface Frame {
  type: number;
  chan: number;
  payload: Buffer;
}

export function encodeFrame(type: number, chan: number, payload: Uint8Array = EMPTY): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  b.writeUInt32LE(5 + payload.length, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32LE(chan >>> 0, 5);
  b.set(payload, HEADER_BYTES);
  return b;
}

export function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

const EMPTY = Buffer.alloc(0);

export interface ExecRequest {
  argv: string[];
  env: string[];
  cwd: string;
}

/** EXEC payload: u16 argc | u16 envc | cwd\0 | argv\0... | env\0... */
export function encodeExec(req: ExecRequest): Buffer {
  if (req.argv.length === 0) throw new Error('exec needs a program');
  if (req.argv.length > 0xffff || req.env.length > 0xffff) throw new Error('too many arguments or environment entries');
  for (const s of [req.cwd, ...req.argv, ...req.env]) {
    if (s.includes('\0')) throw new Error(`exec strings cannot contain NUL bytes: ${JSON.stringify(s)}`);
  }
  const head = Buffer.alloc(4);
  head.writeUInt16LE(req.argv.length, 0);
  head.writeUInt16LE(req.env.length, 2);
  const body = Buffer.from([req.cwd, ...req.argv, ...req.env].map((s) => s + '\0').join(''), 'utf8');
  if (head.length + body.length + 5 > MAX_FRAME) throw new Error('exec request too large');
  return Buffer.concat([head, body]);
}

/** Turns a byte stream into frames; keeps partial frames across chunks. */
export class FrameDecoder {
  private buf: Buffer = EMPTY;

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= HEADER_BYTES) {
      const len = this.buf.readUInt32LE(off);
      if (len < 5 || len > MAX_FRAME + 16) throw new Error(`control channel out of sync: frame length ${len}`);
      if (this.buf.length - off < 4 + len) break;
      out.push({
        type: this.buf.readUInt8(off + 4),
        chan: this.buf.readUInt32LE(off + 5),
        // A copy, so one retained payload does not pin the whole read buffer.
        payload: Buffer.from(this.buf.subarray(off + HEADER_BYTES, off + 4 + len)),
      });
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? EMPTY : this.buf.subarray(off);
    return out;
  }
}
