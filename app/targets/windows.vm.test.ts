// Race windows on demand in a real guest (app/program/README.md, "Buffers"):
// the agent's userfaultfd hold really keeps the kernel inside copy_to_user /
// copy_from_user until another lane reaches the barrier, a buffer whose tail
// is unmapped makes the copy fail part way with EFAULT, and a 28-byte read of
// a SysEx event takes snd_seq_read's put-back path. Where the simulated
// kernel has the same devices (the sequencer), it must give the same
// answers. Then the presets that use them: seq-resize-window passes on
// today's kernel and, on a Debian kernel from before the seed-000 fix,
// reports the hang in snd_seq_pool_done() the window makes deterministic.
//
// Ordering, never timing, is asserted: "the held call ended after the other
// lane arrived at the barrier" holds however slow the guest is.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionEvent, RunEvent } from '../events/types.js';
import { bootGuest, cacheRoot, type Guest } from '../vlab/index.js';
import { compileProgram } from '../program/compile.js';
import { PresetLibrary } from '../engine/presets.js';
import { startRun } from '../engine/run.js';
import { scenario } from '../test/sim-harness.js';
import type { Scenario } from '../vocabulary/scenario.js';
import type { Target } from './target.js';
import { SimTarget } from './sim/sim-target.js';
import { VmTarget } from './vm.js';
import { reproC } from '../repro/repro.js';
import { GCC_MISSING, gcc, haveGcc } from '../test/gcc.js';

const log = (l: string) => process.stderr.write(l + '\n');
// A loaded host can delay an emulated guest's timer calibration until the kernel gives up on it.
const cmdline = ['no_timer_check'];

async function acts(target: Target, sc: Scenario): Promise<ActionEvent[]> {
  const program = compileProgram(sc, { seed: 1, duration: sc.duration });
  const events: RunEvent[] = [];
  const out = await target.run({ program, signal: new AbortController().signal, emit: (e) => events.push(e) });
  expect(out.status, `${sc.name} on ${target.id}: ${out.reason ?? ''}`).not.toBe('crashed');
  return events.filter((e): e is ActionEvent => e.kind === 'act');
}

const pick = (xs: ActionEvent[], lane: string, op: string) => xs.filter((e) => e.lane === lane && e.op === op);
const end = (e: ActionEvent) => e.t + e.dur;
/** What both kernels must agree on for a step (a failed read that brings no events may say so or not). */
const outcome = (e: ActionEvent) => ({ op: e.op, ret: e.ret, errno: e.errno, events: e.data?.events ?? [], held: e.data?.held });

const seqSetup = [
  { 'seq.open': { handle: 'app', name: 'windows-app' } },
  { 'seq.create_port': { handle: 'app', name: 'in' } },
  { 'seq.open': { handle: 'ext', name: 'windows-ext' } },
  { 'seq.create_port': { handle: 'ext', name: 'out' } },
];

/** A lane whose call is held, and one that reaches the barrier only after a pause. */
function held(name: string, setup: unknown[], steps: unknown[]): Scenario {
  return scenario({
    name,
    duration: '20s',
    setup,
    lanes: [
      { name: 'held', iterations: 1, loop: steps },
      { name: 'late', iterations: 1, loop: [{ sleep: '300ms' }, { barrier: 'go' }] },
    ],
    teardown: setup.filter((s) => 'pcm.open' in (s as object)).map(() => ({ 'pcm.close': 'p' })),
  });
}

const holdRead = held('hold-seq-read', seqSetup, [
  { 'seq.send': { handle: 'ext', to: 'app:0', count: 2 } },
  { 'seq.read': { handle: 'app', max: 4, hold: 'go' } },
]);

// the payload of a SysEx event is copied from user memory inside snd_seq_event_dup(), before f->lock: hold it there
const holdSend = held('hold-seq-send', seqSetup, [
  { 'seq.send': { handle: 'ext', to: 'app:0', type: 'sysex', size: 40, hold: 'go', hold_from: 28 } },
  { 'seq.read': { handle: 'app', max: 4, block: false } },
]);

const faultsAndShortReads = scenario({
  name: 'tail-and-short-reads',
  duration: '20s',
  setup: seqSetup,
  lanes: [
    {
      name: 'app',
      iterations: 1,
      loop: [
        // three events; room for one before the unmapped page: the first is read, the second's copy faults and it goes back
        { 'seq.send': { handle: 'ext', to: 'app:0', count: 3 } },
        { 'seq.read': { handle: 'app', max: 4, unmapped_from: 28, expect: ['EFAULT'] } },
        { 'seq.read': { handle: 'app', max: 4, block: false } },
        // a SysEx event and 28 bytes: the header fits, the data does not: -EAGAIN, the cell is put back every time
        { 'seq.send': { handle: 'ext', to: 'app:0', type: 'sysex', size: 40 } },
        { 'seq.read': { handle: 'app', bytes: 28, expect: ['EAGAIN'] } },
        { 'seq.read': { handle: 'app', bytes: 28, expect: ['EAGAIN'] } },
        { 'seq.read': { handle: 'app', max: 4, block: false } },
        // header mapped, data not: snd_seq_expand_var_event's copy faults and the cell goes back
        { 'seq.send': { handle: 'ext', to: 'app:0', type: 'sysex', size: 40 } },
        { 'seq.read': { handle: 'app', max: 4, unmapped_from: 40, expect: ['EFAULT'] } },
        { 'seq.read': { handle: 'app', max: 4, block: false } },
      ],
    },
  ],
});

