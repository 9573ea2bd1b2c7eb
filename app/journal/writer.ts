// The run journal: append-only JSON lines, written in small batches (at
// least every 100 ms) with fdatasync, so that a kill -9 or a power cut
// leaves everything up to the last batch readable. The last moments before
// a crash are the most valuable data a run has.
//
// A write that fails (the disk is full, the device went away) ends the
// journal where it stands: nothing is appended after a failed or partial
// write, so the file stays readable up to that point (at worst a torn last
// line, which readers expect), and the owner is told once.
//
// A preset may bound the journal's size (`journal: {max_size, sample_after}`,
// see README.md in this folder): past sample_after, repetitive lines
// (successful operations, metric samples) are sampled, each kept operation
// carrying the count it stands for (`w`), so counts read back exactly; at
// max_size the journal stops taking lines and says so.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ActionEvent, JournalLine, NoteEvent, SkippedOps } from '../events/types.js';
import type { JournalLimits } from '../vocabulary/scenario.js';
import { mkdirp } from './out-path.js';

export interface JournalWriterOptions {
  /** Flush at least this often, ms. */
  intervalMs?: number;
  /** Flush when this many bytes are buffered. */
  maxBuffer?: number;
  /** fdatasync after each flush (off for throwaway runs, e.g. benchmarks). */
  sync?: boolean;
  /** Size bound and sampling (the preset's `journal:`). */
  limits?: JournalLimits;
  /** Called once when a write fails; the journal takes nothing more. */
  onFailure?: (f: JournalFailure) => void;
}

export interface JournalFailure {
  /** errno code (ENOSPC, EIO, EROFS, ...) or "ERROR". */
  code: string;
  message: string;
  /** Lines before the failed write are in the file. */
  linesWritten: number;
  bytesWritten: number;
}

/** Sampling a key keeps 1 in 4^level of its lines. */
const SAMPLE_BASE = 4;
/** Skipped-operation entries per tail line. */
const SKIPPED_PER_LINE = 400;

interface Pending {
  lane: string;
  iter: number;
  step: number;
  op: string;
  handle?: string;
  /** Lines skipped since the last kept one. */
  n: number;
  /** Lines seen in total (decides which are kept). */
  seen: number;
}

export class JournalWriter {
  private fd: number;
  private buf: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  readonly path: string;
  private readonly maxBuffer: number;
  private readonly sync: boolean;
  private readonly limits?: JournalLimits;
  private readonly onFailure?: (f: JournalFailure) => void;
  private readonly listeners = new Set<(line: string, index: number) => void>();
  /** Lines accepted (header included). */
  lines = 0;
  /** Bytes accepted (buffered or written). */
  size = 0;
  /**
   * Bytes of events accepted (the header not counted): what the size bound
   * and sampling go by, so a replay, whose header says "replay", writes the
   * same journal as the run it replays.
   */
  body = 0;
  /** Bytes known to be in the file. */
  written = 0;
  private linesWritten = 0;
  failure: JournalFailure | null = null;
  /** Current sampling level (0: everything kept). */
  level = 0;
  /** The size bound was reached: nothing but the closing lines is taken any more. */
  full = false;
  /** Lines left out by sampling or after the journal was full. */
  dropped = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly metricSeen = new Map<string, number>();

  constructor(path: string, o: JournalWriterOptions = {}) {
    mkdirp(dirname(path));
    this.path = path;
    // A new run in a directory replaces what was there, as summary.json is replaced: two
    // runs appended into one journal would not read back as either.
    this.fd = openSync(path, 'w');
    this.maxBuffer = o.maxBuffer ?? 256 * 1024;
    this.sync = o.sync ?? true;
    if (o.limits) this.limits = o.limits;
    if (o.onFailure) this.onFailure = o.onFailure;
    this.timer = setInterval(() => this.flush(), o.intervalMs ?? 100);
    this.timer.unref();
  }

