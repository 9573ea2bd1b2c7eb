// Live runs: one worker thread per run, its events kept in a bounded ring so
// a late subscriber (a reloaded page, a second window) catches up from the
// journal on disk and then from the ring, without gaps or repeats.
import { Worker } from 'node:worker_threads';
import type { RunSummary } from '../../app/api/types.js';
import { ApiError } from '../../app/api/validate.js';
import { isRunWorkerMessage, type RunJob } from './messages.js';
import { workerUrl } from './tasks.js';
import type { RunsStore } from '../service/runs-store.js';

/** Events kept in memory per live run; older ones are read back from the journal. */
export const RING_EVENTS = 100_000;
/** How long a run on a real target gets to stop its children when aborted. */
const ABORT_GRACE_MS = 12_000;

export interface RunSink {
  /** Events from..from+lines.length-1 as JSON lines. */
  events(from: number, lines: string[]): void;
  end(summary: RunSummary | null, error?: string): void;
}

interface Batch {
  from: number;
  lines: string[];
}

interface LiveSub {
  sink: RunSink;
  from: number;
  catchingUp: boolean;
  queue: Batch[];
  ended: { summary: RunSummary | null; error?: string } | null;
  cancelled: boolean;
}

interface LiveRun {
  id: string;
  target: string;
  worker: Worker;
  /** Shared with the worker: set to 1 to ask the run to stop (seen even while the worker never yields). */
  stopFlag: Int32Array;
  ring: Batch[];
  ringEvents: number;
  total: number;
  subs: Set<LiveSub>;
  stopping: boolean;
  done: Promise<{ summary: RunSummary | null; error?: string }>;
}

export class RunManager {
  private readonly live = new Map<string, LiveRun>();

  constructor(
    private readonly store: RunsStore,
    private readonly onChange: () => void,
  ) {}

  isLive(runId: string): boolean {
    return this.live.has(runId);
  }

  liveIds(): string[] {
    return [...this.live.keys()];
  }

  /** One run per target: two runs on the same hardware would measure each other. */
  assertFree(target: string): void {
    for (const r of this.live.values()) if (r.target === target) throw new ApiError('conflict', `a run on target ${target} is already going (${r.id}); stop it first`);
  }

  /** Starts the worker; resolves once the run has begun (its journal exists), rejects if the target cannot run. */
  start(id: string, job: RunJob): Promise<void> {
    this.assertFree(job.target);
    const shared = new SharedArrayBuffer(4);
    const worker = new Worker(workerUrl('run-worker'), { workerData: { ...job, stopFlag: shared } });
    let resolveDone!: (v: { summary: RunSummary | null; error?: string }) => void;
    const run: LiveRun = { id, target: job.target, worker, stopFlag: new Int32Array(shared), ring: [], ringEvents: 0, total: 0, subs: new Set(), stopping: false, done: new Promise((r) => (resolveDone = r)) };
    this.live.set(id, run);
    let started = false;
    let finished = false;
    let badRequest = false;
    return new Promise((resolveStart, rejectStart) => {
      const finish = (summary: RunSummary | null, error?: string) => {
        if (finished) return;
        finished = true;
        this.live.delete(id);
        for (const s of run.subs) {
          if (s.catchingUp) s.ended = { summary, ...(error ? { error } : {}) };
          else if (!s.cancelled) s.sink.end(summary, error);
        }
        resolveDone({ summary, ...(error ? { error } : {}) });
        if (!started) rejectStart(new ApiError(badRequest ? 'bad-request' : 'unavailable', error ?? 'the run ended before it started'));
        else this.onChange();
        void worker.terminate();
      };
      worker.on('message', (m: unknown) => {
        if (!isRunWorkerMessage(m)) return finish(null, 'the run worker sent a malformed message');
        if (m.type === 'started') {
          started = true;
          resolveStart();
          this.onChange();
        } else if (m.type === 'events') {
          this.push(run, { from: m.from, lines: m.lines });
        } else if (m.type === 'done') {
          if (!started) {
            started = true;
            resolveStart();
          }
          finish(m.summary);
        } else {
          badRequest = m.code === 'bad-request';
          finish(null, m.message);
        }
      });
      worker.on('error', (e) => finish(null, `the run failed: ${e.message}`));
      worker.on('exit', () => finish(null, run.stopping ? 'aborted: the run was killed' : 'the run worker exited unexpectedly'));
    });
  }

