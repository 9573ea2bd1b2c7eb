// Finding kernel trouble in a stream of kernel log lines and cutting out its
// whole report: a panic, an oops, a BUG, a WARNING, a hung task, a lockup, a
// sanitizer report. Only the boundaries are decided here (which line starts a
// report, which ends it); what a report means is for the analysis layer's
// kernel-log classifier. Used on the serial console (the only place a panic's
// text survives) and on the /dev/kmsg stream (non-fatal reports).

export type TroubleKind = 'panic' | 'oops' | 'bug' | 'kasan' | 'ubsan' | 'warning' | 'hung-task' | 'soft-lockup' | 'rcu-stall';

export interface KernelTrouble {
  kind: TroubleKind;
  /** The line that started the report, e.g. "BUG: kernel NULL pointer dereference, address: 0000000000000000". */
  title: string;
  /** For a report that ended in a panic: the panic line's reason. */
  panic?: string;
  /** The report's lines, timestamps stripped. */
  text: string;
  /** Guest timestamp of the first line, µs. */
  ktimeUs?: number;
}

const STARTS: [RegExp, TroubleKind][] = [
  [/^Kernel panic - not syncing: /, 'panic'],
  [/^BUG: KASAN: /, 'kasan'],
  [/^UBSAN: /, 'ubsan'],
  [/^watchdog: BUG: soft lockup/, 'soft-lockup'],
  [/^rcu: INFO: rcu_\w+ (self-)?detected stall/, 'rcu-stall'],
  [/^INFO: task \S+ blocked for more than \d+ seconds/, 'hung-task'],
  [/^BUG: (kernel NULL pointer dereference|unable to handle page fault|unable to handle kernel)/, 'oops'],
  [/^general protection fault/, 'oops'],
  [/^Oops: /, 'oops'],
  [/^kernel BUG at /, 'bug'],
  // SLUB debug ("BUG kmalloc-128 (Tainted: …): Object already free") and list debugging
  [/^BUG [\w.:-]+ \((?:Not tainted|Tainted: [^)]*)\): /, 'bug'],
  [/^list_(?:del|add) corruption/, 'bug'],
  [/^BUG: /, 'bug'],
  [/^WARNING: CPU: \d+ PID: \d+ at /, 'warning'],
];

export function troubleStart(text: string): TroubleKind | undefined {
  for (const [re, kind] of STARTS) if (re.test(text)) return kind;
  return undefined;
}

const END = /^---\[ end (trace|Kernel panic)/;
/** Lines that continue the report in progress rather than start a new one. */
const CONTINUES = /^(Oops: |invalid opcode: |Kernel panic - not syncing: )/;
const MAX_LINES = 4000;
/** Lines an oops may print after its "end trace" (the registers again) before the panic it causes. */
const AFTER_END = 24;

/** "[   12.345678] text" -> { ktimeUs, text }; lines without a timestamp pass through. */
export function splitTimestamp(line: string): { ktimeUs?: number; text: string } {
  const m = /^\[\s*(\d+)\.(\d{6})\] ?(.*)$/.exec(line);
  if (!m) return { text: line };
  return { ktimeUs: Number(m[1]) * 1e6 + Number(m[2]), text: m[3]! };
}

interface Open {
  kind: TroubleKind;
  title: string;
  panic?: string;
  lines: string[];
  ktimeUs?: number;
}

/**
 * Collects reports from lines fed in order. A report ends at its
 * "---[ end ..." line, when another one starts, or when the owner calls
 * close() (after a quiet spell, or when the stream ends).
 */
export class TroubleCollector {
  private open: Open | undefined;
  /** The report closed last, and the lines seen since: an oops ends its trace before it panics. */
  private lastClosed: Open | undefined;
  private since: string[] = [];

  constructor(private readonly onReport: (t: KernelTrouble) => void) {}

  get inReport(): boolean {
    return this.open !== undefined;
  }

  /** The report being collected, so far (a panic in progress when the guest died). */
  peek(): KernelTrouble | undefined {
    return this.open && toTrouble(this.open);
  }

  line(text: string, ktimeUs?: number): void {
    const kind = troubleStart(text);
    const listBug = this.open && /^list_(?:del|add) corruption/.test(this.open.title) && /^kernel BUG at lib\/list_debug\.c/.test(text);
    if (this.open && kind && (CONTINUES.test(text) || listBug)) {
      // An oops or BUG that goes on to panic is one report: the panic is its outcome.
      if (kind === 'panic') {
        this.open.panic = text.replace(/^Kernel panic - not syncing: /, '');
        this.open.kind = 'panic';
      }
      this.push(text);
      return;
    }
    if (kind === 'panic' && !this.open && this.lastClosed && this.since.length <= AFTER_END) {
      // "Fatal exception" after an oops: one crash, told from its first line. Kernels
      // since 5.x print the registers again between "end trace" and the panic.
      this.open = { ...this.lastClosed, lines: [...this.lastClosed.lines, ...this.since, text], kind: 'panic' };
      this.open.panic = text.replace(/^Kernel panic - not syncing: /, '');
      this.lastClosed = undefined;
      return;
    }
    if (kind) {
      this.close();
      this.open = { kind, title: text, lines: [text], ktimeUs };
      if (kind === 'panic') this.open.panic = text.replace(/^Kernel panic - not syncing: /, '');
      return;
    }
    if (!this.open) {
      if (this.lastClosed && this.since.length <= AFTER_END) this.since.push(text);
      return;
    }
    this.push(text);
    if (END.test(text)) this.close();
  }

  private push(text: string): void {
    if (this.open && this.open.lines.length < MAX_LINES) this.open.lines.push(text);
  }

  close(): void {
    if (!this.open) return;
    const t = toTrouble(this.open);
    this.lastClosed = this.open;
    this.since = [];
    this.open = undefined;
    this.onReport(t);
  }
}

function toTrouble(o: Open): KernelTrouble {
  const t: KernelTrouble = { kind: o.kind, title: o.title, text: o.lines.join('\n') + '\n' };
  if (o.panic !== undefined) t.panic = o.panic;
  if (o.ktimeUs !== undefined) t.ktimeUs = o.ktimeUs;
  return t;
}
