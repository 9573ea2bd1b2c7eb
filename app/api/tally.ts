// The one place a run's numbers are counted: operations, failed operations,
// xruns per stream, findings, kernel-log lines, latency and ioctl timings.
// summary.json (through analysis/metrics.ts), the live run view, the HTML
// report, the CLI and JUnit/KTAP all read their numbers from a RunTally fed
// the same events, so they cannot disagree. Runs anywhere (no Node, no DOM).
//
// What an xrun is, for every target: a stream's entry into the XRUN state.
// Targets report it as a running count per stream (the `xruns` metric): the
// simulated kernel reads the kernel's own counter (runtime->xruns), the native
// agent counts a stream's first EPIPE or XRUN status after it was last
// prepared, dropped or opened (native-bridge/agent/metrics.c). A stream's
// count is the highest value reported for it, whichever lane reported it; the
// run's count is the sum over its streams. Failed calls on a stream that is
// already in XRUN are failed operations, not more xruns. A stream that
// recovers (app/program/README.md, rule "xrun recovery") reports each
// recovery as a `recover` event: counted per stream, with the time the
// stream spent stopped.
//
// Stream latency is the `delay` metric (frames between the application and
// the converter, in ns); `latency` is a round trip measured through a
// loopback (a burst written, found again in what a capture stream read).
import type { ActionEvent, ConformanceEvent, RunEvent, Severity, SkippedOps } from '../events/types.js';

/**
 * Ops whose duration is not an ioctl's latency: waits the scenario asked for
 * (the timing family) and transfers that block by design until the device
 * has room or data. Kept equal to the vocabulary's timing family by a test.
 */
export const NOT_IOCTL = new Set(['sleep', 'jitter', 'barrier', 'at_period', 'pcm.write', 'pcm.read', 'seq.read', 'pcm.drain']);
export const TIMING_OPS = ['sleep', 'jitter', 'barrier', 'at_period'];

/** 1265421 → "1,265,421": every count a person reads. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = String(Math.round(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${s}` : s;
}

/** A log-linear histogram (8 buckets per power of two, ~9 % resolution): constant memory however long the run. */
export class Histogram {
  private static readonly BUCKETS = 8 * 64;
  /** Bucket i holds values in [2^(i/8), 2^((i+1)/8)). */
  private readonly buckets = new Float64Array(Histogram.BUCKETS);
  count = 0;
  max = 0;
  min = Infinity;
  sum = 0;

  add(v: number): void {
    const x = Math.max(1, v);
    this.buckets[Math.min(Histogram.BUCKETS - 1, Math.floor(Math.log2(x) * 8))]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  /** Upper edge of the bucket holding the q-quantile (exact for max). */
  quantile(q: number): number {
    if (!this.count) return 0;
    if (q >= 1) return this.max;
    const target = Math.ceil(q * this.count);
    let seen = 0;
    for (let b = 0; b < Histogram.BUCKETS; b++) {
      seen += this.buckets[b]!;
      if (seen >= target) return Math.min(this.max, Math.round(2 ** ((b + 1) / 8)));
    }
    return this.max;
  }

  summary(): HistogramSummary {
    return { count: this.count, p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99), max: this.max, mean: this.count ? Math.round(this.sum / this.count) : 0 };
  }
}

export type HistogramSummary = {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
};

export interface OpTally {
  count: number;
  errors: Record<string, number>;
  dur: Histogram;
}

/** One PCM stream of the run: a handle opened with pcm.open (per suite phase). */
export interface StreamTally {
  key: string;
  handle: string;
  phase?: string;
  card?: number;
  /** The card as the preset named it ("Dummy"), when it named one. */
  cardName?: string;
  device?: number;
  subdevice?: number;
  direction?: 'playback' | 'capture';
  /** Rate the last successful HW_PARAMS granted. */
  rate?: number;
  operations: number;
  failed: number;
  xruns: number;
  /** Application lane: glitches found in the tone this stream looped back. */
  glitches: number;
  /** Application lane: frames of looped-back tone the analyzer checked (0: the glitch count means nothing). */
  glitchChecked: number;
  /** Stream latency (`delay`), ns. */
  delay: Histogram;
  /** Round-trip latency through a loopback, ns (reported on the capture stream). */
  latency: Histogram;
  /** Recoveries from xruns or suspends, those that failed, and the time the stream spent stopped before each. */
  recovered: number;
  recoverFailed: number;
  lostNs: number;
  hwPtr: { sum: number; n: number; min: number; max: number } | null;
}

