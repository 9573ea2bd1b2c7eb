// stresslab repro <preset | journal.jsonl | run directory> — write one
// standalone C file that issues the same requests as the lab's run: for a
// preset and seed, or for a recorded run (its finding, kernel and seed in the
// header). With --minimize, first shrink a failing run (minimize.ts).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, intOpt, opt, parseArgs } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { JournalError } from '../../journal/reader.js';
import { parseDurationArg } from './run.js';
import { reproFile, reproFromPreset, reproFromRun } from '../../repro/source.js';
import { journalOf, loadRun } from '../../repro/run-files.js';
import { MINIMIZE_OPTIONS, runMinimize } from './minimize.js';
import { ReproError, type ReproContext } from '../../repro/repro.js';

export const REPRO_OPTIONS = [
  { name: 'seed', value: true, valueName: 'N', help: 'a preset: the seed its lanes draw from (default 1); a run: its own' },
  { name: 'duration', value: true, valueName: 'TIME', help: "the reproducer's budget, e.g. 30s (default: the preset's or the run's)" },
  { name: 'finding', value: true, valueName: 'ID', help: 'a run: the finding to describe (default: its first critical one)' },
  { name: 'out', value: true, valueName: 'FILE', help: 'where to write the C file ("-": standard output; default ./<preset>-seed<N>[-<finding>].c)' },
  { name: 'minimize', help: 'a failing run: minimise it first (as stresslab minimize, whose options then apply) and write the minimal preset and its reproducer' },
];

export async function reproContextFor(ref: string, seed: number | undefined, duration: number | undefined, finding: string | undefined): Promise<ReproContext> {
  const journal = journalOf(ref);
  if (journal) {
    if (seed !== undefined) throw new UsageError('--seed is for presets: a run reproduces with its own seed');
    let run;
    try {
      run = await loadRun(journal);
    } catch (e) {
      if (e instanceof JournalError) throw new UsageError(e.message);
      throw e;
    }
    const c = reproFromRun(run, finding);
    return duration !== undefined ? { ...c, program: { ...c.program, duration } } : c;
  }
  if (finding) throw new UsageError('--finding is for runs (a journal or run directory); a preset has no findings yet');
  return reproFromPreset(new PresetLibrary().load(ref).scenario, seed ?? 1, duration);
}

export function writeRepro(io: Io, c: ReproContext, out: string | undefined): number {
  let file;
  try {
    file = reproFile(out && out !== '-' ? { ...c, file: out.split('/').pop()! } : c);
  } catch (e) {
    if (e instanceof ReproError) throw new UsageError(e.message);
    throw e;
  }
  if (out === '-') {
    io.out(file.text);
    return EXIT.ok;
  }
  const path = resolve(io.cwd, out ?? file.name);
  writeFileSync(path, file.text);
  const bin = path.replace(/\.c$/, '');
  io.out(`wrote ${path}${c.finding ? ` (${c.finding.type}${c.finding.signature ? `, ${c.finding.signature}` : ''})` : ''}\n  build: gcc -O2 -Wall -Werror -pthread ${path} -o ${bin}\n  run:   sudo ${bin}   (exit 1: reproduced, 0: nothing user space saw)\n`);
  return EXIT.ok;
}

export const reproCommand: Command = {
  name: 'repro',
  summary: 'Write a standalone C reproducer of a preset or a recorded run',
  usage: 'repro <preset name or path | journal.jsonl | run directory> [options]',
  options: REPRO_OPTIONS,
  async run(argv, io) {
    if (argv.includes('--minimize')) return runMinimize(parseArgs(argv.filter((a) => a !== '--minimize'), MINIMIZE_OPTIONS), io);
    const p = parseArgs(argv, REPRO_OPTIONS);
    if (p.positionals.length !== 1) throw new UsageError('expected one preset, journal or run directory');
    let c: ReproContext;
    try {
      c = await reproContextFor(p.positionals[0]!, intOpt(p, 'seed', 0, 2 ** 32 - 1), parseDurationArg(opt(p, 'duration')), opt(p, 'finding'));
    } catch (e) {
      if (e instanceof ReproError) throw new UsageError(e.message);
      throw e;
    }
    return writeRepro(io, c, opt(p, 'out'));
  },
};
