// The main side of journal queries: each runs in its own worker thread
// (journal-worker.ts) and is cancelled — the worker terminated — as soon as
// the one who asked has gone (a closed window, a dropped connection) or
// stops reading a stream.
import { Worker } from 'node:worker_threads';
import type { InflightResult } from '../../app/api/types.js';
import { ApiError } from '../../app/api/validate.js';
import type { FindingPlace, StreamEnd } from '../service/journal-query.js';
import { isJournalWorkerMessage, type JournalJob } from './messages.js';
import { workerUrl } from './tasks.js';

export type Cancel = { cancelled: boolean };

/** Raised when the asker went away; nobody is waiting for the answer. */
export class QueryCancelled extends Error {
  constructor() {
    super('the query was cancelled: its client went away');
    this.name = 'QueryCancelled';
  }
}

const POLL_MS = 50;

function query(job: JournalJob, signal: Cancel | undefined, onBatch?: (from: number, lines: string[]) => Promise<void> | void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl('journal-worker'), { workerData: job });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      fn();
      void w.terminate();
    };
    const poll = setInterval(() => {
      if (signal?.cancelled) finish(() => reject(new QueryCancelled()));
    }, POLL_MS);
    let chain = Promise.resolve();
    w.on('message', (m: unknown) => {
      if (!isJournalWorkerMessage(m)) return finish(() => reject(new ApiError('internal', 'journal query: unexpected message from the worker')));
      if (m.type === 'batch') {
        chain = chain.then(async () => {
          if (settled || signal?.cancelled) return;
          await onBatch?.(m.from, m.lines);
          if (!settled) w.postMessage({ type: 'ack' });
        });
        chain.catch((e: unknown) => finish(() => reject(e)));
        return;
      }
      // Batches still being handed on finish before the answer is given.
      void chain.then(() => finish(() => (m.type === 'done' ? resolve(m.result) : reject(new ApiError(m.bad ? 'bad-request' : 'internal', m.message)))));
    });
    // After the batches and the answer already received have been handed on (the worker exits right after answering).
    w.on('error', (e) => void chain.then(() => finish(() => reject(new ApiError('internal', `journal query failed: ${e.message}`)))));
    w.on('exit', (code) => void chain.then(() => finish(() => reject(new ApiError('internal', `journal query: the worker exited (${code}) without an answer`)))));
  });
}

export function streamInWorker(file: string, opts: { from?: number; until?: number; signal?: Cancel }, onBatch: (from: number, lines: string[]) => Promise<void> | void): Promise<StreamEnd> {
  return query({ kind: 'stream', file, ...(opts.from !== undefined ? { from: opts.from } : {}), ...(opts.until !== undefined && opts.until !== Infinity ? { until: opts.until } : {}) }, opts.signal, onBatch) as Promise<StreamEnd>;
}

export function inflightInWorker(file: string, t: number, at: number | undefined, signal?: Cancel): Promise<InflightResult> {
  return query({ kind: 'inflight', file, t, ...(at !== undefined ? { at } : {}) }, signal) as Promise<InflightResult>;
}

export function findingInWorker(file: string, findingId: string, t: number | undefined, signal?: Cancel): Promise<FindingPlace | null> {
  return query({ kind: 'finding', file, findingId, ...(t !== undefined ? { t } : {}) }, signal) as Promise<FindingPlace | null>;
}
