// The application lane against real drivers in the virtual lab: one guest
// with snd-dummy, snd-aloop, snd-seq-dummy and USB audio, shared by every
// check (a boot costs tens of seconds). Each of the four library presets runs
// through the real addons (naudiodon/PortAudio, midi/RtMidi) with the
// library's ALSA calls traced, every stream and message is counted, the same
// preset runs on the simulated kernel's mirror of the libraries, and the
// oracle says where the real and the model's call sequences differ or that
// they agree. Then the glitch detector both ways, through snd-aloop: a clean
// tone finds nothing, a tone the lab itself drops frames from finds each drop
// at its frame. Budgets here only cap a guest that is far too slow: nothing
// asserts on timing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionEvent, MetricEvent, RunEvent } from '../events/types.js';
import { startRun, type RunSummary } from '../engine/run.js';
import { defaultPresetDir } from '../engine/presets.js';
import { bootGuest, type Guest } from '../vlab/index.js';
import { parsePreset } from '../vocabulary/preset-file.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { VmTarget } from '../targets/vm.js';
import { OracleSide, type OracleReport } from '../analysis/oracle.js';
import { libraryText, runOracle } from '../engine/oracle-run.js';
import { SimTarget } from '../targets/sim/sim-target.js';

let guest: Guest;
let target: VmTarget;
let out: string;

beforeAll(async () => {
  guest = await bootGuest({ hw: 'dummy,aloop,seq-dummy,usb-audio', log: (l) => process.stderr.write(l + '\n') });
  target = new VmTarget({ guest });
  out = mkdtempSync(join(tmpdir(), 'applane-vm-'));
});

afterAll(async () => {
  await guest?.shutdown();
  if (out) rmSync(out, { recursive: true, force: true });
});

const shipped = (name: string): Scenario => {
  const file = join(defaultPresetDir(), `${name}.yaml`);
  return parsePreset(readFileSync(file, 'utf8'), file).scenario;
};
const inline = (yaml: string, name: string): Scenario => parsePreset(yaml, `${name}.yaml`).scenario;
/**
 * Traced (every library call stops the process for strace) on an emulated guest
 * of a loaded host, one pa.open has taken more than a preset's 30 s hang bound:
 * the traced runs allow two minutes, so a lane is reported hung only when it is.
 */
const traced = (sc: Scenario): Scenario => ({ ...sc, expect: { ...sc.expect, hangTimeout: Math.max(sc.expect.hangTimeout, 120e9) } });

type Run = { summary: RunSummary; events: RunEvent[] };

/** Runs a scenario through the engine on `on` (the shared guest by default); returns summary.json as written and the events. */
async function run(scenario: Scenario, o: { duration?: number; trace?: boolean; on?: VmTarget | SimTarget } = {}): Promise<Run> {
  const dir = join(out, `${scenario.name}-${Date.now()}`);
  const h = startRun({ scenario, target: o.on ?? target, seed: 1, outDir: dir, journalSync: false, ...(o.duration ? { duration: o.duration } : {}), ...(o.trace ? { traceCalls: true } : {}) });
  const events: RunEvent[] = [];
  h.subscribe((e) => events.push(e));
  await h.done;
  return { summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary, events };
}

/** The same scenario on the simulated kernel's mirror (fixed), compared step by step and call by call with the guest's run. */
async function oracle(scenario: Scenario, events: RunEvent[], duration?: number): Promise<OracleReport> {
  const observed = new OracleSide();
  for (const e of events) observed.feed(e);
  const r = await runOracle({ scenario, seed: 1, observed, target: 'vm', profile: ['fixed'], ...(duration ? { duration } : {}) });
  // what the oracle said goes to the test log: the record of where the model and the libraries differ
  process.stderr.write(`--- oracle, ${scenario.name}: ${r.compared} step(s) compared, ${r.significant} divergence(s)\n${r.divergences.map((d) => `  [${d.kind}${d.significant ? '' : ' rare'}] ${d.message}`).join('\n')}\n${r.library ? libraryText(r.library, r.labels).join('\n') : 'no library report'}\n`);
  return r;
}

