// stresslab run <preset> — run a scenario and report: exit 0 when there are
// no findings, 1 with findings, 2 for bad input, 3 when the target failed.
import { join, resolve } from 'node:path';
import { UsageError, flag, intOpt, opt, parseArgs } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { type RunHandle, type RunSummary, startRun } from '../../engine/run.js';
import { junitXml } from '../../engine/junit.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { GUEST_OPTIONS, guestOptions, prepareForCli, refuseGuestFlags } from './vm.js';
import { type BootOptions, expandKernelVersions, isKernelList, type PreparedBoot, VlabInputError } from '../../vlab/index.js';
import { cacheRoot } from '../../vlab/paths.js';
import { errorRow, type KernelMatrix, matrixHtml, matrixRow, matrixText, type MatrixRow } from '../../engine/kernel-matrix.js';
import { parseDuration } from '../../vocabulary/duration.js';
import { ProfileError, parseProfile, profileLabel } from '../../sim/profiles.js';
import { targetFactory, targetIds } from '../../targets/registry.js';
import type { Scenario } from '../../vocabulary/scenario.js';
import { oracleText, recordOracle, runOracle, watchForOracle } from '../../engine/oracle-run.js';
import { oracleRefusal } from '../../analysis/oracle.js';

export const RUN_OPTIONS = [
  { name: 'target', value: true, valueName: 'sim|local|vm', help: 'where to run (default: sim)' },
  { name: 'profile', value: true, valueName: 'LIST', help: 'simulated kernel profile: fixed (default) or bug switches, comma-separated' },
  { name: 'seed', value: true, valueName: 'N', help: 'seed for the schedule and every random choice (default 1)' },
  { name: 'duration', value: true, valueName: 'TIME', help: 'budget, e.g. 5s or 250ms (default: the preset\'s)' },
  { name: 'out', value: true, valueName: 'DIR', help: 'where to write journal.jsonl and summary.json (default runs/<time>_<preset>_<target>)' },
  { name: 'strategy', value: true, valueName: 'pct|random', help: 'simulator scheduling strategy (default pct)' },
  { name: 'depth', value: true, valueName: 'D', help: 'PCT bug depth (default 3)' },
  ...GUEST_OPTIONS.filter((o) => ['hw', 'kernel-version', 'kernel-patch', 'rebuild', 'extra-modules', 'no-mem-debug', 'kernel', 'modules'].includes(o.name)).map((o) => ({ ...o, help: `${o.help} (--target vm)` })),
  { name: 'allow-detach', help: 'real hardware: allow device.detach to unbind the driver' },
  { name: 'json', help: 'print summary.json to stdout instead of a report' },
  { name: 'junit', value: true, valueName: 'FILE', help: 'also write a JUnit XML report for CI' },
  { name: 'quiet', help: 'no live status line' },
  { name: 'oracle', help: 'afterwards, run the same scenario and seed on the simulated kernel (fixed) and compare step by step' },
];

export function parseDurationArg(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ns = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1e9 : parseDuration(v);
  if (ns === undefined || ns <= 0) throw new UsageError(`--duration must be a time like 5s, 250ms or 2m, got "${v}"`);
  return ns;
}

