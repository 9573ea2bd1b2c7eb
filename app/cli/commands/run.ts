// stresslab run <preset> — run a scenario and report: exit 0 when there are
// no findings, 1 with findings, 2 for bad input, 3 when the target failed
// (and 4, 70, 130: see EXIT in ../command.ts). With --kernel-version A,B or
// A..B, one run per kernel (a kernel matrix) and the worst of their statuses.
import { join, resolve } from 'node:path';
import { UsageError, flag, intOpt, opt, parseArgs } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { PresetLibrary, defaultPresetDir } from '../../engine/presets.js';
import { type RunHandle, type RunSummary, startRun } from '../../engine/run.js';
import { junitXml } from '../../engine/junit.js';
import { ktap } from '../../engine/ktap.js';
import { createRunDir } from '../../engine/run-dir.js';
import { existsSync } from 'node:fs';
import { checkOutFile, prepareOutDir, writeOutFile } from '../../journal/out-path.js';
import { parseSize } from '../../vocabulary/size.js';
import { runExitCode, supervise } from '../supervise.js';
import { reportText, statusLine } from '../run-text.js';
import { formatPath } from '../../vocabulary/schema.js';
import { GUEST_OPTIONS, guestOptions, prepareForCli, refuseGuestFlags } from './vm.js';
import { type BootOptions, type OverlaySpec, expandKernelVersions, isKernelList, type PreparedBoot, VlabInputError } from '../../vlab/index.js';
import { cacheRoot } from '../../vlab/paths.js';
import { errorRow, type KernelMatrix, matrixHtml, matrixRow, matrixText, type MatrixRow } from '../../engine/kernel-matrix.js';
import { parseDuration } from '../../vocabulary/duration.js';
import { ProfileError, type SimTargetOptions, simProfile } from '../../targets/sim/options.js';
import { targetFactory, targetIds } from '../../targets/registry.js';
import { MAX_DURATION, THRESHOLD_NAMES, overrideThresholds, type Scenario } from '../../vocabulary/scenario.js';
import { oracleText, recordOracle, runOracle, watchForOracle } from '../../engine/oracle-run.js';
import { oracleRefusal } from '../../analysis/oracle.js';
import { HardwareRefusal, hardwareFor } from '../../targets/hardware.js';
import { parseHwList } from '../../vlab/index.js';
import { profileRefusal, vmProfilePatches } from '../../targets/profiles.js';
import { kernelOf } from '../../api/kernel-record.js';

export const RUN_OPTIONS = [
  { name: 'target', value: true, valueName: 'sim|local|vm', help: 'where to run (default: sim)' },
  { name: 'profile', value: true, valueName: 'LIST', help: 'simulated kernel profile: fixed (default, today\'s kernel) or bug switches, comma-separated (--target sim only)' },
  { name: 'seed', value: true, valueName: 'N', help: 'seed for the schedule and every random choice (default 1)' },
  { name: 'duration', value: true, valueName: 'TIME', help: 'budget, e.g. 5s or 250ms (default: the preset\'s)' },
  { name: 'out', value: true, valueName: 'DIR', help: 'where to write journal.jsonl and summary.json (default runs/<time>_<preset>_<target>)' },
  { name: 'strategy', value: true, valueName: 'pct|random', help: 'simulator scheduling strategy (default pct)' },
  { name: 'depth', value: true, valueName: 'D', help: 'PCT bug depth (default 3)' },
  ...GUEST_OPTIONS.filter((o) => ['hw', 'kernel-version', 'kernel-patch', 'rebuild', 'extra-modules', 'no-mem-debug', 'kernel', 'modules'].includes(o.name)).map((o) => ({ ...o, help: `${o.help} (--target vm)` })),
  { name: 'allow-detach', help: 'real hardware: allow device.detach to unbind the driver' },
  { name: 'json', help: 'print summary.json to stdout instead of a report' },
  { name: 'threshold', value: true, repeat: true, valueName: 'NAME=VALUE', help: `change a threshold for this run, as a preset writes it (${THRESHOLD_NAMES.join(', ')}), e.g. latency_p99=20ms; NAME= removes it` },
  { name: 'junit', value: true, valueName: 'FILE', help: 'also write a JUnit XML report for CI: one test case per check' },
  { name: 'ktap', value: true, valueName: 'FILE', help: 'also write the checks as KTAP version 1 (kselftest\'s format, for KernelCI and LAVA); - for stdout' },
  { name: 'wall-limit', value: true, valueName: 'TIME', help: 'stop the run after this much wall-clock time (default: 2 min + 10x the budget on sim; budget + 3 min + two hang bounds on real targets)' },
  { name: 'journal-max', value: true, valueName: 'SIZE', help: 'bound the journal, e.g. 200MB: repetitive events are sampled past half of it (default: the preset\'s journal.max_size, else unbounded)' },
  { name: 'quiet', help: 'no live status line' },
  { name: 'oracle', help: 'afterwards, run the same scenario and seed on the simulated kernel (fixed) and compare step by step' },
];

