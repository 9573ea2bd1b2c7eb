// The analysis pipeline a run feeds: every detector sees every event, in
// order; findings come back to the engine as soon as they are made.
import type { Finding, RunEvent } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { AnalysisContext, type Detector } from './context.js';
import { KlogDetector } from './detectors/klog.js';
import { HangDetector } from './detectors/hang.js';
import { TornHwParamsDetector } from './detectors/torn.js';
import { SeqAccountingDetector } from './detectors/seq-accounting.js';
import { UnexpectedErrnoDetector } from './detectors/errno.js';
import { SuccessAfterDetachDetector } from './detectors/detach.js';
import { conformanceTable } from '../api/conformance.js';
import { ConformanceDetector } from './detectors/conformance.js';
import { MetricsAggregator } from './metrics.js';

export class Analysis {
  readonly ctx: AnalysisContext;
  readonly metrics = new MetricsAggregator();
  readonly klog: KlogDetector;
  readonly hang: HangDetector;
  readonly torn: TornHwParamsDetector;
  readonly seq: SeqAccountingDetector;
  readonly errno: UnexpectedErrnoDetector;
  readonly detach: SuccessAfterDetachDetector;
  readonly conformance: ConformanceDetector;
  private readonly detectors: Detector[];

  /** `ids`: finding counters to share with other analyses of the same run (suite phases). */
  constructor(readonly scenario: Scenario, ids?: Map<string, number>) {
    this.ctx = new AnalysisContext(scenario, ids);
    this.klog = new KlogDetector(this.ctx, scenario.expect.klogIgnore);
    this.hang = new HangDetector(this.ctx);
    this.torn = new TornHwParamsDetector(this.ctx);
    this.seq = new SeqAccountingDetector(this.ctx);
    this.errno = new UnexpectedErrnoDetector(this.ctx, scenario);
    this.detach = new SuccessAfterDetachDetector(this.ctx);
    this.conformance = new ConformanceDetector(this.ctx, scenario.expect.conformance);
    this.detectors = [this.klog, this.hang, this.torn, this.seq, this.errno, this.detach, this.conformance];
  }

  feed(e: RunEvent): Finding[] {
    this.metrics.feed(e);
    if (e.kind === 'act') this.ctx.remember(e);
    let out: Finding[] | undefined;
    for (const d of this.detectors) {
      const f = d.feed(e);
      if (f && f.length) (out ??= []).push(...f);
    }
    return out ?? NONE;
  }

  finish(end: number): Finding[] {
    const out: Finding[] = [];
    for (const d of this.detectors) {
      const f = d.finish?.(end);
      if (f) out.push(...f);
    }
    out.push(...this.metrics.thresholds(this.ctx, this.scenario.expect.thresholds, end));
    return out;
  }

  summary(elapsed: number): Record<string, unknown> {
    return {
      ...this.metrics.summary(elapsed),
      errors: this.errno.errors,
      ...(Object.keys(this.errno.repeats).length ? { unexpected_errno_repeats: this.errno.repeats } : {}),
      hw_params: { rounds_checked: this.torn.rounds, torn: this.torn.torn },
      ...(this.seq.counts && this.seq.counts.sent + this.seq.counts.received > 0 ? { seq: this.seq.counts } : {}),
      ...(this.detach.callsAfterDetach ? { after_detach: { calls: this.detach.callsAfterDetach, failed: this.detach.failedAfterDetach } } : {}),
      ...(this.conformance.configurations ? { conformance: { configurations: this.conformance.configurations, failed: this.conformance.failed, criteria: this.scenario.expect.conformance, streams: conformanceTable(this.metrics.tally.conformance, this.scenario.expect.conformance) } } : {}),
      lanes: this.hang.summary(),
      kernel_log: { lines: this.klog.lines, errors: this.klog.errors },
    };
  }
}

const NONE: Finding[] = [];
