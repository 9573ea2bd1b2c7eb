// stresslab minimize <journal | run directory> — shrink a failing run to the
// smallest scenario that still shows the same finding (same signature), and
// write it as a preset (YAML) and as a C reproducer. On the simulated kernel
// every candidate is re-run with a few seeds; on a real kernel (--target vm
// or local) every attempt is a run with a bounded budget.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, intOpt, opt, parseArgs, type OptionSpec, type Parsed } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { JournalError } from '../../journal/reader.js';
import { journalOf, loadRun } from '../../repro/run-files.js';
import { minimize, MinimizeError, type ScenarioSize, targetRunner } from '../../repro/minimize.js';
import { pickFinding, reproFile, reproFromPreset } from '../../repro/source.js';
import { ReproError } from '../../repro/repro.js';
import { presetYaml } from '../../repro/preset-form.js';
import { signatureOf } from '../../analysis/signature.js';
import { SimTarget } from '../../targets/sim/sim-target.js';
import { targetFactory } from '../../targets/registry.js';
import type { Target } from '../../targets/target.js';
import type { BootOptions } from '../../vlab/index.js';
import { formatDuration } from '../../vocabulary/duration.js';
import { GUEST_OPTIONS, guestOptions } from './vm.js';
import { bootOfRun } from '../../repro/run-boot.js';
import { kernelOf } from '../../api/kernel-record.js';
import { parseDurationArg } from './run.js';

export const MINIMIZE_OPTIONS: OptionSpec[] = [
  { name: 'finding', value: true, valueName: 'ID', help: 'the finding to keep (default: the run\'s first critical one)' },
  { name: 'attempts', value: true, valueName: 'N', help: 'runs per candidate before it counts as not reproducing (default 3: seeds N, N+1, N+2 on the simulator)' },
  { name: 'max-runs', value: true, valueName: 'N', help: 'runs in total, at most (default 400 on the simulator, 60 on a real kernel)' },
  { name: 'attempt-budget', value: true, valueName: 'TIME', help: 'real kernels: the longest one attempt may run (default twice the time the run needed, at least 5s)' },
  { name: 'target', value: true, valueName: 'sim|vm|local', help: "where candidates run (default: the run's own target)" },
  { name: 'out', value: true, valueName: 'DIR', help: 'where to write <preset>-min.yaml and its C reproducer (default: the run directory)' },
  ...GUEST_OPTIONS.filter((o) => ['hw', 'kernel-version', 'kernel-patch', 'rebuild', 'extra-modules', 'no-mem-debug', 'kernel', 'modules'].includes(o.name)).map((o) => ({
    ...o,
    help: `${o.help} (--target vm; default: the run's own kernel, overlay and hardware)`,
  })),
];

export function sizeTable(before: ScenarioSize, after: ScenarioSize): string {
  const row = (k: string, a: string | number, b: string | number) => `  ${k.padEnd(11)} ${String(a).padStart(10)} -> ${String(b)}\n`;
  const it = (x: number | null) => (x === null ? 'budget' : x);
  return (
    row('lanes', before.lanes, after.lanes) +
    row('loop steps', before.steps, after.steps) +
    row('setup', before.setup, after.setup) +
    row('teardown', before.teardown, after.teardown) +
    row('replicas', before.replicas, after.replicas) +
    row('iterations', it(before.iterations), it(after.iterations)) +
    row('budget', formatDuration(before.budget), formatDuration(after.budget))
  );
}

