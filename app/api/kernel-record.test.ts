// One kernel record per run: the engine folds what the target learnt of its
// kernel by the end (the virtual lab's taint after the run) into
// summary.json's context.kernel and writes no second `kernel`; summaries
// written before that read back in the same shape.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelRecord, TargetContext } from '../events/types.js';
import { startRun } from '../engine/run.js';
import { PresetLibrary } from '../engine/presets.js';
import type { KernelContext, RunOutcome, RunRequest, Target } from '../targets/target.js';
import { checkSummary } from '../journal/lines.js';
import { foldKernel, kernelOf, kernelVersionWord, withKernelRecord } from './kernel-record.js';

const tmp = mkdtempSync(join(tmpdir(), 'kernel-record-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const atBoot: KernelRecord = {
  release: '6.1.0-54-amd64',
  origin: 'distro',
  version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.190-1',
  package: 'linux-image-6.1.0-54-amd64',
  source_version: '6.1.190-1',
  upstream: '6.1.190',
  memory_debug: { on: ['init_on_free=1'], unavailable: [] },
  taint_at_boot: { value: 0, letters: '', flags: [] },
};
const taintAtEnd = { value: 512, letters: 'W', flags: [{ letter: 'W', meaning: 'kernel issued warning' }] };

/** A target that says what it runs on at the start and learns the taint by the end, as the virtual lab does. */
class KernelTarget implements Target {
  readonly id = 'vm' as const;
  readonly label = 'fake virtual lab';
  constructor(private readonly end: KernelContext | undefined) {}
  async available() {
    return { ok: true };
  }
  async listDevices(): Promise<never> {
    throw new Error('not used');
  }
  async run(req: RunRequest): Promise<RunOutcome> {
    const context: TargetContext = { kernel: atBoot, cards: [] };
    req.emit({ kind: 'context', t: 0, context });
    return { status: 'completed', elapsed: 1_000_000 };
  }
  kernelContext(): KernelContext | undefined {
    return this.end;
  }
}

describe('the kernel record', () => {
  it('is one: the end-of-run context is folded into context.kernel, and summary.json has no second kernel', async () => {
    const out = join(tmp, 'run');
    const { version: _uname, ...targetSays } = atBoot;
    const h = startRun({ scenario: new PresetLibrary().load('stream-rapid-cycle').scenario, target: new KernelTarget({ ...targetSays, release: '6.1.0-54-amd64', taint_at_end: taintAtEnd }), seed: 1, outDir: out, journalSync: false });
    const s = await h.done;
    expect(s).not.toHaveProperty('kernel');
    expect(s.context?.kernel).toEqual({ ...atBoot, taint_at_end: taintAtEnd });
    expect(s.context?.host?.hostname).toBeTruthy();
    const file = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(file).not.toHaveProperty('kernel');
    expect(file.context.kernel).toEqual({ ...atBoot, taint_at_end: taintAtEnd });
  });

  it('keeps the context event as it is when the target learnt nothing more', async () => {
    const h = startRun({ scenario: new PresetLibrary().load('stream-rapid-cycle').scenario, target: new KernelTarget(undefined), seed: 1 });
    expect((await h.done).context?.kernel).toEqual(atBoot);
  });

  it("keeps the guest's own uname -r and -v over the lab's names", () => {
    expect(foldKernel({ release: '6.1.0-54-amd64', origin: 'distro', version: '#1' }, { release: 'other', origin: 'user', overlay: undefined, taint_at_end: taintAtEnd })).toEqual({
      release: '6.1.0-54-amd64',
      origin: 'distro',
      version: '#1',
      overlay: undefined,
      taint_at_end: taintAtEnd,
    });
    expect(foldKernel(undefined, { release: 'x', origin: 'user' })).toEqual({ release: 'x', origin: 'user' });
    expect(foldKernel(undefined, { taint_at_end: taintAtEnd })).toBeUndefined();
  });

  it('reads a summary written before there was one record the same way (kernel beside the context)', () => {
    const { version, package: pkg, ...vmPart } = atBoot;
    const legacy = { verdict: 'pass', preset: 'demo', target: 'vm', profile: [], seed: 1, strategy: 'pct', status: 'completed', budget_ns: 1, elapsed_ns: 1, wall_ms: 1, findings: [], finding_counts: {}, metrics: {}, context: { kernel: { release: atBoot.release, origin: 'distro', version, package: pkg } }, kernel: { ...vmPart, package: pkg, taint_at_end: taintAtEnd } };
    const r = checkSummary(JSON.parse(JSON.stringify(legacy)));
    if (!('summary' in r)) throw new Error(r.error);
    expect(r.summary).not.toHaveProperty('kernel');
    expect(r.summary.context?.kernel).toEqual({ ...atBoot, taint_at_end: taintAtEnd });
    expect(kernelOf(legacy as never)).toEqual({ ...atBoot, taint_at_end: taintAtEnd });
    // a summary of the current shape comes back as it is
    const current = { context: { kernel: atBoot } };
    expect(withKernelRecord(current)).toBe(current);
    // a legacy record that is damaged is refused, not rendered half
    expect(checkSummary({ ...legacy, kernel: { ...legacy.kernel, memory_debug: { on: 'all' } } })).toEqual({ error: expect.stringContaining('"on" must be a list of strings') });
  });

  it('names a Debian kernel as --kernel-version takes it', () => {
    expect(kernelVersionWord({ package: 'linux-image-6.12.48+deb12-amd64', release: '6.12.48+deb12-amd64' })).toBe('6.12.48+deb12');
    expect(kernelVersionWord({ release: '6.1.0-54-amd64' })).toBe('6.1.0-54');
  });
});
