// Reading a journal back, as untrusted input and in bounded memory: the file
// is read in chunks and split into lines (memory: one chunk and the longest
// line, never the whole file), every line is checked (lines.ts), the header's
// scenario as strictly as a preset. A torn last line (the writer was killed
// mid-write) is expected and tolerated; damage anywhere else is reported
// with its line number. A journal without its closing line was cut short
// (a crash, kill -9, a full disk): readers use what is there and say so.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { RunHeader, RunTrailer, RunEvent } from '../events/types.js';
import { checkEvent, checkHeader, LineError } from './lines.js';

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

/** The longest line a journal may have (a header carries a whole scenario: presets are at most 1 MiB). */
export const MAX_LINE = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

export interface JournalInfo {
  header: RunHeader;
  trailer: RunTrailer | null;
  /** The last line was cut short (the writer died mid-line). */
  truncated: boolean;
  /** Events after the header (the trailer not counted). */
  eventCount: number;
  /** Complete lines read, header and trailer included. */
  lines: number;
  /** The journal sampled repetitive events (its preset bounded its size): 1 in `keep` at the most. */
  keep: number;
  /** The journal reached its size bound and stopped taking lines. */
  full: boolean;
}

/** A small journal read whole (tests, short runs); large ones go through readJournal's visitor. */
export interface Journal extends JournalInfo {
  events: RunEvent[];
}

/** Splits bytes into lines; memory is the chunk plus the unfinished line. */
class LineSplitter {
  private parts: Buffer[] = [];
  private partLen = 0;
  lineNo = 0;

  constructor(private readonly file: string) {}

  /** Complete lines in `chunk` (with what was left over before it). */
  *feed(chunk: Buffer): Generator<string> {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line: string;
      if (this.partLen) {
        this.parts.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        this.partLen = 0;
      } else line = chunk.toString('utf8', start, nl);
      this.lineNo++;
      yield line;
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.partLen += chunk.length - start;
      if (this.partLen > MAX_LINE) throw new JournalError(`${this.file}:${this.lineNo + 1}: a line longer than ${MAX_LINE >> 20} MiB (is this a stresslab journal?)`);
      // Copied: the caller reuses its chunk buffer.
      this.parts.push(Buffer.from(chunk.subarray(start)));
    }
  }

  /** What is left after the last newline: a torn line, or nothing. */
  rest(): string | null {
    if (!this.partLen) return null;
    const s = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.partLen = 0;
    return s;
  }
}

/**
 * Checks lines one by one and keeps the journal's state; `take` returns the
 * event to hand on, or undefined for the header and trailer.
 */
class LineChecker {
  header: RunHeader | null = null;
  trailer: RunTrailer | null = null;
  events = 0;
  lines = 0;
  keep = 1;
  full = false;

  constructor(private readonly file: string) {}

  take(line: string, no: number, last: boolean): RunEvent | undefined | 'torn' {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (last) return 'torn';
      throw new JournalError(`${this.file}:${no}: not a JSON line: ${JSON.stringify(line.slice(0, 60))}`);
    }
    try {
      if (!this.header) {
        this.header = checkHeader(v);
        this.lines++;
        return undefined;
      }
      if (this.trailer) throw new LineError(`a line after the run's closing "end" line`);
      const e = checkEvent(v);
      this.lines++;
      if (e.kind === 'end') {
        this.trailer = e;
        return undefined;
      }
      if (e.kind === 'note' && e.journal) {
        if (e.journal.keep) this.keep = Math.max(this.keep, e.journal.keep);
        if (e.journal.full) this.full = true;
      }
      this.events++;
      return e;
    } catch (err) {
      if (err instanceof LineError) throw new JournalError(`${this.file}:${no}: ${err.message}`);
      throw err;
    }
  }

  info(truncated: boolean): JournalInfo {
    if (!this.header) throw new JournalError(`${this.file}: ${truncated ? 'the journal was cut inside its first line (the header): nothing to read' : 'empty: no run header'}`);
    return { header: this.header, trailer: this.trailer, truncated, eventCount: this.events, lines: this.lines, keep: this.keep, full: this.full };
  }
}

/** Called with each event, its index among the lines after the header, and the line as written. */
export type Visitor = (e: RunEvent, index: number, line: string) => void | false | Promise<void | false>;

