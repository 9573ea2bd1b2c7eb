// Each detector fires on a real bug and stays quiet without it (the race
// detectors torn-hw-params, use-after-free, null-deref and hang are proven
// per family in app/test/families). Where the
// simulated kernel has the bug (hung task, xruns), it runs; where a kernel
// misbehaviour is injected into a real run's event stream (lost, duplicated,
// reordered events; a call that succeeds after detach), the untouched stream
// is the control.
import { describe, expect, it } from 'vitest';
import { Analysis } from './analysis.js';
import { scenario, simulate } from '../test/sim-harness.js';
import type { ActionEvent, Finding, RunEvent } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';

function analyse(sc: Scenario, events: RunEvent[], end: number): Finding[] {
  const a = new Analysis(sc);
  const out: Finding[] = [];
  for (const e of events) out.push(...a.feed(e));
  out.push(...a.finish(end));
  return out;
}

const types = (f: Finding[]) => f.map((x) => x.type);

describe('hung-task: khungtaskd on the simulated kernel', () => {
  // The stale-cell hang keeps the resizer polling (not reported by
  // khungtaskd, exactly as in Linux); a second thread of the same client
  // then blocks on the client's ioctl_mutex in D state and is reported.
  const sc = scenario({
    duration: '1s',
    setup: [
      { 'seq.open': { handle: 'app' } },
      { 'seq.create_port': { handle: 'app' } },
      { 'seq.open': { handle: 'ext' } },
      { 'seq.create_port': { handle: 'ext' } },
    ],
    lanes: [
      { name: 'resizer', loop: [{ 'seq.set_client_pool': { handle: 'app', input_pool: [64, 16, 128] } }] },
      { name: 'sender', loop: [{ 'seq.send': { handle: 'ext', to: 'app:0', count: 4, expect: ['EAGAIN', 'ENOMEM'] } }, { jitter: '40us' }] },
      { name: 'app-writer', loop: [{ sleep: '200ms' }, { 'seq.send': { handle: 'app', to: 'ext:0' } }] },
    ],
    expect: { hang_timeout: '500ms' },
  });

  it('fires on a task stuck in D state for 120 s (seq-fifo-stale-cell)', async () => {
    const r = await simulate(sc, { profile: ['seq-fifo-stale-cell'], seed: 2 });
    const f = analyse(sc, r.events, r.run.k.now);
    expect(types(f)).toContain('hung-task');
    const hung = f.find((x) => x.type === 'hung-task')!;
    expect(hung.message).toMatch(/task app-writer:\d+ blocked for more than \d{3} seconds/);
    expect(hung.klog!.join('\n')).toMatch(/__mutex_lock[\s\S]*snd_seq_write/);
    expect(types(f)).toContain('hang');
  }, 60_000);

  it('is silent on today\'s kernel', async () => {
    const r = await simulate(sc, { profile: ['fixed'], seed: 2 });
    expect(analyse(sc, r.events, r.run.k.now)).toEqual([]);
  }, 60_000);
});

describe('hang on real kernels: slow is a metric, not a finding', () => {
  const sc = scenario({ lanes: [{ name: 'app', loop: [{ 'seq.set_client_pool': { handle: 'app', input_pool: 64, timeout: '200ms' } }, { sleep: '1ms' }] }], setup: [{ 'seq.open': { handle: 'app' } }], expect: { hang_timeout: '500ms' } });
  const act = (t: number, dur: number, step = 0): ActionEvent => ({ kind: 'act', t, dur, lane: 'app', iter: 1, step, op: step ? 'sleep' : 'seq.set_client_pool', ret: 0 });

  it('an action over its bound that returned is counted as slow (with how slow), never a finding', () => {
    const a = new Analysis(sc);
    const out: Finding[] = [];
    // the step's own timeout (200ms) is its bound; the sleep step has the scenario's (500ms)
    for (const e of [act(0, 150e6), act(1e9, 800e6), act(3e9, 400e6, 1), act(4e9, 2.5e9, 1)]) out.push(...a.feed(e));
    out.push(...a.finish(7e9));
    expect(out).toEqual([]);
    expect((a.summary(7e9).lanes as Record<string, unknown>).slow_ops).toEqual({
      count: 2,
      slowest_ns: 2.5e9,
      first: [
        { lane: 'app', op: 'seq.set_client_pool', t: 1e9, dur_ns: 800e6, bound_ns: 200e6 },
        { lane: 'app', op: 'sleep', t: 4e9, dur_ns: 2.5e9, bound_ns: 500e6 },
      ],
    });
  });

  it("a lane the agent reports stuck (same kernel stack in every sample) is a hang naming where it waits", () => {
    const a = new Analysis(sc);
    const f = a.feed({ kind: 'lane', t: 6.5e8, lane: 'app', state: 'hung', detail: 'seq.set_client_pool on app (iteration 4, lanes[0].loop[0]) has not returned after 0.531 s; kernel stack unchanged in 5 samples over 0.274 s', wchan: 'snd_seq_pool_done', taskState: 'D (disk sleep)', stack: ['[<0>] snd_seq_pool_done+0x48/0xb0 [snd_seq]'] });
    expect(f.map((x) => [x.type, x.message])).toEqual([['hang', expect.stringMatching(/unchanged in 5 samples.*task state D \(disk sleep\) in snd_seq_pool_done$/)]]);
    expect(a.summary(1e9).lanes).toEqual({ hung: 1, died: 0 });
  });
});

