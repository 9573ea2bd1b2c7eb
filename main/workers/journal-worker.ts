// Journal queries in a worker thread: reading and checking a large journal
// is CPU work (a JSON parse per line) that must not hold up the thread that
// answers the window or the server. The main side terminates the worker when
// whoever asked has gone (workers/journal-tasks.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { findFinding, inflightAt, streamJournal } from '../service/journal-query.js';
import { JournalError } from '../../app/journal/reader.js';
import type { JournalJob, JournalWorkerMessage, JournalControl } from './messages.js';

const port = parentPort;
if (!port) throw new Error('journal-worker.js runs as a worker thread');
const job = workerData as JournalJob;
const post = (m: JournalWorkerMessage) => port.postMessage(m);

// Flow control for streams: at most two batches unanswered, so a slow client holds the reader back.
let acked = 0;
let sent = 0;
let wake: (() => void) | null = null;
port.on('message', (m: JournalControl) => {
  if (m?.type === 'ack') {
    acked++;
    wake?.();
    wake = null;
  }
});

async function run(): Promise<JournalWorkerMessage> {
  switch (job.kind) {
    case 'stream': {
      const end = await streamJournal(job.file, { ...(job.from !== undefined ? { from: job.from } : {}), ...(job.until !== undefined ? { until: job.until } : {}) }, async (from, lines) => {
        while (sent - acked >= 2) await new Promise<void>((r) => (wake = r));
        sent++;
        post({ type: 'batch', from, lines });
      });
      return { type: 'done', result: end };
    }
    case 'inflight':
      return { type: 'done', result: await inflightAt(job.file, job.t, job.at) };
    case 'finding':
      return { type: 'done', result: await findFinding(job.file, job.findingId, job.t) };
  }
}

run().then(
  (m) => {
    post(m);
    port.close();
  },
  (e: unknown) => {
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e), bad: e instanceof JournalError });
    port.close();
  },
);
