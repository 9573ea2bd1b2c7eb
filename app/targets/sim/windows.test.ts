// Race windows on demand on the simulated kernel: a held buffer keeps the
// kernel path inside its copy until the racing lane is inside its call, so
// the historic race is hit at the barrier, in the first iteration, for every
// seed; on today's kernel the same runs pass.
import { describe, expect, it } from 'vitest';
import { library, runPreset, scenario, simulate } from '../../test/sim-harness.js';
import type { ActionEvent } from '../../events/types.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('seq-resize-window (seed 000, the put-back path held in copy_to_user)', () => {
  it('hangs SET_CLIENT_POOL in snd_seq_pool_done on seq-fifo-stale-cell, in the first iteration, for every seed', async () => {
    for (const seed of SEEDS) {
      const s = await runPreset('seq-resize-window', ['seq-fifo-stale-cell'], seed);
      const hang = s.findings.find((f) => f.type === 'hang' && f.message.includes('seq.set_client_pool'));
      expect(hang, `seed ${seed}: ${s.findings.map((f) => f.message).join('; ')}`).toBeDefined();
    }
    const r = await simulate(library.load('seq-resize-window').scenario, { profile: ['seq-fifo-stale-cell'] });
    const read = r.op('seq.read', 'reader')[0]!;
    // the window was used: the read was caught in its copy, and the resize that never returns is the first one
    expect(read.data?.held).toBe(true);
    expect(read.errno).toBe('EAGAIN');
    const hung = r.events.find((e) => e.kind === 'lane' && e.state === 'hung' && e.lane === 'resizer');
    expect(hung && 'stack' in hung ? hung.stack : []).toContain('snd_seq_pool_done');
    // the first resize is the one that hangs; only the teardown's read frees the stale cell and lets it end
    const pools = r.op('seq.set_client_pool');
    expect(pools.length).toBeLessThanOrEqual(1);
    if (pools[0]) expect(pools[0].t + pools[0].dur).toBeGreaterThan(hung!.t);
  });

  it('passes on today\'s kernel: every put-back meets a resize and the stale cell is freed (the event counts as discarded by it)', async () => {
    for (const seed of SEEDS) {
      const s = await runPreset('seq-resize-window', ['fixed'], seed);
      expect(s.findings.map((f) => f.message), `seed ${seed}`).toEqual([]);
    }
    const r = await simulate(library.load('seq-resize-window').scenario, { profile: ['fixed'] });
    const held = r.op('seq.read', 'reader').filter((e) => e.data?.held !== undefined);
    expect(held.length).toBeGreaterThan(3);
    expect(held.every((e) => e.data?.held === true && e.errno === 'EAGAIN')).toBe(true);
  });
});

describe('the sender side (seed 000, snd_seq_fifo_event_in held in snd_seq_event_dup)', () => {
  const sc = scenario({
    name: 'event-in-window',
    duration: '1s',
    setup: [
      { 'seq.open': { handle: 'app', name: 'app' } },
      { 'seq.create_port': { handle: 'app', name: 'in' } },
      { 'seq.open': { handle: 'ext', name: 'ext' } },
      { 'seq.create_port': { handle: 'ext', name: 'out' } },
    ],
    lanes: [
      {
        name: 'sender',
        loop: [
          // the last 28-byte chunk of the SysEx payload sits in held memory: every cell is taken
          // from the old pool, the copy into the last one waits (holding an earlier chunk instead
          // ends in ENOMEM: the resize marks the old pool closing before the next cell is taken)
          { 'seq.send': { handle: 'ext', to: 'app:0', type: 'sysex', size: 40, hold: 'resize', hold_from: 56 } },
          { barrier: 'resized' },
        ],
      },
      {
        name: 'app',
        loop: [{ barrier: 'resize' }, { 'seq.set_client_pool': { handle: 'app', input_pool: [64, 32] } }, { barrier: 'resized' }, { 'seq.read': { handle: 'app', max: 8, block: false, expect: ['EAGAIN'] } }],
      },
    ],
    expect: { hang_timeout: '500ms' },
  });

  it('links the stale cell and hangs the resize with the bug, every seed; retries against the new pool without it', async () => {
    for (const seed of SEEDS.slice(0, 4)) {
      const bug = await simulate(sc, { profile: ['seq-fifo-stale-cell'], seed });
      expect(bug.op('seq.send')[0]!.data?.held, `seed ${seed}`).toBe(true);
      expect(bug.op('seq.set_client_pool'), `seed ${seed}`).toEqual([]);
      expect(bug.events.some((e) => e.kind === 'lane' && e.state === 'hung' && e.lane === 'app'), `seed ${seed}`).toBe(true);
      const ok = await simulate(sc, { profile: ['fixed'], seed });
      expect(ok.events.some((e) => e.kind === 'lane' && e.state === 'hung'), `seed ${seed}`).toBe(false);
      const sends = ok.op('seq.send');
      expect(sends.length).toBeGreaterThan(3);
      expect(sends.every((e) => e.ret === 1 && e.data?.held === true)).toBe(true);
      // the retried event reaches the reader: nothing the kernel accepted is lost
      const got = ok.op('seq.read').flatMap((e) => (e.data?.events as [string, number][]).map(([, n]) => n));
      expect(got).toEqual(sends.slice(0, got.length).map((e) => e.data!.first));
    }
  });
});

