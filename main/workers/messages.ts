// Messages between the main thread and the worker threads that do the lab's
// heavy or possibly slow work (runs, target probes, reports). Both sides are
// ours, but a worker that dies mid-message must never confuse the main side,
// so the main side checks the shape of what it receives.
import type { DevicesResult, KernelsResult, MetricsComparison, ReproResult, RunSummary, TargetInfo, VmSettings } from '../../app/api/types.js';
import type { Scenario } from '../../app/vocabulary/scenario.js';

export interface RunJob {
  kind: 'run';
  builtinPresetDir: string;
  userPresetDir: string;
  scenario: Scenario;
  target: string;
  profile: string[];
  seed: number;
  duration?: number;
  outDir: string;
  /** Recorded scheduler decisions (exact sim replay). */
  replay?: string;
  /** A journal whose recorded schedule to follow, read as the replay goes (exact sim replay of a run of any length). */
  replayJournal?: string;
  /** Compare with the fixed simulated kernel afterwards (app/engine/oracle-run.ts). */
  oracle?: boolean;
  /** How often to hand a batch of events to the main thread, ms. */
  batchMs?: number;
  /** Target "vm": how to boot the guest (one kernel: a matrix is expanded by the service). */
  vm?: VmSettings;
}

export type TaskJob =
  | { kind: 'targets' }
  | { kind: 'devices'; target: string; vm?: VmSettings }
  | { kind: 'kernels' }
  | { kind: 'report'; runDir: string; outFile: string }
  | { kind: 'compare'; runs: { id: string; dir: string }[] }
  | { kind: 'repro'; runDir: string; findingId?: string; t?: number };

export type TaskResult =
  | { kind: 'targets'; targets: TargetInfo[] }
  | { kind: 'devices'; devices: DevicesResult }
  | { kind: 'kernels'; kernels: KernelsResult }
  | { kind: 'report'; html: string }
  | { kind: 'compare'; comparison: MetricsComparison }
  | { kind: 'repro'; repro: ReproResult };

/** main → run or task worker. abort: kill the target's children now, a kernel download or overlay build included (the main thread terminates the worker if it does not answer). */
export type RunControl = { type: 'stop'; reason: string } | { type: 'abort'; reason: string };

/** run worker → main */
export type RunWorkerMessage =
  /** The target is available and the journal is open. */
  | { type: 'started' }
  /** Events as JSON lines, serialised when they were emitted (as the journal writes them: later changes to the objects do not leak in). */
  | { type: 'events'; from: number; lines: string[] }
  | { type: 'done'; summary: RunSummary }
  /**
   * bad-request: the run's own settings were wrong, found before it started (an unknown kernel
   * or hardware name, a patch outside sound/, no source or headers for an overlay). Bad input
   * found only while the kernel is prepared inside the run (a patch that does not apply) ends
   * the run instead: status error, failure "input".
   */
  | { type: 'failed'; message: string; code?: 'bad-request' };

/** task worker → main */
export type TaskWorkerMessage = { type: 'result'; result: TaskResult } | { type: 'failed'; message: string; code?: 'not-found' | 'unavailable' | 'bad-request' };

export function isRunWorkerMessage(m: unknown): m is RunWorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const x = m as Record<string, unknown>;
  return (
    x.type === 'started' ||
    (x.type === 'events' && typeof x.from === 'number' && Array.isArray(x.lines)) ||
    (x.type === 'done' && typeof x.summary === 'object' && x.summary !== null) ||
    (x.type === 'failed' && typeof x.message === 'string')
  );
}

export function isTaskWorkerMessage(m: unknown): m is TaskWorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const x = m as Record<string, unknown>;
  return (x.type === 'result' && typeof x.result === 'object' && x.result !== null) || (x.type === 'failed' && typeof x.message === 'string');
}

/** A question about a journal, answered in a journal worker (service/journal-query.ts). */
export type JournalJob =
  | { kind: 'stream'; file: string; from?: number; until?: number }
  | { kind: 'inflight'; file: string; t: number; at?: number }
  | { kind: 'finding'; file: string; findingId: string; t?: number };

/** main → journal worker: a batch was handed on, send more. */
export type JournalControl = { type: 'ack' };

/** journal worker → main */
export type JournalWorkerMessage = { type: 'batch'; from: number; lines: string[] } | { type: 'done'; result: unknown } | { type: 'failed'; message: string; bad: boolean };

export function isJournalWorkerMessage(m: unknown): m is JournalWorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const x = m as Record<string, unknown>;
  return (x.type === 'batch' && typeof x.from === 'number' && Array.isArray(x.lines)) || x.type === 'done' || (x.type === 'failed' && typeof x.message === 'string');
}