// snd-aloop copies user data into its buffer (snd-dummy's fake buffer never touches it)
const loopback = [
  { 'pcm.open': { handle: 'p', card: 'Loopback', device: 0, stream: 'playback' } },
  { 'pcm.hw_params': { handle: 'p', format: 'S16_LE', channels: 2, rate: 48000, period_size: 1024, periods: 4 } },
  { 'pcm.prepare': 'p' },
];
const holdWrite = held('hold-pcm-write', loopback, [{ 'pcm.write': { handle: 'p', frames: 1024, hold: 'go' } }]);
const pcmTail = scenario({
  name: 'pcm-tail',
  duration: '20s',
  setup: loopback,
  lanes: [{ name: 'app', iterations: 1, loop: [{ 'pcm.write': { handle: 'p', frames: 1024, unmapped_from: 1000, expect: ['EFAULT'] } }] }],
  teardown: [{ 'pcm.close': 'p' }],
});

const sim = new SimTarget({ profile: ['fixed'] });
const library = new PresetLibrary();

// The C reproducer of seq-resize-window, as `stresslab repro` writes it: it must hold its buffers the same way.
const dir = mkdtempSync(join(tmpdir(), 'stresslab-windows-vm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let reproBin: string | undefined;
function reproducer(): string {
  if (reproBin) return reproBin;
  const sc = library.load('seq-resize-window').scenario;
  const src = join(dir, 'seq-resize-window.c');
  writeFileSync(src, reproC({ program: compileProgram(sc, { seed: 1 }), family: sc.family, description: sc.description, origin: { kind: 'preset', preset: sc.name } }));
  gcc(src, join(dir, 'seq-resize-window'));
  return (reproBin = join(dir, 'seq-resize-window'));
}

/** Runs the reproducer until it prints its verdict: a thread stuck in the kernel keeps it from exiting. */
async function runReproducer(guest: Guest, seconds: number): Promise<{ verdict: string; output: string; code: number | null }> {
  const h = guest.exec(reproducer(), ['-d', String(seconds), '-v']);
  let output = '';
  h.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const verdict = new Promise<string>((resolve) => {
    h.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
      const m = /verdict: (.*)/.exec(output);
      if (m) resolve(m[1]!);
    });
  });
  const exited = h.exit.then((st) => st.code).catch(() => null);
  const v = await Promise.race([verdict, exited.then(() => '(exited without a verdict)'), new Promise<string>((r) => setTimeout(() => r('(no verdict in time)'), (seconds + 120) * 1000))]);
  const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
  return { verdict: v, output, code };
}