export function parseDurationArg(v: string | undefined, name = 'duration', max = MAX_DURATION): number | undefined {
  if (v === undefined) return undefined;
  const shown = v.length > 40 ? `${v.slice(0, 37)}...` : v;
  const ns = /^\d{1,15}(\.\d{1,9})?$/.test(v) ? Math.round(Number(v) * 1e9) : v.length <= 40 ? parseDuration(v) : undefined;
  if (ns === undefined || !Number.isFinite(ns) || ns <= 0) throw new UsageError(`--${name} must be a time like 5s, 250ms or 2m, got "${shown}"`);
  if (ns > max) throw new UsageError(`--${name} must be at most ${max / 3600e9} h, got "${shown}"`);
  return ns;
}

export function parseSizeArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = parseSize(v);
  if (n === undefined || n < 1e6 || n > 2 ** 40) throw new UsageError(`--${name} must be a size between 1MB and 1TiB like 200MB or 2GB, got "${v.slice(0, 40)}"`);
  return n;
}

export function parseProfileArg(v: string | undefined): string[] {
  const list = v ? v.split(',').map((s) => s.trim()).filter(Boolean) : ['fixed'];
  try {
    return simProfile(list);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
}

/** The scenario on the target's cards (notes on stderr), or a usage error naming what is missing and where it is. */
export function hardwareOrRefuse(scenario: Scenario, targetId: string, o: { hw?: readonly string[]; lib: PresetLibrary; io: Io; quiet?: boolean }): Scenario {
  try {
    const r = hardwareFor(scenario, targetId, { ...(o.hw ? { hw: o.hw } : {}), related: o.lib.related(scenario) });
    if (!o.quiet) for (const n of r.notes) o.io.err(`note: ${n}\n`);
    return r.scenario;
  } catch (e) {
    if (e instanceof HardwareRefusal) throw new UsageError(e.message);
    throw e;
  }
}

/** --threshold NAME=VALUE, checked by the preset schema (the same words a preset file gets). */
export function applyThresholdArgs(scenario: Scenario, args: string[]): Scenario {
  if (!args.length) return scenario;
  if (scenario.suite) throw new UsageError(`--threshold: ${scenario.name} is a suite; set thresholds in the presets it runs`);
  const raw: Record<string, string | null> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`--threshold must be NAME=VALUE (${THRESHOLD_NAMES.join(', ')}), got "${a}"`);
    raw[a.slice(0, eq).trim()] = a.slice(eq + 1).trim() || null;
  }
  const r = overrideThresholds(scenario.expect.thresholds, raw);
  if (!r.thresholds) throw new UsageError(r.issues.map((i) => `--threshold: ${formatPath(i.path)}: ${i.message}`).join('\n'));
  return { ...scenario, expect: { ...scenario.expect, thresholds: r.thresholds } };
}

interface RunArgs {
  scenario: Scenario;
  lib: PresetLibrary;
  targetId: string;
  boot?: BootOptions;
  allowDetach: boolean;
  sim: SimTargetOptions;
  seed: number;
  profile: string[];
  duration?: number;
  wallLimit?: number;
  journalMax?: number;
  oracle: boolean;
  quiet: boolean;
}

interface RunResult {
  summary: RunSummary;
  oracleReport: string;
  handle: RunHandle;
  outDir: string;
  /** The signal that interrupted the run (exit 130), if one did. */
  interrupted: NodeJS.Signals | null;
}

