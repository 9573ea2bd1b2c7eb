// stresslab run <preset> — run a scenario and report: exit 0 when there are
// no findings, 1 with findings, 2 for bad input, 3 when the target failed.
import { join, resolve } from 'node:path';
import { UsageError, flag, intOpt, opt, parseArgs } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { type RunSummary, startRun } from '../../engine/run.js';
import { junitXml } from '../../engine/junit.js';
import { ktap } from '../../engine/ktap.js';
import { createRunDir } from '../../engine/run-dir.js';
import { existsSync } from 'node:fs';
import { checkOutFile, prepareOutDir, writeOutFile } from '../../journal/out-path.js';
import { parseSize } from '../../vocabulary/size.js';
import { runExitCode, supervise } from '../supervise.js';
import { reportText, statusLine } from '../run-text.js';
import { formatPath } from '../../vocabulary/schema.js';
import { GUEST_OPTIONS, guestOptions, refuseGuestFlags } from './vm.js';
import { parseDuration } from '../../vocabulary/duration.js';
import { ProfileError, simProfile } from '../../targets/sim/options.js';
import { targetFactory, targetIds } from '../../targets/registry.js';
import { MAX_DURATION, THRESHOLD_NAMES, overrideThresholds, type Scenario } from '../../vocabulary/scenario.js';
import { oracleText, recordOracle, runOracle, watchForOracle } from '../../engine/oracle-run.js';
import { oracleRefusal } from '../../analysis/oracle.js';

export const RUN_OPTIONS = [
  { name: 'target', value: true, valueName: 'sim|local|vm', help: 'where to run (default: sim)' },
  { name: 'profile', value: true, valueName: 'LIST', help: 'simulated kernel profile: fixed (default, today\'s kernel) or bug switches, comma-separated (--target sim only)' },
  { name: 'seed', value: true, valueName: 'N', help: 'seed for the schedule and every random choice (default 1)' },
  { name: 'duration', value: true, valueName: 'TIME', help: 'budget, e.g. 5s or 250ms (default: the preset\'s)' },
  { name: 'out', value: true, valueName: 'DIR', help: 'where to write journal.jsonl and summary.json (default runs/<time>_<preset>_<target>)' },
  { name: 'strategy', value: true, valueName: 'pct|random', help: 'simulator scheduling strategy (default pct)' },
  { name: 'depth', value: true, valueName: 'D', help: 'PCT bug depth (default 3)' },
  ...GUEST_OPTIONS.filter((o) => ['hw', 'kernel', 'modules'].includes(o.name)).map((o) => ({ ...o, help: `${o.help} (--target vm)` })),
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
    if (opt(p, 'profile') !== undefined && targetId !== 'sim') throw new UsageError(`--profile switches bugs of the simulated kernel (--target sim); the ${targetId} target runs a real kernel, which has no such switches`);
    const profile = parseProfileArg(opt(p, 'profile'));
    const seed = intOpt(p, 'seed', 0, 2 ** 32 - 1) ?? 1;
    const depth = intOpt(p, 'depth', 1, 10);
    const duration = parseDurationArg(opt(p, 'duration'));
    const scenario = applyThresholdArgs(preset.scenario, p.options.get('threshold') ?? []);
    const out = opt(p, 'out');
    if (out !== undefined && existsSync(join(resolve(out), 'journal.jsonl'))) throw new UsageError(`--out ${out} already holds a run (journal.jsonl); choose another directory`);
    const wallLimit = parseDurationArg(opt(p, 'wall-limit'), 'wall-limit', 30 * 24 * 3600e9);
    const journalMax = parseSizeArg(opt(p, 'journal-max'), 'journal-max');
    refuseGuestFlags(p, targetId);
    // Files written after the run are checked before it: a bad path is bad input, not a crash at the end.
    const junit = opt(p, 'junit');
    const junitFile = junit !== undefined ? checkOutFile(resolve(io.cwd, junit), '--junit') : undefined;
    const ktapFile = opt(p, 'ktap');
    const ktapPath = ktapFile !== undefined && ktapFile !== '-' ? checkOutFile(resolve(io.cwd, ktapFile), '--ktap') : undefined;
    // The guest boots inside the run, which reports its own progress: no boot log here.
    const boot = targetId === 'vm' ? { ...guestOptions(p, io), log: undefined } : undefined;
    const sim = { profile, ...(strategy ? { strategy: strategy as 'pct' | 'random' } : {}), ...(depth !== undefined ? { depth } : {}) };
    const target = factory.create({ ...(boot ? { boot } : {}), allowDetach: flag(p, 'allow-detach'), sim });
    const oracle = flag(p, 'oracle');
    const refusal = oracle ? oracleRefusal(scenario, targetId, profile) : null;
    if (refusal) throw new UsageError(`--oracle: ${refusal}`);
    const avail = await target.available();
    if (!avail.ok) {
      io.err(`stresslab run: target ${targetId} is not available: ${avail.why}\n`);
      return EXIT.target;
    }
    // Made only now: a run refused above leaves no empty directory behind.
    const outDir = out !== undefined ? prepareOutDir(out) : createRunDir(resolve('runs'), scenario.name, targetId).dir;
    const h = startRun({
      scenario,
      target,
      seed,
      ...(duration !== undefined ? { duration } : {}),
      outDir,
      loadScenario: (name: string): Scenario => lib.load(name).scenario,
      ...(wallLimit !== undefined ? { wallLimitMs: wallLimit / 1e6 } : {}),
      ...(journalMax !== undefined ? { journalLimits: { maxBytes: journalMax, sampleAfter: Math.floor(journalMax / 2) } } : {}),
    });
    const observed = oracle ? watchForOracle(h) : null;
    const sup = supervise(h, io);
    const stop = flag(p, 'quiet') || flag(p, 'json') ? () => {} : statusLine(io, h);
    let summary: RunSummary;
    try {
      summary = await h.done;
    } finally {
      stop();
      // After a forced stop the target may still be busy: give it a moment, no more.
      await boundedDispose(target, sup.forced ? 3000 : 60_000);
    }
    const interrupted = sup.signal !== null;
    let oracleReport = '';
    if (observed && summary.status !== 'error' && !interrupted && !h.recordFailure) {
      if (!flag(p, 'quiet') && !flag(p, 'json')) io.err('running the oracle: the same scenario on the simulated kernel (fixed)…\n');
      const report = await runOracle({ scenario, seed, ...(duration !== undefined ? { duration } : {}), observed, target: targetId, profile, outDir });
      summary = recordOracle(outDir, summary, report);
      oracleReport = oracleText(report);
    }
    sup.dispose();
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
    if (flag(p, 'json')) human(JSON.stringify(summary, null, 2) + '\n');
    else human(reportText(summary, outDir, h.summaryPath) + oracleReport);
    if (ktapFile === '-') io.out(ktap(summary));
    if (fileProblem) io.err(fileProblem);
    if (h.recordFailure) io.err(recordingText(h.recordFailure, outDir, h.summaryPath));
    if (summary.failure === 'internal' && io.env.STRESSLAB_DEBUG && h.internalError instanceof Error) io.err(`${h.internalError.stack}\n`);
    if (interrupted) io.err(`stresslab run: interrupted by ${sup.signal}; exit status ${EXIT.interrupted}\n`);
    const code = runExitCode(summary, interrupted);
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
