// The native agent against real drivers in the virtual lab: one guest with
// the default hardware, shared by every check (a boot costs seconds). The
// five race families run through the engine, as `stresslab run --target vm`
// does, and their summary.json must carry real counts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPcmList } from '../devices/format.js';
import type { ActionEvent, KlogEvent, LaneEvent, MetricEvent, NoteEvent, RunEvent } from '../events/types.js';
import { startRun, type RunSummary } from '../engine/run.js';
import { defaultPresetDir } from '../engine/presets.js';
import { bootGuest, type Guest } from '../vlab/index.js';
import { parsePreset } from '../vocabulary/preset-file.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { VmTarget } from './vm.js';
import { inventoryFromDevices, vmInventory } from './hardware.js';
import { DEFAULT_HW } from '../vlab/hw.js';
import { OracleSide, type OracleReport } from '../analysis/oracle.js';
import { runOracle } from '../engine/oracle-run.js';

let guest: Guest;
let target: VmTarget;
let out: string;

beforeAll(async () => {
  guest = await bootGuest({ log: (l) => process.stderr.write(l + '\n') });
  target = new VmTarget({ guest });
  out = mkdtempSync(join(tmpdir(), 'agent-vm-'));
});

afterAll(async () => {
  await guest?.shutdown();
  if (out) rmSync(out, { recursive: true, force: true });
});

function preset(file: string): Scenario {
  return parsePreset(readFileSync(file, 'utf8'), file).scenario;
}
const shipped = (name: string) => preset(join(defaultPresetDir(), `${name}.yaml`));
// the virtual lab's variants live in the preset library beside the presets they adapt
const vmPreset = shipped;

/** Runs a scenario through the engine on the shared guest; returns summary.json as written and the events. */
async function run(scenario: Scenario, opts: { seed?: number; duration?: number } = {}): Promise<{ summary: RunSummary; events: RunEvent[] }> {
  const dir = join(out, `${scenario.name}-${Date.now()}`);
  const h = startRun({ scenario, target, seed: opts.seed ?? 1, outDir: dir, journalSync: false, ...(opts.duration ? { duration: opts.duration } : {}) });
  const events: RunEvent[] = [];
  h.subscribe((e) => events.push(e));
  await h.done;
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  return { summary, events };
}

/** The same scenario on the simulated kernel (fixed), compared step by step with what the guest did. */
async function oracle(scenario: Scenario, events: RunEvent[], duration?: number): Promise<OracleReport> {
  const observed = new OracleSide();
  for (const e of events) observed.feed(e);
  return runOracle({ scenario, seed: 1, observed, target: 'vm', profile: ['fixed'], ...(duration ? { duration } : {}) });
}

const acts = (ev: RunEvent[]) => ev.filter((e): e is ActionEvent => e.kind === 'act');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const m = (s: RunSummary) => s.metrics as Record<string, any>;