/**
 * One run on one target under signal supervision; null when the target is not
 * available. The run's directory is made only once the target is known to be
 * available: a run refused before it starts leaves no empty directory behind.
 */
async function runOnce(a: RunArgs, makeOutDir: () => string, io: Io): Promise<RunResult | null> {
  const factory = targetFactory(a.targetId)!;
  // On vm a profile other than fixed is the overlay's patches (in boot): the target records it with the run.
  const target = factory.create({ ...(a.boot ? { boot: a.boot } : {}), ...(a.targetId === 'vm' && a.profile.join(',') !== 'fixed' ? { profile: a.profile } : {}), allowDetach: a.allowDetach, sim: a.sim });
  const avail = await target.available();
  if (!avail.ok) {
    io.err(`stresslab run: target ${a.targetId} is not available: ${avail.why}\n`);
    return null;
  }
  const outDir = makeOutDir();
  const h = startRun({
    scenario: a.scenario,
    target,
    seed: a.seed,
    ...(a.duration !== undefined ? { duration: a.duration } : {}),
    outDir,
    loadScenario: (name: string): Scenario => a.lib.load(name).scenario,
    ...(a.wallLimit !== undefined ? { wallLimitMs: a.wallLimit / 1e6 } : {}),
    ...(a.journalMax !== undefined ? { journalLimits: { maxBytes: a.journalMax, sampleAfter: Math.floor(a.journalMax / 2) } } : {}),
    // the oracle compares a library's real ALSA calls with the model's: the real run traces them
    ...(a.oracle ? { traceCalls: true } : {}),
  });
  const observed = a.oracle ? watchForOracle(h) : null;
  const sup = supervise(h, io);
  const stop = a.quiet ? () => {} : statusLine(io, h);
  let summary: RunSummary;
  try {
    summary = await h.done;
  } finally {
    stop();
    // After a forced stop the target may still be busy: give it a moment, no more.
    await boundedDispose(target, sup.forced ? 3000 : 60_000);
  }
  const interrupted = sup.signal;
  let oracleReport = '';
  if (observed && summary.status !== 'error' && !interrupted && !h.recordFailure) {
    // A real kernel with a historic bug patched in is compared with the model on the same bug.
    const modelProfile = a.targetId !== 'sim' && a.profile.join(',') !== 'fixed' ? a.profile : undefined;
    if (!a.quiet) io.err(`running the oracle: the same scenario on the simulated kernel (${(modelProfile ?? ['fixed']).join(',')})…\n`);
    const report = await runOracle({ scenario: a.scenario, seed: a.seed, ...(a.duration !== undefined ? { duration: a.duration } : {}), observed, target: a.targetId, profile: a.profile, ...(modelProfile ? { modelProfile } : {}), observedFindings: summary.findings, outDir });
    summary = recordOracle(outDir, summary, report);
    oracleReport = oracleText(report);
  }
  sup.dispose();
  return { summary, oracleReport, handle: h, outDir, interrupted };
}

/** What a run leaves on stderr beside its report: a recording failure, the internal error's stack when asked for, the interruption. */
function runNotes(r: RunResult, io: Io): void {
  const h = r.handle;
  if (h.recordFailure) io.err(recordingText(h.recordFailure, r.outDir, h.summaryPath));
  if (r.summary.failure === 'internal' && io.env.STRESSLAB_DEBUG && h.internalError instanceof Error) io.err(`${h.internalError.stack}\n`);
  if (r.interrupted) io.err(`stresslab run: interrupted by ${r.interrupted}; exit status ${EXIT.interrupted}\n`);
}