/** summary.json's counts: the run's numbers, the same everywhere they are shown. */
export interface RunCounts {
  events: number;
  operations: number;
  failed: number;
  xruns: number;
  /** Xruns and suspends recovered from (rule "xrun recovery"), recoveries that failed, and the time streams spent stopped, ns. */
  recovered: number;
  recover_failed: number;
  time_lost_ns: number;
  findings: number;
  findings_by_severity: Record<Severity, number>;
  klog_lines: number;
  /** Stream-latency (delay) samples. */
  delay_samples: number;
  /** Round-trip latency samples (loopback). */
  latency_samples: number;
  streams: StreamRow[];
  devices: DeviceRow[];
}

export interface StreamRow {
  stream: string;
  phase?: string;
  /** "hw:0,0,1" as aplay would name the substream, when the target said which it opened. */
  device?: string;
  card_name?: string;
  direction?: 'playback' | 'capture';
  rate?: number;
  operations: number;
  failed: number;
  xruns: number;
  recovered: number;
  time_lost_ns: number;
  glitches?: number;
  /** Stream latency (delay) samples and their percentiles. */
  delay_samples: number;
  delay_p50_ns?: number;
  delay_p99_ns?: number;
  /** Round-trip latency through a loopback, when this stream measured one. */
  latency_samples: number;
  latency_p50_ns?: number;
  latency_p99_ns?: number;
  /** Frames per second the DMA position advanced, and that against the granted rate. */
  hw_ptr_hz?: number;
  hw_ptr_ratio?: number;
}

export interface DeviceRow {
  /** "hw:0,0 playback" */
  device: string;
  card_name?: string;
  direction?: 'playback' | 'capture';
  streams: string[];
  operations: number;
  failed: number;
  xruns: number;
  recovered: number;
  time_lost_ns: number;
}

const SEVERITIES: Severity[] = ['critical', 'error', 'warning'];
const MAX_CONFORMANCE = 10_000;

export class RunTally {
  events = 0;
  operations = 0;
  failed = 0;
  klogLines = 0;
  findings = 0;
  readonly findingsBySeverity: Record<Severity, number> = { critical: 0, error: 0, warning: 0 };
  readonly findingsByType: Record<string, number> = {};
  readonly ops = new Map<string, OpTally>();
  readonly streams = new Map<string, StreamTally>();
  /** Stream latency (delay, every stream), round-trip latency (loopbacks), ioctl durations (every op that is an ioctl), period wake-up lateness. */
  readonly delay = new Histogram();
  readonly latency = new Histogram();
  readonly ioctl = new Histogram();
  readonly wakeupLate = new Histogram();
  /** Application lane: MIDI round trips, their jitter, the loopback correlation's confidence, glitches in a looped-back tone. */
  readonly midiLatency = new Histogram();
  readonly midiJitter = new Histogram();
  readonly latencyConfidence: number[] = [];
  glitches = 0;
  /** A conformance sweep's configurations (bounded: a sweep has hundreds). */
  readonly conformance: ConformanceEvent[] = [];
  firstT = Infinity;
  lastT = 0;
  private phase: string | undefined;
  private readonly phaseSeen = new Map<string, number>();

