// The guest's kernel log, record by record as /dev/kmsg gives it:
//   "<prio>,<seq>,<usec>,<flags>[,...];<text>\n[ KEY=VALUE\n]..."
// (Documentation/ABI/testing/dev-kmsg). Non-printable bytes arrive escaped as
// \xNN; the text is unescaped here so a message reads as the kernel wrote it.
import type { KlogEvent } from '../events/types.js';

export interface KmsgRecord {
  /** Sequence number: gapless unless the kernel's ring overwrote records. */
  seq: number;
  /** printk level 0 (emerg) .. 7 (debug). */
  level: number;
  facility: number;
  /** Guest monotonic timestamp, microseconds since its boot. */
  tsUs: number;
  text: string;
  /** Continuation of the previous record (flag "c"). */
  cont: boolean;
  /** Device properties (SUBSYSTEM=, DEVICE=) when the kernel attached them. */
  dict?: Record<string, string>;
}

export function parseKmsgRecord(raw: string): KmsgRecord | undefined {
  const semi = raw.indexOf(';');
  if (semi < 0) return undefined;
  const [prio, seq, ts, flags] = raw.slice(0, semi).split(',');
  const p = Number(prio);
  if (!Number.isInteger(p) || seq === undefined || ts === undefined) return undefined;
  const lines = raw.slice(semi + 1).replace(/\n$/, '').split('\n');
  const rec: KmsgRecord = {
    seq: Number(seq),
    level: p & 7,
    facility: p >> 3,
    tsUs: Number(ts),
    text: unescapeKmsg(lines[0] ?? ''),
    cont: (flags ?? '').includes('c'),
  };
  const dict = lines.slice(1).filter((l) => l.startsWith(' ') && l.includes('='));
  if (dict.length) {
    rec.dict = {};
    for (const l of dict) {
      const eq = l.indexOf('=');
      rec.dict[l.slice(1, eq)] = unescapeKmsg(l.slice(eq + 1));
    }
  }
  return rec;
}

export function unescapeKmsg(s: string): string {
  if (!s.includes('\\x')) return s;
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The lab's common event shape (app/events/types.ts); `t` is the caller's run clock in ns. */
export function toKlogEvent(rec: KmsgRecord, t: number): KlogEvent {
  return { kind: 'klog', t, level: rec.level, text: rec.text, ktime: rec.tsUs, source: 'guest' };
}

/** "[   12.345678] text" as dmesg prints it. */
export function formatKmsg(rec: KmsgRecord): string {
  const s = (rec.tsUs / 1e6).toFixed(6).padStart(12);
  return `[${s}] ${rec.text}`;
}

/**
 * Records kept for a guest's lifetime, bounded (a soak can log for hours), with
 * checkpoints: a checkpoint is a sequence number, and "since" means every
 * record after it, as sof-test does with its dmesg checkpoints.
 */
export class KmsgBook {
  private recs: KmsgRecord[] = [];
  private dropped = 0;

  constructor(private readonly limit = 200_000) {}

  add(rec: KmsgRecord): void {
    this.recs.push(rec);
    if (this.recs.length > this.limit) {
      const cut = Math.floor(this.limit / 10);
      this.recs.splice(0, cut);
      this.dropped += cut;
    }
  }

  /** Highest sequence number seen so far (-1 before any record). */
  get lastSeq(): number {
    return this.recs.length ? this.recs[this.recs.length - 1]!.seq : -1;
  }

  /** Records forgotten because of the size bound. */
  get forgotten(): number {
    return this.dropped;
  }

  all(): KmsgRecord[] {
    return [...this.recs];
  }

  since(checkpoint: number): KmsgRecord[] {
    // Records arrive in seq order; search from the end, where checkpoints usually are.
    let i = this.recs.length;
    while (i > 0 && this.recs[i - 1]!.seq > checkpoint) i--;
    return this.recs.slice(i);
  }
}
