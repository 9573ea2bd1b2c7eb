// One-shot jobs off the main thread: probing targets (which may build the
// agent or start a guest), listing devices, and building reports from
// journals that can be large.
import { parentPort, workerData } from 'node:worker_threads';
import { writeFileSync, renameSync } from 'node:fs';
import { targetFactory, targetIds } from '../../app/targets/registry.js';
import { formatPcmList, formatSeqList } from '../../app/devices/format.js';
import { reportFromJournal } from '../../app/report/report.js';
import { readSummaryFile } from '../../app/journal/summary-file.js';
import { compareMetrics } from '../../app/analysis/compare-metrics.js';
import { summaryFromJournalFile } from '../../app/engine/summary-from-journal.js';
import type { RunSummary, TargetInfo } from '../../app/api/types.js';
import type { TaskJob, TaskResult, TaskWorkerMessage } from './messages.js';
import { kernelListing } from '../../app/vlab/kernel-listing.js';
import { checkVm } from './vm-boot.js';
import { reproFile, reproFromRun } from '../../app/repro/source.js';
import { ReproError } from '../../app/repro/repro.js';
import { loadRun } from '../../app/repro/run-files.js';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const port = parentPort;
if (!port) throw new Error('task-worker.js runs as a worker thread');
const job = workerData as TaskJob;
// Listening first: the main thread asks for an abort when the job overruns its
// deadline, so that what it started (a kernel download, an overlay build, a
// guest) is stopped and reaped by this thread before the thread is ended.
const abort = new AbortController();
let stopTarget: (() => Promise<void> | undefined) | undefined;
port.on('message', (m: unknown) => {
  if (!m || (m as { type?: unknown }).type !== 'abort') return;
  abort.abort(new Error((m as { reason?: string }).reason ?? 'aborted'));
  void Promise.race([stopTarget?.(), new Promise((r) => setTimeout(r, 5_000))]).finally(() => {
    port.postMessage({ type: 'failed', message: `${job.kind}: aborted`, code: 'unavailable' } satisfies TaskWorkerMessage);
    process.exit(0);
  });
});

async function run(): Promise<TaskResult> {
  switch (job.kind) {
    case 'targets': {
      const targets: TargetInfo[] = [];
      for (const id of targetIds()) {
        const f = targetFactory(id)!;
        try {
          const a = await f.create({}).available();
          targets.push({ id, label: f.label, available: a.ok, ...(a.why ? { why: a.why } : {}) });
        } catch (e) {
          targets.push({ id, label: f.label, available: false, why: (e as Error).message });
        }
      }
      return { kind: 'targets', targets };
    }
    case 'kernels':
      return { kind: 'kernels', kernels: await kernelListing() };
    case 'devices': {
      const f = targetFactory(job.target);
      if (!f) throw Object.assign(new Error(`unknown target "${job.target}"`), { code: 'not-found' });
      // the kernel and overlay are prepared when the guest boots for the listing, where an abort ends them
      const t = f.create(job.target === 'vm' && job.vm ? { boot: await checkVm(job.vm, abort.signal) } : {});
      stopTarget = () => t.dispose?.();
      const a = await t.available();
      if (!a.ok) throw Object.assign(new Error(`target ${job.target} is not available: ${a.why ?? ''}`), { code: 'unavailable' });
      try {
        const list = await t.listDevices();
        return { kind: 'devices', devices: { target: job.target, list, text: { playback: formatPcmList(list, 'playback'), capture: formatPcmList(list, 'capture'), seq: formatSeqList(list) } } };
      } finally {
        await t.dispose?.();
      }
    }
    case 'compare': {
      // A run that never finished has no summary.json: its figures come from its journal.
      // summary.json is checked like a journal; one that is damaged is as good as none.
      const runs: { id: string; summary: RunSummary }[] = [];
      for (const { id, dir } of job.runs) runs.push({ id, summary: readSummaryFile(join(dir, 'summary.json')).summary ?? (await summaryFromJournalFile(join(dir, 'journal.jsonl'))) });
      return { kind: 'compare', comparison: compareMetrics(runs) };
    }
    case 'report': {
      const { summary } = readSummaryFile(join(job.runDir, 'summary.json'));
      const html = await reportFromJournal(join(job.runDir, 'journal.jsonl'), summary, job.runDir.split('/').pop() ?? '');
      const tmp = `${job.outFile}.tmp`;
      writeFileSync(tmp, html);
      renameSync(tmp, job.outFile);
      return { kind: 'report', html };
    }
    case 'repro': {
      try {
        const c = reproFromRun(await loadRun(join(job.runDir, 'journal.jsonl')), job.findingId, job.t);
        const f = reproFile(c);
        return { kind: 'repro', repro: { name: f.name, text: f.text, ...(c.finding ? { finding: { id: c.finding.id, type: c.finding.type, ...(c.finding.signature ? { signature: c.finding.signature } : {}) } } : {}) } };
      } catch (e) {
        if (e instanceof ReproError) throw Object.assign(new Error(e.message), { code: 'bad-request' });
        throw e;
      }
    }
  }
}

run().then(
  (result) => port.postMessage({ type: 'result', result } satisfies TaskWorkerMessage),
  (e: unknown) => {
    const code = (e as { code?: unknown }).code;
    port.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(code === 'not-found' || code === 'unavailable' || code === 'bad-request' ? { code } : {}) } satisfies TaskWorkerMessage);
  },
);
