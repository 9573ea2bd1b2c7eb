// Running a one-shot job in a task worker, with a deadline: a target probe
// that hangs (a guest that never boots, an agent stuck in the kernel) is
// terminated, and the caller gets a clear error instead of a frozen window.
import { Worker } from 'node:worker_threads';
import { ApiError } from '../../app/api/validate.js';
import { isTaskWorkerMessage, type TaskJob, type TaskResult } from './messages.js';

export function workerUrl(name: 'run-worker' | 'task-worker' | 'journal-worker'): URL {
  const here = new URL(`./${name}.js`, import.meta.url);
  // Loaded from the TypeScript sources (tests): the workers are the built ones.
  return import.meta.url.endsWith('.ts') ? new URL(`../../dist/main/workers/${name}.js`, import.meta.url) : here;
}

/** How long a task past its deadline gets to stop its children before its thread is ended. */
const ABORT_GRACE_MS = 6_000;

export function runTask<K extends TaskJob['kind']>(job: TaskJob & { kind: K }, timeoutMs: number): Promise<Extract<TaskResult, { kind: K }>> {
  return new Promise((resolvePromise, reject) => {
    const w = new Worker(workerUrl('task-worker'), { workerData: job });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      fn();
      void w.terminate();
    };
    // Past the deadline the worker is asked to stop what it started (a download, a build, a guest:
    // children only its thread can reap), and ended after a short grace whatever it does.
    let overdue: ApiError | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      const error = (overdue = new ApiError('unavailable', `${job.kind} did not answer within ${Math.round(timeoutMs / 1000)} s and was stopped`));
      w.postMessage({ type: 'abort', reason: error.message });
      graceTimer = setTimeout(() => finish(() => reject(error)), ABORT_GRACE_MS);
    }, timeoutMs);
    w.on('message', (m: unknown) => {
      // past the deadline, whatever the worker says last (it stopped its children, or it finished after all) the answer was too late
      if (overdue) return finish(() => reject(overdue));
      if (!isTaskWorkerMessage(m)) return finish(() => reject(new ApiError('internal', `${job.kind}: unexpected message from the worker`)));
      if (m.type === 'failed') return finish(() => reject(new ApiError(m.code ?? 'internal', m.message)));
      if (m.result.kind !== job.kind) return finish(() => reject(new ApiError('internal', `${job.kind}: the worker answered ${m.result.kind}`)));
      finish(() => resolvePromise(m.result as Extract<TaskResult, { kind: K }>));
    });
    w.on('error', (e) => finish(() => reject(overdue ?? new ApiError('internal', `${job.kind} failed: ${e.message}`))));
    w.on('exit', (code) => finish(() => reject(overdue ?? new ApiError('internal', `${job.kind}: the worker exited (${code}) without an answer`))));
  });
}
