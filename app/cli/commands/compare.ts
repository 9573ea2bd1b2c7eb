// stresslab compare <a/journal.jsonl> <b/journal.jsonl> — the oracle comparison
// of two recorded runs of the same scenario (a hardware run and a model run,
// or two kernels): exit 0 when every step could do the same things on both
// (differences timing alone could explain are listed, not counted), 1 when they
// diverge, 2 for bad input.
import { resolve } from 'node:path';
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readJournalArg } from '../journal-arg.js';
import { compareRuns } from '../../analysis/oracle.js';
import { oracleText } from '../../engine/oracle-run.js';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare two runs of one scenario step by step (the oracle)',
  usage: 'compare <journal A> <journal B> [--json]',
  options: [{ name: 'json', help: 'print the comparison as JSON' }],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (p.positionals.length !== 2) throw new UsageError('expected two journals (journal.jsonl of each run)');
    const [a, b] = [readJournalArg(resolve(p.positionals[0]!)), readJournalArg(resolve(p.positionals[1]!))];
    if (a.header.scenario.suite || b.header.scenario.suite) throw new UsageError('suites are compared phase by phase: compare runs of the presets they include');
    if (a.header.preset !== b.header.preset) io.err(`note: comparing different presets (${a.header.preset}, ${b.header.preset}); steps are matched by lane and position\n`);
    const label = (h: typeof a.header, other: typeof a.header) => (h.target === other.target ? `${h.target} (${h.profile.join(',')})` : h.target === 'sim' ? 'model' : h.target);
    const report = compareRuns(a.events, b.events, { a: label(a.header, b.header), b: label(b.header, a.header) });
    if (flag(p, 'json')) io.out(JSON.stringify(report, null, 2) + '\n');
    else io.out(oracleText(report, Infinity, `between ${report.labels.a} and ${report.labels.b}`));
    return report.significant ? EXIT.findings : EXIT.ok;
  },
};
