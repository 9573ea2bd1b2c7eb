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
import { existsSync, writeFileSync } from 'node:fs';
import { reportText, statusLine } from '../run-text.js';
import { formatPath } from '../../vocabulary/schema.js';
import { GUEST_OPTIONS, guestOptions, refuseGuestFlags } from './vm.js';
import { parseDuration } from '../../vocabulary/duration.js';
import { ProfileError, simProfile } from '../../targets/sim/options.js';
import { targetFactory, targetIds } from '../../targets/registry.js';
import { THRESHOLD_NAMES, overrideThresholds, type Scenario } from '../../vocabulary/scenario.js';
import { oracleText, recordOracle, runOracle, watchForOracle } from '../../engine/oracle-run.js';
import { oracleRefusal } from '../../analysis/oracle.js';
import { HardwareRefusal, hardwareFor } from '../../targets/hardware.js';
import { parseHwList } from '../../vlab/index.js';

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
    const given = applyThresholdArgs(preset.scenario, p.options.get('threshold') ?? []);
    const out = opt(p, 'out');
    if (out !== undefined && existsSync(join(resolve(out), 'journal.jsonl'))) throw new UsageError(`--out ${out} already holds a run (journal.jsonl); choose another directory`);
    refuseGuestFlags(p, targetId);
    // The guest boots inside the run, which reports its own progress: no boot log here.
    const boot = targetId === 'vm' ? { ...guestOptions(p, io), log: undefined } : undefined;
    // Before anything boots or runs: the target maps the preset's hardware or refuses.
    const scenario = hardwareOrRefuse(given, targetId, { ...(boot?.hw ? { hw: typeof boot.hw === 'string' ? parseHwList(boot.hw) : boot.hw } : {}), lib, io, quiet: flag(p, 'quiet') || flag(p, 'json') });
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
    const outDir = out !== undefined ? resolve(out) : createRunDir(resolve('runs'), scenario.name, targetId).dir;
    const h = startRun({
      scenario,
      target,
      seed,
      ...(duration !== undefined ? { duration } : {}),
      outDir,
      loadScenario: (name: string): Scenario => lib.load(name).scenario,
    });
    const observed = oracle ? watchForOracle(h) : null;
    const onSig = () => h.abort('interrupted');
    process.once('SIGINT', onSig);
    const stop = flag(p, 'quiet') || flag(p, 'json') ? () => {} : statusLine(io, h);
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
      if (!flag(p, 'quiet') && !flag(p, 'json')) io.err('running the oracle: the same scenario on the simulated kernel (fixed)…\n');
      // A real kernel with a historic bug patched in is compared with the model on the same bug.
      const modelProfile = targetId !== 'sim' && profile.join(',') !== 'fixed' ? profile : undefined;
      const report = await runOracle({ scenario, seed, ...(duration !== undefined ? { duration } : {}), observed, target: targetId, profile, ...(modelProfile ? { modelProfile } : {}), observedFindings: summary.findings, outDir });
      summary = recordOracle(outDir, summary, report);
      oracleReport = oracleText(report);
    }
    const junit = opt(p, 'junit');
    if (junit) writeFileSync(resolve(junit), junitXml(summary));
    const ktapFile = opt(p, 'ktap');
    if (ktapFile && ktapFile !== '-') writeFileSync(resolve(ktapFile), ktap(summary));
    // KTAP on stdout (LAVA reads a console) pushes the human report to stderr.
    const human = (t: string) => (ktapFile === '-' ? io.err(t) : io.out(t));
    if (flag(p, 'json')) human(JSON.stringify(summary, null, 2) + '\n');
    else human(reportText(summary, outDir) + oracleReport);
    if (ktapFile === '-') io.out(ktap(summary));
    if (summary.status === 'error') return EXIT.target;
    return summary.findings.length ? EXIT.findings : EXIT.ok;
  },
};
