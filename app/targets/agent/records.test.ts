import { describe, expect, it } from 'vitest';
import { Rng } from '../../sim/kernel/rng.js';
import { parsePreset } from '../../vocabulary/preset-file.js';
import { compileProgram } from '../../program/compile.js';
import { encodeProgram } from './program.js';
import { A, ACT_FIXED, D, REC, Writer } from './protocol.js';
import { RecordDecoder } from './records.js';

const sc = parsePreset(
  `
name: rec
setup:
  - pcm.open: { handle: pcm, card: 0 }
  - seq.open: c
lanes:
  - name: hw
    replicas: 2
    loop:
      - pcm.hw_params: { handle: pcm, period_size: [64, 4096], periods: 2 }
      - seq.read: { handle: c, max: 8 }
      - at_period: { handle: pcm, percent: { random: [10, 90] } }
`,
  'rec.yaml',
).scenario;
const prog = encodeProgram(compileProgram(sc, { seed: 5, duration: 1e9 }), { flags: 0 });

function act(lane: number, step: number, ret: number, fields: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.u32(0).u8(REC.ACT).u8(lane).u16(step).i64(3).i64(1000).i64(50).i64(ret).u32(77).u32(0);
  fields(w);
  const b = Buffer.from(w.done());
  b.writeUInt32LE(b.length, 0);
  return b;
}

describe('event records', () => {
  it('map to ActionEvents with resolved arguments and op data', () => {
    const dec = new RecordDecoder(prog.layout);
    const hw = act(1, 0, 0, (w) =>
      w
        .field(A.period_size, { t: 'int', v: 1 }) // list index 1 -> 4096
        .field(D.ACCESS, { t: 'int', v: 3 })
        .field(D.FORMAT, { t: 'int', v: 2 })
        .field(D.CHANNELS, { t: 'int', v: 2 })
        .field(D.RATE, { t: 'int', v: 48000 })
        .field(D.PERIOD_SIZE, { t: 'int', v: 4096 })
        .field(D.PERIODS, { t: 'int', v: 2 })
        .field(D.BUFFER_SIZE, { t: 'int', v: 8192 }),
    );
    const pairs = Buffer.alloc(12);
    pairs.writeUInt16LE((0 << 8) | 1, 0); // lane hw.0, handle c
    pairs.writeUInt32LE(41, 2);
    pairs.writeUInt16LE((254 << 8) | 1, 6); // setup lane
    pairs.writeUInt32LE(0, 8);
    const rd = act(0, 1, 2, (w) => w.field(D.EVENTS, { t: 'blob', v: pairs }).field(D.FOREIGN, { t: 'int', v: 1 }));
    const ap = act(0, 2, -77, (w) => w.field(A.percent, { t: 'float', v: 42.5 }));
    const out = dec.decode(Buffer.concat([hw, rd, ap]));
    expect(out.errors).toEqual([]);
    expect(hw.length).toBeGreaterThan(ACT_FIXED);
    expect(out.events).toEqual([
      {
        kind: 'act', t: 1000, dur: 50, lane: 'hw.1', iter: 3, step: 0, op: 'pcm.hw_params', handle: 'pcm', ret: 0, tid: 77,
        args: { period_size: 4096, periods: 2, access: 'rw_interleaved', prefer: { format: 'S16_LE', channels: 2, rate: 48000 } },
        data: { params: { access: 'rw_interleaved', format: 'S16_LE', channels: 2, rate: 48000, period_size: 4096, periods: 2, buffer_size: 8192 } },
      },
      {
        kind: 'act', t: 1000, dur: 50, lane: 'hw.0', iter: 3, step: 1, op: 'seq.read', handle: 'c', ret: 2, tid: 77,
        data: { events: [['hw.0/c', 41], ['setup/c', 0]], foreign: 1 },
      },
      { kind: 'act', t: 1000, dur: 50, lane: 'hw.0', iter: 3, step: 2, op: 'at_period', handle: 'pcm', ret: -77, errno: 'EBADFD', tid: 77, args: { percent: 42.5 } },
    ]);
  });

  it('rebuilds each step\'s request from the varying values and the facts the agent reports', () => {
    const dec = new RecordDecoder(prog.layout, true);
    const hw = act(0, 0, 0, (w) => w.field(A.period_size, { t: 'int', v: 0 }).field(D.PREFERRED, { t: 'int', v: 0b101 }));
    const ap = act(1, 2, 0, (w) => w.field(A.percent, { t: 'int', v: 50 }).field(D.FRAME, { t: 'int', v: 32 }));
    const [h, a] = dec.decode(Buffer.concat([hw, ap])).events as { req?: unknown }[];
    expect(h!.req).toEqual({ period_size: 64, periods: 2, access: 'rw_interleaved', prefer: { format: 'S16_LE', channels: 2, rate: 48000 }, preferred: ['format', 'rate'] });
    expect(a!.req).toEqual({ percent: 50, frame: 32 });
  });

  it('never throws on garbage; malformed records are reported and skipped', () => {
    const dec = new RecordDecoder(prog.layout);
    const rng = new Rng(3);
    const good = act(0, 0, 0, (w) => w.field(A.period_size, { t: 'int', v: 0 }));
    let reported = 0;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Buffer.concat([good, good]));
      // flip a few bytes, or truncate, or replace everything
      const mode = i % 3;
      if (mode === 0) for (let k = 0; k < 3; k++) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
      const buf = mode === 1 ? b.subarray(0, rng.int(0, b.length - 1)) : mode === 2 ? Buffer.from(Array.from({ length: rng.int(1, 200) }, () => rng.int(0, 255))) : b;
      const out = dec.decode(buf);
      reported += out.errors.length;
      for (const e of out.events) expect(typeof e.kind).toBe('string');
    }
    expect(reported).toBeGreaterThan(500);
  });
});
