// A conformance sweep (op pcm.sweep) judged: each configuration the hardware
// offered that failed to open, configure or run, or that ran at a rate other
// than the one it granted, is a finding. Judged by app/api/conformance.ts, the
// one function the live view and the report use too. Findings are per PCM
// stream and cause, not per configuration: a card whose clock is 0.05 % fast
// fails every rate it offers for one reason.
import type { Finding, RunEvent } from '../../events/types.js';
import { type ConformanceCriteria, configLabel, judgeConfig } from '../../api/conformance.js';
import type { AnalysisContext, Detector } from '../context.js';

const MAX_FINDINGS = 50;

export class ConformanceDetector implements Detector {
  readonly name = 'conformance';
  /** Configurations judged (pass, fail, not offered, busy, not measured all count). */
  configurations = 0;
  failed = 0;
  private readonly reported = new Set<string>();

  constructor(
    private readonly ctx: AnalysisContext,
    private readonly criteria: ConformanceCriteria,
  ) {}

  feed(e: RunEvent): Finding[] | void {
    if (e.kind !== 'conformance') return;
    this.configurations++;
    const j = judgeConfig(e, this.criteria);
    if (j.verdict !== 'fail') return;
    this.failed++;
    const cause = j.why?.startsWith('measured') ? 'rate' : j.why?.startsWith('hw_ptr strays') ? 'rate-error' : j.why?.startsWith('a period wake-up') ? 'jitter' : (e.stage ?? 'call');
    const key = `${e.card},${e.device},${e.stream},${cause}`;
    if (this.reported.has(key) || this.reported.size >= MAX_FINDINGS) return;
    this.reported.add(key);
    const dev = `hw:${e.card},${e.device}${e.card_id ? ` (${e.card_id})` : ''} ${e.stream}`;
    return [this.ctx.finding('conformance', e.t, `${dev}: ${configLabel(e)}: ${j.why}`, { lane: e.lane, evidence: { ...e } as unknown as Record<string, unknown> })];
  }
}