  /** Folds one event in; returns the xruns it added (for charts that plot xruns over time). */
  feed(e: RunEvent): number {
    this.events++;
    if (e.t < this.firstT) this.firstT = e.t;
    if (e.t > this.lastT) this.lastT = e.t;
    switch (e.kind) {
      case 'act':
        this.act(e);
        return 0;
      case 'recover': {
        const s = this.stream(e.handle);
        if (e.ret < 0) s.recoverFailed++;
        else s.recovered++;
        s.lostNs += e.lost_ns;
        return 0;
      }
      case 'conformance':
        if (this.conformance.length < MAX_CONFORMANCE) this.conformance.push(e);
        return 0;
      case 'metric': {
        if (e.name === 'xruns') {
          const s = this.stream(e.handle ?? '?');
          if (e.value > s.xruns) {
            const added = e.value - s.xruns;
            s.xruns = e.value;
            return added;
          }
        } else if (e.name === 'delay') {
          this.delay.add(e.value);
          if (e.handle) this.stream(e.handle).delay.add(e.value);
        } else if (e.name === 'glitch_checked') {
          const s = this.stream(e.handle ?? '?');
          if (e.value > s.glitchChecked) s.glitchChecked = e.value;
        } else if (e.name === 'latency') {
          this.latency.add(e.value);
          if (e.handle) this.stream(e.handle).latency.add(e.value);
          // Kept bounded: a confidence per loopback probe, a few per second at most.
          if (e.confidence !== undefined && this.latencyConfidence.length < 100_000) this.latencyConfidence.push(e.confidence);
        } else if (e.name === 'glitch') {
          this.glitches++;
          this.stream(e.handle ?? '?').glitches++;
        } else if (e.name === 'midi_latency') this.midiLatency.add(e.value);
        else if (e.name === 'midi_jitter') this.midiJitter.add(e.value);
        else if (e.name === 'wakeup_late') this.wakeupLate.add(e.value);
        else if (e.name === 'hw_ptr_rate') {
          const s = this.stream(e.handle ?? '?');
          const r = s.hwPtr;
          if (r) {
            r.sum += e.value;
            r.n++;
            r.min = Math.min(r.min, e.value);
            r.max = Math.max(r.max, e.value);
          } else s.hwPtr = { sum: e.value, n: 1, min: e.value, max: e.value };
        }
        return 0;
      }
      case 'klog':
        this.klogLines++;
        return 0;
      case 'note':
        // A sampled journal's closing counts: successful operations after each step's last kept line.
        for (const x of e.journal?.skipped ?? []) this.skipped(x);
        return 0;
      case 'finding':
        this.findings++;
        this.findingsBySeverity[e.finding.severity]++;
        this.findingsByType[e.finding.type] = (this.findingsByType[e.finding.type] ?? 0) + 1;
        return 0;
      case 'phase': {
        // A suite's phases are separate runs of their presets: their streams are separate streams.
        const n = (this.phaseSeen.get(e.name) ?? 0) + 1;
        this.phaseSeen.set(e.name, n);
        this.phase = n > 1 ? `${e.name}#${n}` : e.name;
        return 0;
      }
      default:
        return 0;
    }
  }

  private act(e: ActionEvent): void {
    // In a sampled journal (a bounded one) a kept line stands for `w` operations of its step:
    // itself and those sampled away before it, all successful (failures are always kept).
    const n = e.w ?? 1;
    this.operations += n;
    if (e.ret < 0) this.failed++;
    let s = this.ops.get(e.op);
    if (!s) this.ops.set(e.op, (s = { count: 0, errors: {}, dur: new Histogram() }));
    s.count += n;
    if (e.errno) s.errors[e.errno] = (s.errors[e.errno] ?? 0) + 1;
    s.dur.add(e.dur);
    if (!NOT_IOCTL.has(e.op)) this.ioctl.add(e.dur);
    if (e.t + e.dur > this.lastT) this.lastT = e.t + e.dur;
    if (!e.handle || !e.op.startsWith('pcm.')) return;
    const st = this.stream(e.handle);
    st.operations += n;
    if (e.ret < 0) st.failed++;
    if (e.op === 'pcm.open' && e.ret >= 0) {
      const d = e.data as { card?: unknown; device?: unknown; subdevice?: unknown; stream?: unknown } | undefined;
      if (typeof d?.card === 'number') st.card = d.card;
      if (typeof d?.device === 'number') st.device = d.device;
      if (typeof d?.subdevice === 'number') st.subdevice = d.subdevice;
      const dir = d?.stream ?? e.args?.stream;
      if (dir === 'playback' || dir === 'capture') st.direction = dir;
      if (typeof e.args?.card === 'string') st.cardName = e.args.card;
    } else if (e.op === 'pcm.hw_params' && e.ret >= 0) {
      const rate = (e.data?.params as { rate?: unknown } | undefined)?.rate;
      if (typeof rate === 'number' && rate > 0) st.rate = rate;
    }
  }

  private skipped(x: SkippedOps): void {
    this.operations += x.n;
    let s = this.ops.get(x.op);
    if (!s) this.ops.set(x.op, (s = { count: 0, errors: {}, dur: new Histogram() }));
    s.count += x.n;
    if (x.handle && x.op.startsWith('pcm.')) this.stream(x.handle).operations += x.n;
  }

