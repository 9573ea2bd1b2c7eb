// stresslab replay <journal> — re-run the exact schedule a simulated run
// recorded, and say whether the new journal matches the old one line for line.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, flag, opt, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readJournalArg } from '../journal-arg.js';
import { startRun } from '../../engine/run.js';
import { SimTarget } from '../../targets/sim/sim-target.js';
import { reportText, statusLine } from '../run-text.js';

export function firstDifference(a: string, b: string): { line: number; was: string; now: string } | null {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return { line: i + 1, was: x[i] ?? '(end)', now: y[i] ?? '(end)' };
  return null;
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'Re-run the exact schedule a simulator journal recorded',
  usage: 'replay <journal.jsonl> [--out DIR] [--json]',
  options: [
    { name: 'out', value: true, valueName: 'DIR', help: 'where to write the replay journal (default: <journal dir>/replay)' },
    { name: 'json', help: 'print summary.json' },
  ],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (p.positionals.length !== 1) throw new UsageError('expected the path of a journal.jsonl');
    const path = resolve(p.positionals[0]!);
    const j = readJournalArg(path);
    const h = j.header;
    if (h.target !== 'sim') throw new UsageError(`replay needs a simulated-kernel journal; this one is from target "${h.target}"`);
    if (h.scenario.suite) throw new UsageError(`${h.preset} is a suite; replay one of its phases by running that preset with --seed ${h.seed}`);
    const decisions = j.events.filter((e) => e.kind === 'sched').map((e) => (e as { decisions: string }).decisions).join('');
    const outDir = resolve(opt(p, 'out') ?? join(path, '..', 'replay'));
    const run = startRun({ scenario: h.scenario, target: new SimTarget(), seed: h.seed, profile: h.profile, duration: h.duration, depth: h.depth, replay: decisions, outDir });
    const stop = flag(p, 'json') ? () => {} : statusLine(io, run);
    const summary = await run.done.finally(stop);
    // The replay's header says "replay"; everything after it must match.
    const before = readFileSync(path, 'utf8').split('\n').slice(1).join('\n');
    const after = readFileSync(join(outDir, 'journal.jsonl'), 'utf8').split('\n').slice(1).join('\n');
    const diff = j.truncated ? firstDifference(before.slice(0, before.lastIndexOf('\n')), after.slice(0, before.lastIndexOf('\n'))) : firstDifference(before, after);
    if (flag(p, 'json')) io.out(JSON.stringify({ ...summary, replay: { identical: !diff, ...(diff ? { first_difference: diff } : {}) } }, null, 2) + '\n');
    else {
      io.out(reportText(summary, outDir));
      io.out(diff ? `replay DIVERGED from the recorded journal at line ${diff.line + 1}:\n  was: ${diff.was.slice(0, 200)}\n  now: ${diff.now.slice(0, 200)}\n` : `replay identical to the recorded journal (${j.events.length} events${j.truncated ? ', recorded journal was cut short' : ''})\n`);
    }
    if (diff && !j.truncated) return EXIT.target;
    return summary.findings.length ? EXIT.findings : EXIT.ok;
  },
};
