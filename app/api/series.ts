// What the charts show, computed from the event stream in constant memory:
// time buckets that double in width as the run grows (so a chart never has
// more than MAX_BUCKETS points however long the run), log-scale histograms,
// and a capped kernel-log list. Shared by the live run view and the HTML
// report; every count comes from the run tally (tally.ts), the same code that
// makes summary.json's. Runs anywhere (no Node, no DOM).
import type { Finding, RunEvent, Severity } from './types.js';
import { NOT_IOCTL, RunTally } from './tally.js';

export { NOT_IOCTL, TIMING_OPS, formatCount } from './tally.js';

export const MAX_BUCKETS = 512;
const FIRST_WIDTH_NS = 1_000;
/** Histogram resolution: sub-buckets per power of two (~19 % wide). */
const HIST_SUB = 4;
const HIST_MIN_NS = 100;
const HIST_BINS = 4 * 40;
export const MAX_KLOG_LINES = 20_000;
export const MAX_FINDINGS = 1_000;


export interface KlogLine {
  /** Index of the event in the run (journal line - 1): stable across reloads. */
  i: number;
  t: number;
  level: number;
  text: string;
  source: string;
  /** Index of the first line of the report this line belongs to (same t and source). */
  group: number;
  /** The report's first line carries the simulated kernel's scheduling trace. */
  hasTrace: boolean;
}

export interface PhaseMark {
  t: number;
  name: string;
  profile: string[];
}

/** A log-scale histogram of nanosecond values. */
export class LogHistogram {
  readonly bins = new Float64Array(HIST_BINS);
  count = 0;
  max = 0;

  add(ns: number): void {
    const b = binOf(ns);
    this.bins[b]!++;
    this.count++;
    if (ns > this.max) this.max = ns;
  }

  /** Upper edge (ns) of the bin holding the q-quantile. */
  quantile(q: number): number {
    if (!this.count) return 0;
    const target = Math.ceil(q * this.count);
    let seen = 0;
    for (let b = 0; b < HIST_BINS; b++) {
      seen += this.bins[b]!;
      if (seen >= target) return Math.min(this.max, binUpper(b));
    }
    return this.max;
  }

  /** Non-empty range of bins, for plotting: [lower edge ns, count] per bin. */
  points(): { lo: number; hi: number; n: number }[] {
    let first = -1;
    let last = -1;
    for (let b = 0; b < HIST_BINS; b++) {
      if (this.bins[b]) {
        if (first < 0) first = b;
        last = b;
      }
    }
    const out: { lo: number; hi: number; n: number }[] = [];
    if (first < 0) return out;
    for (let b = first; b <= last; b++) out.push({ lo: binLower(b), hi: binUpper(b), n: this.bins[b]! });
    return out;
  }
}

function binOf(ns: number): number {
  if (ns <= HIST_MIN_NS) return 0;
  return Math.min(HIST_BINS - 1, Math.floor(Math.log2(ns / HIST_MIN_NS) * HIST_SUB) + 1);
}
export function binLower(b: number): number {
  return b === 0 ? 0 : HIST_MIN_NS * 2 ** ((b - 1) / HIST_SUB);
}
function binUpper(b: number): number {
  return HIST_MIN_NS * 2 ** (b / HIST_SUB);
}

/** Per-bucket sums over time. Buckets are [k * width, (k + 1) * width) ns. */
export class TimeBuckets {
  width = FIRST_WIDTH_NS;
  /** Highest bucket index written + 1. */
  used = 0;
  readonly ops = new Float64Array(MAX_BUCKETS);
  readonly errors = new Float64Array(MAX_BUCKETS);
  readonly xruns = new Float64Array(MAX_BUCKETS);
  readonly ioctlSum = new Float64Array(MAX_BUCKETS);
  readonly ioctlCount = new Float64Array(MAX_BUCKETS);
  readonly ioctlMax = new Float64Array(MAX_BUCKETS);
  readonly klog = new Float64Array(MAX_BUCKETS);
  /** The application lane's content and timing metrics: glitches found, stream round trips, MIDI send-to-receive latency and jitter. */
  readonly glitches = new Float64Array(MAX_BUCKETS);
  readonly streamLatSum = new Float64Array(MAX_BUCKETS);
  readonly streamLatCount = new Float64Array(MAX_BUCKETS);
  readonly midiLatSum = new Float64Array(MAX_BUCKETS);
  readonly midiLatCount = new Float64Array(MAX_BUCKETS);
  readonly midiLatMax = new Float64Array(MAX_BUCKETS);
  readonly midiJitterSum = new Float64Array(MAX_BUCKETS);
  readonly midiJitterCount = new Float64Array(MAX_BUCKETS);

