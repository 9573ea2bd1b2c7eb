// stresslab replay <journal> — re-run the exact schedule a simulated run
// recorded, and say whether the new journal matches the old one line for
// line. Both journals are read as streams (a journal of any size replays in
// bounded memory), the recorded one as untrusted input: its header's
// scenario is checked as a preset would be. A journal cut short (a crash,
// kill -9, a full disk) replays up to its cut and on: the strategy that made
// the record shadows it, so past the cut the run goes on as the recorded one
// did.
import { join, resolve } from 'node:path';
import { UsageError, flag, opt, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { readHeader, readJournal, RawLines } from '../../journal/reader.js';
import { JournalSchedule } from '../../journal/schedule.js';
import { prepareOutDir } from '../../journal/out-path.js';
import { startRun } from '../../engine/run.js';
import { SimTarget } from '../../targets/sim/sim-target.js';
import { PROGRAM_FORMAT } from '../../program/types.js';
import { reportText, statusLine } from '../run-text.js';
import { runExitCode, supervise } from '../supervise.js';

export interface Comparison {
  /** Lines compared after the headers. */
  compared: number;
  first_difference?: { line: number; was: string; now: string };
  /** The recorded journal has no closing line: it was cut at line `cut_at` (a torn line after it is not compared). */
  cut_at?: number;
}

/** Compares two journals line for line after their headers; the recorded one may be cut short. */
export function compareJournals(recorded: string, replayed: string): Comparison {
  const a = new RawLines(recorded);
  const b = new RawLines(replayed);
  try {
    a.next();
    b.next();
    let compared = 0;
    let lastA = '';
    for (;;) {
      const x = a.next();
      if (x !== undefined && a.last) {
        // An unfinished last line: the record ends before it (the writer died mid-line).
        return { compared, cut_at: a.lineNo - 1 };
      }
      const y = b.next();
      if (x === undefined) {
        if (!lastA.startsWith('{"kind":"end"')) return { compared, cut_at: a.lineNo };
        if (y === undefined) return { compared };
        return { compared, first_difference: { line: b.lineNo, was: '(end)', now: y } };
      }
      if (x !== y) return { compared, first_difference: { line: a.lineNo, was: x, now: y ?? '(end)' } };
      lastA = x;
      compared++;
    }
  } finally {
    a.close();
    b.close();
  }
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
    const path = resolve(io.cwd, p.positionals[0]!);
    const h = await readHeader(path);
    if (h.target !== 'sim') throw new UsageError(`replay needs a simulated-kernel journal; this one is from target "${h.target}"`);
    if (h.scenario.suite) throw new UsageError(`${h.preset} is a suite; replay one of its phases by running that preset with --seed ${h.seed}`);
    // Every line is checked before anything runs (a damaged journal is bad input, not a divergence).
    const recordedFindings = new Set<string>();
    await readJournal(path, (e) => void (e.kind === 'finding' && recordedFindings.add(e.finding.type)));
    const outDir = prepareOutDir(opt(p, 'out') ?? join(path, '..', 'replay'));
    if (resolve(outDir, 'journal.jsonl') === path) throw new UsageError('--out would overwrite the journal being replayed');
    const strategy = h.strategy === 'random' ? 'random' : 'pct';
    if (h.program !== PROGRAM_FORMAT) {
      // Recorded before runs executed a resolved program: its lanes drew their
      // arguments from other generators, so its schedule cannot be followed step
      // for step. The same preset, seed and profile run again instead, and the
      // findings are compared by type.
      const run = startRun({ scenario: h.scenario, target: new SimTarget({ profile: h.profile, depth: h.depth, strategy }), seed: h.seed, duration: h.duration, outDir });
      const sup = supervise(run, io);
      const stop = flag(p, 'json') ? () => {} : statusLine(io, run);
      const summary = await run.done.finally(() => {
        stop();
        sup.dispose();
      });
      const was = [...recordedFindings];
      const now = [...new Set(summary.findings.map((f) => f.type))];
      const same = was.length === now.length && was.every((t) => (now as string[]).includes(t));
      if (flag(p, 'json')) io.out(JSON.stringify({ ...summary, replay: { identical: false, exact: false, reason: 'recorded before resolved programs', findings_then: was, findings_now: now } }, null, 2) + '\n');
      else {
        io.out(reportText(summary, outDir));
        io.out(`this journal was recorded before runs executed a resolved program (no "program" in its header): its schedule cannot be followed exactly, so ${h.preset} ran again with seed ${h.seed} and profile ${h.profile.join(',')}\n`);
        io.out(same ? `same findings as recorded: ${now.join(', ') || 'none'}\n` : `findings differ: recorded ${was.join(', ') || 'none'}, now ${now.join(', ') || 'none'}\n`);
      }
      return runExitCode(summary, sup.signal !== null);
    }
    // The program is compiled again from the scenario the header carries (same seed, same budget);
    // the recorded schedule is read from the journal as the run goes.
    const schedule = new JournalSchedule(path);
    const run = startRun({ scenario: h.scenario, target: new SimTarget({ profile: h.profile, depth: h.depth, strategy, replay: schedule }), seed: h.seed, duration: h.duration, outDir, ...(h.journal ? { journalLimits: h.journal } : {}) });
    const sup = supervise(run, io);
    const stop = flag(p, 'json') ? () => {} : statusLine(io, run);
    const summary = await run.done.finally(() => {
      stop();
      sup.dispose();
      schedule.close();
    });
    const interrupted = sup.signal !== null;
    const cmp = compareJournals(path, join(outDir, 'journal.jsonl'));
    const cutNote = cmp.cut_at !== undefined ? `the recorded journal was cut short after line ${cmp.cut_at} (no closing line); ` : '';
    if (flag(p, 'json')) io.out(JSON.stringify({ ...summary, replay: { identical: !cmp.first_difference, lines_compared: cmp.compared, ...(cmp.cut_at !== undefined ? { recorded_cut_at: cmp.cut_at } : {}), ...(cmp.first_difference ? { first_difference: cmp.first_difference } : {}) } }, null, 2) + '\n');
    else {
      io.out(reportText(summary, outDir));
      if (cmp.first_difference) {
        const d = cmp.first_difference;
        io.out(`replay DIVERGED from the recorded journal at line ${d.line}:\n  was: ${d.was.slice(0, 200)}\n  now: ${d.now.slice(0, 200)}\n`);
      } else if (cmp.cut_at !== undefined) io.out(`replay reproduced the recorded journal up to its cut: ${cutNote}all ${cmp.compared} line(s) before it match, and the replay ran on to the end of the run\n`);
      else io.out(`replay identical to the recorded journal (${cmp.compared} lines after the header)\n`);
    }
    if (interrupted) return EXIT.interrupted;
    if (cmp.first_difference && !(interrupted || summary.status === 'error')) return EXIT.target;
    return runExitCode(summary, false);
  },
};
