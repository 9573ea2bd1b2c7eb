// A recorded run as a reproducer reads it: the journal (header and findings)
// and, when the run finished, summary.json beside it (findings with their
// signatures, and the kernel the run ran on).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readJournal } from '../journal/reader.js';
import type { RunSummary } from '../engine/run.js';
import type { Finding } from '../events/types.js';
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
  const j = await readJournal(journal, (e) => {
    if (e.kind === 'finding' && findings.length < MAX_FINDINGS) findings.push(e.finding);
  });
  let summary: RunSummary | null = null;
  const sp = join(dirname(journal), 'summary.json');
  if (existsSync(sp)) {
    try {
      summary = JSON.parse(readFileSync(sp, 'utf8')) as RunSummary;
    } catch {
      summary = null; // a damaged summary: the journal's own findings still tell
    }
  }
  return { header: j.header, summary, findings, journal };
}