  /** Bucket index for time t, widening the buckets until t fits. */
  index(t: number): number {
    let k = Math.floor(Math.max(0, t) / this.width);
    while (k >= MAX_BUCKETS) {
      this.widen();
      k = Math.floor(t / this.width);
    }
    if (k + 1 > this.used) this.used = k + 1;
    return k;
  }

  private widen(): void {
    for (const a of [this.ops, this.errors, this.xruns, this.ioctlSum, this.ioctlCount, this.klog, this.glitches, this.streamLatSum, this.streamLatCount, this.midiLatSum, this.midiLatCount, this.midiJitterSum, this.midiJitterCount]) {
      for (let i = 0; i < MAX_BUCKETS / 2; i++) a[i] = a[2 * i]! + a[2 * i + 1]!;
      a.fill(0, MAX_BUCKETS / 2);
    }
    for (const m of [this.ioctlMax, this.midiLatMax]) {
      for (let i = 0; i < MAX_BUCKETS / 2; i++) m[i] = Math.max(m[2 * i]!, m[2 * i + 1]!);
      m.fill(0, MAX_BUCKETS / 2);
    }
    this.width *= 2;
    this.used = Math.ceil(this.used / 2);
  }
}

/** Chart-ready series: x in seconds (bucket centres); per-interval means are null where the interval had no sample. */
export interface Timeline {
  x: number[];
  opsPerS: number[];
  xruns: number[];
  ioctlMeanUs: (number | null)[];
  ioctlMaxUs: (number | null)[];
  klog: number[];
  /** Glitches found in the looped-back tone per interval. */
  glitches: number[];
  /** Stream round-trip latency (ms), mean per interval. */
  streamLatMs: (number | null)[];
  /** MIDI send-to-receive latency (ms): mean and max per interval; jitter (ms), mean per interval. */
  midiLatMs: (number | null)[];
  midiLatMaxMs: (number | null)[];
  midiJitterMs: (number | null)[];
  bucketS: number;
}

export class RunSeries {
  readonly buckets = new TimeBuckets();
  /** Stream latency: `delay` samples of every running stream. */
  readonly latency = new LogHistogram();
  /** Round trips through a loopback (`latency` samples). */
  readonly roundTrip = new LogHistogram();
  readonly ioctl = new LogHistogram();
  readonly klog: KlogLine[] = [];
  klogDropped = 0;
  readonly findings: Finding[] = [];
  readonly phases: PhaseMark[] = [];
  readonly lanes = new Map<string, string>();
  /** The run's numbers (operations, failures, xruns per stream, findings...). */
  readonly tally = new RunTally();
  /** Events seen; also the index the next event will have. */
  events = 0;
  lastT = 0;
  private lastGroup: { t: number; source: string; i: number } | null = null;
  /** The journal sampled successful operations: 1 in this many kept at the most (1: not sampled). */
  sampledKeep = 1;
  /** The journal reached its size bound. */
  journalFull = false;

  /** Feed events in order; `from` is the index of the first (for gaps or repeats after a reconnect). */
  feed(events: readonly RunEvent[], from = this.events): void {
    // Events already seen (a resubscription overlapping the old one) are skipped.
    const skip = Math.max(0, this.events - from);
    for (let j = skip; j < events.length; j++) this.add(events[j]!, from + j);
    if (from + events.length > this.events) this.events = from + events.length;
  }

  get actions(): number {
    return this.tally.operations;
  }

  get errors(): number {
    return this.tally.failed;
  }

  get xrunsTotal(): number {
    return this.tally.xruns;
  }

  get glitchesTotal(): number {
    return this.tally.glitches;
  }

