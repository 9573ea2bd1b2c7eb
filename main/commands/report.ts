// stresslab report <run> — the self-contained HTML report of a finished (or
// cut-short) run, the same file the user interface exports. The journal is
// read as a stream, so a report of a journal of any size needs little memory.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, opt, parseArgs } from '../../app/cli/args.js';
import { type Command, EXIT } from '../../app/cli/command.js';
import { reportFromJournal } from '../../app/report/report.js';
import { readSummaryFile } from '../../app/journal/summary-file.js';
import { checkOutFile, writeOutFile } from '../../app/journal/out-path.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'Write the self-contained HTML report of a run',
  usage: 'report <run directory or journal.jsonl> [--out FILE]',
  options: [{ name: 'out', value: true, valueName: 'FILE', help: 'where to write it (default <run directory>/report.html; - for stdout)' }],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (p.positionals.length !== 1) throw new UsageError('expected one run directory or journal.jsonl');
    const given = resolve(io.cwd, p.positionals[0]!);
    if (!existsSync(given)) throw new UsageError(`${p.positionals[0]} does not exist`);
    const journalFile = statSync(given).isDirectory() ? join(given, 'journal.jsonl') : given;
    const dir = dirname(journalFile);
    const out = opt(p, 'out') ?? join(dir, 'report.html');
    // The output place is checked before the (possibly long) read of the journal.
    const outFile = out === '-' ? null : checkOutFile(resolve(io.cwd, out), '--out');
    const s = readSummaryFile(join(dir, 'summary.json'));
    if (s.problem) io.err(`stresslab report: ${s.problem}\n`);
    const html = await reportFromJournal(journalFile, s.summary, basename(dir));
    if (!outFile) io.out(html);
    else {
      writeOutFile(outFile, html, '--out');
      io.out(`report: ${outFile}\n`);
    }
    return EXIT.ok;
  },
};
