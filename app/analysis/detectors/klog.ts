// Kernel-log findings: each report (KASAN, oops, BUG, WARNING, hung task)
// becomes one finding carrying its text, what was in flight, and, on the
// simulated kernel, the interleaving that led to it.
import type { Finding, KlogEvent, RunEvent } from '../../events/types.js';
import type { AnalysisContext, Detector } from '../context.js';
import { culprit, isNotCulprit, type HeaderMatch, isContinuation, isEndMarker, matchHeader, ripFunction } from '../klog.js';
import { type SafePattern, compilePattern } from '../../vocabulary/safe-pattern.js';

interface OpenReport {
  header: HeaderMatch;
  first: KlogEvent;
  lines: string[];
  lastT: number;
  finding: Finding | null;
  /** SLUB: the "=====" line last seen, which may start the next report. */
  heldSeparator?: KlogEvent;
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
  /** When the last report closed (its last line). */
  private closedAt: number | undefined;

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
    if (header && this.open && this.follows(this.open, header, text, e.t)) header = undefined;
    // An oops in interrupt context ends in this panic, after its trace and the
    // registers printed again: the crash is the report already made.
    if (header && !this.open && /^Kernel panic - not syncing: Fatal exception/.test(text) && this.closedAt !== undefined && e.t - this.closedAt <= QUIET) return;
    // Symbolised reports (syzbot) repeat the header once per inlined frame;
    // the last one names the real function.
    if (header && this.open && this.open.lines.length <= 4 && header.type === this.open.header.type && /^BUG: KASAN:/.test(text)) {
      this.open.lines.push(text);
      this.open.header = header;
      header = undefined;
      return;
    }
    if (header) {
      // A separator held inside an open SLUB report belongs to the report starting now.
      if (this.open && this.open.lines.length > 1 && /^={60,}$/.test(this.open.lines[this.open.lines.length - 1]!)) {
        this.open.lines.pop();
        this.pendingSeparator = this.open.heldSeparator ?? null;
      }
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
      if (/^={60,}$/.test(text) && this.open.lines.length > 2) {
        // SLUB reports start with this line (KASAN and KFENCE end with it): one
        // more report about the same cache may follow, which is the same bug.
        if (this.open.header.family === 'slub') {
          this.open.heldSeparator = e;
          return;
        }
        return this.close();
      }
      return;
    }
    this.pendingSeparator = /^={60,}$/.test(text) ? e : null;
  }

  finish(): Finding[] {
    return this.close();
  }

  /**
   * Headers that continue the open report: the BUG() a list check ends in,
   * and SLUB's follow-up reports about the same cache ("Object already free"
   * is followed by "Wrong object count"), which are the same bug.
   */
  private follows(o: OpenReport, h: HeaderMatch, text: string, t: number): boolean {
    if (o.header.family === 'list' && /^kernel BUG at lib\/list_debug\.c/.test(text)) return true;
    // 6.12 follows a SLUB report with a WARNING in object_err()/slab_err() that has the call trace
    if (o.header.family === 'slub' && /^WARNING: .* at mm\/slub\.c:\d+ /.test(text)) return true;
    if (o.header.family !== 'slub' || h.family !== 'slub' || t - o.lastT > QUIET) return false;
    if (o.header.cache === '') {
      // "[Poison overwritten] ..." then "BUG kmalloc-128 (...): Object corrupt": now we know the cache
      o.header = { ...o.header, cache: h.cache ?? '', summary: o.header.summary.replace(' in ?', ` in ${h.cache}`) };
      return true;
    }
    return h.cache === o.header.cache;
  }

  private close(): Finding[] {
    const o = this.open;
    this.open = null;
    if (!o) return [];
    this.closedAt = o.lastT;
    let h = o.header;
    // SLUB and list reports name the allocator or the list check first; KFENCE
    // names the accessing function, which may be a list helper too.
    const named = h.where.replace(/\+0x.*$/, '');
    if (h.family === 'slub' || h.family === 'list' || (h.family === 'kfence' && isNotCulprit(named))) {
      const c = culprit(o.lines, h);
      if (c) h = { ...h, where: c };
    }
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