  private add(e: RunEvent, i: number): void {
    if (e.t > this.lastT) this.lastT = e.t;
    const b = this.buckets;
    const newXruns = this.tally.feed(e);
    switch (e.kind) {
      case 'act': {
        const k = b.index(e.t);
        // A sampled journal's line stands for w operations (itself and those sampled away before it).
        b.ops[k]! += e.w ?? 1;
        if (e.ret < 0) b.errors[k]!++;
        if (!NOT_IOCTL.has(e.op)) {
          b.ioctlSum[k]! += e.dur;
          b.ioctlCount[k]!++;
          if (e.dur > b.ioctlMax[k]!) b.ioctlMax[k] = e.dur;
          this.ioctl.add(e.dur);
        }
        if (e.t + e.dur > this.lastT) this.lastT = e.t + e.dur;
        return;
      }
      case 'metric': {
        // The tally turns each stream's running count into the xruns this sample added.
        if (newXruns) b.xruns[b.index(e.t)]! += newXruns;
        else if (e.name === 'delay') this.latency.add(e.value);
        else if (e.name === 'latency') {
          this.roundTrip.add(e.value);
          const k = b.index(e.t);
          b.streamLatSum[k]! += e.value;
          b.streamLatCount[k]!++;
        } else if (e.name === 'glitch') b.glitches[b.index(e.t)]!++;
        else if (e.name === 'midi_latency') {
          const k = b.index(e.t);
          b.midiLatSum[k]! += e.value;
          b.midiLatCount[k]!++;
          if (e.value > b.midiLatMax[k]!) b.midiLatMax[k] = e.value;
        } else if (e.name === 'midi_jitter') {
          const k = b.index(e.t);
          b.midiJitterSum[k]! += e.value;
          b.midiJitterCount[k]!++;
        }
        return;
      }
      case 'klog': {
        b.klog[b.index(e.t)]!++;
        const g = this.lastGroup && this.lastGroup.t === e.t && this.lastGroup.source === e.source ? this.lastGroup.i : i;
        if (g === i) this.lastGroup = { t: e.t, source: e.source, i };
        // Bounded and O(1): past the cap only lines of warning level or worse are
        // kept (up to twice the cap); the journal keeps everything.
        if (this.klog.length >= MAX_KLOG_LINES && (e.level > 4 || this.klog.length >= 2 * MAX_KLOG_LINES)) {
          this.klogDropped++;
          return;
        }
        this.klog.push({ i, t: e.t, level: e.level, text: e.text, source: e.source, group: g, hasTrace: Boolean(e.trace?.length) });
        return;
      }
      case 'finding':
        if (this.findings.length < MAX_FINDINGS) this.findings.push(e.finding);
        return;
      case 'phase':
        this.phases.push({ t: e.t, name: e.name, profile: e.profile });
        return;
      case 'lane':
        this.lanes.set(e.lane, e.state);
        return;
      case 'note':
        if (e.journal?.keep && e.journal.keep > this.sampledKeep) this.sampledKeep = e.journal.keep;
        if (e.journal?.full) this.journalFull = true;
        // The skipped counts are the tally's (operations); not charted: they happened since each step's last kept line, at no one time.
        return;
      default:
        return;
    }
  }

  /** Chart-ready series: x in seconds (bucket centres), y per unit. */
  timeline(): Timeline {
    const b = this.buckets;
    const w = b.width;
    const n = b.used;
    const x = new Array<number>(n);
    const opsPerS = new Array<number>(n);
    const xruns = new Array<number>(n);
    const mean = new Array<number | null>(n);
    const max = new Array<number | null>(n);
    const klog = new Array<number>(n);
    const glitches = new Array<number>(n);
    const streamLatMs = new Array<number | null>(n);
    const midiLatMs = new Array<number | null>(n);
    const midiLatMaxMs = new Array<number | null>(n);
    const midiJitterMs = new Array<number | null>(n);
    const avgMs = (sum: number, c: number) => (c ? sum / c / 1e6 : null);
    for (let k = 0; k < n; k++) {
      glitches[k] = b.glitches[k]!;
      streamLatMs[k] = avgMs(b.streamLatSum[k]!, b.streamLatCount[k]!);
      midiLatMs[k] = avgMs(b.midiLatSum[k]!, b.midiLatCount[k]!);
      midiLatMaxMs[k] = b.midiLatCount[k] ? b.midiLatMax[k]! / 1e6 : null;
      midiJitterMs[k] = avgMs(b.midiJitterSum[k]!, b.midiJitterCount[k]!);
      x[k] = ((k + 0.5) * w) / 1e9;
      opsPerS[k] = (b.ops[k]! * 1e9) / w;
      xruns[k] = b.xruns[k]!;
      const c = b.ioctlCount[k]!;
      mean[k] = c ? b.ioctlSum[k]! / c / 1e3 : null;
      max[k] = c ? b.ioctlMax[k]! / 1e3 : null;
      klog[k] = b.klog[k]!;
    }
    return { x, opsPerS, xruns, ioctlMeanUs: mean, ioctlMaxUs: max, klog, glitches, streamLatMs, midiLatMs, midiLatMaxMs, midiJitterMs, bucketS: w / 1e9 };
  }

  /** Did the run report the application lane's audio or MIDI measurements (the charts for them are shown only then)? */
  hasAudio(): boolean {
    return this.glitchesTotal > 0 || this.roundTrip.count > 0;
  }

  hasMidi(): boolean {
    return this.tally.midiLatency.count > 0;
  }
}

/** printk levels 0-7 as the kernel names them. */
export const LEVEL_NAMES = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

/** One colour per printk level, readable on a dark and a light background. */
export function levelColour(level: number): string {
  if (level <= 2) return '#e5484d';
  if (level === 3) return '#f76b15';
  if (level === 4) return '#e2a336';
  if (level === 5) return '#3e9ee8';
  return '#8b949e';
}

export function severityColour(s: Severity): string {
  return s === 'critical' ? '#e5484d' : s === 'error' ? '#f76b15' : '#e2a336';
}

/** ns → "12.3 us", "4.56 ms", "1.234 s". */
export function formatNs(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(1)} us`;
  return `${Math.round(ns)} ns`;
}
