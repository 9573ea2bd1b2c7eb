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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRun } from '../../app/engine/run.js';
import { targetFactory } from '../../app/targets/registry.js';
import type { Target } from '../../app/targets/target.js';
import { PresetStore } from '../service/presets.js';
import { recordOracle, runOracle, watchForOracle } from '../../app/engine/oracle-run.js';
import type { RunControl, RunJob, RunWorkerMessage } from './messages.js';
import { prepareVm } from './vm-boot.js';

const port = parentPort;
if (!port) throw new Error('run-worker.js runs as a worker thread');
const job = workerData as RunJob & { stopFlag: SharedArrayBuffer };
const stopFlag = new Int32Array(job.stopFlag);
const post = (m: RunWorkerMessage) => port.postMessage(m);
const BATCH_EVENTS = 4096;
const BATCH_MS = job.batchMs ?? 50;

/**
 * The target starts only once `open` is called: startRun() begins executing
 * at once, and events the target emits before we subscribe would be missed.
 */
function gated(target: Target): { target: Target; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return {
    open,
    target: {
      id: target.id,
      label: target.label,
      available: () => target.available(),
      listDevices: () => target.listDevices(),
      run: async (req) => {
        await gate;
        return target.run(req);
      },
      ...(target.explain ? { explain: (f) => target.explain!(f) } : {}),
      ...(target.kernelContext ? { kernelContext: () => target.kernelContext!() } : {}),
      ...(target.dispose ? { dispose: () => target.dispose!() } : {}),
    },
  };
}

/**
 * Events the engine published before we could subscribe (a suite's first
 * phase marker, emitted inside startRun()). The target has not started, so
 * the event loop is free and the journal's timer flushes them within 100 ms.
 */
async function journalPrefix(count: number): Promise<string[]> {
  const file = join(job.outDir, 'journal.jsonl');
  for (let attempt = 0; attempt < 200; attempt++) {
    let lines: string[] = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n');
    } catch {
      /* not created yet */
    }
    // lines[0] is the header; a line is complete once a newline follows it.
    if (lines.length - 1 >= count + 1) return lines.slice(1, count + 1);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the journal did not receive the run's first ${count} events`);
}

async function main(): Promise<void> {
  const factory = targetFactory(job.target);
  if (!factory) throw new Error(`unknown target "${job.target}"`);
  // The virtual lab's kernel is fetched and its overlay built before the run
  // starts: a bad kernel name or patch is the request's fault, not the run's.
  const real = factory.create(job.target === 'vm' ? { boot: await prepareVm(job.vm) } : {});
  const avail = await real.available();
  if (!avail.ok) throw new Error(`target ${job.target} is not available: ${avail.why ?? 'no reason given'}`);
  const presets = new PresetStore(job.builtinPresetDir, job.userPresetDir);
  const { target, open } = gated(real);
  const h = startRun({
    scenario: job.scenario,
    target,
    seed: job.seed,
    profile: job.profile,
    ...(job.duration !== undefined ? { duration: job.duration } : {}),
    ...(job.replay !== undefined ? { replay: job.replay } : {}),
    outDir: job.outDir,
    loadScenario: (name) => presets.scenario(name),
  });
  const observed = job.oracle ? watchForOracle(h) : null;
  const early = h.events;
  let batch: string[] = [];
  let from = early;
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
  h.subscribe((e) => {
    // Serialised now, as the journal does: later changes to the object must not leak in.
    batch.push(JSON.stringify(e));
    if (batch.length >= BATCH_EVENTS || Date.now() - last >= BATCH_MS) flush();
    checkStop();
  });
  const timer = setInterval(() => {
    flush();
    checkStop();
  }, BATCH_MS);
  port!.on('message', (m: RunControl) => {
    if (m && m.type === 'stop') checkStop();
  });
  post({ type: 'started' });
  if (early) post({ type: 'events', from: 0, lines: await journalPrefix(early) });
  open();
  try {
    let summary = await h.done;
    flush();
    if (observed && summary.status !== 'error') {
      const report = await runOracle({ scenario: job.scenario, seed: job.seed, ...(job.duration !== undefined ? { duration: job.duration } : {}), observed, target: job.target, profile: job.profile, outDir: job.outDir, loadScenario: (name) => presets.scenario(name) });
      summary = recordOracle(job.outDir, summary, report);
    }
    post({ type: 'done', summary });
  } finally {
    clearInterval(timer);
    await real.dispose?.();
  }
}

main().then(
  () => port.close(),
  (e: unknown) => {
    const bad = (e as { code?: unknown }).code === 'bad-request';
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(bad ? { code: 'bad-request' as const } : {}) });
    port.close();
  },
);
