// stresslab compare <a/journal.jsonl> <b/journal.jsonl> — the oracle comparison
// of two recorded runs of the same scenario (a hardware run and a model run,
// or two kernels): exit 0 when every step could do the same things on both
// (differences timing alone could explain are listed, not counted), 1 when they
// diverge, 2 for bad input. Both journals are read as streams and checked line
// by line; the comparison keeps per-step counts only, so journals of any size
// compare in bounded memory.
import { resolve } from 'node:path';
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readHeader, readJournal } from '../../journal/reader.js';
import { OracleSide, compareSides } from '../../analysis/oracle.js';
import { oracleText } from '../../engine/oracle-run.js';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare two runs of one scenario step by step (the oracle)',
  usage: 'compare <journal A> <journal B> [--json]',
  options: [{ name: 'json', help: 'print the comparison as JSON' }],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (p.positionals.length !== 2) throw new UsageError('expected two journals (journal.jsonl of each run)');
    const [pa, pb] = [resolve(io.cwd, p.positionals[0]!), resolve(io.cwd, p.positionals[1]!)];
    const [ha, hb] = [await readHeader(pa), await readHeader(pb)];
    if (ha.scenario.suite || hb.scenario.suite) throw new UsageError('suites are compared phase by phase: compare runs of the presets they include');
    if (ha.preset !== hb.preset) io.err(`note: comparing different presets (${ha.preset}, ${hb.preset}); steps are matched by lane and position\n`);
    const [sa, sb] = [new OracleSide(), new OracleSide()];
    const ia = await readJournal(pa, (e) => sa.feed(e));
    const ib = await readJournal(pb, (e) => sb.feed(e));
    for (const [name, i] of [['A', ia], ['B', ib]] as const) {
      if (!i.trailer) io.err(`note: journal ${name} was cut short (${i.truncated ? 'inside a line' : 'at a line boundary'}, no closing line): compared as far as it goes\n`);
      if (i.full) io.err(`note: journal ${name} filled up before its run ended: later steps are not in it\n`);
    }
    const label = (h: typeof ha, other: typeof ha) => (h.target === other.target ? `${h.target} (${h.profile.join(',')})` : h.target === 'sim' ? 'model' : h.target);
    const report = compareSides(sa, sb, { a: label(ha, hb), b: label(hb, ha) });
    if (flag(p, 'json')) io.out(JSON.stringify(report, null, 2) + '\n');
    else io.out(oracleText(report, Infinity, `between ${report.labels.a} and ${report.labels.b}`));
    return report.significant ? EXIT.findings : EXIT.ok;
  },
};
