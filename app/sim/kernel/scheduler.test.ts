// Every run ends, and every lane runs: virtual time must advance (or the run
// stops with a live-lock finding naming the cause), PCT gives every runnable
// lane progress however many there are, a blocking setup step is a hang, and
// a replay shadowed by the recording strategy goes on past the end of a
// record exactly as the recorded run did.
import { describe, expect, it } from 'vitest';
import { scenario, simulate } from '../../test/sim-harness.js';
import { DecisionLog, ScheduleReader } from './strategy.js';
import { SimRun } from '../../targets/sim/sim-run.js';
import { simBugs } from '../../targets/sim/options.js';
import { compileProgram } from '../../program/compile.js';
import type { RunEvent } from '../../events/types.js';

const manyLanes = (n: number, duration = '5ms') =>
  scenario({
    duration,
    setup: [{ 'pcm.open': { handle: 'p', card: 0 } }],
    lanes: Array.from({ length: n }, (_, i) => ({ name: `l${i}`, loop: [{ 'pcm.status': 'p' }] })),
  });

describe('scheduler: every run ends, every lane runs', () => {
  it('64 busy lanes under PCT: every lane runs, and the 5 ms budget ends within 200 us of its end', async () => {
    const r = await simulate(manyLanes(64), { seed: 3 });
    const perLane = new Map<string, number>();
    for (const a of r.acts) if (a.lane !== 'setup') perLane.set(a.lane, (perLane.get(a.lane) ?? 0) + 1);
    expect(perLane.size).toBe(64);
    expect(Math.min(...perLane.values())).toBeGreaterThan(20);
    expect(r.status).toBe('completed');
    expect(r.run.k.now).toBeLessThan(5e6 + 200e3 + 60e3);
  });

  it('a lane looping on a one-party barrier is a live-lock: the run stops, naming lane and barrier', async () => {
    const r = await simulate(scenario({ duration: '1s', lanes: [{ name: 'spin', loop: [{ barrier: 'b' }] }] }));
    const ll = r.events.filter((e) => e.kind === 'lane' && e.state === 'livelock');
    expect(ll).toHaveLength(1);
    expect((ll[0] as { detail: string }).detail).toMatch(/^lane spin loops on barrier b with one party and nothing else/);
    expect(r.status).toBe('stopped');
    // Stopped in bounded work: tens of thousands of iterations, not millions.
    expect(r.op('barrier').length).toBeLessThan(50_000);
  });

  it('two lanes waking each other on a barrier at one instant are a live-lock too', async () => {
    const r = await simulate(scenario({ duration: '1s', lanes: [{ name: 'a', loop: [{ barrier: 'x' }] }, { name: 'b', loop: [{ barrier: 'x' }] }] }));
    const ll = r.events.find((e) => e.kind === 'lane' && e.state === 'livelock') as { detail: string } | undefined;
    expect(ll?.detail).toMatch(/^lanes a, b loop on barrier x with 2 parties/);
  });

  it('a barrier with one party beside a step that takes time is no live-lock', async () => {
    const r = await simulate(scenario({ duration: '2ms', lanes: [{ name: 'a', loop: [{ barrier: 'b' }, { sleep: '10us' }] }] }));
    expect(r.events.some((e) => e.kind === 'lane' && e.state === 'livelock')).toBe(false);
    expect(r.status).toBe('completed');
  });

  it('a setup step that blocks forever is a hang within its bound, and the lanes never start', async () => {
    const sc = scenario({
      duration: '10ms',
      setup: [{ 'pcm.open': { handle: 'c', card: 0, stream: 'capture' } }, { 'pcm.hw_params': { handle: 'c', format: 'S16_LE', channels: 2, rate: 48000, period_size: 48, periods: 4 } }, { 'pcm.prepare': 'c' }, { 'pcm.start': 'c' }, { 'seq.open': 's' }, { 'seq.read': 's' }],
      lanes: [{ name: 'a', loop: [{ sleep: '1ms' }] }],
      expect: { hang_timeout: '50ms', stop_on: 'never' },
    });
    const r = await simulate(sc);
    const hung = r.events.filter((e) => e.kind === 'lane' && e.state === 'hung');
    expect(hung.map((e) => (e as { lane: string }).lane)).toEqual(['setup']);
    expect(r.acts.some((a) => a.lane === 'a')).toBe(false);
    expect(r.run.k.now).toBeLessThan(1e9);
  });
});

describe('replay shadowed by the recording strategy', () => {
  async function run(replay?: string, cut?: number): Promise<{ events: RunEvent[]; decisions: string }> {
    const events: RunEvent[] = [];
    const sc = scenario({ duration: '3ms', setup: [{ 'pcm.open': { handle: 'p', card: 0 } }], lanes: ['a', 'b', 'c'].map((name) => ({ name, loop: [{ 'pcm.hw_refine': 'p' }, { 'pcm.status': 'p' }] })) });
    let source: ScheduleReader | undefined;
    if (replay !== undefined) {
      // The first `cut` decisions of the record, stalls included, as a journal cut there would hold.
      const { choices, stalls } = DecisionLog.decode(replay);
      const log = new DecisionLog();
      choices.slice(0, cut ?? choices.length).forEach((d, i) => log.push(d, stalls.get(i) ?? 0));
      source = ScheduleReader.of(log.take());
    }
    const r = new SimRun({ program: compileProgram(sc, { seed: 5, duration: sc.duration }), bugs: simBugs(['fixed']), strategy: 'pct', depth: 3, emit: (e) => events.push(e), stopRequested: () => false, ...(source ? { replay: source } : {}) });
    await r.run();
    return { events, decisions: events.filter((e) => e.kind === 'sched').map((e) => (e as { decisions: string }).decisions).join('') };
  }

  it('a record cut anywhere replays to the very same run: past its end the shadow decides as the recorded run did', async () => {
    const orig = await run();
    const n = DecisionLog.decode(orig.decisions).choices.length;
    expect(n).toBeGreaterThan(100);
    const body = (x: { events: RunEvent[] }) => JSON.stringify(x.events.filter((e) => e.kind !== 'sched'));
    for (const cut of [0, 1, Math.floor(n / 3), n - 1]) {
      const again = await run(orig.decisions, cut);
      expect(body(again), `cut at ${cut}`).toBe(body(orig));
    }
  });
});
