// A summary made from a journal alone, for a run that never wrote summary.json
// (killed, machine down): the same tally and metrics the engine would have
// written, from the events that reached the disk. What the engine knew only
// at the end (checks, the verdict of an unfinished run) is absent; what the
// target said it ran on (the context event: kernel record, machine, cards) is
// kept, with the host left out (the journal does not record it).
import type { Finding, RunEvent, TargetContext } from '../events/types.js';
import { type JournalInfo, readJournal } from '../journal/reader.js';
import { MetricsAggregator } from '../analysis/metrics.js';
import type { RunSummary } from './run.js';

/** The findings kept (a journal may hold any number; the figures count them all). */
const MAX_FINDINGS = 1_000;

/** Reads the journal as a stream (bounded memory, every line checked). */
export async function summaryFromJournalFile(path: string, signal?: { cancelled: boolean }): Promise<RunSummary> {
  const acc = newAcc();
  const j = await readJournal(path, (e) => feed(acc, e), signal ? { signal } : {});
  return summaryOf(j, acc);
}

/** From events already in memory (a small journal). */
export function summaryFromJournal(j: JournalInfo & { events: RunEvent[] }): RunSummary {
  const acc = newAcc();
  for (const e of j.events) feed(acc, e);
  return summaryOf(j, acc);
}

interface Acc {
  m: MetricsAggregator;
  findings: Finding[];
  context?: TargetContext;
}

function newAcc(): Acc {
  return { m: new MetricsAggregator(), findings: [] };
}

function feed(acc: Acc, e: RunEvent): void {
  acc.m.feed(e);
  if (e.kind === 'finding' && acc.findings.length < MAX_FINDINGS) acc.findings.push(e.finding);
  else if (e.kind === 'context' && !acc.context) acc.context = e.context;
}

function summaryOf(j: JournalInfo, { m, findings, context }: Acc): RunSummary {
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.type] = (counts[f.type] ?? 0) + 1;
  const signatures: Record<string, string[]> = {};
  for (const f of findings) (signatures[f.signature ?? f.type] ??= []).push(f.id);
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
    signatures,
    metrics: m.summary(elapsed),
    counts: m.tally.counts(),
    ...(context ? { context } : {}),
  };
}