  /** Every line as it enters the journal, with its index among the lines after the header. */
  onLine(fn: (line: string, index: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Room kept at the end for the closing lines (the "full" note, skipped counts, the trailer). */
  private get reserve(): number {
    const max = this.limits!.maxBytes;
    return Math.min(4 * 1024 * 1024, Math.max(16 * 1024, Math.floor(max / 32)));
  }

  /** Appends a line (or, under a size bound, may leave it out). False once the journal is closed, failed or full. */
  write(line: JournalLine): boolean {
    if (this.closed || this.failure) return false;
    if (this.limits && line.kind !== 'run' && line.kind !== 'end') {
      if (this.full) {
        this.dropped++;
        return false;
      }
      if (this.body >= this.limits.maxBytes - this.reserve) {
        this.full = true;
        this.dropped++;
        this.append({ kind: 'note', t: line.t, level: 'warn', text: `journal full: its events reached ${this.body} bytes of their max_size of ${this.limits.maxBytes}; nothing more is recorded in it (summary.json counts every event)`, journal: { full: true } });
        return false;
      }
      this.updateLevel(line.t);
      if (this.level > 0) {
        if (line.kind === 'act' && line.ret >= 0 && !line.errno) return this.sampleAct(line);
        if (line.kind === 'metric') {
          const key = `${line.name}\u0000${line.handle ?? ''}\u0000${line.lane ?? ''}`;
          const seen = (this.metricSeen.get(key) ?? 0) + 1;
          this.metricSeen.set(key, seen);
          if (seen % SAMPLE_BASE ** this.level !== 0) {
            this.dropped++;
            return false;
          }
        }
      }
    }
    this.append(line);
    return true;
  }

  private updateLevel(t: number): void {
    const { maxBytes, sampleAfter } = this.limits!;
    if (this.body < sampleAfter) return;
    // Each level takes half of the room left: the journal approaches max_size but
    // covers ever longer stretches of the run, since each level keeps a quarter as much.
    const room = Math.max(1, maxBytes - this.reserve - sampleAfter);
    const left = Math.max(1, maxBytes - this.reserve - this.body);
    const level = Math.min(12, 1 + Math.floor(Math.log2(room / left)));
    if (level <= this.level) return;
    this.level = level;
    const keep = SAMPLE_BASE ** level;
    this.append({ kind: 'note', t, level: 'info', text: `journal: past ${this.body} bytes of events, 1 in ${keep} successful operations of each step (and metric samples) is kept from here; each kept operation carries in "w" how many it stands for`, journal: { keep } });
  }

  private sampleAct(a: ActionEvent): boolean {
    const key = `${a.lane}\u0000${a.iter < 0 ? a.iter : 0}\u0000${a.step}`;
    let p = this.pending.get(key);
    if (!p) this.pending.set(key, (p = { lane: a.lane, iter: a.iter < 0 ? a.iter : 0, step: a.step, op: a.op, ...(a.handle !== undefined ? { handle: a.handle } : {}), n: 0, seen: 0 }));
    p.seen++;
    if (p.seen % SAMPLE_BASE ** this.level !== 0) {
      p.n++;
      this.dropped++;
      return false;
    }
    this.append(p.n ? { ...a, w: p.n + 1 } : a);
    p.n = 0;
    return true;
  }

  /** `publish`: hand the line to onLine listeners (events only: not the header or the trailer). */
  private append(line: JournalLine, publish = true): void {
    const s = JSON.stringify(line) + '\n';
    this.buf.push(s);
    this.bytes += s.length;
    const n = Buffer.byteLength(s);
    this.size += n;
    const index = this.lines - 1;
    if (index >= 0) this.body += n;
    this.lines++;
    if (index >= 0 && publish) for (const l of this.listeners) l(s.slice(0, -1), index);
    if (this.bytes >= this.maxBuffer) this.flush();
  }

  flush(): void {
    if (!this.buf.length || this.closed || this.failure) return;
    const data = Buffer.from(this.buf.join(''));
    const lines = this.buf.length;
    this.buf = [];
    this.bytes = 0;
    let off = 0;
    try {
      // write() may take part of a buffer (a disk filling up): write the rest, or fail.
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
      if (this.sync) fdatasyncSync(this.fd);
      this.written += data.length;
      this.linesWritten += lines;
    } catch (e) {
      this.written += off;
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    const err = e as NodeJS.ErrnoException;
    this.failure = { code: err.code ?? 'ERROR', message: err.message ?? String(e), linesWritten: this.linesWritten, bytesWritten: this.written };
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      closeSync(this.fd);
    } catch {
      /* the failure is what matters */
    }
    this.onFailure?.(this.failure);
  }

  /** Operations sampled away since the last kept line of their step, as closing lines (before the trailer). */
  private flushSkipped(t: number): void {
    const items: SkippedOps[] = [];
    for (const p of this.pending.values()) if (p.n) items.push({ lane: p.lane, iter: p.iter, step: p.step, op: p.op, ...(p.handle !== undefined ? { handle: p.handle } : {}), n: p.n });
    for (let i = 0; i < items.length; i += SKIPPED_PER_LINE) {
      const chunk = items.slice(i, i + SKIPPED_PER_LINE);
      const note: NoteEvent = { kind: 'note', t, level: 'info', text: `journal: ${chunk.reduce((a, x) => a + x.n, 0)} successful operation(s) of ${chunk.length} step(s) were sampled away after their last kept line`, journal: { skipped: chunk } };
      this.append(note);
    }
    for (const p of this.pending.values()) p.n = 0;
  }

  /** Writes the closing line (the trailer), after the counts sampling left over. */
  end(trailer: JournalLine & { kind: 'end' }): void {
    if (this.closed || this.failure) return;
    if (this.limits) this.flushSkipped(trailer.t);
    this.append(trailer, false);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (!this.failure)
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
  }
}