describe('detach-window (seed 003, a write held in copy_from_user across the unplug)', () => {
  it('touches the freed runtime on detach-without-drain, in the first iteration, every seed', async () => {
    for (const seed of SEEDS) {
      const s = await runPreset('detach-window', ['detach-without-drain'], seed);
      expect(s.findings[0]?.type, `seed ${seed}`).toBe('use-after-free');
      expect(s.findings[0]?.message).toContain('__snd_pcm_lib_xfer');
    }
    const r = await simulate(library.load('detach-window').scenario, { profile: ['detach-without-drain'] });
    // the first write was caught in its copy, and the report came from inside it
    const w = r.op('pcm.write')[0]!;
    expect(w.data?.held).toBe(true);
    const report = r.events.find((e) => e.kind === 'klog' && e.text.includes('use-after-free'));
    expect(report && report.t).toBeGreaterThanOrEqual(w.t);
    expect(report!.t).toBeLessThanOrEqual(w.t + w.dur);
  });

  it('passes on today\'s kernel: the held write comes back with an error, close frees the card', async () => {
    for (const seed of SEEDS.slice(0, 3)) {
      const s = await runPreset('detach-window', ['fixed'], seed);
      expect(s.findings.map((f) => f.message), `seed ${seed}`).toEqual([]);
    }
    const r = await simulate(library.load('detach-window').scenario, { profile: ['fixed'] });
    const writes = r.op('pcm.write');
    expect(writes.length).toBeGreaterThan(3);
    expect(writes.every((e: ActionEvent) => e.data?.held === true && e.errno === 'EBADFD')).toBe(true);
  });
});

describe('buffers the kernel copies into part way', () => {
  const setup = [
    { 'seq.open': { handle: 'rx', name: 'rx' } },
    { 'seq.create_port': { handle: 'rx', name: 'in' } },
    { 'seq.open': { handle: 'tx', name: 'tx' } },
    { 'seq.create_port': { handle: 'tx', name: 'out' } },
  ];
  const once = (steps: unknown[]) => scenario({ duration: '1s', setup, lanes: [{ name: 'app', iterations: 1, loop: steps }] });

  it('an unmapped tail: the events before it are delivered, the one whose copy faults goes back; a SysEx whose data faults goes back whole', async () => {
    const r = await simulate(once([
      { 'seq.send': { handle: 'tx', to: 'rx:0', count: 3 } },
      { 'seq.read': { handle: 'rx', max: 4, unmapped_from: 56, expect: ['EFAULT'] } },
      { 'seq.read': { handle: 'rx', max: 4, block: false } },
      { 'seq.send': { handle: 'tx', to: 'rx:0', type: 'sysex', size: 30 } },
      { 'seq.read': { handle: 'rx', max: 4, unmapped_from: 29, expect: ['EFAULT'] } },
      { 'seq.read': { handle: 'rx', max: 4, unmapped_from: 84 } },
    ]));
    const reads = r.op('seq.read');
    expect(reads.map((e) => e.errno ?? e.ret)).toEqual(['EFAULT', 1, 'EFAULT', 1]);
    expect(reads.map((e) => (e.data!.events as [string, number][]).map(([, n]) => n))).toEqual([[0, 1], [2], [], [3]]);
  });

  it('a read shorter than an event and its data puts the SysEx back every time; a sysex send whose data is unmapped is refused with EFAULT', async () => {
    const r = await simulate(once([
      { 'seq.send': { handle: 'tx', to: 'rx:0', type: 'sysex', size: 40 } },
      { 'seq.read': { handle: 'rx', bytes: 28, expect: ['EAGAIN'] } },
      { 'seq.read': { handle: 'rx', bytes: 83, expect: ['EAGAIN'] } },
      { 'seq.read': { handle: 'rx', bytes: 84 } },
      { 'seq.send': { handle: 'tx', to: 'rx:0', type: 'sysex', size: 40, unmapped_from: 40, expect: ['EFAULT'] } },
      { 'seq.read': { handle: 'rx', max: 4, block: false, expect: ['EAGAIN'] } },
    ]));
    expect(r.op('seq.read').map((e) => e.errno ?? e.ret)).toEqual(['EAGAIN', 'EAGAIN', 1, 'EAGAIN']);
    expect(r.op('seq.send').map((e) => e.errno ?? e.ret)).toEqual([1, 'EFAULT']);
  });

  it("snd-dummy's fake buffer never touches user memory: a hold there is never caught, and the barrier is met after the call", async () => {
    const r = await simulate(scenario({
      duration: '1s',
      setup: [{ 'pcm.open': { handle: 'p', card: 'Dummy' } }, { 'pcm.hw_params': { handle: 'p', period_size: 256, periods: 4 } }, { 'pcm.prepare': 'p' }],
      lanes: [
        { name: 'w', iterations: 1, loop: [{ 'pcm.write': { handle: 'p', frames: 256, hold: 'h' } }] },
        { name: 'o', iterations: 1, loop: [{ barrier: 'h' }] },
      ],
    }));
    expect(r.op('pcm.write')[0]!).toMatchObject({ ret: 256, data: { held: false } });
    expect(r.op('barrier')[0]!.ret).toBe(0);
  });
});