describe('thresholds', () => {
  const open = { 'pcm.open': { handle: 'p', card: 'Dummy' } };
  const hw = { 'pcm.hw_params': { handle: 'p', rate: 48000, period_size: 480, periods: 4 } };
  const mk = (pause: string) =>
    scenario({
      duration: '200ms',
      setup: [open, hw, { 'pcm.prepare': 'p' }],
      lanes: [{ name: 'player', loop: [{ 'pcm.write': { handle: 'p', periods: 1, expect: ['EPIPE'] } }, { sleep: pause }, { 'pcm.prepare': 'p' }] }],
      expect: { thresholds: { xruns: 0, latency_p99: '50ms' } },
    });

  it('xrun-threshold fires when the application falls behind, not when it keeps up', async () => {
    const late = mk('15ms');
    const r = await simulate(late);
    expect(types(analyse(late, r.events, r.run.k.now))).toEqual(['xrun-threshold']);
    const ok = scenario({ duration: '200ms', setup: [open, hw, { 'pcm.prepare': 'p' }], lanes: [{ name: 'player', loop: [{ 'pcm.write': { handle: 'p', periods: 1 } }] }], expect: { thresholds: { xruns: 0, latency_p99: '50ms' } } });
    const r2 = await simulate(ok);
    expect(analyse(ok, r2.events, r2.run.k.now)).toEqual([]);
  });

  it('latency-threshold fires when the queued audio exceeds the bound', async () => {
    const sc = scenario({ duration: '200ms', setup: [open, { 'pcm.hw_params': { handle: 'p', rate: 48000, period_size: 4096, periods: 4 } }, { 'pcm.prepare': 'p' }], lanes: [{ name: 'player', loop: [{ 'pcm.write': { handle: 'p', periods: 1 } }] }], expect: { thresholds: { latency_p99: '50ms' } } });
    const r = await simulate(sc);
    const f = analyse(sc, r.events, r.run.k.now);
    expect(types(f)).toEqual(['latency-threshold']);
    // 4 periods of 4096 frames at 48 kHz: 341 ms queued.
    expect(f[0]!.message).toMatch(/latency p99 34\d\.\d\d ms exceeds 50\.00 ms/);
  });
});

describe('unexpected-errno', () => {
  const setup = [{ 'pcm.open': { handle: 'p', card: 'Dummy' } }];
  it('fires on an errno the scenario does not expect and aggregates repeats', async () => {
    const sc = scenario({ duration: '20ms', setup, lanes: [{ name: 'a', iterations: 3, loop: [{ 'pcm.prepare': 'p' }] }] });
    const r = await simulate(sc);
    const f = analyse(sc, r.events, r.run.k.now);
    expect(types(f)).toEqual(['unexpected-errno']);
    expect(f[0]!.message).toMatch(/pcm.prepare on p failed with EBADFD in lane a \(step lanes\[0\]\.loop\[0\]\)/);
    const a = new Analysis(sc);
    for (const e of r.events) a.feed(e);
    expect(Object.values(a.errno.repeats)).toEqual([3]);
  });
  it('is silent when the step or the preset expects it', async () => {
    for (const sc of [
      scenario({ duration: '20ms', setup, lanes: [{ name: 'a', iterations: 3, loop: [{ 'pcm.prepare': { handle: 'p', expect: ['EBADFD'] } }] }] }),
      scenario({ duration: '20ms', setup, lanes: [{ name: 'a', iterations: 3, loop: [{ 'pcm.prepare': 'p' }] }], expect: { errnos: { 'pcm.prepare': ['EBADFD'] } } }),
    ]) {
      const r = await simulate(sc);
      expect(analyse(sc, r.events, r.run.k.now)).toEqual([]);
    }
  });
});

