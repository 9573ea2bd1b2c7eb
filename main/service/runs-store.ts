// Runs on disk: runs/<id>/journal.jsonl (+ summary.json once finished), the
// same layout the CLI writes, so the history shows CLI runs too. Journals are
// read as streams: a long soak's journal is large and the process reading it
// must stay responsive.
import { createReadStream, existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import type { InflightResult, LaneActivity, RunEvent, RunHeader, RunInfo, RunSummary, RunTrailer } from '../../app/api/types.js';
import { ApiError, RUN_ID } from '../../app/api/validate.js';

export const BATCH = 2_000;
const NOTES = 'notes.txt';
const MAX_LISTED = 500;

export class RunsStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The run's directory; the id can never name anything outside runs/. */
  path(runId: string): string {
    if (!RUN_ID.test(runId)) throw new ApiError('bad-request', `not a run id: ${JSON.stringify(runId)}`);
    const p = resolve(this.dir, runId);
    if (!p.startsWith(this.dir + sep)) throw new ApiError('bad-request', `not a run id: ${JSON.stringify(runId)}`);
    return p;
  }

  journalPath(runId: string): string {
    const p = join(this.path(runId), 'journal.jsonl');
    if (!existsSync(p)) throw new ApiError('not-found', `run ${runId} has no journal`);
    return p;
  }

  async summary(runId: string): Promise<RunSummary | null> {
    try {
      return JSON.parse(await readFile(join(this.path(runId), 'summary.json'), 'utf8')) as RunSummary;
    } catch {
      return null;
    }
  }

  /** The journal's first line; null while the writer has not flushed it yet. */
  async header(runId: string): Promise<RunHeader | null> {
    const fh = await open(this.journalPath(runId), 'r');
    try {
      let text = '';
      const buf = Buffer.alloc(64 * 1024);
      for (let pos = 0; pos < 4 * 1024 * 1024; ) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (!bytesRead) return null;
        text += buf.toString('utf8', 0, bytesRead);
        pos += bytesRead;
        const nl = text.indexOf('\n');
        if (nl >= 0) {
          const h = JSON.parse(text.slice(0, nl)) as RunHeader;
          if (h.kind !== 'run') throw new ApiError('bad-request', `run ${runId}: the journal does not start with a run header`);
          return h;
        }
      }
      throw new ApiError('bad-request', `run ${runId}: the journal's first line is too long`);
    } finally {
      await fh.close();
    }
  }

  async list(): Promise<RunInfo[]> {
    if (!existsSync(this.dir)) return [];
    const names = (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory() && RUN_ID.test(d.name)).map((d) => d.name);
    const out: RunInfo[] = [];
    for (const id of names) {
      if (!existsSync(join(this.dir, id, 'journal.jsonl'))) continue;
      out.push(await this.info(id));
    }
    out.sort((a, b) => b.started.localeCompare(a.started) || b.id.localeCompare(a.id));
    return out.slice(0, MAX_LISTED);
  }

  async info(id: string): Promise<RunInfo> {
    const started = startedOf(id, join(this.dir, id));
    const note = await this.note(id);
    const withNote = note ? { note } : {};
    const s = await this.summary(id);
    if (s) {
      const k = s.context?.kernel;
      return {
        id,
        preset: s.preset,
        target: s.target,
        profile: s.profile,
        seed: s.seed,
        started,
        state: 'done',
        verdict: s.verdict,
        findings: s.findings.length,
        elapsed_ns: s.elapsed_ns,
        ...(s.phases ? {} : { budget_ns: s.budget_ns }),
        wall_ms: s.wall_ms,
        ...(k ? { kernel: k.release } : {}),
        ...(s.context?.machine ? { accel: s.context.machine.accel } : {}),
        ...(s.counts ? { xruns: s.counts.xruns } : {}),
        ...withNote,
      };
    }
    try {
      const h = await this.header(id);
      if (!h) return { id, preset: '?', target: '?', profile: [], seed: 0, started, state: 'incomplete', error: 'the journal is empty', ...withNote };
      return { id, preset: h.preset, target: h.target, profile: h.profile, seed: h.seed, started, state: 'incomplete', ...withNote };
    } catch (e) {
      return { id, preset: '?', target: '?', profile: [], seed: 0, started, state: 'incomplete', error: (e as Error).message, ...withNote };
    }
  }

  async note(id: string): Promise<string | undefined> {
    try {
      return (await readFile(join(this.path(id), NOTES), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Written then renamed: a crash never leaves half a note. An empty note removes the file. */
  setNote(id: string, text: string): string {
    const dir = this.path(id);
    if (!existsSync(dir)) throw new ApiError('not-found', `no run ${id}`);
    const note = text.trim();
    const file = join(dir, NOTES);
    if (!note) rmSync(file, { force: true });
    else {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, note + '\n');
      renameSync(tmp, file);
    }
    return note;
  }

  /** Removes a run's directory; the caller makes sure it is not live. */
  remove(id: string): boolean {
    const dir = this.path(id);
    if (!existsSync(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  }

  /**
   * Streams events [from, until) of a journal in batches. A torn last line (the
   * writer was killed) ends the stream quietly, as the journal reader does.
   */
  async stream(
    runId: string,
    opts: { from?: number; until?: number; signal?: { cancelled: boolean } },
    onBatch: (from: number, events: RunEvent[], lines: string[]) => Promise<void> | void,
  ): Promise<{ trailer: RunTrailer | null; truncated: boolean; next: number }> {
    const from = opts.from ?? 0;
    const until = opts.until ?? Infinity;
    let index = -1;
    let batch: RunEvent[] = [];
    let lines: string[] = [];
    let batchFrom = from;
    let trailer: RunTrailer | null = null;
    let truncated = false;
    await forEachLine(this.journalPath(runId), opts.signal, async (line, last) => {
      if (index >= until) return false;
      let v: { kind?: string };
      try {
        v = JSON.parse(line) as { kind?: string };
      } catch {
        if (last) {
          truncated = true;
          return false;
        }
        throw new ApiError('bad-request', `run ${runId}: journal line ${index + 2} is not JSON`);
      }
      if (index === -1) {
        index = 0;
        return true;
      }
      if (v.kind === 'end') {
        trailer = v as RunTrailer;
        return false;
      }
      if (index >= from) {
        if (!batch.length) batchFrom = index;
        batch.push(v as RunEvent);
        lines.push(line);
        if (batch.length >= BATCH) {
          await onBatch(batchFrom, batch, lines);
          batch = [];
          lines = [];
        }
      }
      index++;
      return true;
    });
    if (batch.length) await onBatch(batchFrom, batch, lines);
    return { trailer, truncated, next: Math.max(index, from) };
  }

  /**
   * What every lane was doing at time t, and the scheduling trace of the
   * kernel report at t. With the line's event index, a suite's phases are
   * kept apart: a phase ends at its finding and the next one starts at the
   * same instant, so time alone would mix the two phases' lanes.
   */
  async inflight(runId: string, t: number, at?: number): Promise<InflightResult> {
    const lanes = new Map<string, LaneActivity>();
    let trace: InflightResult['trace'];
    // Index range of the phase that logged the line: [segStart, segEnd).
    let segStart = 0;
    let segEnd = Infinity;
    if (at !== undefined) {
      await this.stream(runId, {}, (from, events) => {
        events.forEach((e, k) => {
          const i = from + k;
          if (e.kind === 'phase') {
            if (i <= at) segStart = i;
            else if (i < segEnd) segEnd = i;
          }
        });
      });
    }
    await this.stream(runId, {}, (from, events) => {
      for (let k = 0; k < events.length; k++) {
        const e = events[k]!;
        const i = from + k;
        if (i < segStart || i >= segEnd) continue;
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
      }
    });
    const list = [...lanes.values()].sort((a, b) => Number(b.inFlight) - Number(a.inFlight) || a.lane.localeCompare(b.lane));
    return { t, lanes: list, ...(trace ? { trace } : {}) };
  }
}

/** Calls fn for each line; `last` is true for a final line without a newline. fn returns false to stop. */
async function forEachLine(file: string, signal: { cancelled: boolean } | undefined, fn: (line: string, last: boolean) => Promise<boolean> | boolean): Promise<void> {
  const size = statSync(file).size;
  if (!size) return;
  // Whether the file (as far as we read it) ends with a newline decides if its last line is complete.
  // Asked before the line reader exists: readline emits lines as soon as it is created, and
  // lines emitted before the loop below starts iterating would be lost.
  const endsWithNewline = await lastByteIsNewline(file, size);
  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024, end: size - 1 });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let seen = 0;
  try {
    for await (const line of rl) {
      if (signal?.cancelled) break;
      seen += Buffer.byteLength(line, 'utf8') + 1;
      const last = seen >= size && !endsWithNewline;
      if (line === '' && !last) continue;
      if (!(await fn(line, last))) break;
    }
  } finally {
    rl.close();
    input.destroy();
  }
}

async function lastByteIsNewline(file: string, size: number): Promise<boolean> {
  if (!size) return true;
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    await fh.close();
  }
}

/** runs/2026-11-21T05-09-47_demo_sim → 2026-11-21T05:09:47Z; else the directory's time. */
function startedOf(id: string, dir: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)/.exec(id);
  if (m) return `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`;
  try {
    return statSync(dir).birthtime.toISOString();
  } catch {
    return new Date(0).toISOString();
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
