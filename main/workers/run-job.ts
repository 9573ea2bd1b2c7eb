// One run as its worker thread does it (run-worker.ts is the thread's shell):
// the target made, the run started and its events batched to the main thread,
// stop and abort requests obeyed from the first moment. A virtual-lab run's
// kernel is prepared inside the run (downloads and overlay builds take
// minutes): its settings are checked first, so a bad kernel name or patch is
// still the request's fault (bad-request), and the rest is the run's first
// boot stage, shown as progress, which a stop ends at once (the run ends
// "stopped" with its summary written, as when the guest is stopped booting).
import { type RunHandle, type RunSummary, startRun } from '../../app/engine/run.js';
import { targetFactory } from '../../app/targets/registry.js';
import { PresetStore } from '../service/presets.js';
import { recordOracle, runOracle, watchForOracle } from '../../app/engine/oracle-run.js';
import type { RunControl, RunJob, RunWorkerMessage } from './messages.js';
import { JournalSchedule } from '../../app/journal/schedule.js';
import { checkVm } from './vm-boot.js';
import type { PrepareBoot } from '../../app/targets/vm.js';

/** The worker's side of the thread: messages out, control messages in, the shared stop flag, leaving. */
export interface RunLink {
  post(m: RunWorkerMessage): void;
  onControl(fn: (m: RunControl) => void): void;
  /** Set to 1 by the main thread to stop the run (seen even while the worker never yields). */
  stopFlag: Int32Array;
  /** The worker ends now (after an abort). */
  exit(): void;
}

export interface RunJobDeps {
  /** How the virtual lab's kernel is prepared inside the run (default prepareBoot); tests give a slow one. */
  prepare?: PrepareBoot;
}

const BATCH_EVENTS = 4096;

export async function runJob(job: RunJob, link: RunLink, deps: RunJobDeps = {}): Promise<void> {
  const { post } = link;
  const batchMs = job.batchMs ?? 50;
  // Listening first: a stop or an abort that comes while the settings are
  // checked (before the run exists) is kept and obeyed as soon as it can be.
  let h: RunHandle | null = null;
  let stopped = false;
  let disposeTarget: (() => Promise<void> | undefined) | undefined;
  // ends the settings check when the run is aborted (a stop lets it finish: it takes seconds)
  const early = new AbortController();
  const checkStop = () => {
    if (stopped || Atomics.load(link.stopFlag, 0) !== 1) return;
    stopped = true;
    h?.abort('stopped by user');
  };
  let aborting = false;
  /**
   * Abort from the main thread, for a target that still answers: the target's
   * children (the agent, QEMU, a download or build) are stopped and reaped by
   * this thread before it goes. A worker stuck in JavaScript never reads this;
   * the main thread then terminates it.
   */
  const abortNow = async (reason: string): Promise<void> => {
    if (aborting) return;
    aborting = true;
    early.abort(new Error(reason));
    try {
      await Promise.race([disposeTarget?.(), new Promise((r) => setTimeout(r, 10_000))]);
    } finally {
      post({ type: 'failed', message: reason });
      link.exit();
    }
  };
  link.onControl((m) => {
    if (m && m.type === 'stop') checkStop();
    else if (m && m.type === 'abort') void abortNow(m.reason);
  });
  const factory = targetFactory(job.target);
  if (!factory) throw new Error(`unknown target "${job.target}"`);
  // What can be checked without downloading or building anything: bad input is the request's fault.
  const boot = job.target === 'vm' ? await checkVm(job.vm, early.signal) : undefined;
  // An exact replay reads its recorded schedule from the journal as it goes.
  const schedule = job.replayJournal !== undefined ? new JournalSchedule(job.replayJournal) : undefined;
  const replay = schedule ?? job.replay;
  // On vm a profile other than fixed is the overlay's patches (in boot): the target records it.
  const target = factory.create({
    ...(boot ? { boot } : {}),
    ...(deps.prepare ? { prepare: deps.prepare } : {}),
    ...(job.target === 'vm' && job.profile.join(',') !== 'fixed' ? { profile: job.profile } : {}),
    sim: { profile: job.profile, ...(replay !== undefined ? { replay } : {}) },
  });
  disposeTarget = () => target.dispose?.();
  const avail = await target.available();
  if (!avail.ok) throw new Error(`target ${job.target} is not available: ${avail.why ?? 'no reason given'}`);
  const presets = new PresetStore(job.builtinPresetDir, job.userPresetDir);
  // The engine starts the run on a microtask: subscribing right after
  // startRun() sees every event (app/engine/run.ts).
  const handle = startRun({
    scenario: job.scenario,
    target,
    seed: job.seed,
    ...(job.duration !== undefined ? { duration: job.duration } : {}),
    outDir: job.outDir,
    loadScenario: (name) => presets.scenario(name),
  });
  h = handle;
  // asked to stop while the settings were checked: the run ends as soon as it begins, its summary written
  if (stopped) handle.abort('stopped by user');
  const observed = job.oracle ? watchForOracle(handle) : null;
  let batch: string[] = [];
  let from = 0;
  let last = Date.now();
  const flush = () => {
    last = Date.now();
    if (!batch.length) return;
    post({ type: 'events', from, lines: batch });
    from += batch.length;
    batch = [];
  };
  // The journal's lines, as written: the UI sees what the journal holds (sampled, when
  // the preset bounds it), and a late subscriber catching up from disk finds the same indexes.
  handle.subscribeLines((line) => {
    batch.push(line);
    if (batch.length >= BATCH_EVENTS || Date.now() - last >= batchMs) flush();
  });
  // Every event, kept or not, is a chance to see a stop request.
  handle.subscribe(() => checkStop());
  const timer = setInterval(() => {
    flush();
    checkStop();
  }, batchMs);
  post({ type: 'started' });
  let summary: RunSummary;
  try {
    summary = await handle.done;
    flush();
  } finally {
    clearInterval(timer);
    schedule?.close();
    // Before "done": the main thread ends this worker when it hears it, and a
    // QEMU still shutting down then has nobody to wait for it (a zombie), since
    // only the thread that spawned a child reaps it.
    await target.dispose?.();
  }
  if (observed && summary.status !== 'error') {
    // A real kernel with a historic bug patched in is compared with the model on the same bug (the CLI does the same).
    const modelProfile = job.target !== 'sim' && job.profile.join(',') !== 'fixed' ? job.profile : undefined;
    const report = await runOracle({ scenario: job.scenario, seed: job.seed, ...(job.duration !== undefined ? { duration: job.duration } : {}), observed, target: job.target, profile: job.profile, ...(modelProfile ? { modelProfile } : {}), observedFindings: summary.findings, outDir: job.outDir, loadScenario: (name) => presets.scenario(name) });
    summary = recordOracle(job.outDir, summary, report);
  }
  post({ type: 'done', summary });
}