/** The kernel lines of a vm run's report: which kernel, which overlay, its taint. */
export function kernelText(s: RunSummary): string {
  const k = kernelOf(s);
  // the virtual lab's record (a real kernel it booted); other targets' kernel is in the report's context
  if (!k?.memory_debug) return '';
  const lines = [`  kernel: ${k.release}${k.source_version ? ` (Debian ${k.source_version})` : ''}; memory debugging: ${k.memory_debug.on.join(' ') || 'off'}`];
  const o = k.overlay;
  if (o) {
    const what = [...o.rebuilt, ...o.extra_module_dirs.map((e) => e.dir)].join(', ');
    lines.push(`  overlay ${o.key}: ${what} rebuilt from ${o.source_version}${o.patches.length ? `; patches: ${o.patches.map((p) => `${p.name} sha256:${p.sha256}`).join(', ')}` : ''}`);
  }
  const t = k.taint_at_end ?? k.taint_at_boot;
  if (t) lines.push(`  taint: ${t.value ? `${t.letters} (${t.flags.map((f) => f.meaning).join(', ')})` : 'none'}${k.taint_at_end && k.taint_at_boot && k.taint_at_end.value !== k.taint_at_boot.value ? ` (after boot: ${k.taint_at_boot.letters || 'none'})` : ''}`);
  return lines.join('\n') + '\n';
}

/** A usage error from preparing one kernel of a matrix names that kernel. */
async function prepareKernel(base: BootOptions, version: string): Promise<PreparedBoot> {
  try {
    return await prepareForCli({ ...base, kernelVersion: version });
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`kernel ${version}: ${e.message}`);
    throw e;
  }
}

/**
 * A kernel matrix's exit status is its runs' worst, in the order a single
 * run's is decided (supervise.ts runExitCode): interrupted, not recorded,
 * internal error, bad input, target failure, findings, pass.
 */
const EXIT_ORDER: number[] = [EXIT.interrupted, EXIT.recording, EXIT.internal, EXIT.usage, EXIT.target, EXIT.findings, EXIT.ok];
export function worseExit(a: number, b: number): number {
  const rank = (c: number) => (EXIT_ORDER.includes(c) ? EXIT_ORDER.indexOf(c) : 0);
  return rank(a) <= rank(b) ? a : b;
}

