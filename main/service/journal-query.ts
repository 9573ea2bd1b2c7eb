// Questions about a run's journal that need the whole file: its events in
// index order, what every lane was doing at a moment, where a finding is.
// Plain functions over the streaming, checking reader (app/journal): the
// server runs them in a worker thread (workers/journal-worker.ts) so a large
// journal never holds up the main thread, and tests call them directly.
import type { Finding, InflightResult, LaneActivity, RunTrailer } from '../../app/api/types.js';
import { readJournal } from '../../app/journal/reader.js';

export const BATCH = 2_000;

export interface StreamEnd {
  trailer: RunTrailer | null;
  truncated: boolean;
  /** Index after the last event sent. */
  next: number;
}

type Signal = { cancelled: boolean };

/**
 * Events [from, until) as the journal has them (lines, checked), in batches.
 * A torn last line ends the stream quietly; damage elsewhere is an error.
 */
export async function streamJournal(file: string, opts: { from?: number; until?: number; signal?: Signal }, onBatch: (from: number, lines: string[]) => Promise<void> | void): Promise<StreamEnd> {
  const from = opts.from ?? 0;
  const until = opts.until ?? Infinity;
  let lines: string[] = [];
  let batchFrom = from;
  let next = from;
  const info = await readJournal(
    file,
    async (_e, i, line) => {
      if (i >= until) return false;
      if (i < from) return;
      if (!lines.length) batchFrom = i;
      lines.push(line);
      next = i + 1;
      if (lines.length >= BATCH) {
        const b = lines;
        lines = [];
        await onBatch(batchFrom, b);
      }
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  if (lines.length) await onBatch(batchFrom, lines);
  return { trailer: info.trailer, truncated: info.truncated, next: Math.max(next, Math.min(from, info.eventCount)) };
}

/**
 * What every lane was doing at time t, and the scheduling trace of the
 * kernel report at t. With the line's event index, a suite's phases are
 * kept apart: a phase ends at its finding and the next one starts at the
 * same instant, so time alone would mix the two phases' lanes.
 */
export async function inflightAt(file: string, t: number, at?: number, signal?: Signal): Promise<InflightResult> {
  const lanes = new Map<string, LaneActivity>();
  let trace: InflightResult['trace'];
  // Index range of the phase that logged the line: [segStart, segEnd).
  let segStart = 0;
  let segEnd = Infinity;
  const o = signal ? { signal } : {};
  if (at !== undefined) {
    await readJournal(
      file,
      (e, i) => {
        if (e.kind !== 'phase') return;
        if (i <= at) segStart = i;
        else if (i < segEnd) {
          segEnd = i;
          return false;
        }
      },
      o,
    );
  }
  await readJournal(
    file,
    (e, i) => {
      if (i >= segEnd) return false;
      if (i < segStart) return;
      if (e.kind === 'act' && e.t <= t) {
        const cur = lanes.get(e.lane);
        if (!cur || e.t >= cur.since) {
          lanes.set(e.lane, {
            lane: e.lane,
            op: e.op,
            since: e.t,
            dur: e.dur,
            ret: e.ret,
            inFlight: e.t + e.dur >= t,
            ...(e.handle ? { handle: e.handle } : {}),
            ...(e.errno ? { errno: e.errno } : {}),
          });
        }
      } else if (e.kind === 'klog' && e.t === t && e.trace?.length && !trace) trace = e.trace;
    },
    o,
  );
  const list = [...lanes.values()].sort((a, b) => Number(b.inFlight) - Number(a.inFlight) || a.lane.localeCompare(b.lane));
  return { t, lanes: list, ...(trace ? { trace } : {}) };
}

export interface FindingPlace {
  finding: Finding;
  /** The suite phase running when it was reported (by journal order). */
  phase?: { t: number; name: string; profile: string[] };
}

/** A finding by id (and time, ids repeat across runs merged by hand), and the phase it belongs to. */
export async function findFinding(file: string, findingId: string, t?: number, signal?: Signal): Promise<FindingPlace | null> {
  let current: FindingPlace['phase'];
  let found: FindingPlace | null = null;
  await readJournal(
    file,
    (e) => {
      if (e.kind === 'finding' && e.finding.id === findingId && (t === undefined || e.finding.t === t)) {
        found = { finding: e.finding, ...(current ? { phase: current } : {}) };
        return false;
      }
      if (e.kind === 'phase') current = { t: e.t, name: e.name, profile: e.profile };
    },
    signal ? { signal } : {},
  );
  return found;
}
