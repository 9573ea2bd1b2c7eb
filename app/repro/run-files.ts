// A recorded run as a reproducer reads it: the journal (header and findings)
// and, when the run finished, summary.json beside it (findings with their
// signatures, and the kernel the run ran on).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readJournal } from '../journal/reader.js';
import { readSummaryFile } from '../journal/summary-file.js';
import type { RunSummary } from '../engine/run.js';
import type { Finding, TargetContext } from '../events/types.js';
import type { RecordedRun } from './source.js';

/** A journal path, or a run directory holding one; undefined when `ref` is neither (a preset). */
export function journalOf(ref: string): string | undefined {
  const p = resolve(ref);
  if (existsSync(p) && statSync(p).isDirectory()) return existsSync(join(p, 'journal.jsonl')) ? join(p, 'journal.jsonl') : undefined;
  return p.endsWith('.jsonl') ? p : undefined;
}

/** The findings kept from a journal without summary.json (a journal may hold any number). */
const MAX_FINDINGS = 1_000;

/** Reads the journal as a stream (bounded memory, every line checked). Throws JournalError for a journal that cannot be read. */
export async function loadRun(journal: string): Promise<RecordedRun> {
  const findings: Finding[] = [];
  let context: TargetContext | undefined;
  const j = await readJournal(journal, (e) => {
    if (e.kind === 'finding' && findings.length < MAX_FINDINGS) findings.push(e.finding);
    else if (e.kind === 'context' && !context) context = e.context;
  });
  // checked like every summary (and its kernel record made one); a damaged one is none: the journal's own findings still tell
  const summary: RunSummary | null = readSummaryFile(join(dirname(journal), 'summary.json')).summary;
  return { header: j.header, summary, findings, ...(context ? { context } : {}), journal };
}