  private push(run: LiveRun, b: Batch): void {
    run.ring.push(b);
    run.ringEvents += b.lines.length;
    run.total = b.from + b.lines.length;
    while (run.ringEvents - run.ring[0]!.lines.length >= RING_EVENTS) run.ringEvents -= run.ring.shift()!.lines.length;
    for (const s of run.subs) {
      if (s.cancelled) continue;
      if (s.catchingUp) s.queue.push(b);
      else deliver(s, b);
    }
  }

  /** Resolves when the run ends (at once for a run that is not live). */
  whenDone(runId: string): Promise<{ summary: RunSummary | null; error?: string }> {
    const r = this.live.get(runId);
    return r ? r.done : Promise.resolve({ summary: null, error: 'the run is not live' });
  }

  /** Graceful: the engine stops the target and writes the summary. */
  stop(runId: string): boolean {
    const r = this.live.get(runId);
    if (!r) return false;
    r.stopping = true;
    Atomics.store(r.stopFlag, 0, 1);
    r.worker.postMessage({ type: 'stop', reason: 'stopped by user' });
    return true;
  }

  /**
   * Immediate: the journal keeps what it had flushed. A run on a real target
   * is asked first (briefly) to stop its agent and QEMU itself, because a
   * child whose spawning thread is gone is never reaped (a zombie) and QEMU
   * dies with that thread anyway; the simulator, which may never yield, is
   * terminated at once.
   */
  async abort(runId: string): Promise<boolean> {
    const r = this.live.get(runId);
    if (!r) return false;
    r.stopping = true;
    if (r.target !== 'sim') {
      r.worker.postMessage({ type: 'abort', reason: 'aborted: the run was killed' });
      await Promise.race([r.done, new Promise((res) => setTimeout(res, ABORT_GRACE_MS))]);
    }
    await r.worker.terminate();
    await r.done;
    return true;
  }

  /** Subscribes to a live run from event `from`; null when the run is not live (read it from disk). */
  subscribe(runId: string, from: number, sink: RunSink): (() => void) | null {
    const run = this.live.get(runId);
    if (!run) return null;
    const sub: LiveSub = { sink, from, catchingUp: true, queue: [], ended: null, cancelled: false };
    run.subs.add(sub);
    const snapshot = run.ring.slice();
    const ringStart = snapshot[0]?.from ?? run.total;
    void (async () => {
      try {
        // Older than the ring: those events are in the journal (it flushes every 100 ms).
        if (from < ringStart) await this.store.stream(runId, { from, until: ringStart, signal: sub }, (f, lines) => void (sub.cancelled || sink.events(f, lines)));
        sub.from = Math.max(sub.from, ringStart);
        for (const b of snapshot) deliver(sub, b);
        while (sub.queue.length) deliver(sub, sub.queue.shift()!);
      } catch (e) {
        if (!sub.cancelled) sub.ended ??= { summary: null, error: `catching up failed: ${(e as Error).message}` };
      }
      sub.catchingUp = false;
      if (sub.ended && !sub.cancelled) sink.end(sub.ended.summary, sub.ended.error);
    })();
    return () => {
      sub.cancelled = true;
      run.subs.delete(sub);
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.abort(id)));
  }
}

/** Sends the part of a batch the subscriber has not had yet. */
function deliver(s: LiveSub, b: Batch): void {
  if (s.cancelled) return;
  const end = b.from + b.lines.length;
  if (end <= s.from) return;
  const skip = Math.max(0, s.from - b.from);
  s.sink.events(b.from + skip, skip ? b.lines.slice(skip) : b.lines);
  s.from = end;
}
