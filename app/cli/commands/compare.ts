// stresslab compare <run> <run> [<run>...] — runs side by side by what they
// measured (xruns per stream, latency percentiles, ioctl timings, rate
// accuracy, findings, checks), the first run as the baseline, with what got
// worse marked. Two runs of one scenario are also compared step by step (the
// oracle comparison: which outcomes each step could produce). Exit 0 when
// nothing got worse and no step diverged, 1 otherwise, 2 for bad input.
// Journals and summaries are untrusted input, checked as they are read; the
// journals are read as streams (per-step counts are all that is kept), so
// runs of any size compare in bounded memory.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readHeader, readJournal } from '../../journal/reader.js';
import { readSummaryFile } from '../../journal/summary-file.js';
import { OracleSide, compareSides, type OracleReport } from '../../analysis/oracle.js';
import { comparisonText, compareMetrics } from '../../analysis/compare-metrics.js';
import { oracleText } from '../../engine/oracle-run.js';
import type { RunSummary } from '../../engine/run.js';
import type { RunHeader } from '../../events/types.js';
import { summaryFromJournalFile } from '../../engine/summary-from-journal.js';

/** Journals larger than this are not compared step by step unless asked (--steps): a soak's steps are timing, not answers. */
const STEP_LIMIT_BYTES = 64 << 20;

interface RunArg {
  id: string;
  journal: string;
  summary: RunSummary;
  header: RunHeader;
}

/** A run directory or its journal.jsonl; its summary.json (checked), or one made from the journal for a run that never finished. */
async function runArg(arg: string, cwd: string, warn: (t: string) => void): Promise<RunArg> {
  const p = resolve(cwd, arg);
  const isDir = existsSync(p) && statSync(p).isDirectory();
  const journal = isDir ? join(p, 'journal.jsonl') : p;
  const header = await readHeader(journal);
  const dir = dirname(journal);
  const s = readSummaryFile(join(dir, 'summary.json'));
  if (s.problem) warn(`note: ${s.problem}; its figures come from the journal\n`);
  const summary = s.summary ?? (await summaryFromJournalFile(journal));
  return { id: basename(dir), journal, summary, header };
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare runs by their metrics (and two runs of one scenario step by step)',
  usage: 'compare <run dir or journal> <run dir or journal> [more runs...] [--json] [--steps | --metrics]',
  options: [
    { name: 'json', help: 'print the comparison as JSON' },
    { name: 'steps', help: 'compare two runs step by step even when their journals are large' },
    { name: 'metrics', help: 'compare metrics only, not steps' },
  ],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (p.positionals.length < 2) throw new UsageError('expected two or more runs (run directories or their journal.jsonl); the first is the baseline');
    if (flag(p, 'steps') && flag(p, 'metrics')) throw new UsageError('--steps and --metrics exclude each other');
    const runs: RunArg[] = [];
    for (const a of p.positionals) runs.push(await runArg(a, io.cwd, io.err));
    const metrics = compareMetrics(runs.map((r) => ({ id: r.id, summary: r.summary })));
    let steps: OracleReport | null = null;
    let stepNote = '';
    const [a, b] = runs;
    if (runs.length === 2 && a && b && !flag(p, 'metrics')) {
      if (a.header.scenario.suite || b.header.scenario.suite) stepNote = 'suites are compared step by step phase by phase: compare runs of the presets they include\n';
      else if (!flag(p, 'steps') && Math.max(statSync(a.journal).size, statSync(b.journal).size) > STEP_LIMIT_BYTES) stepNote = `steps not compared: a journal is larger than ${STEP_LIMIT_BYTES >> 20} MB (a soak's steps are timing); --steps compares them anyway\n`;
      else {
        if (a.header.preset !== b.header.preset) io.err(`note: comparing different presets (${a.header.preset}, ${b.header.preset}); steps are matched by lane and position\n`);
        const [sa, sb] = [new OracleSide(), new OracleSide()];
        const ia = await readJournal(a.journal, (e) => sa.feed(e));
        const ib = await readJournal(b.journal, (e) => sb.feed(e));
        for (const [name, i] of [[a.id, ia], [b.id, ib]] as const) {
          if (!i.trailer) io.err(`note: the journal of ${name} was cut short (${i.truncated ? 'inside a line' : 'at a line boundary'}, no closing line): compared as far as it goes\n`);
          if (i.full) io.err(`note: the journal of ${name} filled up before its run ended: later steps are not in it\n`);
        }
        const label = (h: RunHeader, other: RunHeader) => (h.target === other.target ? `${h.target} (${h.profile.join(',') || 'real kernel'})` : h.target === 'sim' ? 'model' : h.target);
        steps = compareSides(sa, sb, { a: label(a.header, b.header), b: label(b.header, a.header) });
      }
    }
    if (flag(p, 'json')) io.out(JSON.stringify({ metrics, ...(steps ? { steps } : {}) }, null, 2) + '\n');
    else {
      io.out(comparisonText(metrics, io.isTTY));
      if (steps) io.out('\n' + oracleText(steps, Infinity, `between ${steps.labels.a} and ${steps.labels.b}`));
      else if (stepNote) io.out('\n' + stepNote);
    }
    return metrics.worse || steps?.significant ? EXIT.findings : EXIT.ok;
  },
};
