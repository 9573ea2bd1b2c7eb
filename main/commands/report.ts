// stresslab report <run> — the self-contained HTML report of a finished (or
// cut-short) run, the same file the user interface exports.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, opt, parseArgs } from '../../app/cli/args.js';
import { type Command, EXIT } from '../../app/cli/command.js';
import { readJournalArg } from '../../app/cli/journal-arg.js';
import { buildReport } from '../../app/report/report.js';
import type { RunSummary } from '../../app/api/types.js';

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
    const journal = readJournalArg(journalFile);
    const sfile = join(dir, 'summary.json');
    const summary = existsSync(sfile) ? (JSON.parse(readFileSync(sfile, 'utf8')) as RunSummary) : null;
    const html = buildReport({ journal, summary, runId: basename(dir) });
    const out = opt(p, 'out') ?? join(dir, 'report.html');
    if (out === '-') io.out(html);
    else {
      writeFileSync(resolve(io.cwd, out), html);
      io.out(`report: ${resolve(io.cwd, out)}\n`);
    }
    return EXIT.ok;
  },
};