/** The oracle's verdict on the library calls is complete: every compared step agrees, or a divergence says where it differs. */
function expectCallsAccountedFor(r: OracleReport): void {
  const lib = r.library!;
  expect(lib.traced).toEqual({ a: true, b: true });
  expect(lib.compared).toBeGreaterThan(0);
  expect(lib.steps).toHaveLength(lib.compared);
  for (const s of lib.steps) {
    if (s.core === 'agree') continue;
    expect(r.divergences.some((d) => d.kind === 'calls' && d.message.startsWith(`${s.where}:`)), `${s.where} differs and a divergence names it`).toBe(true);
  }
  expect(lib.agree).toBe(lib.steps.filter((s) => s.core === 'agree').length);
}

const acts = (ev: RunEvent[]) => ev.filter((e): e is ActionEvent => e.kind === 'act');
const callsOf = (e: ActionEvent) => (Array.isArray(e.data?.calls) ? (e.data!.calls as string[]) : []);
const has = (e: ActionEvent, re: RegExp) => callsOf(e).some((c) => re.test(c));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const m = (s: RunSummary) => s.metrics as Record<string, any>;
const opCount = (s: RunSummary, op: string) => (m(s).ops[op]?.count ?? 0) as number;
const opErrors = (s: RunSummary, op: string) => Object.values((m(s).ops[op]?.errors ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);

describe('application lane in the virtual lab: the four presets through the real addons, and the model', { timeout: 900_000 }, () => {
  it('stream-rapid-cycle on snd-dummy and snd-aloop: every stream opened, played, closed mid-DMA; the calls compared with the model', async () => {
    const sc = traced({ ...shipped('stream-rapid-cycle'), iterations: 4 });
    const real = await run(sc, { trace: true, duration: 600e9 });
    expect(real.summary.status, real.summary.reason).toBe('completed');
    expect(real.summary.findings).toEqual([]);
    // every stream counted: 4 cycles, alternating the two cards, nothing failed
    for (const op of ['pa.open', 'pa.start', 'pa.close']) expect([op, opCount(real.summary, op), opErrors(real.summary, op)]).toEqual([op, 4, 0]);
    expect(opCount(real.summary, 'pa.write')).toBe(12);
    const opens = acts(real.events).filter((e) => e.op === 'pa.open');
    expect(opens.map((e) => e.data?.name)).toEqual([expect.stringMatching(/^Dummy/), expect.stringMatching(/^Loopback/), expect.stringMatching(/^Dummy/), expect.stringMatching(/^Loopback/)]);
    // the journal carries the ALSA calls PortAudio made: HW_PARAMS/SW_PARAMS/PREPARE on open, START on start, DROP/HW_FREE/close on close
    for (const e of opens) for (const c of [/ HW_PARAMS/, / SW_PARAMS/, / PREPARE/]) expect(has(e, c)).toBe(true);
    for (const e of acts(real.events).filter((x) => x.op === 'pa.start')) expect(has(e, / START/)).toBe(true);
    for (const e of acts(real.events).filter((x) => x.op === 'pa.close')) for (const c of [/ DROP/, / HW_FREE/, /p close/]) expect(has(e, c)).toBe(true);
    // the same preset on the simulated kernel makes the same kinds of calls
    const model = await run(sc, { on: new SimTarget({ profile: ['fixed'] }) });
    expect(model.summary.findings).toEqual([]);
    expect(opCount(model.summary, 'pa.open')).toBe(4);
    for (const e of acts(model.events).filter((x) => x.op === 'pa.close')) for (const c of [/ DROP/, / HW_FREE/, /p close/]) expect(has(e, c)).toBe(true);
    const r = await oracle(sc, real.events);
    expect(r.divergences.filter((d) => d.kind === 'outcome' && d.significant)).toEqual([]);
    expectCallsAccountedFor(r);
  });

  it('stream-disconnect on USB audio: the stream reports the unplug, closes cleanly, opens again once the device is back', async () => {
    // Traced under TCG the player's first pa.open (a handle process started under strace, then
    // PortAudio's probe of every card) has ended 20-30 s in at a host load of 15, 92 s in at 30: the unplug comes once it has had time
    // to open its stream, and once.
    const file = join(defaultPresetDir(), 'stream-disconnect.yaml');
    const text = readFileSync(file, 'utf8').replace('iterations: 3', 'iterations: 1').replace('- sleep: 2s', '- sleep: 90s')
;
    expect(text).toMatch(/iterations: 1[\s\S]*sleep: 90s/);
    const sc = traced(inline(text, 'stream-disconnect'));
    const real = await run(sc, { trace: true, duration: 240e9 });
    expect(real.summary.status, real.summary.reason).not.toBe('error');
    expect(m(real.summary).lanes.hung, JSON.stringify(real.events.filter((e) => e.kind === 'lane' && e.state !== 'start' && e.state !== 'end'))).toBe(0);
    const ev = acts(real.events);
    const detach = ev.find((e) => e.op === 'device.detach')!;
    const attach = ev.find((e) => e.op === 'device.attach')!;
    expect([detach?.errno ?? 'ok', attach?.errno ?? 'ok']).toEqual(['ok', 'ok']);
    const pa = ev.filter((e) => e.op.startsWith('pa.'));
    const line = (e: ActionEvent) => `${(e.t / 1e9).toFixed(1)}s ${e.op} ${e.errno ?? 'ok'}`;
    // a stream was open when the device went
    expect(pa.some((e) => e.op === 'pa.open' && e.ret >= 0 && e.t + e.dur < detach.t), pa.map(line).join(', ')).toBe(true);
    // after the unplug the stream says so (an error, never a crash or a hang), with the errnos the preset allows
    const after = pa.filter((e) => e.t + e.dur >= detach.t);
    expect(after.some((e) => e.ret < 0), pa.map(line).join(', ')).toBe(true);
    for (const e of after.filter((x) => x.ret < 0)) expect(sc.expect.errnos[e.op] ?? [], line(e)).toContain(e.errno);
    // closes never fail except on a stream that was never opened, and the device came back
    expect(pa.filter((e) => e.op === 'pa.close').every((e) => e.ret >= 0 || e.errno === 'EBADF')).toBe(true);
    expect(pa.some((e) => e.op === 'pa.open' && e.ret >= 0 && e.t > attach.t), pa.map(line).join(', ')).toBe(true);
    // every stream counted: each open that succeeded was closed (the budget may end the last cycle)
    const opened = pa.filter((e) => e.op === 'pa.open' && e.ret >= 0).length;
    const closed = pa.filter((e) => e.op === 'pa.close' && e.ret >= 0).length;
    expect(closed === opened || closed === opened - 1, `${opened} opened, ${closed} closed`).toBe(true);
    expect(real.summary.findings.map((f) => f.message)).toEqual([]);
    const r = await oracle(sc, real.events, 120e9);
    expectCallsAccountedFor(r);
  });

  for (const name of ['midi-flood', 'midi-port-churn'] as const) {
    it(`${name} on snd-seq-dummy's Midi Through: every message counted; the calls compared with the model`, async () => {
      const sc = traced(shipped(name));
      const real = await run(sc, { trace: true, duration: 4e9 });
      expect(real.summary.status, real.summary.reason).toBe('completed');
      const seq = m(real.summary).seq;
      // sent = received + lost (+ left unread); nothing duplicated or reordered; nothing foreign
      expect(seq.sent).toBeGreaterThan(0);
      expect(seq.received + seq.lost + seq.unread_at_end).toBe(seq.sent);
      expect(seq).toMatchObject({ duplicated: 0, reordered: 0, foreign: 0 });
      const sent = acts(real.events).filter((e) => e.op === 'midi.send' && e.ret > 0).reduce((n, e) => n + e.ret, 0);
      expect(sent).toBe(seq.sent);
      // RtMidi's calls are in the journal: the port walk, CREATE_PORT and SUBSCRIBE_PORT on open, one write per message
      const opens = acts(real.events).filter((e) => e.op === 'midi.open' && e.ret >= 0);
      for (const e of opens) for (const c of [/seq QUERY_NEXT_CLIENT/, /seq CREATE_PORT/, /seq SUBSCRIBE_PORT/]) expect(has(e, c)).toBe(true);
      const model = await run(sc, { on: new SimTarget({ profile: ['fixed'] }), duration: 4e9 });
      expect(m(model.summary).seq.sent).toBeGreaterThan(0);
      expect(m(model.summary).seq).toMatchObject({ duplicated: 0, reordered: 0 });
      const r = await oracle(sc, real.events, 4e9);
      expectCallsAccountedFor(r);
      // the opens and closes are deterministic: RtMidi and the model make the same calls
      expect(r.library!.steps.filter((s) => /midi\.(open|close)/.test(s.where)).every((s) => s.core === 'agree')).toBe(true);
    });
  }
});

/**
 * A tone through snd-aloop at 8 kHz in 2 s buffers with naudiodon's queue 8
 * deep on each side: under TCG on a shared host one op of the lane takes up
 * to a second, and a stream the lab cannot feed or drain in time glitches for
 * real. `drop` frames are left out of every 3rd buffer when given. The tone is
 * playing before the capture starts and the recorder stops before the tone
 * ends, so a clean run has no edge for the detector to find.
 */
const FPB = 16000;
const toneYaml = (name: string, drop?: number) => `
name: ${name}
duration: 90s
setup:
  - pa.open: { handle: tone, device: "hw:Loopback,0", channels: 2, format: S16_LE, rate: 8000, frames_per_buffer: ${FPB}, max_queue: 8 }
  - pa.open: { handle: rec, device: "hw:Loopback,1", direction: capture, channels: 2, format: S16_LE, rate: 8000, frames_per_buffer: ${FPB}, max_queue: 8 }
  - pa.start: tone
  - pa.write: { handle: tone, periods: 1, pattern: sine }
  - pa.write: { handle: tone, periods: 1, pattern: sine }
  - pa.start: rec
lanes:
  - name: player
    iterations: 5
    loop:
      - pa.write: { handle: tone, periods: 1, pattern: sine }
      - pa.write: { handle: tone, periods: 1, pattern: sine }
      - pa.write: { handle: tone, periods: 1, pattern: sine${drop ? `, drop: ${drop}` : ''} }
  - name: recorder
    iterations: 12
    loop:
      - pa.read: { handle: rec, periods: 1, glitch: true }
teardown:
  - pa.close: rec
  - pa.close: tone
expect:
  hang_timeout: 60s
  stop_on: never
`;

type Glitch = { frame: number; length: number; t: number };
const glitchesOf = (ev: RunEvent[]) => acts(ev).flatMap((e) => (Array.isArray(e.data?.glitches) ? (e.data!.glitches as Glitch[]) : []));
const xrunsOf = (ev: RunEvent[]) => acts(ev).filter((e) => e.op.startsWith('pa.') && e.data?.status !== undefined);
const describeRun = (ev: RunEvent[]) =>
  `xruns: ${xrunsOf(ev).map((e) => `${e.op}@${(e.t / 1e9).toFixed(2)}s ${String(e.data?.status).trim()}`).join('; ') || 'none'}; glitches: ${glitchesOf(ev).map((g) => `frame ${g.frame} (${g.length}) @${(g.t / 1e9).toFixed(2)}s`).join(', ') || 'none'}`;
/** Seconds of slack in naudiodon's queues: a loss shows in the recording within this of the status that reports it. */
const SLACK_NS = (8 * FPB * 1e9) / 8000;
/** Glitches no starvation explains: none reported on either stream within the queues' slack. */
const unexplained = (ev: RunEvent[], gs: Glitch[]) => gs.filter((g) => !xrunsOf(ev).some((x) => Math.abs(x.t + x.dur - g.t) <= SLACK_NS + 1e9));

describe('application lane in the virtual lab: glitch detection through snd-aloop, both ways', { timeout: 600_000 }, () => {
  it('a clean tone comes back with no glitch (none that a starved stream does not explain)', async () => {
    const real = await run(inline(toneYaml('aloop-clean'), 'clean'), { duration: 120e9 });
    const why = describeRun(real.events);
    process.stderr.write(`--- clean tone: ${why}\n`);
    expect(real.summary.status, real.summary.reason).toBe('completed');
    const reads = acts(real.events).filter((e) => e.op === 'pa.read' && e.ret > 0);
    expect(reads.length, why).toBeGreaterThan(4);
    // the analyzer locked onto the tone (it reports nothing on a signal it never locked onto)
    expect(reads.some((e) => e.data?.glitch_state === 'locked'), why).toBe(true);
    const found = glitchesOf(real.events);
    // On a host this loaded a stream can starve for real (PortAudio reports it): a glitch
    // then is the truth. Without starvation there must be none at all.
    if (!xrunsOf(real.events).length) expect(found, why).toEqual([]);
    expect(unexplained(real.events, found), why).toEqual([]);
    expect(m(real.summary).glitches?.total ?? 0).toBe(found.length);
  });

  it('a tone the lab drops frames from: a glitch at each drop, at the frame where the drop was played', async () => {
    const real = await run(inline(toneYaml('aloop-dropped', 12), 'dropped'), { duration: 120e9 });
    const why = describeRun(real.events);
    process.stderr.write(`--- dropped frames: ${why}\n`);
    expect(real.summary.status, real.summary.reason).toBe('completed');
    const drops = acts(real.events).filter((e) => e.op === 'pa.write' && e.data?.dropped === 12).map((e) => e.data!.frame as number);
    expect(drops).toHaveLength(5);
    const gs = glitchesOf(real.events);
    const found = gs.map((g) => g.frame);
    const recordedFrames = acts(real.events).filter((e) => e.op === 'pa.read' && e.ret > 0).reduce((n, e) => n + e.ret, 0);
    // A constant offset maps a played frame to the frame it was recorded at (the
    // capture started while the tone played): the offset that lines up the most
    // glitches with drops, within one tone period (48 frames).
    const near = (off: number, d: number) => found.some((f) => Math.abs(f - (d + off)) <= 48);
    let best = { off: 0, n: -1 };
    for (const f of found)
      for (const d of drops) {
        const n = drops.filter((x) => near(f - d, x)).length;
        if (n > best.n) best = { off: f - d, n };
      }
    const inside = drops.filter((d) => d + best.off > 48 && d + best.off < recordedFrames - 48);
    const stray = gs.filter((g) => !drops.some((d) => Math.abs(g.frame - (d + best.off)) <= 48));
    if (!xrunsOf(real.events).length) {
      // no starvation: every drop inside the recording found at its frame, nothing else
      expect(inside.length, why).toBeGreaterThanOrEqual(2);
      expect(inside.filter((d) => !near(best.off, d)), why).toEqual([]);
      expect(stray, why).toEqual([]);
    } else {
      // A starved capture stream loses whole buffers (naudiodon drops a chunk of FPB frames
      // when its queue is full), which shifts the recording against the tone by whole
      // buffers and is itself a glitch at a buffer boundary. Every write starts on a buffer
      // boundary of the played stream, so a drop lands at the same place within a buffer
      // however many were lost before it: every glitch is at a boundary (a lost buffer) or
      // at that one place (a drop), and the detector fired.
      expect(found.length, why).toBeGreaterThan(0);
      // (silence the player's stream inserted when it underran can fall anywhere: then only that it fired)
      const underran = xrunsOf(real.events).some((e) => e.op === 'pa.write');
      const within = (f: number) => ((f % FPB) + FPB) % FPB;
      const dist = (a: number, b: number) => Math.min(Math.abs(a - b), FPB - Math.abs(a - b));
      const places = found.map(within).filter((w) => dist(w, 0) > 48);
      const dropAt = places[0];
      if (dropAt !== undefined && !underran) expect(places.filter((w) => dist(w, dropAt) > 48), why).toEqual([]);
    }
    // the run reports them as glitch metrics (charted) and counts them in summary.json
    expect(m(real.summary).glitches.total).toBe(found.length);
    expect(real.events.filter((e): e is MetricEvent => e.kind === 'metric' && e.name === 'glitch')).toHaveLength(found.length);
  });
});
