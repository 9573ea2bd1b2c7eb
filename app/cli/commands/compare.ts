// stresslab compare <run> <run> [<run>...] — runs side by side by what they
// measured (xruns per stream, latency percentiles, ioctl timings, rate
// accuracy, findings, checks), the first run as the baseline, with what got
// worse marked. Two runs of one scenario are also compared step by step (the
// oracle comparison: which outcomes each step could produce). Exit 0 when
// nothing got worse and no step diverged, 1 otherwise, 2 for bad input.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readJournalArg } from '../journal-arg.js';
import { compareRuns, type OracleReport } from '../../analysis/oracle.js';
import { comparisonText, compareMetrics } from '../../analysis/compare-metrics.js';
import { oracleText } from '../../engine/oracle-run.js';
import type { RunSummary } from '../../engine/run.js';
import type { RunHeader } from '../../events/types.js';
import { summaryFromJournal } from '../../engine/summary-from-journal.js';

/** Journals larger than this are not compared step by step unless asked (--steps): a soak's steps are timing, not answers. */
const STEP_LIMIT_BYTES = 64 << 20;

interface RunArg {
  id: string;
  journal: string;
  summary: RunSummary;
  header: RunHeader;
}

/** The first line of a journal, with the reader's words for what is wrong. */
function headerOf(path: string): RunHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UsageError(`cannot read journal ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.toString('utf8', 0, n).split('\n')[0] ?? '';
    let h: { kind?: string };
    try {
      h = JSON.parse(line) as { kind?: string };
    } catch {
      throw new UsageError(`${path}:1: not a JSON line: ${line.slice(0, 60)}`);
    }
    if (h.kind !== 'run') throw new UsageError(`${path}: does not start with a run header (is this a stresslab journal?)`);
    return h as RunHeader;
  } finally {
    closeSync(fd);
  }
}

/** A run directory or its journal.jsonl; its summary.json, or one made from the journal for a run that never finished. */
function runArg(arg: string): RunArg {
  const p = resolve(arg);
  const isDir = existsSync(p) && statSync(p).isDirectory();
  const journal = isDir ? join(p, 'journal.jsonl') : p;
  const header = headerOf(journal);
  const dir = dirname(journal);
  const sfile = join(dir, 'summary.json');
  let summary: RunSummary;
  if (existsSync(sfile)) {
    try {
      summary = JSON.parse(readFileSync(sfile, 'utf8')) as RunSummary;
    } catch (e) {
      throw new UsageError(`${sfile}: ${(e as Error).message}`);
    }
  } else summary = summaryFromJournal(readJournalArg(journal));
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
    const runs = p.positionals.map(runArg);
    const metrics = compareMetrics(runs.map((r) => ({ id: r.id, summary: r.summary })));
    let steps: OracleReport | null = null;
    let stepNote = '';
    const [a, b] = runs;
    if (runs.length === 2 && a && b && !flag(p, 'metrics')) {
      if (a.header.scenario.suite || b.header.scenario.suite) stepNote = 'suites are compared step by step phase by phase: compare runs of the presets they include\n';
      else if (!flag(p, 'steps') && Math.max(statSync(a.journal).size, statSync(b.journal).size) > STEP_LIMIT_BYTES) stepNote = `steps not compared: a journal is larger than ${STEP_LIMIT_BYTES >> 20} MB (a soak's steps are timing); --steps compares them anyway\n`;
      else {
        if (a.header.preset !== b.header.preset) io.err(`note: comparing different presets (${a.header.preset}, ${b.header.preset}); steps are matched by lane and position\n`);
        const ja = readJournalArg(a.journal);
        const jb = readJournalArg(b.journal);
        const label = (h: RunHeader, other: RunHeader) => (h.target === other.target ? `${h.target} (${h.profile.join(',') || 'real kernel'})` : h.target === 'sim' ? 'model' : h.target);
        steps = compareRuns(ja.events, jb.events, { a: label(a.header, b.header), b: label(b.header, a.header) });
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
