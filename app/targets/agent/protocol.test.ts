import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../sim/kernel/rng.js';
import { A, ARG_KEYS, D, E, FRAME_HDR, FrameDecoder, K, L, METRICS, MSG, OP, PROTO_VERSION, REC, Reader, SEC, SWV, V, type Frame, type FrameError, type Value, Writer, encodeFrame } from './protocol.js';
import { repoRoot } from './binary.js';

/** Every `NAME = value` (and implicit successors) in proto.h's enums. */
function headerEnums(): Map<string, number> {
  const text = readFileSync(join(repoRoot(), 'native-bridge', 'agent', 'proto.h'), 'utf8');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/enum\s*\{([^}]*)\}/g)) {
    let next = 0;
    for (const raw of m[1]!.replace(/\/\*[\s\S]*?\*\//g, '').split(',')) {
      const item = raw.trim();
      if (!item) continue;
      const [name, val] = item.split('=').map((s) => s.trim());
      const v = val !== undefined ? Number(val) : next;
      out.set(name!, v);
      next = v + 1;
    }
  }
  for (const m of text.matchAll(/#define (PROTO_VERSION|FRAME_HDR|ACT_FIXED) (\d+)/g)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe('protocol constants', () => {
  const h = headerEnums();
  it('message types, value types, sections and keys match proto.h', () => {
    expect(h.get('MSG_RUN')).toBe(MSG.RUN);
    expect(h.get('MSG_A_EVENTS')).toBe(MSG.A_EVENTS);
    expect(h.get('MSG_A_STARTED')).toBe(MSG.A_STARTED);
    for (const [k, v] of Object.entries(V)) expect(h.get(`V_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(SEC)) expect(h.get(`SEC_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(K)) expect(h.get(`K_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(REC)) expect(h.get(`R_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(E)) expect(h.get(`E_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(D)) expect(h.get(`D_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(L)) expect(h.get(`L_${k}`), k).toBe(v);
    for (const [k, v] of Object.entries(SWV)) expect(h.get(`SWV_${k}`), k).toBe(v);
    expect(h.get('PROTO_VERSION')).toBe(PROTO_VERSION);
    expect(h.get('FRAME_HDR')).toBe(FRAME_HDR);
  });

  it('argument keys are in proto.h order', () => {
    for (const k of ARG_KEYS) expect(h.get(`A_${k.toUpperCase()}`), k).toBe(A[k]);
    expect(h.get('A_LAST')).toBe(16 + ARG_KEYS.length);
  });

  it('op codes cover the vocabulary and match proto.h', () => {
    const names: Record<string, string> = { sleep: 'OP_SLEEP', jitter: 'OP_JITTER', barrier: 'OP_BARRIER', at_period: 'OP_AT_PERIOD' };
    for (const [op, code] of Object.entries(OP)) {
      const c = names[op] ?? `OP_${op.replace('.', '_').toUpperCase()}`
        .replace('SET_CLIENT_POOL', 'SET_POOL')
        .replace('GET_CLIENT_POOL', 'GET_POOL')
        .replace('DEVICE_', 'DEV_');
      expect(h.get(c), op).toBe(code);
    }
  });

  it('metric ids match proto.h', () => {
    const ids = ['M_XRUNS', 'M_LATENCY', 'M_HW_PTR_RATE', 'M_WAKEUP_LATE', 'M_AVAIL', 'M_SEQ_POOL_FREE', 'M_SEQ_POOL_USED', 'M_LATENCY_CONFIDENCE'];
    ids.forEach((n, i) => expect(METRICS[h.get(n)!], n).toBe(METRICS[i + 1]));
  });
});

function collect(): { frames: Frame[]; errors: FrameError[]; dec: FrameDecoder } {
  const frames: Frame[] = [];
  const errors: FrameError[] = [];
  const dec = new FrameDecoder(
    (f) => frames.push({ type: f.type, payload: Buffer.from(f.payload) }),
    (e) => errors.push(e),
  );
  return { frames, errors, dec };
}

describe('frames', () => {
  it('round-trips, also when split at every byte', () => {
    const a = encodeFrame(MSG.PING, Buffer.from('hello'));
    const b = encodeFrame(MSG.LIST);
    const all = Buffer.concat([a, b]);
    const { frames, errors, dec } = collect();
    for (let i = 0; i < all.length; i++) dec.push(all.subarray(i, i + 1));
    expect(errors).toEqual([]);
    expect(frames.map((f) => [f.type, f.payload.toString()])).toEqual([
      [MSG.PING, 'hello'],
      [MSG.LIST, ''],
    ]);
  });

  it('skips garbage between frames and reports it', () => {
    const { frames, errors, dec } = collect();
    dec.push(Buffer.concat([Buffer.from('xyzzy'), encodeFrame(MSG.PING, Buffer.from('1')), Buffer.from('AS garbage A'), encodeFrame(MSG.PING, Buffer.from('2'))]));
    expect(frames.map((f) => f.payload.toString())).toEqual(['1', '2']);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => e.code === E.BAD_FRAME)).toBe(true);
  });

  it('rejects a corrupted payload and recovers the next frame', () => {
    const bad = encodeFrame(MSG.PING, Buffer.from('payload'));
    bad[FRAME_HDR + 2] ^= 0xff;
    const { frames, errors, dec } = collect();
    dec.push(Buffer.concat([bad, encodeFrame(MSG.PING, Buffer.from('ok'))]));
    expect(frames.map((f) => f.payload.toString())).toEqual(['ok']);
    expect(errors.some((e) => /payload checksum/.test(e.message))).toBe(true);
  });

  it('a truncated frame followed by a good one: the good one arrives, the truncation is reported', () => {
    const cut = encodeFrame(MSG.PING, Buffer.alloc(100, 7)).subarray(0, 40);
    const good = encodeFrame(MSG.PING, Buffer.from('after'));
    const { frames, errors, dec } = collect();
    dec.push(Buffer.concat([cut, good]));
    // the cut frame claims 100 bytes and the good one is shorter: the decoder waits ...
    expect(frames).toEqual([]);
    // ... until input has been idle long enough, then drops the stalled frame
    dec.checkStall(1000, 500);
    dec.checkStall(2000, 500);
    expect(frames.map((f) => f.payload.toString())).toEqual(['after']);
    expect(errors.some((e) => e.code === E.TRUNCATED)).toBe(true);
  });

  it('an oversized length in a valid header is refused without waiting for the bytes', () => {
    const f = encodeFrame(MSG.PING, Buffer.from('x'));
    const { frames, errors, dec } = collect();
    // a header claiming 100 MiB, with a correct header checksum
    const h = Buffer.from(f.subarray(0, FRAME_HDR));
    h.writeUInt32LE(100 << 20, 4);
    h.writeUInt32LE(crc32(h.subarray(0, 12)), 12);
    dec.push(Buffer.concat([h, f]));
    expect(frames.map((x) => x.payload.toString())).toEqual(['x']);
    expect(errors[0]!.code).toBe(E.TOO_LARGE);
  });

  it('fuzz: valid frames separated by random garbage are all recovered', () => {
    const rng = new Rng(7);
    for (let round = 0; round < 200; round++) {
      const parts: Buffer[] = [];
      const want: string[] = [];
      for (let i = 0; i < 5; i++) {
        const g = Buffer.alloc(rng.int(0, 40));
        for (let j = 0; j < g.length; j++) g[j] = rng.int(0, 255);
        parts.push(g);
        const p = `r${round}f${i}`;
        want.push(p);
        parts.push(encodeFrame(MSG.PING, Buffer.from(p)));
      }
      const all = Buffer.concat(parts);
      const { frames, dec } = collect();
      let off = 0;
      while (off < all.length) {
        const n = rng.int(1, 64);
        dec.push(all.subarray(off, off + n));
        off += n;
      }
      // garbage may end in a partial header that swallows nothing valid once stalled out
      dec.checkStall(0, 1);
      dec.checkStall(10, 1);
      expect(frames.map((f) => f.payload.toString())).toEqual(want);
    }
  });
});

describe('typed values', () => {
  it('round-trip through Writer and Reader', () => {
    const vals: Value[] = [
      { t: 'int', v: -5 },
      { t: 'int', v: 2 ** 40 + 3 },
      { t: 'float', v: 12.5 },
      { t: 'bool', v: true },
      { t: 'str', v: 'Capture Source' },
      { t: 'blob', v: Buffer.from([1, 2, 3]) },
      { t: 'list', v: [{ t: 'int', v: 1 }, { t: 'str', v: 'Mic' }] },
      { t: 'range', v: [{ t: 'int', v: 10 }, { t: 'int', v: 90 }] },
    ];
    const w = new Writer();
    vals.forEach((v, i) => w.field(16 + i, v));
    const m = new Reader(w.done()).fields();
    expect([...m.keys()]).toEqual(vals.map((_, i) => 16 + i));
    expect([...m.values()]).toEqual(vals);
  });

  it('truncated input throws RangeError rather than reading garbage', () => {
    const w = new Writer().field(16, { t: 'str', v: 'hello world' });
    const b = w.done().subarray(0, 6);
    expect(() => new Reader(b).fields()).toThrow(RangeError);
  });
});
