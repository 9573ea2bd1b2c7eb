// The virtual lab as a QA run sees it: the boot's real stages reported while
// the guest comes up, what the run ran on (kernel, emulation, cards, ALSA
// version) recorded, xruns counted once per entry into XRUN rather than once
// per failed call, and the same counts in summary.json, the app's view, the
// HTML report and the CLI. One guest (snd-dummy only), booted by the target
// inside the first run as `stresslab run --target vm` does.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent, RunEvent } from '../events/types.js';
import { startRun, type RunSummary } from '../engine/run.js';
import { scenario } from '../test/sim-harness.js';
import { expectOneSetOfNumbers } from '../test/numbers.js';
import { VmTarget } from './vm.js';

let target: VmTarget;
let out: string;

beforeAll(() => {
  target = new VmTarget({ boot: { hw: ['dummy'] } });
  out = mkdtempSync(join(tmpdir(), 'progress-vm-'));
});

afterAll(async () => {
  await target?.dispose();
  if (out) rmSync(out, { recursive: true, force: true });
});

async function run(name: string, doc: Record<string, unknown>): Promise<{ dir: string; summary: RunSummary; events: RunEvent[] }> {
  const dir = join(out, name);
  const h = startRun({ scenario: scenario({ ...doc, name }), target, seed: 1, outDir: dir, journalSync: false });
  const events: RunEvent[] = [];
  h.subscribe((e) => events.push(e));
  await h.done;
  return { dir, events, summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary };
}

const open = [
  { 'pcm.open': { handle: 'out', card: 'Dummy', device: 0, stream: 'playback' } },
  { 'pcm.hw_params': { handle: 'out', format: 'S16_LE', channels: 2, rate: 48000, period_size: 480, periods: 2 } },
];

describe('the virtual lab, as a QA run reports it', { timeout: 600_000 }, () => {
  it('reports the boot stage by stage, then what it runs on; a stream left in XRUN is one xrun, not one per failed call', async () => {
    // Fed one period then left alone, the stream runs dry and stays in XRUN: every later
    // write fails with EPIPE and every STATUS says XRUN, and nothing prepares it again.
    const { dir, events, summary } = await run('stuck-in-xrun', {
      duration: '1500ms',
      // a stream left in XRUN on purpose: no snd_pcm_recover-style recovery
      recover: false,
      setup: [...open, { 'pcm.prepare': 'out' }, { 'pcm.write': { handle: 'out', periods: 1 } }, { sleep: '200ms' }],
      lanes: [
        { name: 'writer', loop: [{ 'pcm.write': { handle: 'out', periods: 1, expect: ['EPIPE'] } }, { sleep: '1ms' }] },
        { name: 'monitor', loop: [{ 'pcm.status': 'out' }, { sleep: '2ms' }] },
      ],
      teardown: [{ 'pcm.close': 'out' }],
    });
    // (a stage may report more than once: the kernel cache says when it downloads)
    const stages = events.filter((e): e is ProgressEvent => e.kind === 'progress').map((e) => e.stage).filter((s, i, a) => s !== a[i - 1]);
    expect(stages).toEqual(['kernel', 'tools', 'initramfs', 'boot', 'root', 'drivers', 'cards', 'ready', 'agent']);
    const wall = events.filter((e): e is ProgressEvent => e.kind === 'progress').map((e) => e.wall_ms);
    expect([...wall].sort((a, b) => a - b)).toEqual(wall);

    const ctx = summary.context!;
    expect(ctx.kernel).toMatchObject({ origin: 'distro' });
    expect(ctx.kernel!.release).toMatch(/^\d+\.\d+/);
    expect(ctx.machine).toMatchObject({ emulator: 'qemu', hardware: ['dummy'], cpus: 2, memory_mb: 512 });
    expect(['tcg', 'kvm']).toContain(ctx.machine!.accel);
    expect(ctx.cards).toEqual([expect.objectContaining({ index: 0, id: 'Dummy', driver: 'Dummy' })]);
    expect(ctx.alsa_version).toMatch(/^k\d/);
    expect(ctx.modules).toEqual([{ card: 0, module: 'snd_dummy' }]);
    expect(ctx.host.cpus).toBeGreaterThan(0);
    expect(summary.profile).toEqual([]);

    const c = expectOneSetOfNumbers(dir).counts!;
    const out = c.streams.find((s) => s.stream === 'out')!;
    expect(out.xruns).toBe(1);
    expect(out.failed).toBeGreaterThan(20);
  });

  it('a stream prepared again after each xrun counts each one', async () => {
    const { dir, summary } = await run('xrun-each-iteration', {
      duration: '2s',
      setup: [...open],
      lanes: [{ name: 'player', loop: [{ 'pcm.prepare': 'out' }, { 'pcm.write': { handle: 'out', periods: 1 } }, { sleep: '60ms' }, { 'pcm.status': 'out' }, { 'pcm.write': { handle: 'out', periods: 1, expect: ['EPIPE'] } }] }],
      teardown: [{ 'pcm.close': 'out' }],
    });
    const c = expectOneSetOfNumbers(dir).counts!;
    const iterations = (summary.metrics as { ops: Record<string, { count: number }> }).ops['pcm.prepare']!.count;
    const x = c.streams.find((s) => s.stream === 'out')!.xruns;
    // every iteration runs dry (20 ms of audio, 60 ms of sleep); the last may be cut by the budget
    expect(x).toBeGreaterThanOrEqual(iterations - 1);
    expect(x).toBeLessThanOrEqual(iterations);
    expect(c.failed).toBeGreaterThanOrEqual(x - 1);
  });
});