/**
 * Reads a journal of any size, calling `visit` with each event (index: its
 * position among the lines after the header); `visit` returns false to stop.
 * Resolves with what the journal holds. `signal.cancelled` stops early.
 */
export async function readJournal(path: string, visit?: Visitor, opts: { signal?: { cancelled: boolean } } = {}): Promise<JournalInfo> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new JournalError(`cannot read journal ${path}: ${(e as Error).message}`);
  }
  const split = new LineSplitter(path);
  const check = new LineChecker(path);
  const buf = Buffer.alloc(CHUNK);
  let truncated = false;
  try {
    outer: for (;;) {
      if (opts.signal?.cancelled) break;
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (!bytesRead) break;
      for (const line of split.feed(buf.subarray(0, bytesRead))) {
        const e = check.take(line, split.lineNo, false);
        if (e && e !== 'torn' && visit && (await visit(e, check.events - 1, line)) === false) break outer;
      }
    }
    const rest = split.rest();
    if (rest !== null) {
      const e = check.take(rest, split.lineNo + 1, true);
      if (e === 'torn') truncated = true;
      else if (e && visit) await visit(e, check.events - 1, rest);
    }
  } catch (e) {
    if (e instanceof JournalError) throw e;
    throw new JournalError(`cannot read journal ${path}: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
  return check.info(truncated);
}

/** The header alone, checked (reads only as far as the first line, of at most `maxLine` bytes). */
export async function readHeader(path: string, maxLine = MAX_LINE): Promise<RunHeader> {
  const fh = await open(path, 'r').catch((e: Error) => {
    throw new JournalError(`cannot read journal ${path}: ${e.message}`);
  });
  const split = new LineSplitter(path);
  const check = new LineChecker(path);
  const buf = Buffer.alloc(64 * 1024);
  let read = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (!bytesRead) break;
      read += bytesRead;
      if (read > maxLine + buf.length) throw new JournalError(`${path}: the first line is longer than ${maxLine >> 20} MiB`);
      for (const line of split.feed(buf.subarray(0, bytesRead))) {
        check.take(line, split.lineNo, false);
        return check.header!;
      }
    }
  } finally {
    await fh.close();
  }
  return check.info(split.rest() !== null).header;
}

/**
 * A file's lines as written, read synchronously in bounded memory, without
 * parsing (a replay compares journals line for line). `torn` is set when the
 * last line had no newline: it is returned with `last` true.
 */
export class RawLines {
  private readonly fd: number;
  private readonly split: LineSplitter;
  private readonly buf = Buffer.alloc(CHUNK);
  private queue: string[] = [];
  private qi = 0;
  private eof = false;
  /** The line last returned was the file's unfinished last line. */
  last = false;
  lineNo = 0;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new JournalError(`cannot read journal ${path}: ${(e as Error).message}`);
    }
    this.split = new LineSplitter(path);
  }

  next(): string | undefined {
    while (this.qi >= this.queue.length) {
      if (this.eof) return undefined;
      this.queue = [];
      this.qi = 0;
      const n = readSync(this.fd, this.buf, 0, CHUNK, null);
      if (!n) {
        this.eof = true;
        this.close();
        const rest = this.split.rest();
        if (rest === null) return undefined;
        this.last = true;
        this.lineNo++;
        return rest;
      }
      for (const line of this.split.feed(this.buf.subarray(0, n))) this.queue.push(line);
    }
    this.lineNo++;
    return this.queue[this.qi++];
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* closed already */
    }
  }
}

/** Size of a journal file, for messages. */
export function journalSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A small journal from text, checked line by line as any other (tests, short runs). */
export function parseJournal(text: string, file = 'journal'): Journal {
  const split = new LineSplitter(file);
  const check = new LineChecker(file);
  const events: RunEvent[] = [];
  for (const line of split.feed(Buffer.from(text))) {
    const e = check.take(line, split.lineNo, false);
    if (e && e !== 'torn') events.push(e);
  }
  let truncated = false;
  const rest = split.rest();
  if (rest !== null) {
    const e = check.take(rest, split.lineNo + 1, true);
    if (e === 'torn') truncated = true;
    else if (e) events.push(e);
  }
  return { ...check.info(truncated), events };
}
