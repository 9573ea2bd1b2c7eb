// Run metrics for summary.json: per-op counts, errors and duration
// distributions, xruns, latency, wake-up lateness, ops/s. Also the
// threshold checks a preset can turn into findings.
import type { Finding, RunEvent } from '../events/types.js';
import type { Thresholds } from '../vocabulary/scenario.js';
import { opSpec } from '../vocabulary/ops.js';
import type { AnalysisContext } from './context.js';
import { Histogram } from './histogram.js';

/** summary.json's hw_ptr_rate entry for one stream. */
interface HwPtrRate {
  hz: number;
  min_hz: number;
  max_hz: number;
  samples: number;
  nominal_hz?: number;
  ratio?: number;
}

interface OpStats {
  count: number;
  errors: Record<string, number>;
  dur: Histogram;
}

export class MetricsAggregator {
  actions = 0;
  private readonly ops = new Map<string, OpStats>();
  private readonly xruns = new Map<string, number>();
  private readonly latency = new Histogram();
  private readonly wakeupLate = new Histogram();
  private readonly midiLatency = new Histogram();
  private readonly midiJitter = new Histogram();
  private readonly latencyConfidence: number[] = [];
  private glitches = 0;
  private readonly glitchesByHandle = new Map<string, number>();
  /** Measured hw_ptr rates per stream, and the rate its last HW_PARAMS granted. */
  private readonly hwPtrRate = new Map<string, { sum: number; n: number; min: number; max: number }>();
  private readonly nominalRate = new Map<string, number>();
  klogLines = 0;
  firstT = Infinity;
  lastT = 0;

  feed(e: RunEvent): void {
    if (e.t < this.firstT) this.firstT = e.t;
    if (e.t > this.lastT) this.lastT = e.t;
    switch (e.kind) {
      case 'act': {
        this.actions++;
        let s = this.ops.get(e.op);
        if (!s) this.ops.set(e.op, (s = { count: 0, errors: {}, dur: new Histogram() }));
        s.count++;
        if (e.errno) s.errors[e.errno] = (s.errors[e.errno] ?? 0) + 1;
        s.dur.add(e.dur);
        if (e.t + e.dur > this.lastT) this.lastT = e.t + e.dur;
        if (e.op === 'pcm.hw_params' && e.ret >= 0) {
          const rate = (e.data?.params as { rate?: unknown } | undefined)?.rate;
          if (typeof rate === 'number' && rate > 0) this.nominalRate.set(e.handle ?? '?', rate);
        }
        return;
      }
      case 'metric':
        if (e.name === 'xruns') this.xruns.set(e.handle ?? '?', Math.max(this.xruns.get(e.handle ?? '?') ?? 0, e.value));
        else if (e.name === 'latency') {
          this.latency.add(e.value);
          if (e.confidence !== undefined) this.latencyConfidence.push(e.confidence);
        } else if (e.name === 'glitch') {
          this.glitches++;
          this.glitchesByHandle.set(e.handle ?? '?', (this.glitchesByHandle.get(e.handle ?? '?') ?? 0) + 1);
        } else if (e.name === 'midi_latency') this.midiLatency.add(e.value);
        else if (e.name === 'midi_jitter') this.midiJitter.add(e.value);
        else if (e.name === 'wakeup_late') this.wakeupLate.add(e.value);
        else if (e.name === 'hw_ptr_rate') {
          const k = e.handle ?? '?';
          const r = this.hwPtrRate.get(k);
          if (r) {
            r.sum += e.value;
            r.n++;
            r.min = Math.min(r.min, e.value);
            r.max = Math.max(r.max, e.value);
          } else this.hwPtrRate.set(k, { sum: e.value, n: 1, min: e.value, max: e.value });
        }
        return;
      case 'klog':
        this.klogLines++;
        return;
    }
  }

  get totalXruns(): number {
    let n = 0;
    for (const v of this.xruns.values()) n += v;
    return n;
  }