export async function runMinimize(p: Parsed, io: Io): Promise<number> {
  if (p.positionals.length !== 1) throw new UsageError('expected the journal or run directory of a failing run');
  const journal = journalOf(p.positionals[0]!);
  if (!journal) throw new UsageError(`${p.positionals[0]} is not a journal or run directory: minimising starts from a failing run (stresslab run … writes one)`);
  let run;
  try {
    run = await loadRun(journal);
  } catch (e) {
    if (e instanceof JournalError) throw new UsageError(e.message);
    throw e;
  }
  const h = run.header;
  if (h.scenario.suite) throw new UsageError(`${h.preset} is a suite: minimise the run of one of its presets`);
  let finding;
  try {
    finding = pickFinding(run.summary?.findings ?? run.findings ?? [], opt(p, 'finding'));
  } catch (e) {
    if (e instanceof ReproError) throw new UsageError(e.message);
    throw e;
  }
  if (!finding) throw new UsageError(`the run has no findings: nothing to minimise (${journal})`);
  const signature = finding.signature ?? signatureOf(finding);
  const targetId = opt(p, 'target') ?? h.target;
  const real = targetId !== 'sim';
  const attempts = intOpt(p, 'attempts', 1, 100) ?? 3;
  const maxRuns = intOpt(p, 'max-runs', 1, 100_000) ?? (real ? 60 : 400);
  const attemptBudget = parseDurationArg(opt(p, 'attempt-budget')) ?? Math.max(5e9, 2 * finding.t);
  let make: () => Target;
  let boot: BootOptions | undefined;
  let shared: Target | undefined;
  const strategy = h.strategy === 'random' ? ('random' as const) : ('pct' as const);
  if (!real) make = () => new SimTarget({ profile: h.profile, depth: h.depth, strategy });
  else {
    const f = targetFactory(targetId);
    if (!f) throw new UsageError(`unknown target "${targetId}"`);
    try {
      // a vm run is minimised on its own kernel, module overlay and hardware unless told otherwise
      boot = targetId === 'vm' ? { ...(h.target === 'vm' ? bootOfRun(run, guestOptions(p, io)) : guestOptions(p, io)), log: undefined } : undefined;
    } catch (e) {
      if (e instanceof ReproError) throw new UsageError(e.message);
      throw e;
    }
    if (boot?.overlay && 'key' in boot.overlay) io.err(`  the run's module overlay ${boot.overlay.key} (${boot.overlay.patches.map((x) => x.name).join(', ') || 'no patches'}) on ${boot.kernelVersion ?? 'the default kernel'}\n`);
    // one target (one guest) for every attempt
    const t = f.create({ ...(boot ? { boot } : {}) });
    const avail = await t.available();
    if (!avail.ok) {
      io.err(`stresslab minimize: target ${targetId} is not available: ${avail.why}\n`);
      return EXIT.target;
    }
    shared = t;
    make = () => t;
  }
  io.err(
    `minimising ${h.preset} (seed ${h.seed}) while it shows ${signature}\n` +
      (real ? `  on ${targetId}: each attempt a run of at most ${formatDuration(attemptBudget)}, ${attempts} attempt(s) per candidate, at most ${maxRuns} runs\n` : `  on the simulated kernel (profile ${h.profile.join(',')}): ${attempts} seed(s) per candidate, at most ${maxRuns} runs\n`),
  );
  let r;
  try {
    r = await minimize({
      scenario: h.scenario,
      seed: h.seed,
      signature,
      findingAt: finding.t,
      attempts,
      maxRuns,
      run: targetRunner(make, signature, real ? { budget: (sc) => Math.min(sc.duration, attemptBudget), keep: true } : {}),
      log: (l) => io.err(`  ${l}\n`),
    });
  } catch (e) {
    if (e instanceof MinimizeError) {
      io.err(`stresslab minimize: ${e.message}\n`);
      return EXIT.findings;
    }
    throw e;
  } finally {
    await shared?.dispose?.();
  }
  const name = `${h.scenario.name}-min`.slice(0, 64);
  const sc = { ...r.scenario, name, description: `${h.scenario.description.trim()}\n\nMinimised by stresslab minimize from ${journal} (seed ${h.seed}): ${r.log.length} reductions in ${r.runs} runs, still shows ${signature} with seed ${r.seed}.` };
  const out = resolve(io.cwd, opt(p, 'out') ?? join(journal, '..'));
  mkdirSync(out, { recursive: true });
  const yamlPath = join(out, `${name}.yaml`);
  // the guest it was minimised in, so that "run it" runs it where it fails
  const ov = boot?.overlay;
  const patchFiles = !ov ? [] : 'key' in ov ? ov.patches.map((x) => x.file) : (ov.patches ?? []);
  const hwList = boot?.hw === undefined ? [] : typeof boot.hw === 'string' ? [boot.hw] : boot.hw;
  const guestArgs = [
    ...(boot?.kernelVersion ? [`--kernel-version ${boot.kernelVersion}`] : []),
    ...patchFiles.map((f) => `--kernel-patch ${f}`),
    ...(hwList.length ? [`--hw ${hwList.join(',')}`] : []),
  ].join(' ');
  writeFileSync(
    yamlPath,
    presetYaml(sc, `stresslab minimize: ${signature}, seed ${r.seed}${real ? ` on ${targetId}` : `, simulated kernel profile ${h.profile.join(',')}`}\nrun it: stresslab run ${yamlPath} --seed ${r.seed}${real ? ` --target ${targetId}${guestArgs ? ` ${guestArgs}` : ''}` : ` --profile ${h.profile.join(',')}`}`),
  );
  const ctx = reproFromPreset(sc, r.seed);
  // the real kernel it was found on: the run's kernel record (from the journal when there is no summary.json)
  const recordedKernel = real ? (kernelOf(run.summary) ?? run.context?.kernel) : undefined;
  const file = reproFile({
    ...ctx,
    origin: { kind: 'run', journal, target: h.target, profile: h.profile },
    finding: { id: r.finding.id, type: r.finding.type, message: r.finding.message, signature },
    ...(recordedKernel ? { kernel: recordedKernel } : {}),
    minimizedFrom: `${h.preset} seed ${h.seed} (${r.before.lanes} lanes, ${r.before.steps} loop steps, ${formatDuration(r.before.budget)}) in ${r.runs} runs`,
  });
  const cPath = join(out, file.name);
  writeFileSync(cPath, file.text);
  io.out(
    `${r.exhausted ? 'PARTLY MINIMISED (the run budget ran out)' : 'MINIMISED'}: ${h.preset} still shows ${signature} (seed ${r.seed}) after ${r.log.length} reductions in ${r.runs} runs\n` +
      sizeTable(r.before, r.after) +
      `  preset: ${yamlPath}\n  C:      ${cPath}\n`,
  );
  return EXIT.ok;
}

export const minimizeCommand: Command = {
  name: 'minimize',
  summary: 'Shrink a failing run while it still shows its finding; write the preset and its C reproducer',
  usage: 'minimize <journal.jsonl | run directory> [options]',
  options: MINIMIZE_OPTIONS,
  async run(argv, io) {
    return runMinimize(parseArgs(argv, MINIMIZE_OPTIONS), io);
  },
};
