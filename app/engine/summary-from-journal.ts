// A summary made from a journal alone, for a run that never wrote summary.json
// (killed, machine down): the same tally and metrics the engine would have
// written, from the events that reached the disk. What the engine knew only
// at the end (checks, the verdict of an unfinished run) is absent.
import type { Finding } from '../events/types.js';
import type { Journal } from '../journal/reader.js';
import { MetricsAggregator } from '../analysis/metrics.js';
import type { RunSummary } from './run.js';

export function summaryFromJournal(j: Journal): RunSummary {
  const m = new MetricsAggregator();
  const findings: Finding[] = [];
  for (const e of j.events) {
    m.feed(e);
    if (e.kind === 'finding') findings.push(e.finding);
  }
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.type] = (counts[f.type] ?? 0) + 1;
  const h = j.header;
  const elapsed = j.trailer?.t ?? m.tally.lastT;
  return {
    verdict: j.trailer?.verdict ?? 'aborted',
    preset: h.preset,
    target: h.target,
    profile: h.profile,
    seed: h.seed,
    strategy: h.strategy,
    status: 'stopped',
    reason: j.trailer ? j.trailer.reason : 'the run did not finish (no summary.json); figures are from its journal',
    budget_ns: h.duration,
    elapsed_ns: elapsed,
    wall_ms: 0,
    findings,
    finding_counts: counts,
    metrics: m.summary(elapsed),
    counts: m.tally.counts(),
  };
}
