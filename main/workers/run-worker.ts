// A run in its own thread. The simulated kernel is CPU-bound and gives its
// event loop a turn only between chunks of steps (measured: up to 0.75 s
// apart, and never in a short run); real targets talk to child
// processes that can stall. Neither may ever block the thread that serves the
// window, and neither may keep a stop request from being seen, so this
// worker does not rely on its own event loop while a run goes:
// - events are batched by count and by time inside the event callback;
// - a stop request arrives as a flag in shared memory, polled on every event
//   (and also as a message, for targets that do yield).
import { parentPort, workerData } from 'node:worker_threads';
import { type RunSummary, startRun } from '../../app/engine/run.js';
import { targetFactory } from '../../app/targets/registry.js';
import { PresetStore } from '../service/presets.js';
import { recordOracle, runOracle, watchForOracle } from '../../app/engine/oracle-run.js';
import type { RunControl, RunJob, RunWorkerMessage } from './messages.js';
import { JournalSchedule } from '../../app/journal/schedule.js';
import { prepareVm } from './vm-boot.js';

const port = parentPort;
if (!port) throw new Error('run-worker.js runs as a worker thread');
const job = workerData as RunJob & { stopFlag: SharedArrayBuffer };
const stopFlag = new Int32Array(job.stopFlag);
const post = (m: RunWorkerMessage) => port.postMessage(m);
const BATCH_EVENTS = 4096;
const BATCH_MS = job.batchMs ?? 50;

async function main(): Promise<void> {
  const factory = targetFactory(job.target);
  if (!factory) throw new Error(`unknown target "${job.target}"`);
  // The virtual lab's kernel is fetched and its overlay built before the run
  // starts: a bad kernel name or patch is the request's fault, not the run's.
  const boot = job.target === 'vm' ? await prepareVm(job.vm) : undefined;
  // An exact replay reads its recorded schedule from the journal as it goes.
  const schedule = job.replayJournal !== undefined ? new JournalSchedule(job.replayJournal) : undefined;
  const replay = schedule ?? job.replay;
  const target = factory.create({ ...(boot ? { boot } : {}), sim: { profile: job.profile, ...(replay !== undefined ? { replay } : {}) } });
  disposeTarget = () => target.dispose?.();
  const avail = await target.available();
  if (!avail.ok) throw new Error(`target ${job.target} is not available: ${avail.why ?? 'no reason given'}`);
  const presets = new PresetStore(job.builtinPresetDir, job.userPresetDir);
  // The engine starts the run on a microtask: subscribing right after
  // startRun() sees every event (app/engine/run.ts).
  const h = startRun({
    scenario: job.scenario,
    target,
    seed: job.seed,
    ...(job.duration !== undefined ? { duration: job.duration } : {}),
    outDir: job.outDir,
    loadScenario: (name) => presets.scenario(name),
  });
  const observed = job.oracle ? watchForOracle(h) : null;
  let batch: string[] = [];
  let from = 0;
  let last = Date.now();
  let stopped = false;
  const checkStop = () => {
    if (!stopped && Atomics.load(stopFlag, 0) === 1) {
      stopped = true;
      h.abort('stopped by user');
    }
  };
  const flush = () => {
    last = Date.now();
    if (!batch.length) return;
    post({ type: 'events', from, lines: batch });
    from += batch.length;
    batch = [];
  };
  // The journal's lines, as written: the UI sees what the journal holds (sampled, when
  // the preset bounds it), and a late subscriber catching up from disk finds the same indexes.
  h.subscribeLines((line) => {
    batch.push(line);
    if (batch.length >= BATCH_EVENTS || Date.now() - last >= BATCH_MS) flush();
  });
  // Every event, kept or not, is a chance to see a stop request.
  h.subscribe(() => checkStop());
  const timer = setInterval(() => {
    flush();
    checkStop();
  }, BATCH_MS);
  port!.on('message', (m: RunControl) => {
    if (m && m.type === 'stop') checkStop();
    else if (m && m.type === 'abort') void abortNow(m.reason);
  });
  post({ type: 'started' });
  let summary: RunSummary;
  try {
    summary = await h.done;
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
    const report = await runOracle({ scenario: job.scenario, seed: job.seed, ...(job.duration !== undefined ? { duration: job.duration } : {}), observed, target: job.target, profile: job.profile, outDir: job.outDir, loadScenario: (name) => presets.scenario(name) });
    summary = recordOracle(job.outDir, summary, report);
  }
  post({ type: 'done', summary });
}

/**
 * Abort from the main thread, for a target that still answers: the target's
 * children (the agent, QEMU) are stopped and reaped by this thread before it
 * goes. A worker stuck in JavaScript never reads this; the main thread then
 * terminates it.
 */
let aborting = false;
async function abortNow(reason: string): Promise<void> {
  if (aborting) return;
  aborting = true;
  try {
    await Promise.race([disposeTarget?.(), new Promise((r) => setTimeout(r, 10_000))]);
  } finally {
    post({ type: 'failed', message: reason });
    process.exit(0);
  }
}
let disposeTarget: (() => Promise<void> | undefined) | undefined;

main().then(
  () => port.close(),
  (e: unknown) => {
    const bad = (e as { code?: unknown }).code === 'bad-request';
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(bad ? { code: 'bad-request' as const } : {}) });
    port.close();
  },
);
