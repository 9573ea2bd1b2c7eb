// A Stop pressed while a virtual-lab run's kernel is still being prepared
// (a download, an overlay build: minutes) ends the run at once, as stopped,
// with its summary written; an abort ends the preparation (its tools would be
// killed) before the worker goes. The preparation here never finishes unless
// it is aborted: a run that ends did not wait for it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultPresetDir, PresetLibrary } from '../../app/engine/presets.js';
import type { RunSummary } from '../../app/engine/run.js';
import type { PrepareBoot } from '../../app/targets/vm.js';
import type { RunControl, RunJob, RunWorkerMessage } from './messages.js';
import { runJob } from './run-job.js';

const tmp = mkdtempSync(join(tmpdir(), 'run-job-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// the vm target is available where QEMU is installed and an agent binary exists (none runs: no guest boots)
const qemu = spawnSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }).status === 0;
beforeAll(() => {
  vi.stubEnv('STRESSLAB_AGENT', process.execPath);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

/** A preparation that never finishes: it only ends when aborted, as prepareBoot does (killing its downloads and builds). */
function endlessPreparation(): { prepare: PrepareBoot; called: Promise<AbortSignal> } {
  let called!: (s: AbortSignal) => void;
  const p = new Promise<AbortSignal>((r) => (called = r));
  return {
    called: p,
    prepare: (o) =>
      new Promise((_, reject) => {
        o.log('downloading linux-image-6.1.0-54-amd64 (test: never finishes)');
        called(o.signal);
        o.signal.addEventListener('abort', () => reject(o.signal.reason));
      }),
  };
}

function vmJob(name: string): RunJob {
  return {
    kind: 'run',
    builtinPresetDir: defaultPresetDir(),
    userPresetDir: join(tmp, 'user-presets'),
    scenario: new PresetLibrary().load('seq-pool-resize').scenario,
    target: 'vm',
    profile: ['fixed'],
    seed: 1,
    outDir: join(tmp, name),
    batchMs: 20,
    // checked without apt or downloads: hardware only
    vm: { hw: ['seq-dummy'] },
  };
}

function link() {
  const messages: RunWorkerMessage[] = [];
  let control: (m: RunControl) => void = () => {};
  let exited = false;
  const waiters: { type: RunWorkerMessage['type']; resolve: (m: RunWorkerMessage) => void }[] = [];
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  return {
    messages,
    stopFlag,
    exited: () => exited,
    send: (m: RunControl) => control(m),
    next: (type: RunWorkerMessage['type']) => new Promise<RunWorkerMessage>((resolve) => {
      const seen = messages.find((m) => m.type === type);
      if (seen) resolve(seen);
      else waiters.push({ type, resolve });
    }),
    link: {
      post: (m: RunWorkerMessage) => {
        messages.push(m);
        for (const w of waiters.filter((x) => x.type === m.type)) w.resolve(m);
      },
      onControl: (fn: (m: RunControl) => void) => (control = fn),
      stopFlag,
      exit: () => (exited = true),
    },
  };
}

describe.skipIf(!qemu)('stopping a virtual-lab run while its kernel is prepared', () => {
  it('the run starts before the preparation, shows it as progress, and a Stop ends it as stopped with its summary written', async () => {
    const { prepare, called } = endlessPreparation();
    const l = link();
    const job = vmJob('stopped');
    const ran = runJob(job, l.link, { prepare });
    await l.next('started');
    const signal = await called;
    expect(signal.aborted).toBe(false);
    // the app's Stop button: the shared flag, then the message
    Atomics.store(l.stopFlag, 0, 1);
    l.send({ type: 'stop', reason: 'stopped by user' });
    const done = (await l.next('done')) as Extract<RunWorkerMessage, { type: 'done' }>;
    await ran;
    expect(signal.aborted).toBe(true);
    const s: RunSummary = done.summary;
    expect(s).toMatchObject({ status: 'stopped', reason: 'stopped by user', verdict: 'aborted', findings: [] });
    expect(s.phases).toBeUndefined();
    const file = JSON.parse(readFileSync(join(job.outDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(file).toMatchObject({ status: 'stopped', reason: 'stopped by user', verdict: 'aborted' });
    // what the preparation said is in the journal, as the run's first boot stage
    const journal = readFileSync(join(job.outDir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((x) => JSON.parse(x) as { kind: string; stage?: string; text?: string });
    expect(journal.filter((e) => e.kind === 'progress').map((e) => [e.stage, e.text])).toEqual([
      ['kernel', 'preparing the distribution kernel'],
      ['kernel', 'downloading linux-image-6.1.0-54-amd64 (test: never finishes)'],
    ]);
    expect(journal.at(-1)).toMatchObject({ kind: 'end', verdict: 'aborted' });
  });

  it('an Abort ends the preparation and the worker, with no run left going', async () => {
    const { prepare, called } = endlessPreparation();
    const l = link();
    const job = vmJob('aborted');
    void runJob(job, l.link, { prepare });
    await l.next('started');
    const signal = await called;
    l.send({ type: 'abort', reason: 'aborted: the run was killed' });
    expect(await l.next('failed')).toEqual({ type: 'failed', message: 'aborted: the run was killed' });
    expect(signal.aborted).toBe(true);
    expect(l.exited()).toBe(true);
    expect(existsSync(join(job.outDir, 'journal.jsonl'))).toBe(true);
  });

  it('a bad setting is still the request\'s fault, before the run starts', async () => {
    const l = link();
    const job = { ...vmJob('bad'), vm: { hw: ['no-such-card'] } };
    await expect(runJob(job, l.link, { prepare: endlessPreparation().prepare })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/no-such-card/) });
    expect(l.messages.map((m) => m.type)).toEqual([]);
  });
});