describe("race windows on demand: the agent's primitives in the guest (today's kernel)", { timeout: 600_000 }, () => {
  let guest: Guest;
  let vm: VmTarget;
  beforeAll(async () => {
    guest = await bootGuest({ log, cmdline });
    vm = new VmTarget({ guest });
  }, 300_000);
  afterAll(async () => {
    await guest?.shutdown();
  });

  it('a held seq.read stays inside copy_to_user until the other lane reaches the barrier, then returns what the simulator returns', async () => {
    const a = await acts(vm, holdRead);
    const read = pick(a, 'held', 'seq.read')[0]!;
    const arrived = pick(a, 'late', 'barrier')[0]!;
    expect(read.data?.held).toBe(true);
    expect(read.ret).toBe(2);
    // the read began before the late lane even reached the barrier, and ended only after it did
    expect(read.t).toBeLessThan(arrived.t);
    expect(end(read)).toBeGreaterThanOrEqual(arrived.t);
    const s = await acts(sim, holdRead);
    expect(outcome(pick(s, 'held', 'seq.read')[0]!)).toEqual(outcome(read));
  });

  it('a SysEx payload held in snd_seq_event_dup keeps the write inside the kernel until the barrier', async () => {
    const a = await acts(vm, holdSend);
    const send = pick(a, 'held', 'seq.send')[0]!;
    const arrived = pick(a, 'late', 'barrier')[0]!;
    expect(send.data?.held).toBe(true);
    expect(send.ret).toBe(1);
    expect(end(send)).toBeGreaterThanOrEqual(arrived.t);
    expect(pick(a, 'held', 'seq.read')[0]!.ret).toBe(1);
    const s = await acts(sim, holdSend);
    expect(pick(s, 'held', 'seq.send').map(outcome)).toEqual([outcome(send)]);
    expect(pick(s, 'held', 'seq.read').map(outcome)).toEqual(pick(a, 'held', 'seq.read').map(outcome));
  });

  it('an unmapped tail fails the copy part way (EFAULT, events before it delivered, the faulting one put back); 28-byte reads of SysEx take the put-back path; as modelled', async () => {
    const a = await acts(vm, faultsAndShortReads);
    const reads = pick(a, 'app', 'seq.read');
    expect(reads.map((r) => r.errno ?? r.ret)).toEqual(['EFAULT', 2, 'EAGAIN', 'EAGAIN', 1, 'EFAULT', 1]);
    expect((reads[0]!.data!.events as [string, number][]).map(([, n]) => n)).toEqual([0]);
    expect((reads[1]!.data!.events as [string, number][]).map(([, n]) => n)).toEqual([1, 2]);
    expect((reads[4]!.data!.events as [string, number][]).map(([, n]) => n)).toEqual([3]);
    expect((reads[6]!.data!.events as [string, number][]).map(([, n]) => n)).toEqual([4]);
    const s = await acts(sim, faultsAndShortReads);
    expect(pick(s, 'app', 'seq.read').map(outcome)).toEqual(reads.map(outcome));
  });

  it('a held pcm.write (snd-aloop) stays inside copy_from_user until the barrier; an unmapped tail fails it with EFAULT', async () => {
    const a = await acts(vm, holdWrite);
    const w = pick(a, 'held', 'pcm.write')[0]!;
    const arrived = pick(a, 'late', 'barrier')[0]!;
    expect(w.data?.held).toBe(true);
    expect(w.ret).toBe(1024);
    expect(w.t).toBeLessThan(arrived.t);
    expect(end(w)).toBeGreaterThanOrEqual(arrived.t);
    const t = await acts(vm, pcmTail);
    expect(pick(t, 'app', 'pcm.write').map((e) => e.errno)).toEqual(['EFAULT']);
  });

  it.skipIf(!haveGcc())(`its C reproducer holds the same copies and stays quiet on the stock kernel${haveGcc() ? '' : ` (skipped: ${GCC_MISSING})`}`, async () => {
    const r = await runReproducer(guest, 4);
    expect(r.output).toContain('the kernel was held in its copy until barrier resize');
    expect(r.verdict, r.output.slice(-3000)).toMatch(/nothing user space can see/);
    expect(r.code).toBe(0);
  });

  it('seq-resize-window passes on the stock kernel (the fix in): every put-back meets a resize and the stale cell is freed', async () => {
    const { scenario: sc } = library.load('seq-resize-window');
    const s = await startRun({ scenario: sc, target: vm, seed: 1, duration: 3e9, journalSync: false, loadScenario: (n) => library.load(n).scenario }).done;
    expect(s.findings.map((f) => `${f.type}: ${f.message}`)).toEqual([]);
    expect(s.verdict).toBe('pass');
  });
});

/** A Debian kernel package unpacked in the virtual lab's kernel cache. */
function cachedKernel(pkg: string): { kernel: string; modules: string } | undefined {
  const d = join(cacheRoot(), 'kernels', pkg);
  const kernel = ['vmlinuz', 'vmlinux'].map((f) => join(d, f)).find(existsSync);
  return kernel && existsSync(join(d, 'modules')) ? { kernel, modules: join(d, 'modules') } : undefined;
}

// 6.1.0-54 predates Debian's seed-000 fix (the stale-cell checks came in the 6.1.192 packages)
const OLD = cachedKernel('linux-image-6.1.0-54-amd64');

describe.skipIf(!OLD)('seq-resize-window on linux-image-6.1.0-54 (before the seed-000 fix)', { timeout: 600_000 }, () => {
  let guest: Guest;
  beforeAll(async () => {
    guest = await bootGuest({ log, cmdline, ...OLD! });
  }, 300_000);
  afterAll(async () => {
    await guest?.shutdown();
  });

  it.skipIf(!haveGcc())('its C reproducer reproduces the hang there', async () => {
    const r = await runReproducer(guest, 8);
    expect(r.verdict, r.output.slice(-3000)).toMatch(/^REPRODUCED/);
    expect(r.output).toMatch(/REPRODUCED: hang: lane \S+ has been inside/);
  });

  it('the held put-back relinks a stale cell and SET_CLIENT_POOL hangs in snd_seq_pool_done, in the first seconds', async () => {
    const { scenario: sc } = library.load('seq-resize-window');
    const s = await startRun({ scenario: sc, target: new VmTarget({ guest }), seed: 1, duration: 5e9, journalSync: false, loadScenario: (n) => library.load(n).scenario }).done;
    const hang = s.findings.find((f) => f.type === 'hang' && f.message.includes('set_client_pool'));
    expect(hang, s.findings.map((f) => `${f.type}: ${f.message}`).join('\n')).toBeDefined();
  });
});