describe('sequencer event accounting on a real run', () => {
  const clients = [{ 'seq.open': { handle: 'rx' } }, { 'seq.create_port': { handle: 'rx' } }, { 'seq.open': { handle: 'tx' } }, { 'seq.create_port': { handle: 'tx' } }];
  const sc = scenario({
    duration: '100ms',
    setup: clients,
    lanes: [
      { name: 'reader', loop: [{ 'seq.read': { handle: 'rx', max: 8, expect: ['ENOSPC'] } }] },
      { name: 'sender', loop: [{ 'seq.send': { handle: 'tx', to: 'rx:0', count: 3, expect: ['EAGAIN'] } }, { jitter: '100us' }] },
    ],
  });

  let base: { events: RunEvent[]; end: number } | null = null;
  async function clean() {
    if (!base) {
      const r = await simulate(sc, { seed: 5 });
      base = { events: r.events, end: r.run.k.now };
    }
    return base;
  }
  /** A copy of the stream with one read's events altered: a kernel that misdelivers. */
  async function tampered(edit: (reads: ActionEvent[]) => void): Promise<Finding[]> {
    const b = await clean();
    const events = structuredClone(b.events);
    const reads = events.filter((e): e is ActionEvent => e.kind === 'act' && e.op === 'seq.read' && ((e.data?.events as unknown[])?.length ?? 0) >= 3);
    edit(reads);
    return analyse(sc, events, b.end);
  }

  it('is silent on the real stream, which has resize discards but no loss', async () => {
    const b = await clean();
    const a = new Analysis(sc);
    for (const e of b.events) a.feed(e);
    expect(a.finish(b.end)).toEqual([]);
    expect(a.seq.counts!.sent).toBeGreaterThan(100);
    expect(a.seq.counts!.lost).toBe(0);
  });

  it('event-loss: an event that vanished while later ones arrived', async () => {
    const f = await tampered((reads) => {
      const r = reads[Math.floor(reads.length / 2)]!;
      (r.data!.events as unknown[]).splice(1, 1);
    });
    expect(types(f)).toEqual(['event-loss']);
    expect(f[0]!.message).toMatch(/1 sequencer event\(s\) accepted by the kernel never arrived/);
  });

  it('a gap while the pool was being resized is a discard, not a loss', async () => {
    // The app thread reads and resizes (no resize starvation by a concurrent reader).
    const rs = scenario({
      duration: '100ms',
      setup: clients,
      lanes: [
        { name: 'app', loop: [{ 'seq.read': { handle: 'rx', max: 8, expect: ['ENOSPC'] } }, { 'seq.set_client_pool': { handle: 'rx', input_pool: [32, 64] } }] },
        { name: 'sender', loop: [{ 'seq.send': { handle: 'tx', to: 'rx:0', count: 3, expect: ['EAGAIN', 'ENOMEM'] } }, { jitter: '100us' }] },
      ],
    });
    const r = await simulate(rs, { seed: 5 });
    const a = new Analysis(rs);
    for (const e of r.events) a.feed(e);
    expect(a.finish(r.run.k.now)).toEqual([]);
    expect(a.seq.counts!.discarded_by_resize).toBeGreaterThan(0);
    expect(a.seq.counts!.lost).toBe(0);
  });

  it('event-duplicate: the same event delivered twice', async () => {
    const f = await tampered((reads) => {
      const r = reads[Math.floor(reads.length / 2)]!;
      const ev = r.data!.events as [string, number][];
      ev.push([...ev[0]!]);
    });
    expect(types(f)).toContain('event-duplicate');
  });

  it('event-reorder: a later event delivered before an earlier one', async () => {
    const f = await tampered((reads) => {
      const ev = reads[Math.floor(reads.length / 2)]!.data!.events as [string, number][];
      [ev[0], ev[1]] = [ev[1]!, ev[0]!];
    });
    expect(types(f)).toEqual(['event-reorder']);
  });
});

describe('success-after-detach on a real unplug', () => {
  const sc = scenario({
    duration: '30ms',
    setup: [{ 'pcm.open': { handle: 'p', card: 'SimUSB' } }, { 'pcm.hw_params': { handle: 'p', rate: 48000, period_size: 96, periods: 4 } }, { 'pcm.prepare': 'p' }],
    lanes: [
      { name: 'player', loop: [{ 'pcm.write': { handle: 'p', periods: 1, expect: ['ENODEV', 'EBADFD', 'EPIPE'] } }] },
      { name: 'hotplug', iterations: 1, loop: [{ sleep: '5ms' }, { 'device.detach': 'SimUSB' }] },
    ],
  });

  it('is silent on today\'s kernel, where every later call fails', async () => {
    const r = await simulate(sc);
    const a = new Analysis(sc);
    for (const e of r.events) a.feed(e);
    expect(a.finish(r.run.k.now)).toEqual([]);
    expect(a.detach.callsAfterDetach).toBeGreaterThan(10);
    expect(a.detach.failedAfterDetach).toBe(a.detach.callsAfterDetach);
  });

  it('fires when a call on the old file succeeds after the detach', async () => {
    const r = await simulate(sc);
    const events = structuredClone(r.events);
    const detachEnd = events.filter((e): e is ActionEvent => e.kind === 'act' && e.op === 'device.detach').map((e) => e.t + e.dur)[0]!;
    const after = events.find((e): e is ActionEvent => e.kind === 'act' && e.op === 'pcm.write' && e.t > detachEnd)!;
    after.ret = 96;
    delete after.errno;
    expect(types(analyse(sc, events, r.run.k.now))).toEqual(['success-after-detach']);
  });
});
