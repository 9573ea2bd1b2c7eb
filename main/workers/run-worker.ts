// A run in its own thread. The simulated kernel is CPU-bound and gives its
// event loop a turn only between chunks of steps (measured: up to 0.75 s
// apart, and never in a short run); real targets talk to child
// processes that can stall. Neither may ever block the thread that serves the
// window, and neither may keep a stop request from being seen, so this
// worker does not rely on its own event loop while a run goes:
// - events are batched by count and by time inside the event callback;
// - a stop request arrives as a flag in shared memory, polled on every event
//   (and also as a message, for targets that do yield).
// What the run does is run-job.ts; this is the thread around it.
import { parentPort, workerData } from 'node:worker_threads';
import type { RunControl, RunJob, RunWorkerMessage } from './messages.js';
import { runJob } from './run-job.js';

const port = parentPort;
if (!port) throw new Error('run-worker.js runs as a worker thread');
const job = workerData as RunJob & { stopFlag: SharedArrayBuffer };
const post = (m: RunWorkerMessage) => port.postMessage(m);

runJob(job, { post, onControl: (fn) => port.on('message', (m: RunControl) => fn(m)), stopFlag: new Int32Array(job.stopFlag), exit: () => process.exit(0) }).then(
  () => port.close(),
  (e: unknown) => {
    const bad = (e as { code?: unknown }).code === 'bad-request';
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(bad ? { code: 'bad-request' as const } : {}) });
    port.close();
  },
);
