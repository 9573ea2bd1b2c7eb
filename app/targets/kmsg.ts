// Kernel log records as KlogEvents on the run clock. /dev/kmsg timestamps
// come from the kernel's local_clock(), which runs with CLOCK_MONOTONIC (it
// differs only across suspend), so a record's time on the run clock is
// its timestamp minus the agent's CLOCK_MONOTONIC at run start.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { KlogEvent, KlogSource } from '../events/types.js';

export interface KmsgRecord {
  level: number;
  seq?: number;
  /** Kernel timestamp, microseconds. */
  usec: number;
  text: string;
}

/** One /dev/kmsg record: "prio,seq,usec,flags[,...];text\n KEY=val..." (continuation lines dropped). */
export function parseKmsgRecord(raw: string): KmsgRecord | undefined {
  const semi = raw.indexOf(';');
  if (semi < 0) return undefined;
  const head = raw.slice(0, semi).split(',');
  if (head.length < 3) return undefined;
  const prio = Number(head[0]);
  const seq = Number(head[1]);
  const usec = Number(head[2]);
  if (!Number.isFinite(prio) || !Number.isFinite(usec)) return undefined;
  const body = raw.slice(semi + 1).split('\n')[0]!;
  return { level: prio & 7, seq, usec, text: unescapeKmsg(body) };
}

/** Console or dmesg line: "[   12.345678] text", optionally prefixed by "<level>". */
export function parseConsoleLine(line: string): KmsgRecord | undefined {
  const m = /^(?:<(\d)>)?\[\s*(\d+)\.(\d{1,9})\]\s?(.*)$/.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const frac = m[3]!.padEnd(6, '0').slice(0, 6);
  return { level: m[1] !== undefined ? Number(m[1]) : 6, usec: Number(m[2]) * 1e6 + Number(frac), text: m[4]! };
}

/**
 * The console's lines the kernel log did not deliver: those stamped after
 * `afterUs`, and at `afterUs` those whose text the log did not have (an oops
 * stamps all its lines with one time, so a cut by time alone would drop all
 * but its first lines).
 */
export function consoleAfter(console: string, afterUs: number, seenAtLast: Set<string>): KmsgRecord[] {
  const out: KmsgRecord[] = [];
  for (const line of console.split('\n')) {
    const c = parseConsoleLine(line);
    if (c && (c.usec > afterUs || (c.usec === afterUs && !seenAtLast.has(c.text)))) out.push(c);
  }
  return out;
}

function unescapeKmsg(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function toKlogEvent(r: KmsgRecord, t0ns: number, source: KlogSource): KlogEvent {
  return { kind: 'klog', t: Math.round(r.usec * 1000 - t0ns), level: r.level, text: r.text, ktime: r.usec, source };
}

const SYNC = /^stresslab-agent: clock sync (\d+)$/;

/**
 * Puts kernel-log records on the run clock. The kernel stamps records with its
 * local_clock(), which need not agree with the agent's CLOCK_MONOTONIC (an
 * emulated guest drifts by tens of milliseconds), so the agent writes its own
 * time into the log every second ("stresslab-agent: clock sync <ns>"); each
 * record is mapped through the latest such line before it. Until the first one
 * (or where the agent may not write to the log) the clocks are taken to agree.
 * The sync lines themselves are consumed, not reported.
 */
export class KlogAligner {
  private t0 = 0;
  /** kernel ns and agent ns of the latest sync line */
  private sync?: { k: number; a: number };
  /** Records seen before the first sync line; mapped through it when it comes. */
  private early: KmsgRecord[] = [];
  private waiting = true;

  constructor(private readonly source: KlogSource) {}

  start(t0ns: number): void {
    this.t0 = t0ns;
  }

  /** Events for one record: none for a sync line; records before the first sync wait for it. */
  push(r: KmsgRecord): KlogEvent[] {
    const m = SYNC.exec(r.text);
    if (m) {
      this.sync = { k: r.usec * 1000, a: Number(m[1]) };
      this.waiting = false;
      return this.early.splice(0).map((x) => this.map(x));
    }
    if (this.waiting) {
      this.early.push(r);
      return [];
    }
    return [this.map(r)];
  }

  /** Stop waiting for a sync line (the agent may not write to the log): map what waited as is. */
  flush(): KlogEvent[] {
    this.waiting = false;
    return this.early.splice(0).map((x) => this.map(x));
  }

  private map(r: KmsgRecord): KlogEvent {
    const agentNs = this.sync ? r.usec * 1000 - this.sync.k + this.sync.a : r.usec * 1000;
    return { kind: 'klog', t: Math.round(agentNs - this.t0), level: r.level, text: r.text, ktime: r.usec, source: this.source };
  }
}
export type KmsgOpen = { ok: true; reader: KmsgReader } | { ok: false; why: string };

/**
 * Reads this machine's /dev/kmsg from a checkpoint: everything already in the
 * buffer when `open` is called is skipped, later records are delivered by `poll`.
 */
export class KmsgReader {
  private readonly buf = Buffer.alloc(16384);

  private constructor(private fd: number) {}

  static open(path = '/dev/kmsg'): KmsgOpen {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'EACCES' || code === 'EPERM'
          ? `cannot read the kernel log (${path}: permission denied); run as root, add CAP_SYSLOG, or set kernel.dmesg_restrict=0`
          : `cannot read the kernel log (${path}: ${code ?? (e as Error).message})`;
      return { ok: false, why };
    }
    const r = new KmsgReader(fd);
    r.poll(); // the checkpoint: drop what is already there
    return { ok: true, reader: r };
  }

  /** Records that arrived since the last call. */
  poll(): KmsgRecord[] {
    const out: KmsgRecord[] = [];
    if (this.fd < 0) return out;
    for (let i = 0; i < 100000; i++) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue; // records were overwritten before we read them; go on with the next
        break;
      }
      if (n <= 0) break;
      const r = parseKmsgRecord(this.buf.toString('utf8', 0, n));
      if (r) out.push(r);
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
