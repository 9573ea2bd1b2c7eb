// Runs on disk: runs/<id>/journal.jsonl (+ summary.json once finished), the
// same layout the CLI writes, so the history shows CLI runs too. Journals are
// untrusted input (copied in, cut short, edited) and can be huge: every line
// is checked, and whole-journal questions are answered in worker threads,
// cancelled when the asker goes away.
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { InflightResult, RunHeader, RunInfo, RunSummary } from '../../app/api/types.js';
import { ApiError, RUN_ID } from '../../app/api/validate.js';
import { JournalError, readHeader } from '../../app/journal/reader.js';
import { readSummaryFile } from '../../app/journal/summary-file.js';
import { type Cancel, findingInWorker, inflightInWorker, streamInWorker } from '../workers/journal-tasks.js';
import type { FindingPlace, StreamEnd } from './journal-query.js';

export { BATCH } from './journal-query.js';
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

  /** summary.json, checked (one that is damaged or edited is as good as none). */
  async summary(runId: string): Promise<RunSummary | null> {
    return readSummaryFile(join(this.path(runId), 'summary.json')).summary;
  }

  /** The journal's first line, checked; null while the writer has not flushed it yet. */
  async header(runId: string): Promise<RunHeader | null> {
    const file = this.journalPath(runId);
    try {
      // A header carries a scenario (presets are at most 1 MiB): a longer first line is not one.
      return await readHeader(file, 4 * 1024 * 1024);
    } catch (e) {
      if (e instanceof JournalError) {
        if (/cut inside its first line|empty: no run header/.test(e.message)) return null;
        throw new ApiError('bad-request', `run ${runId}: ${e.message.replace(`${file}: `, '').replace(`${file}:`, 'line ')}`);
      }
      throw e;
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
   * Streams events [from, until) of a journal in batches, as its lines, each
   * checked. The reading happens in a worker thread; a torn last line (the
   * writer was killed) ends the stream quietly. `signal.cancelled` stops it.
   */
  stream(runId: string, opts: { from?: number; until?: number; signal?: Cancel }, onBatch: (from: number, lines: string[]) => Promise<void> | void): Promise<StreamEnd> {
    return streamInWorker(this.journalPath(runId), opts, onBatch);
  }

  /** What every lane was doing at time t (see journal-query.ts), read in a worker thread. */
  inflight(runId: string, t: number, at?: number, signal?: Cancel): Promise<InflightResult> {
    return inflightInWorker(this.journalPath(runId), t, at, signal);
  }

  /** A finding of the run and the suite phase it belongs to, read in a worker thread. */
  finding(runId: string, findingId: string, t?: number, signal?: Cancel): Promise<FindingPlace | null> {
    return findingInWorker(this.journalPath(runId), findingId, t, signal);
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