async function runMatrix(a: RunArgs, spec: string, out: string | undefined, json: boolean, io: Io): Promise<number> {
  let kernels;
  try {
    kernels = await expandKernelVersions(cacheRoot(), spec);
  } catch (e) {
    if (e instanceof VlabInputError) throw new UsageError(e.message);
    throw e;
  }
  const base = a.boot ?? {};
  // Every kernel is fetched and every overlay built first: a patch that does
  // not apply to one of them is known before an hour of runs, not after.
  const prepared: PreparedBoot[] = [];
  for (const k of kernels) {
    if (!a.quiet) io.err(`preparing kernel ${k.version} (${k.sourceVersion})…\n`);
    prepared.push(await prepareKernel(base, k.version));
  }
  const rows: MatrixRow[] = [];
  let exit: number = EXIT.ok;
  const matrix = (): KernelMatrix => ({ kind: 'kernel-matrix', preset: a.scenario.name, seed: a.seed, kernels: kernels.map((k) => k.version), rows, created: new Date().toISOString() });
  // One directory for the matrix, unique like a run's (runs/<time>_<preset>_vm[-n]); each kernel's run in its own subdirectory.
  let matrixDir: string | undefined;
  const dirOf = () => (matrixDir ??= out !== undefined ? prepareOutDir(out) : createRunDir(resolve('runs'), a.scenario.name, a.targetId).dir);
  let recordProblem = '';
  const save = (name: string, text: string) => {
    try {
      writeOutFile(join(dirOf(), name), text, name);
    } catch (e) {
      recordProblem = `stresslab run: ${(e as Error).message}\n`;
    }
  };
  for (let i = 0; i < kernels.length; i++) {
    const k = kernels[i]!;
    const mk = { version: k.version, package: k.package, source_version: k.sourceVersion, upstream: k.upstream };
    if (!a.quiet) io.err(`[${i + 1}/${kernels.length}] ${a.scenario.name} on kernel ${k.version} (${k.sourceVersion})\n`);
    const r = await runOnce({ ...a, boot: prepared[i]! }, () => prepareOutDir(join(dirOf(), k.version)), io);
    if (!r) return EXIT.target;
    rows.push(matrixRow(mk, r.summary, k.version));
    if (!json) io.out(reportText(r.summary, r.outDir, r.handle.summaryPath) + kernelText(r.summary));
    runNotes(r, io);
    exit = worseExit(exit, runExitCode(r.summary, r.interrupted !== null));
    save('matrix.json', JSON.stringify(matrix(), null, 2) + '\n');
    if (r.interrupted) break;
  }
  for (let i = rows.length; i < kernels.length; i++) rows.push(errorRow({ version: kernels[i]!.version, source_version: kernels[i]!.sourceVersion }, 'not run (the matrix was interrupted)'));
  const m = matrix();
  save('matrix.json', JSON.stringify(m, null, 2) + '\n');
  save('matrix.html', matrixHtml(m));
  if (json) io.out(JSON.stringify(m, null, 2) + '\n');
  else io.out(`\n${matrixText(m)}  matrix: ${join(dirOf(), 'matrix.json')}\n`);
  if (recordProblem) {
    io.err(recordProblem);
    return worseExit(exit, EXIT.recording);
  }
  return exit;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a preset on a target and report findings',
  usage: 'run <preset name or path> [options]',
  options: RUN_OPTIONS,
  async run(argv, io) {
    const p = parseArgs(argv, RUN_OPTIONS);
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one preset (a name from "stresslab presets" or a path)');
    const lib = new PresetLibrary();
    const preset = lib.load(p.positionals[0]!);
    const targetId = opt(p, 'target') ?? 'sim';
    const factory = targetFactory(targetId);
    if (!factory) throw new UsageError(`unknown target "${targetId}"; known targets: ${targetIds().join(', ')}`);
    const strategy = opt(p, 'strategy');
    if (strategy !== undefined && strategy !== 'pct' && strategy !== 'random') throw new UsageError(`--strategy must be pct or random, got "${strategy}"`);
    const profile = parseProfileArg(opt(p, 'profile'));
    // One name, one bug on every target: on vm its patch in a module overlay, on this machine nothing (app/targets/profiles.ts).
    const profileWhy = profileRefusal(profile, targetId, defaultPresetDir());
    if (profileWhy) throw new UsageError(`--profile: ${profileWhy}`);
    const seed = intOpt(p, 'seed', 0, 2 ** 32 - 1) ?? 1;
    const depth = intOpt(p, 'depth', 1, 10);
    const duration = parseDurationArg(opt(p, 'duration'));
    const asWritten = applyThresholdArgs(preset.scenario, p.options.get('threshold') ?? []);
    const out = opt(p, 'out');
    if (out !== undefined && existsSync(join(resolve(out), 'journal.jsonl'))) throw new UsageError(`--out ${out} already holds a run (journal.jsonl); choose another directory`);
    const wallLimit = parseDurationArg(opt(p, 'wall-limit'), 'wall-limit', 30 * 24 * 3600e9);
    const journalMax = parseSizeArg(opt(p, 'journal-max'), 'journal-max');
    refuseGuestFlags(p, targetId);
    const json = flag(p, 'json');
    const quiet = flag(p, 'quiet') || json;
    const kernelSpec = targetId === 'vm' ? opt(p, 'kernel-version') : undefined;
    const matrix = kernelSpec !== undefined && isKernelList(kernelSpec);
    const junit = opt(p, 'junit');
    const ktapFile = opt(p, 'ktap');
    const oracle = flag(p, 'oracle');
    if (matrix) {
      if (oracle) throw new UsageError('--oracle compares one run with the model; run it per kernel, not with a kernel matrix');
      if (junit !== undefined || ktapFile !== undefined) throw new UsageError(`--${junit !== undefined ? 'junit' : 'ktap'} writes one run's checks; a kernel matrix writes matrix.json and matrix.html, and each kernel's run its own summary.json`);
      if (out !== undefined && existsSync(join(resolve(out), 'matrix.json'))) throw new UsageError(`--out ${out} already holds a kernel matrix (matrix.json); choose another directory`);
    }
    // Files written after the run are checked before it: a bad path is bad input, not a crash at the end.
    const junitFile = junit !== undefined ? checkOutFile(resolve(io.cwd, junit), '--junit') : undefined;
    const ktapPath = ktapFile !== undefined && ktapFile !== '-' ? checkOutFile(resolve(io.cwd, ktapFile), '--ktap') : undefined;
    const guest = targetId === 'vm' ? guestOptions(p, io, { matrix }) : undefined;
    // A historic bug on the virtual lab is its patch, built into the boot's module overlay (as --kernel-patch does).
    const profilePatches = targetId === 'vm' ? vmProfilePatches(profile, defaultPresetDir()) : [];
    const spec = guest?.overlay as OverlaySpec | undefined; // guestOptions gives a spec, never a built overlay
    const given: BootOptions | undefined = guest && profilePatches.length ? { ...guest, overlay: { ...(spec ?? {}), patches: [...profilePatches, ...(spec?.patches ?? [])] } } : guest;
    // Before anything boots or runs: the target maps the preset's hardware or refuses.
    const scenario = hardwareOrRefuse(asWritten, targetId, { ...(given?.hw ? { hw: typeof given.hw === 'string' ? parseHwList(given.hw) : given.hw } : {}), lib, io, quiet });
    const refusal = oracle ? oracleRefusal(scenario, targetId, profile) : null;
    if (refusal) throw new UsageError(`--oracle: ${refusal}`);
    const sim: SimTargetOptions = { profile, ...(strategy ? { strategy: strategy as 'pct' | 'random' } : {}), ...(depth !== undefined ? { depth } : {}) };
    const base: RunArgs = {
      scenario,
      lib,
      targetId,
      allowDetach: flag(p, 'allow-detach'),
      sim,
      seed,
      profile,
      ...(duration !== undefined ? { duration } : {}),
      ...(wallLimit !== undefined ? { wallLimit } : {}),
      ...(journalMax !== undefined ? { journalMax } : {}),
      oracle,
      quiet,
    };
    // Fetching a kernel and building an overlay happen before the run, with
    // their progress shown; the guest then boots inside the run, which reports
    // its own progress: no boot log there.
    const log = quiet ? undefined : (l: string) => io.err(l + '\n');
    if (matrix) return runMatrix({ ...base, boot: { ...given!, log } }, kernelSpec!, out, json, io);
    const boot = given ? { ...(await prepareForCli({ ...given, log })), log: undefined } : undefined;
    const r = await runOnce({ ...base, ...(boot ? { boot } : {}) }, () => (out !== undefined ? prepareOutDir(out) : createRunDir(resolve('runs'), scenario.name, targetId).dir), io);
    if (!r) return EXIT.target;
    const { summary, outDir } = r;
    let fileProblem = '';
    for (const [file, text, what] of [[junitFile, () => junitXml(summary), '--junit'], [ktapPath, () => ktap(summary), '--ktap']] as const) {
      if (!file) continue;
      try {
        writeOutFile(file, text(), what);
      } catch (e) {
        fileProblem += `stresslab run: ${(e as Error).message}\n`;
      }
    }
    // KTAP on stdout (LAVA reads a console) pushes the human report to stderr.
    const human = (t: string) => (ktapFile === '-' ? io.err(t) : io.out(t));
    if (json) human(JSON.stringify(summary, null, 2) + '\n');
    else human(reportText(summary, outDir, r.handle.summaryPath) + kernelText(summary) + r.oracleReport);
    if (ktapFile === '-') io.out(ktap(summary));
    if (fileProblem) io.err(fileProblem);
    runNotes(r, io);
    const code = runExitCode(summary, r.interrupted !== null);
    return fileProblem && (code === EXIT.ok || code === EXIT.findings) ? EXIT.recording : code;
  },
};

/** The disk holding the run's files failed: what was kept and where. */
export function recordingText(f: { code: string; message: string; linesWritten: number }, outDir: string, summaryPath: string | null): string {
  return [
    `stresslab run: the run could not be recorded: ${f.code === 'ENOSPC' ? 'the disk holding it is full' : f.message} (${f.code}); the run was stopped`,
    `  journal: ${join(outDir, 'journal.jsonl')} is readable up to line ${f.linesWritten}`,
    `  summary: ${summaryPath ? `${summaryPath}${summaryPath.startsWith(outDir) ? ' (written into the space reserved for it)' : ' (no room next to the journal)'}` : 'could not be written anywhere'}`,
    '',
  ].join('\n');
}

/** target.dispose(), but a target that does not let go within `ms` is left behind rather than holding the command. */
async function boundedDispose(target: { dispose?: () => Promise<void> }, ms: number): Promise<void> {
  if (!target.dispose) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([target.dispose().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