  thresholds(ctx: AnalysisContext, t: Thresholds, end: number): Finding[] {
    const out: Finding[] = [];
    if (t.xruns !== undefined && this.totalXruns > t.xruns)
      out.push(ctx.finding('xrun-threshold', end, `${this.totalXruns} xrun(s), more than the ${t.xruns} allowed`, { evidence: { byHandle: Object.fromEntries(this.xruns) } }));
    if (t.latency_p99 !== undefined && this.latency.count && this.latency.quantile(0.99) > t.latency_p99)
      out.push(ctx.finding('latency-threshold', end, `latency p99 ${(this.latency.quantile(0.99) / 1e6).toFixed(2)} ms exceeds ${(t.latency_p99 / 1e6).toFixed(2)} ms`, { evidence: this.latency.summary() }));
    if (t.ioctl_p99 !== undefined) {
      for (const [op, s] of this.ops) {
        const spec = opSpec(op);
        if (!spec || spec.family === 'timing' || ['pcm.write', 'pcm.read', 'seq.read', 'pcm.drain'].includes(op)) continue;
        const p99 = s.dur.quantile(0.99);
        if (p99 > t.ioctl_p99) out.push(ctx.finding('ioctl-latency-threshold', end, `${op} p99 ${(p99 / 1e6).toFixed(3)} ms exceeds ${(t.ioctl_p99 / 1e6).toFixed(3)} ms`, { op, evidence: s.dur.summary() }));
      }
    }
    if (t.glitches !== undefined && this.glitches > t.glitches)
      out.push(ctx.finding('glitch-threshold', end, `${this.glitches} glitch(es) in the looped-back tone, more than the ${t.glitches} allowed`, { evidence: { byHandle: Object.fromEntries(this.glitchesByHandle) } }));
    if (t.midi_latency_p99 !== undefined && this.midiLatency.count && this.midiLatency.quantile(0.99) > t.midi_latency_p99)
      out.push(ctx.finding('midi-latency-threshold', end, `MIDI latency p99 ${(this.midiLatency.quantile(0.99) / 1e6).toFixed(3)} ms exceeds ${(t.midi_latency_p99 / 1e6).toFixed(3)} ms`, { evidence: this.midiLatency.summary() }));
    if (t.wakeup_late_p99 !== undefined && this.wakeupLate.count && this.wakeupLate.quantile(0.99) > t.wakeup_late_p99)
      out.push(ctx.finding('wakeup-latency-threshold', end, `period wake-up lateness p99 ${(this.wakeupLate.quantile(0.99) / 1e6).toFixed(3)} ms exceeds ${(t.wakeup_late_p99 / 1e6).toFixed(3)} ms`, { evidence: this.wakeupLate.summary() }));
    return out;
  }

  /**
   * Frames per second the DMA position really advanced, against the rate the
   * stream was configured for: a ratio below 1 is a clock running slow (or an
   * emulated device falling behind), which xrun counts alone do not show.
   */
  private hwPtrRateSummary(): Record<string, HwPtrRate> {
    const out: Record<string, HwPtrRate> = {};
    for (const [k, r] of [...this.hwPtrRate].sort((a, b) => a[0].localeCompare(b[0]))) {
      const hz = r.sum / r.n;
      const nominal = this.nominalRate.get(k);
      out[k] = { hz: Math.round(hz * 10) / 10, min_hz: Math.round(r.min * 10) / 10, max_hz: Math.round(r.max * 10) / 10, samples: r.n };
      if (nominal) {
        out[k].nominal_hz = nominal;
        out[k].ratio = Math.round((hz / nominal) * 10000) / 10000;
      }
    }
    return out;
  }

  summary(elapsed: number): Record<string, unknown> {
    const ops: Record<string, unknown> = {};
    for (const [op, s] of [...this.ops].sort((a, b) => a[0].localeCompare(b[0]))) ops[op] = { count: s.count, errors: s.errors, dur_ns: s.dur.summary() };
    return {
      actions: this.actions,
      ops_per_s: elapsed > 0 ? Math.round((this.actions / elapsed) * 1e9) : 0,
      ops,
      xruns: { total: this.totalXruns, by_handle: Object.fromEntries(this.xruns) },
      latency_ns: this.latency.summary(),
      wakeup_late_ns: this.wakeupLate.summary(),
      ...(this.latencyConfidence.length ? { latency_confidence: { min: Math.min(...this.latencyConfidence), median: [...this.latencyConfidence].sort((a, b) => a - b)[this.latencyConfidence.length >> 1] } } : {}),
      ...(this.glitchesByHandle.size ? { glitches: { total: this.glitches, by_handle: Object.fromEntries(this.glitchesByHandle) } } : {}),
      ...(this.midiLatency.count ? { midi_latency_ns: this.midiLatency.summary(), midi_jitter_ns: this.midiJitter.summary() } : {}),
      hw_ptr_rate: this.hwPtrRateSummary(),
      klog_lines: this.klogLines,
    };
  }
}
