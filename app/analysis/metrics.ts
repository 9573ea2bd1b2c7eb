// Run metrics for summary.json, read from the run tally (app/api/tally.ts:
// the one place counts are made): per-op counts, errors and durations, xruns,
// latency, wake-up lateness, ops/s. Also the threshold checks a preset can
// turn into findings, each with its verdict (passed, failed, or not evaluated
// because nothing was measured).
import type { Finding, RunEvent } from '../events/types.js';
import type { Thresholds } from '../vocabulary/scenario.js';
import { formatCount, type Histogram, RunTally } from '../api/tally.js';
import { opSpec } from '../vocabulary/ops.js';
import type { AnalysisContext } from './context.js';

/** summary.json's hw_ptr_rate entry for one stream. */
export interface HwPtrRate {
  hz: number;
  min_hz: number;
  max_hz: number;
  samples: number;
  nominal_hz?: number;
  ratio?: number;
}

/** One threshold of the preset, evaluated at the end of the run. */
export interface ThresholdResult {
  name: keyof Thresholds;
  limit: number;
  status: 'pass' | 'fail' | 'skip';
  /** The measured value (the worst one for ioctl_p99); absent when nothing was measured. */
  value?: number;
  message: string;
}

/** Transfers and waits block by design: their duration is not an ioctl's latency. */
const NOT_TIMED = ['pcm.write', 'pcm.read', 'seq.read', 'pcm.drain'];
const ms = (ns: number, digits: number) => `${(ns / 1e6).toFixed(digits)} ms`;

export class MetricsAggregator {
  readonly tally = new RunTally();
  /** Filled by thresholds(): what each threshold of the preset concluded. */
  results: ThresholdResult[] = [];

  feed(e: RunEvent): void {
    this.tally.feed(e);
  }

  get actions(): number {
    return this.tally.operations;
  }

  get totalXruns(): number {
    return this.tally.xruns;
  }

  /** Evaluates every threshold the preset sets; failures become findings. */
  thresholds(ctx: AnalysisContext, t: Thresholds, end: number): Finding[] {
    const out: Finding[] = [];
    const results: ThresholdResult[] = [];
    const tally = this.tally;
    if (t.xruns !== undefined) {
      const n = tally.xruns;
      const byStream = Object.fromEntries(tally.streamList().map((s) => [s.key, s.xruns]));
      const fail = n > t.xruns;
      results.push({ name: 'xruns', limit: t.xruns, value: n, status: fail ? 'fail' : 'pass', message: `${formatCount(n)} xrun(s), ${fail ? 'more than' : 'within'} the ${formatCount(t.xruns)} allowed` });
      if (fail) out.push(ctx.finding('xrun-threshold', end, `${formatCount(n)} xrun(s), more than the ${formatCount(t.xruns)} allowed`, { evidence: { byStream } }));
    }
    // A p99 over samples: not evaluated when nothing was sampled (the run must say so, not pass).
    const p99Check = (name: 'latency_p99' | 'wakeup_late_p99' | 'midi_latency_p99', h: Histogram, limit: number, what: string, samples: string, type: 'latency-threshold' | 'wakeup-latency-threshold' | 'midi-latency-threshold', digits: number) => {
      if (!h.count) return results.push({ name, limit, status: 'skip', message: `not evaluated: 0 ${samples} samples` });
      const p99 = h.quantile(0.99);
      const fail = p99 > limit;
      results.push({ name, limit, value: p99, status: fail ? 'fail' : 'pass', message: `${what} p99 ${ms(p99, digits)} ${fail ? 'exceeds' : 'within'} ${ms(limit, digits)} (${formatCount(h.count)} samples)` });
      if (fail) out.push(ctx.finding(type, end, `${what} p99 ${ms(p99, digits)} exceeds ${ms(limit, digits)}`, { evidence: h.summary() }));
    };
    // stream latency: the delay of every running stream (STATUS/DELAY), not the buffer size
    if (t.latency_p99 !== undefined) p99Check('latency_p99', tally.delay, t.latency_p99, 'stream latency', 'stream-latency (delay)', 'latency-threshold', 2);
    if (t.xrun_time_lost !== undefined) {
      const lost = tally.lostNs;
      const fail = lost > t.xrun_time_lost;
      const what = `${ms(lost, 1)} lost to ${formatCount(tally.recovered)} recovered xrun(s)${tally.recoverFailed ? ` and ${formatCount(tally.recoverFailed)} failed recover(ies)` : ''}`;
      results.push({ name: 'xrun_time_lost', limit: t.xrun_time_lost, value: lost, status: fail ? 'fail' : 'pass', message: `${what}, ${fail ? 'more than' : 'within'} the ${ms(t.xrun_time_lost, 1)} allowed` });
      if (fail) out.push(ctx.finding('xrun-time-threshold', end, `${what}, more than the ${ms(t.xrun_time_lost, 1)} allowed`, { evidence: { byStream: Object.fromEntries(tally.streamList().filter((s) => s.lostNs).map((s) => [s.key, s.lostNs])) } }));
    }
    if (t.ioctl_p99 !== undefined) {
      let worst: { op: string; p99: number } | null = null;
      let failed = 0;
      let timed = 0;
      for (const [op, s] of tally.ops) {
        const spec = opSpec(op);
        if (!spec || spec.family === 'timing' || NOT_TIMED.includes(op)) continue;
        timed++;
        const p99 = s.dur.quantile(0.99);
        if (!worst || p99 > worst.p99) worst = { op, p99 };
        if (p99 > t.ioctl_p99) {
          failed++;
          out.push(ctx.finding('ioctl-latency-threshold', end, `${op} p99 ${ms(p99, 3)} exceeds ${ms(t.ioctl_p99, 3)}`, { op, evidence: s.dur.summary() }));
        }
      }
      if (!worst) results.push({ name: 'ioctl_p99', limit: t.ioctl_p99, status: 'skip', message: 'not evaluated: no ioctl was timed' });
      else
        results.push({
          name: 'ioctl_p99',
          limit: t.ioctl_p99,
          value: worst.p99,
          status: failed ? 'fail' : 'pass',
          message: failed ? `${failed} of ${timed} ioctl(s) over ${ms(t.ioctl_p99, 3)} at p99 (worst ${worst.op}, ${ms(worst.p99, 3)})` : `every ioctl within ${ms(t.ioctl_p99, 3)} at p99 (worst ${worst.op}, ${ms(worst.p99, 3)})`,
        });
    }
    if (t.glitches !== undefined) {
      const n = tally.glitches;
      const fail = n > t.glitches;
      results.push({ name: 'glitches', limit: t.glitches, value: n, status: fail ? 'fail' : 'pass', message: `${formatCount(n)} glitch(es) in the looped-back tone, ${fail ? 'more than' : 'within'} the ${formatCount(t.glitches)} allowed` });
      if (fail) out.push(ctx.finding('glitch-threshold', end, `${formatCount(n)} glitch(es) in the looped-back tone, more than the ${formatCount(t.glitches)} allowed`, { evidence: { byStream: Object.fromEntries(tally.streamList().filter((s) => s.glitches).map((s) => [s.key, s.glitches])) } }));
    }
    if (t.midi_latency_p99 !== undefined) p99Check('midi_latency_p99', tally.midiLatency, t.midi_latency_p99, 'MIDI latency', 'MIDI latency', 'midi-latency-threshold', 3);
    if (t.wakeup_late_p99 !== undefined) p99Check('wakeup_late_p99', tally.wakeupLate, t.wakeup_late_p99, 'period wake-up lateness', 'period wake-up', 'wakeup-latency-threshold', 3);
    this.results = results;
    return out;
  }

