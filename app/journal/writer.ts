// The run journal: append-only JSON lines, written in small batches (at
// least every 100 ms) with fdatasync, so that a kill -9 or a power cut
// leaves everything up to the last batch readable. The last moments before
// a crash are the most valuable data a run has.
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JournalLine } from '../events/types.js';

export interface JournalWriterOptions {
  /** Flush at least this often, ms. */
  intervalMs?: number;
  /** Flush when this many bytes are buffered. */
  maxBuffer?: number;
  /** fdatasync after each flush (off for throwaway runs, e.g. benchmarks). */
  sync?: boolean;
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
  lines = 0;

  constructor(path: string, o: JournalWriterOptions = {}) {
    mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.fd = openSync(path, 'a');
    this.maxBuffer = o.maxBuffer ?? 256 * 1024;
    this.sync = o.sync ?? true;
    this.timer = setInterval(() => this.flush(), o.intervalMs ?? 100);
    this.timer.unref();
  }

  write(line: JournalLine): void {
    if (this.closed) throw new Error(`journal ${this.path} is closed`);
    const s = JSON.stringify(line) + '\n';
    this.buf.push(s);
    this.bytes += s.length;
    this.lines++;
    if (this.bytes >= this.maxBuffer) this.flush();
  }

  flush(): void {
    if (!this.buf.length || this.closed) return;
    const data = this.buf.join('');
    this.buf = [];
    this.bytes = 0;
    writeSync(this.fd, data);
    if (this.sync) fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    closeSync(this.fd);
  }
}