describe('native agent in the virtual lab', { timeout: 240_000 }, () => {
  it("lists the guest's PCM devices exactly as aplay -l and arecord -l do", async () => {
    const list = await target.listDevices();
    const [aplay, arecord] = await Promise.all([guest.run('aplay', ['-l']), guest.run('arecord', ['-l'])]);
    expect(formatPcmList(list, 'playback')).toBe(aplay.stdout);
    expect(formatPcmList(list, 'capture')).toBe(arecord.stdout);
    expect(list.cards.map((c) => c.id)).toEqual(expect.arrayContaining(['Dummy', 'Loopback', 'I82801AAICH', 'Audio']));
    expect(list.seqClients.find((c) => c.name === 'Midi Through')?.type).toBe('kernel');
  });

  it("the card catalogue a preset is checked against before boot (hardware.ts) is what this guest really has", async () => {
    // The catalogue is static so a run can be refused before a guest boots; this keeps it honest.
    const real = inventoryFromDevices(await target.listDevices(), 'the guest');
    const catalogue = vmInventory(DEFAULT_HW);
    expect(catalogue.cards.length).toBeGreaterThanOrEqual(5);
    for (const c of catalogue.cards) {
      const r = real.cards.find((x) => x.id === c.id);
      expect(r, `card ${c.id} of the catalogue; the guest has ${real.cards.map((x) => x.id).join(', ')}`).toBeDefined();
      expect(r!.kinds, c.id).toEqual(c.kinds);
      expect(r!.streams, c.id).toEqual(c.streams);
      // a control repeated per substream (snd-aloop: one set per subdevice) is one name
      expect([...new Set(r!.controls ?? [])].sort(), c.id).toEqual([...(c.controls ?? [])].sort());
    }
    expect(real.sequencer).toEqual(expect.arrayContaining(catalogue.sequencer ?? []));
  });

  it('sends numbered sequencer events that a real client (aseqdump) receives, every one', async () => {
    // aseqdump's stdout is a pipe here: line-buffer it so its lines arrive as it prints them
    const dump = guest.exec('stdbuf', ['-oL', 'aseqdump']);
    let text = '';
    dump.stdout.on('data', (d: Buffer) => (text += d.toString()));
    for (let i = 0; i < 600 && !/Waiting for data at port (\d+):0/.test(text); i++) await new Promise((r) => setTimeout(r, 50));
    expect(text).toMatch(/Waiting for data at port (\d+):0/);
    const client = /port (\d+):0/.exec(text)![1];
    const sc = parsePreset(
      `
name: to-aseqdump
setup:
  - seq.open: src
  - seq.create_port: src
lanes:
  - name: tx
    iterations: 6
    loop:
      - seq.send: { handle: src, to: "${client}:0", count: 5 }
  - name: tx-notes
    iterations: 2
    loop:
      - seq.send: { handle: src, to: "${client}:0", count: 3, type: note }
      - seq.send: { handle: src, to: "${client}:0", count: 2, type: sysex, size: 16 }
`,
      'aseqdump.yaml',
    ).scenario;
    const { summary, events } = await run(sc);
    expect(summary.status).toBe('completed');
    const sends = acts(events).filter((e) => e.op === 'seq.send');
    expect(sends.every((e) => e.ret >= 0)).toBe(true);
    // aseqdump prints one line per event: wait until all 40 arrived, then stop it
    const lines = () => text.split('\n').filter((l) => /^\s*\d+:\d+\s+(Control change|Note on|System exclusive)/.test(l));
    for (let i = 0; i < 200 && lines().length < 40; i++) await new Promise((r) => setTimeout(r, 50));
    dump.kill('SIGTERM');
    await dump.exit.catch(() => undefined);
    const ctl = lines().filter((l) => /Control change/.test(l));
    // controller events carry their number as the value: 0..29 from lane tx, in order
    expect(ctl.map((l) => Number(/value (-?\d+)/.exec(l)![1]))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(lines().filter((l) => /Note on/.test(l))).toHaveLength(6);
    expect(lines().filter((l) => /System exclusive/.test(l))).toHaveLength(4);
    // nothing in the lab reads them: the accounting says they were sent and left unread, not lost
    expect(m(summary).seq).toMatchObject({ sent: 40, received: 0, lost: 0, unread_at_end: 40 });
  });

  it('stop-close-race on snd-dummy: thousands of stop/free/close cycles racing the period interrupt, no findings', async () => {
    const sc = vmPreset('stop-close-race-vm');
    const { summary, events } = await run(sc);
    expect(summary.findings).toEqual([]);
    // The model agrees with real snd-dummy on what every step can return
    const o = await oracle(sc, events);
    expect(o.divergences.filter((d) => d.significant).map((d) => d.message)).toEqual([]);
    expect(o.compared).toBeGreaterThan(15);
    expect(o.not_comparable).toEqual([]);
    expect(summary.status).toBe('completed');
    const ops = m(summary).ops;
    // counts depend on how fast the emulated guest runs; these are far below a normal run's
    expect(ops['pcm.drop'].count).toBeGreaterThan(50);
    expect(ops['pcm.close'].count).toBeGreaterThan(20);
    expect(ops['at_period'].count).toBeGreaterThan(50);
    expect(ops['at_period'].count - (ops['at_period'].errors.EBADFD ?? 0)).toBeGreaterThan(0);
    expect(m(summary).lanes.hung).toBe(0);
  });

  it('parallel-hw-params on snd-dummy: thousands of racing HW_PARAMS rounds, none torn', async () => {
    // the preset runs 3000 iterations; the budget only caps a guest that is far too slow
    // (a loaded 2-core host ran 1,501 rounds in 60 s, so the cap is well above that)
    const sc = shipped('parallel-hw-params');
    const { summary, events } = await run(sc, { duration: 180e9 });
    expect(summary.findings).toEqual([]);
    // and on what real snd-dummy grants each request: HW_PARAMS answers compared field by field
    const o = await oracle(sc, events, 60e9);
    expect(o.divergences.filter((d) => d.significant).map((d) => d.message)).toEqual([]);
    expect(o.results_compared).toBeGreaterThanOrEqual(4);
    expect(m(summary).hw_params.rounds_checked).toBe(3000);
    expect(m(summary).hw_params.torn).toBe(0);
  }, 420_000);

  it('seq-pool-resize: every flooded event is accounted for across pool resizes', async () => {
    const { summary } = await run(shipped('seq-pool-resize'));
    expect(summary.findings).toEqual([]);
    const s = m(summary).seq;
    expect(s.sent).toBeGreaterThan(1000);
    expect(s.lost).toBe(0);
    expect(s.duplicated).toBe(0);
    expect(s.received + s.discarded_by_resize + s.discarded_by_overflow + s.unread_at_end).toBe(s.sent);
    expect(m(summary).ops['seq.set_client_pool'].count).toBeGreaterThan(100);
  });

  it('dpcm-route-change on AC97: routing controls flipped while emulated DMA runs', async () => {
    const { summary, events } = await run(vmPreset('dpcm-route-change-ac97'));
    expect(summary.findings).toEqual([]);
    const ops = m(summary).ops;
    expect(ops['ctl.write'].count).toBeGreaterThan(20);
    expect(ops['ctl.write'].errors).toEqual({});
    // the routing control really changed, as the driver reports it back
    expect(acts(events).some((e) => e.op === 'ctl.write' && e.data?.changed === true)).toBe(true);
    expect(acts(events).filter((e) => e.op === 'at_period' && e.ret === 0).length).toBeGreaterThan(0);
  });

  it('reports a lane that really blocks in the kernel, with its wait channel and stack, and only that lane', async () => {
    const sc = parsePreset(
      `
name: blocked-reader
duration: 2s
setup:
  - seq.open: lonely
  - seq.create_port: lonely
  - seq.open: busy
  - seq.create_port: busy
  - seq.open: tx
lanes:
  - name: waiter
    iterations: 1
    loop:
      - seq.read: { handle: lonely, timeout: 300ms }
  - name: fed
    iterations: 20
    loop:
      - seq.read: { handle: busy, timeout: 300ms }
  - name: feeder
    iterations: 20
    loop:
      - seq.send: { handle: tx, to: "busy:0" }
      - sleep: 20ms
expect:
  errnos:
    seq.read: [EINTR]
`,
      'blocked.yaml',
    ).scenario;
    const { summary, events } = await run(sc);
    const hung = events.filter((e): e is LaneEvent => e.kind === 'lane' && e.state === 'hung');
    expect(hung.map((h) => h.lane)).toEqual(['waiter']);
    expect(hung[0]!.detail).toMatch(/^seq\.read on lonely/);
    expect(hung[0]!.taskState).toMatch(/^S/);
    expect(hung[0]!.wchan).toBeTruthy();
    expect(hung[0]!.stack!.join('\n')).toMatch(/snd_seq_read/);
    expect(summary.finding_counts).toEqual({ hang: 1 });
    expect(summary.findings[0]!.message).toMatch(/seq\.read on lonely/);
    // a hang is critical: the engine stops the run, and the agent gets the blocked lane out
    expect(summary.status).toBe('stopped');
    expect(acts(events).find((e) => e.lane === 'waiter')?.errno).toBe('EINTR');
    expect(events.filter((e): e is LaneEvent => e.kind === 'lane' && e.state === 'end').map((e) => e.lane).sort()).toEqual(['fed', 'feeder', 'waiter']);
  });

  it('measures round-trip latency through snd-aloop by correlating a known burst', async () => {
    const sc = parsePreset(
      `
name: aloop-latency
duration: 8s
setup:
  - pcm.open: { handle: out, card: Loopback, device: 0, subdevice: 0 }
  - pcm.hw_params: { handle: out, rate: 48000, channels: 2, period_size: 256, periods: 4 }
  - pcm.sw_params: { handle: out, stop_threshold: boundary }
  - pcm.prepare: out
  - pcm.open: { handle: in, card: Loopback, device: 1, subdevice: 0, stream: capture }
  - pcm.hw_params: { handle: in, rate: 48000, channels: 2, period_size: 256, periods: 4 }
  - pcm.sw_params: { handle: in, stop_threshold: boundary }
  - pcm.prepare: in
  - pcm.start: in
lanes:
  - name: play
    loop:
      - pcm.write: { handle: out, periods: 1, pattern: impulse }
  - name: rec
    loop:
      - pcm.read: { handle: in, periods: 1 }
teardown:
  - pcm.close: out
  - pcm.close: in
`,
      'latency.yaml',
    ).scenario;
    const { summary, events } = await run(sc);
    const lat = events.filter((e): e is MetricEvent => e.kind === 'metric' && e.name === 'latency');
    expect(lat.length).toBeGreaterThanOrEqual(3);
    expect(m(summary).latency_ns.count).toBe(lat.length);
    // through a loopback the signal comes back bit-exact: the correlation is complete
    const note = events.find((e): e is NoteEvent => e.kind === 'note' && /round-trip latency/.test(e.text))!;
    expect(note.text).toMatch(/confidence median 1\.000/);
    for (const l of lat) {
      expect(l.value).toBeGreaterThan(0);
      expect(l.value).toBeLessThan(1e9);
    }
    // and the hw_ptr of a stream left running moves at its nominal rate (within 5 %)
    const rates = events.filter((e): e is MetricEvent => e.kind === 'metric' && e.name === 'hw_ptr_rate');
    expect(rates.length).toBeGreaterThan(0);
    // Under emulation the loopback's timer runs behind: the stream is slower than its
    // nominal 48 kHz, and the metric must say so. It is checked against an independent
    // measure of the same stream: the frames the capture lane read per second.
    const reads = acts(events).filter((e) => e.op === 'pcm.read' && e.ret > 0);
    const frames = reads.reduce((n, e) => n + e.ret, 0);
    const span = (reads.at(-1)!.t + reads.at(-1)!.dur - reads[0]!.t) / 1e9;
    const readRate = frames / span;
    const inRates = rates.filter((r) => r.handle === 'in').map((r) => r.value);
    expect(inRates.length).toBeGreaterThan(0);
    const mean = inRates.reduce((a, b) => a + b, 0) / inRates.length;
    expect(Math.abs(mean / readRate - 1)).toBeLessThan(0.1);
    // summary.json puts the same measurement against the rate HW_PARAMS granted
    const sr = m(summary).hw_ptr_rate.in;
    expect(sr.nominal_hz).toBe(48000);
    expect(sr.samples).toBe(inRates.length);
    expect(Math.abs(sr.ratio - mean / 48000)).toBeLessThan(1e-3);
  });

  it('detach-while-open on USB audio: unplugged through QMP under load, every later call fails, nothing hangs, the card comes back', async () => {
    const { summary, events } = await run(vmPreset('detach-while-open-usb'));
    // Stock 6.1.0-57 has a real use-after-free here (bench/usb-disconnect-uaf.md): a URB
    // completing after snd_usb_endpoint_free_all() freed its endpoint, seen once under
    // heavy host load (0 of 15 focused runs). That finding, and only that one, is the
    // kernel's bug and not the lab's: it is logged and the rest is not checked (the guest
    // is gone). Any other finding fails. This test runs last: the crash takes the guest.
    const known = summary.findings.filter((f) => f.type === 'use-after-free' && /snd_complete_urb/.test(`${f.message} ${f.signature ?? ''}`));
    if (known.length && known.length === summary.findings.length) {
      process.stderr.write(`known stock-kernel bug hit (snd-usb-audio URB completion after endpoint free): ${known[0]!.message}\n`);
      return;
    }
    expect(summary.findings.map((f) => f.message)).toEqual([]);
    expect(summary.status).toBe('completed');
    const after = m(summary).after_detach;
    expect(after.calls).toBeGreaterThan(10);
    expect(after.failed).toBe(after.calls);
    const a = acts(events);
    const detaches = a.filter((e) => e.op === 'device.detach' && e.ret === 0);
    const attaches = a.filter((e) => e.op === 'device.attach' && e.ret === 0);
    expect(detaches.length).toBeGreaterThanOrEqual(1);
    expect(attaches.length).toBeGreaterThanOrEqual(1);
    // the card came back: opens after an attach that fail do so only while the device is
    // being set up again (EIO) or gone again (ENODEV), and the guest lists the card at the end
    const back = attaches[0]!.t + attaches[0]!.dur;
    for (const e of a.filter((x) => x.op === 'pcm.open' && x.t > back)) expect([undefined, 'EIO', 'ENODEV', 'ENOENT']).toContain(e.errno);
    expect((await guest.run('cat', ['/proc/asound/cards'])).stdout).toMatch(/\[Audio\s*\]/);
    expect(m(summary).lanes.hung).toBe(0);
    // the guest's own kernel log, on the run clock: the unplug is logged while device.detach runs
    const klog = events.filter((e): e is KlogEvent => e.kind === 'klog');
    const disconnect = klog.find((k) => /USB disconnect/.test(k.text))!;
    expect(disconnect).toBeDefined();
    const d = detaches[0]!;
    expect(disconnect.t).toBeGreaterThanOrEqual(d.t);
    expect(disconnect.t).toBeLessThanOrEqual(d.t + d.dur);
  });
});