  private stream(handle: string): StreamTally {
    const key = this.phase ? `${this.phase}/${handle}` : handle;
    let s = this.streams.get(key);
    if (!s) {
      s = { key, handle, operations: 0, failed: 0, xruns: 0, glitches: 0, glitchChecked: 0, delay: new Histogram(), latency: new Histogram(), recovered: 0, recoverFailed: 0, lostNs: 0, hwPtr: null };
      if (this.phase) s.phase = this.phase;
      this.streams.set(key, s);
    }
    return s;
  }

  get xruns(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.xruns;
    return n;
  }

  get recovered(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.recovered;
    return n;
  }

  get recoverFailed(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.recoverFailed;
    return n;
  }

  /** Time streams spent stopped by xruns before recovery made them ready, summed, ns. */
  get lostNs(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.lostNs;
    return n;
  }

  /** Frames of looped-back tone the glitch analyzer checked, every stream. */
  get glitchChecked(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.glitchChecked;
    return n;
  }

  /** Streams that are streams: opened with pcm.open, or reported an xrun, latency or rate. */
  streamList(): StreamTally[] {
    return [...this.streams.values()].filter((s) => s.direction || s.xruns || s.glitches || s.delay.count || s.latency.count || s.hwPtr || s.operations || s.recovered || s.recoverFailed);
  }

  streamRows(): StreamRow[] {
    return this.streamList().map((s) => {
      const row: StreamRow = { stream: s.key, operations: s.operations, failed: s.failed, xruns: s.xruns, recovered: s.recovered, time_lost_ns: s.lostNs, delay_samples: s.delay.count, latency_samples: s.latency.count };
      if (s.phase) row.phase = s.phase;
      if (s.card !== undefined && s.device !== undefined) row.device = `hw:${s.card},${s.device}${s.subdevice !== undefined ? `,${s.subdevice}` : ''}`;
      if (s.cardName) row.card_name = s.cardName;
      if (s.direction) row.direction = s.direction;
      if (s.rate) row.rate = s.rate;
      if (s.glitches) row.glitches = s.glitches;
      if (s.delay.count) {
        row.delay_p50_ns = s.delay.quantile(0.5);
        row.delay_p99_ns = s.delay.quantile(0.99);
      }
      if (s.latency.count) {
        row.latency_p50_ns = s.latency.quantile(0.5);
        row.latency_p99_ns = s.latency.quantile(0.99);
      }
      if (s.hwPtr) {
        const hz = s.hwPtr.sum / s.hwPtr.n;
        row.hw_ptr_hz = Math.round(hz * 10) / 10;
        if (s.rate) row.hw_ptr_ratio = Math.round((hz / s.rate) * 10000) / 10000;
      }
      return row;
    });
  }

  /** Streams grouped by the PCM device (card, device, direction) they were opened on. */
  deviceRows(): DeviceRow[] {
    const out = new Map<string, DeviceRow>();
    for (const s of this.streamList()) {
      const name = s.card !== undefined && s.device !== undefined ? `hw:${s.card},${s.device}` : s.cardName ? `${s.cardName} (not opened)` : 'unknown device';
      const key = `${name} ${s.direction ?? ''}`.trim();
      let d = out.get(key);
      if (!d) {
        d = { device: key, streams: [], operations: 0, failed: 0, xruns: 0, recovered: 0, time_lost_ns: 0 };
        if (s.cardName) d.card_name = s.cardName;
        if (s.direction) d.direction = s.direction;
        out.set(key, d);
      }
      d.streams.push(s.key);
      d.operations += s.operations;
      d.failed += s.failed;
      d.xruns += s.xruns;
      d.recovered += s.recovered;
      d.time_lost_ns += s.lostNs;
    }
    return [...out.values()].sort((a, b) => a.device.localeCompare(b.device));
  }

  counts(): RunCounts {
    const bySeverity = {} as Record<Severity, number>;
    for (const s of SEVERITIES) bySeverity[s] = this.findingsBySeverity[s];
    return {
      events: this.events,
      operations: this.operations,
      failed: this.failed,
      xruns: this.xruns,
      recovered: this.recovered,
      recover_failed: this.recoverFailed,
      time_lost_ns: this.lostNs,
      findings: this.findings,
      findings_by_severity: bySeverity,
      klog_lines: this.klogLines,
      delay_samples: this.delay.count,
      latency_samples: this.latency.count,
      streams: this.streamRows(),
      devices: this.deviceRows(),
    };
  }
}