export function parseProfileArg(v: string | undefined): string[] {
  const list = v ? v.split(',').map((s) => s.trim()).filter(Boolean) : ['fixed'];
  try {
    return profileLabel(parseProfile(list));
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

export function formatNs(ns: number): string {
  return ns >= 1e9 ? `${(ns / 1e9).toFixed(3)}s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)}ms` : `${(ns / 1e3).toFixed(1)}us`;
}

export function reportText(s: RunSummary, outDir?: string): string {
  const lines = [`${s.verdict.toUpperCase()}: ${s.preset} on ${s.target} (profile ${s.profile.join(',')}, seed ${s.seed}) — ${s.status}, ${formatNs(s.elapsed_ns)} covered in ${(s.wall_ms / 1000).toFixed(1)}s`];
  const m = s.metrics as { actions?: number; ops_per_s?: number; xruns?: { total: number } };
  if (m.actions !== undefined) lines.push(`  ${m.actions} operations, ${m.ops_per_s} ops/s, ${m.xruns?.total ?? 0} xruns`);
  for (const f of s.findings) lines.push(`  [${f.severity}] ${f.type} at ${formatNs(f.t)}: ${f.message}`);
  if (s.reason && s.status === 'error') lines.push(`  error: ${s.reason}`);
  if (outDir) lines.push(`  journal: ${join(outDir, 'journal.jsonl')}`, `  summary: ${join(outDir, 'summary.json')}`);
  return lines.join('\n') + '\n';
}

/** The live status line: elapsed, ops/s, xruns, findings. */
export function statusLine(io: Io, h: RunHandle): () => void {
  if (!io.isTTY) return () => {};
  let xruns = 0;
  let ops = 0;
  const unsub = h.subscribe((e) => {
    if (e.kind === 'act') ops++;
    else if (e.kind === 'metric' && e.name === 'xruns') xruns = Math.max(xruns, e.value);
  });
  const t0 = Date.now();
  let lastOps = 0;
  let lastT = t0;
  const timer = setInterval(() => {
    const now = Date.now();
    const rate = ((ops - lastOps) * 1000) / Math.max(1, now - lastT);
    lastOps = ops;
    lastT = now;
    io.err(`\r\x1b[K  ${((now - t0) / 1000).toFixed(1)}s  t=${formatNs(h.lastT)}  ${ops} ops  ${Math.round(rate)} ops/s  xruns ${xruns}  findings ${h.findings.length}`);
  }, 250);
  return () => {
    clearInterval(timer);
    unsub();
    io.err('\r\x1b[K');
  };
}

interface RunArgs {
  preset: { scenario: Scenario };
  lib: PresetLibrary;
  targetId: string;
  boot?: BootOptions;
  allowDetach: boolean;
  seed: number;
  profile: string[];
  duration?: number;
  strategy?: 'pct' | 'random';
  depth?: number;
  outDir: string;
  oracle: boolean;
  quiet: boolean;
}

/** One run on one target; the summary (oracle report included), or null when the target is not available. */
async function runOnce(a: RunArgs, io: Io): Promise<{ summary: RunSummary; oracleReport: string } | null> {
  const factory = targetFactory(a.targetId)!;
  const target = factory.create({ ...(a.boot ? { boot: a.boot } : {}), allowDetach: a.allowDetach });
  const avail = await target.available();
  if (!avail.ok) {
    io.err(`stresslab run: target ${a.targetId} is not available: ${avail.why}\n`);
    return null;
  }
  const h = startRun({
    scenario: a.preset.scenario,
    target,
    seed: a.seed,
    profile: a.profile,
    ...(a.duration !== undefined ? { duration: a.duration } : {}),
    ...(a.strategy ? { strategy: a.strategy } : {}),
    ...(a.depth !== undefined ? { depth: a.depth } : {}),
    outDir: a.outDir,
    loadScenario: (name: string): Scenario => a.lib.load(name).scenario,
  });
  const observed = a.oracle ? watchForOracle(h) : null;
  const onSig = () => h.abort('interrupted');
  process.once('SIGINT', onSig);
  const stop = a.quiet ? () => {} : statusLine(io, h);
  let summary: RunSummary;
  try {
    summary = await h.done;
  } finally {
    stop();
    process.off('SIGINT', onSig);
    await target.dispose?.();
  }
  let oracleReport = '';
  if (observed && summary.status !== 'error') {
    if (!a.quiet) io.err('running the oracle: the same scenario on the simulated kernel (fixed)…\n');
    const report = await runOracle({ scenario: a.preset.scenario, seed: a.seed, ...(a.duration !== undefined ? { duration: a.duration } : {}), observed, target: a.targetId, profile: a.profile, outDir: a.outDir });
    summary = recordOracle(a.outDir, summary, report);
    oracleReport = oracleText(report);
  }
  return { summary, oracleReport };
}

function exitOf(s: RunSummary): number {
  if (s.status === 'error') return EXIT.target;
  return s.findings.length ? EXIT.findings : EXIT.ok;
}

/** The kernel lines of a vm run's report: which kernel, which overlay, its taint. */
export function kernelText(s: RunSummary): string {
  const k = s.kernel;
  if (!k) return '';
  const lines = [`  kernel: ${k.release}${k.source_version ? ` (Debian ${k.source_version})` : ''}; memory debugging: ${k.memory_debug.on.join(' ') || 'off'}`];
  const o = k.overlay as { key: string; rebuilt: string[]; source_version: string; patches: { name: string; sha256: string }[]; extra_module_dirs: { dir: string }[] } | undefined;
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

async function runMatrix(a: RunArgs, spec: string, json: boolean, io: Io): Promise<number> {
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
  const matrix = (): KernelMatrix => ({ kind: 'kernel-matrix', preset: a.preset.scenario.name, seed: a.seed, kernels: kernels.map((k) => k.version), rows, created: new Date().toISOString() });
  mkdirSync(a.outDir, { recursive: true });
  for (let i = 0; i < kernels.length; i++) {
    const k = kernels[i]!;
    const mk = { version: k.version, package: k.package, source_version: k.sourceVersion, upstream: k.upstream };
    const dir = join(a.outDir, k.version);
    if (!a.quiet) io.err(`[${i + 1}/${kernels.length}] ${a.preset.scenario.name} on kernel ${k.version} (${k.sourceVersion})\n`);
    const r = await runOnce({ ...a, boot: prepared[i]!, outDir: dir }, io);
    if (!r) return EXIT.target;
    rows.push(matrixRow(mk, r.summary, k.version));
    if (!json) io.out(reportText(r.summary, dir) + kernelText(r.summary));
    // the worst of all: a target failure (3) over findings (1) over a pass (0)
    exit = Math.max(exit, exitOf(r.summary));
    writeFileSync(join(a.outDir, 'matrix.json'), JSON.stringify(matrix(), null, 2) + '\n');
    if (r.summary.status === 'error' && /interrupted/.test(r.summary.reason ?? '')) break;
  }
  for (let i = rows.length; i < kernels.length; i++) rows.push(errorRow({ version: kernels[i]!.version, source_version: kernels[i]!.sourceVersion }, 'not run (the matrix was interrupted)'));
  const m = matrix();
  writeFileSync(join(a.outDir, 'matrix.json'), JSON.stringify(m, null, 2) + '\n');
  writeFileSync(join(a.outDir, 'matrix.html'), matrixHtml(m));
  if (json) io.out(JSON.stringify(m, null, 2) + '\n');
  else io.out(`\n${matrixText(m)}  matrix: ${join(a.outDir, 'matrix.json')}\n`);
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
    const seed = intOpt(p, 'seed', 0, 2 ** 32 - 1) ?? 1;
    const depth = intOpt(p, 'depth', 1, 10);
    const duration = parseDurationArg(opt(p, 'duration'));
    const outDir = resolve(opt(p, 'out') ?? join('runs', `${stamp()}_${preset.scenario.name}_${targetId}`));
    refuseGuestFlags(p, targetId);
    const json = flag(p, 'json');
    const quiet = flag(p, 'quiet') || json;
    const oracle = flag(p, 'oracle');
    const refusal = oracle ? oracleRefusal(preset.scenario, targetId, profile) : null;
    if (refusal) throw new UsageError(`--oracle: ${refusal}`);
    const log = quiet ? undefined : (l: string) => io.err(l + '\n');
    const kernelSpec = targetId === 'vm' ? opt(p, 'kernel-version') : undefined;
    const matrix = kernelSpec !== undefined && isKernelList(kernelSpec);
    const given = targetId === 'vm' ? guestOptions(p, io, { matrix }) : undefined;
    // The guest boots inside the run, which reports its own progress; fetching a
    // kernel and building an overlay happen first, with their progress shown.
    const base: RunArgs = {
      preset,
      lib,
      targetId,
      allowDetach: flag(p, 'allow-detach'),
      seed,
      profile,
      ...(duration !== undefined ? { duration } : {}),
      ...(strategy ? { strategy: strategy as 'pct' | 'random' } : {}),
      ...(depth !== undefined ? { depth } : {}),
      outDir,
      oracle,
      quiet,
    };
    if (matrix) {
      if (oracle) throw new UsageError('--oracle compares one run with the model; run it per kernel, not with a kernel matrix');
      if (opt(p, 'junit')) throw new UsageError('--junit writes one run\'s report; a kernel matrix writes matrix.json and matrix.html');
      return runMatrix({ ...base, boot: { ...given!, log } }, kernelSpec!, json, io);
    }
    const boot = given ? { ...(await prepareForCli({ ...given, log })), log: undefined } : undefined;
    const r = await runOnce({ ...base, ...(boot ? { boot } : {}) }, io);
    if (!r) return EXIT.target;
    const junit = opt(p, 'junit');
    if (junit) writeFileSync(resolve(junit), junitXml(r.summary));
    if (json) io.out(JSON.stringify(r.summary, null, 2) + '\n');
    else io.out(reportText(r.summary, outDir) + kernelText(r.summary) + r.oracleReport);
    return exitOf(r.summary);
  },
};
