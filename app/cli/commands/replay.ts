// stresslab replay <journal> — re-run the exact schedule a simulated run
// recorded, and say whether the new journal matches the old one line for line.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, flag, opt, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readJournalArg } from '../journal-arg.js';
import { startRun } from '../../engine/run.js';
import { SimTarget } from '../../targets/sim/sim-target.js';
import { PROGRAM_FORMAT } from '../../program/types.js';
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
    if (h.program !== PROGRAM_FORMAT) {
      // Recorded before runs executed a resolved program: its lanes drew their
      // arguments from other generators, so its schedule cannot be followed step
      // for step. The same preset, seed and profile run again instead, and the
      // findings are compared by type.
      const run = startRun({ scenario: h.scenario, target: new SimTarget({ profile: h.profile, depth: h.depth }), seed: h.seed, duration: h.duration, outDir });
      const stop = flag(p, 'json') ? () => {} : statusLine(io, run);
      const summary = await run.done.finally(stop);
      const was = [...new Set(j.events.filter((e) => e.kind === 'finding').map((e) => (e as { finding: { type: string } }).finding.type))];
      const now = [...new Set(summary.findings.map((f) => f.type))];
      const same = was.length === now.length && was.every((t) => (now as string[]).includes(t));
      if (flag(p, 'json')) io.out(JSON.stringify({ ...summary, replay: { identical: false, exact: false, reason: 'recorded before resolved programs', findings_then: was, findings_now: now } }, null, 2) + '\n');
      else {
        io.out(reportText(summary, outDir));
        io.out(`this journal was recorded before runs executed a resolved program (no "program" in its header): its schedule cannot be followed exactly, so ${h.preset} ran again with seed ${h.seed} and profile ${h.profile.join(',')}\n`);
        io.out(same ? `same findings as recorded: ${now.join(', ') || 'none'}\n` : `findings differ: recorded ${was.join(', ') || 'none'}, now ${now.join(', ') || 'none'}\n`);
      }
      return summary.findings.length ? EXIT.findings : EXIT.ok;
    }
    // The program is compiled again from the scenario the header carries (same seed, same budget).
    const run = startRun({ scenario: h.scenario, target: new SimTarget({ profile: h.profile, depth: h.depth, replay: decisions }), seed: h.seed, duration: h.duration, outDir });
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
