// stresslab run <preset> — run a scenario and report: exit 0 when there are
// no findings, 1 with findings, 2 for bad input, 3 when the target failed.
import { join, resolve } from 'node:path';
import { UsageError, flag, intOpt, opt, parseArgs } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { type RunHandle, type RunSummary, startRun } from '../../engine/run.js';
import { junitXml } from '../../engine/junit.js';
import { writeFileSync } from 'node:fs';
import { GUEST_OPTIONS, guestOptions, refuseGuestFlags } from './vm.js';
import { parseDuration } from '../../vocabulary/duration.js';
import { ProfileError, simProfile } from '../../targets/sim/options.js';
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
  ...GUEST_OPTIONS.filter((o) => ['hw', 'kernel', 'modules'].includes(o.name)).map((o) => ({ ...o, help: `${o.help} (--target vm)` })),
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
    return simProfile(list);
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
    // The guest boots inside the run, which reports its own progress: no boot log here.
    const boot = targetId === 'vm' ? { ...guestOptions(p, io), log: undefined } : undefined;
    const sim = { profile, ...(strategy ? { strategy: strategy as 'pct' | 'random' } : {}), ...(depth !== undefined ? { depth } : {}) };
    const target = factory.create({ ...(boot ? { boot } : {}), allowDetach: flag(p, 'allow-detach'), sim });
    const oracle = flag(p, 'oracle');
    const refusal = oracle ? oracleRefusal(preset.scenario, targetId, profile) : null;
    if (refusal) throw new UsageError(`--oracle: ${refusal}`);
    const avail = await target.available();
    if (!avail.ok) {
      io.err(`stresslab run: target ${targetId} is not available: ${avail.why}\n`);
      return EXIT.target;
    }
    const h = startRun({
      scenario: preset.scenario,
      target,
      seed,
      ...(duration !== undefined ? { duration } : {}),
      outDir,
      loadScenario: (name: string): Scenario => lib.load(name).scenario,
      // the oracle compares a library's real ALSA calls with the model's: the real run traces them
      ...(oracle ? { traceCalls: true } : {}),
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
      const report = await runOracle({ scenario: preset.scenario, seed, ...(duration !== undefined ? { duration } : {}), observed, target: targetId, profile, outDir });
      summary = recordOracle(outDir, summary, report);
      oracleReport = oracleText(report);
    }
    const junit = opt(p, 'junit');
    if (junit) writeFileSync(resolve(junit), junitXml(summary));
    if (flag(p, 'json')) io.out(JSON.stringify(summary, null, 2) + '\n');
    else io.out(reportText(summary, outDir) + oracleReport);
    if (summary.status === 'error') return EXIT.target;
    return summary.findings.length ? EXIT.findings : EXIT.ok;
  },
};
