// Kernel-log findings: each report (KASAN, oops, BUG, WARNING, hung task)
// becomes one finding carrying its text, what was in flight, and, on the
// simulated kernel, the interleaving that led to it.
import type { Finding, KlogEvent, RunEvent } from '../../events/types.js';
import type { AnalysisContext, Detector } from '../context.js';
import { type HeaderMatch, isContinuation, isEndMarker, matchHeader, ripFunction } from '../klog.js';
import { type SafePattern, compilePattern } from '../../vocabulary/safe-pattern.js';

interface OpenReport {
  header: HeaderMatch;
  first: KlogEvent;
  lines: string[];
  lastT: number;
  finding: Finding | null;
}

/** A report with no new line for this long is complete. */
const QUIET = 1e9;
const MAX_LINES = 400;

export class KlogDetector implements Detector {
  readonly name = 'klog';
  private open: OpenReport | null = null;
  /** A "=====" line seen just before a KASAN header belongs to its report. */
  private pendingSeparator: KlogEvent | null = null;
  private readonly ignore: SafePattern[];
  lines = 0;
  errors = 0;

  constructor(private readonly ctx: AnalysisContext, ignore: string[] = []) {
    // Linear-time matching: a preset's pattern cannot stall the run (safe-pattern.ts).
    this.ignore = ignore.map((p) => compilePattern(p));
  }

  feed(e: RunEvent): Finding[] | void {
    if (e.kind === 'act') {
      if (this.open && e.t - this.open.lastT > QUIET) return this.close();
      return;
    }
    if (e.kind !== 'klog') return;
    this.lines++;
    if (e.level <= 3) this.errors++;
    const text = e.text;
    const out: Finding[] = [];
    let header = isContinuation(text) && this.open ? undefined : matchHeader(text);
    // Symbolised reports (syzbot) repeat the header once per inlined frame;
    // the last one names the real function.
    if (header && this.open && this.open.lines.length <= 4 && header.type === this.open.header.type && /^BUG: KASAN:/.test(text)) {
      this.open.lines.push(text);
      this.open.header = header;
      header = undefined;
      return;
    }
    if (header) {
      out.push(...this.close());
      if (!this.ignore.some((re) => re.test(text))) {
        this.open = { header, first: this.pendingSeparator ?? e, lines: this.pendingSeparator ? [this.pendingSeparator.text, text] : [text], lastT: e.t, finding: null };
        if (!this.open.first.trace && e.trace) this.open.first = { ...this.open.first, trace: e.trace, ...(e.involved ? { involved: e.involved } : {}) };
      }
      this.pendingSeparator = null;
      return out;
    }
    if (this.open) {
      if (this.open.lines.length < MAX_LINES) this.open.lines.push(text);
      this.open.lastT = e.t;
      if (!this.open.header.where) {
        const f = ripFunction(text);
        if (f) this.open.header = { ...this.open.header, where: f };
      }
      if (isEndMarker(text) && !/^={60,}$/.test(text)) return this.close();
      if (/^={60,}$/.test(text) && this.open.lines.length > 2) return this.close();
      return;
    }
    this.pendingSeparator = /^={60,}$/.test(text) ? e : null;
  }

  finish(): Finding[] {
    return this.close();
  }

  private close(): Finding[] {
    const o = this.open;
    this.open = null;
    if (!o) return [];
    const h = o.header;
    // What was in flight as far as known when the report closed: actions
    // seen to span its first line. A finding is final once emitted, so the
    // journal and summary.json say the same.
    const f = this.ctx.finding(h.type, o.first.t, h.where && !h.summary.includes(h.where) ? `${h.summary} (in ${h.where})` : h.summary, {
      klog: o.lines,
      evidence: { source: o.first.source, ...(o.first.ktime !== undefined ? { ktime: o.first.ktime } : {}), function: h.where || undefined },
      inflight: this.ctx.inflightAt(o.first.t),
      ...(o.first.trace ? { interleaving: o.first.trace } : {}),
      ...(o.first.involved ? { involved: o.first.involved } : {}),
    });
    return [f];
  }
}