  /**
   * Frames per second the DMA position really advanced, against the rate the
   * stream was configured for: a ratio below 1 is a clock running slow (or an
   * emulated device falling behind), which xrun counts alone do not show.
   */
  private hwPtrRateSummary(): Record<string, HwPtrRate> {
    const out: Record<string, HwPtrRate> = {};
    for (const s of [...this.tally.streams.values()].sort((a, b) => a.key.localeCompare(b.key))) {
      const r = s.hwPtr;
      if (!r) continue;
      const hz = r.sum / r.n;
      const e: HwPtrRate = { hz: Math.round(hz * 10) / 10, min_hz: Math.round(r.min * 10) / 10, max_hz: Math.round(r.max * 10) / 10, samples: r.n };
      if (s.rate) {
        e.nominal_hz = s.rate;
        e.ratio = Math.round((hz / s.rate) * 10000) / 10000;
      }
      // Keyed by handle names the preset chose: an own entry even for "__proto__".
      Object.defineProperty(out, s.key, { value: e, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  summary(elapsed: number): Record<string, unknown> {
    const t = this.tally;
    const ops: Record<string, unknown> = {};
    for (const [op, s] of [...t.ops].sort((a, b) => a[0].localeCompare(b[0]))) ops[op] = { count: s.count, errors: s.errors, dur_ns: s.dur.summary() };
    return {
      actions: t.operations,
      failed: t.failed,
      ops_per_s: elapsed > 0 ? Math.round((t.operations / elapsed) * 1e9) : 0,
      ops,
      xruns: { total: t.xruns, by_handle: Object.fromEntries(t.streamList().map((s) => [s.key, s.xruns])) },
      ...(t.recovered || t.recoverFailed ? { recovery: { recovered: t.recovered, failed: t.recoverFailed, time_lost_ns: t.lostNs, by_handle: Object.fromEntries(t.streamList().filter((s) => s.recovered || s.recoverFailed).map((s) => [s.key, { recovered: s.recovered, failed: s.recoverFailed, time_lost_ns: s.lostNs }])) } } : {}),
      delay_ns: t.delay.summary(),
      latency_ns: t.latency.summary(),
      ioctl_ns: t.ioctl.summary(),
      wakeup_late_ns: t.wakeupLate.summary(),
      ...(t.latencyConfidence.length ? { latency_confidence: { min: Math.min(...t.latencyConfidence), median: [...t.latencyConfidence].sort((a, b) => a - b)[t.latencyConfidence.length >> 1] } } : {}),
      ...(t.glitches ? { glitches: { total: t.glitches, by_handle: Object.fromEntries(t.streamList().filter((s) => s.glitches).map((s) => [s.key, s.glitches])) } } : {}),
      ...(t.midiLatency.count ? { midi_latency_ns: t.midiLatency.summary(), midi_jitter_ns: t.midiJitter.summary() } : {}),
      hw_ptr_rate: this.hwPtrRateSummary(),
      klog_lines: t.klogLines,
    };
  }
}
