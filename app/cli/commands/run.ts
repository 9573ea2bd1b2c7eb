// stresslab run <preset> — run a scenario and report: exit 0 when there are
// no findings, 1 with findings, 2 for bad input, 3 when the target failed.
import { join, resolve } from 'node:path';
import { UsageError, flag, intOpt, opt, parseArgs } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { type RunHandle, type RunSummary, startRun } from '../../engine/run.js';
import { junitXml } from '../../engine/junit.js';
import { checkOutFile, prepareOutDir, writeOutFile } from '../../journal/out-path.js';
import { parseSize } from '../../vocabulary/size.js';
import { MAX_DURATION } from '../../vocabulary/scenario.js';
import { runExitCode, supervise } from '../supervise.js';
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

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

export function formatNs(ns: number): string {
  return ns >= 1e9 ? `${(ns / 1e9).toFixed(3)}s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)}ms` : `${(ns / 1e3).toFixed(1)}us`;
}

export function reportText(s: RunSummary, outDir?: string, summaryPath?: string | null): string {
  const lines = [`${s.verdict.toUpperCase()}: ${s.preset} on ${s.target} (profile ${s.profile.join(',')}, seed ${s.seed}) — ${s.status}, ${formatNs(s.elapsed_ns)} covered in ${(s.wall_ms / 1000).toFixed(1)}s`];
  const m = s.metrics as { actions?: number; ops_per_s?: number; xruns?: { total: number } };
  if (m.actions !== undefined) lines.push(`  ${m.actions} operations, ${m.ops_per_s} ops/s, ${m.xruns?.total ?? 0} xruns`);
  for (const f of s.findings) lines.push(`  [${f.severity}] ${f.type} at ${formatNs(f.t)}: ${f.message}`);
  if (s.reason && s.status === 'error') lines.push(`  error: ${s.reason}`);
  else if (s.reason && s.status === 'stopped') lines.push(`  stopped: ${s.reason}`);
  if (s.journal_state?.sampled_away) lines.push(`  journal sampled: ${s.journal_state.sampled_away} repetitive events left out (${s.journal_state.keep} kept past the size bound)${s.journal_state.full ? '; the journal filled up' : ''}`);
  if (outDir) lines.push(`  journal: ${join(outDir, 'journal.jsonl')}`, `  summary: ${summaryPath === undefined ? join(outDir, 'summary.json') : (summaryPath ?? 'not written (see above)')}`);
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
    const wallLimit = parseDurationArg(opt(p, 'wall-limit'), 'wall-limit', 30 * 24 * 3600e9);
    const journalMax = parseSizeArg(opt(p, 'journal-max'), 'journal-max');
    refuseGuestFlags(p, targetId);
    // Where the results go is checked before anything runs: a bad path is bad input, not a crash at the end.
    const outDir = prepareOutDir(opt(p, 'out') ?? join('runs', `${stamp()}_${preset.scenario.name}_${targetId}`));
    const junit = opt(p, 'junit');
    const junitFile = junit !== undefined ? checkOutFile(resolve(io.cwd, junit), '--junit') : undefined;
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
      const report = await runOracle({ scenario: preset.scenario, seed, ...(duration !== undefined ? { duration } : {}), observed, target: targetId, profile, outDir });
      summary = recordOracle(outDir, summary, report);
      oracleReport = oracleText(report);
    }
    sup.dispose();
    let junitProblem = '';
    if (junitFile) {
      try {
        writeOutFile(junitFile, junitXml(summary), '--junit');
      } catch (e) {
        junitProblem = `${(e as Error).message}\n`;
      }
    }
    if (flag(p, 'json')) io.out(JSON.stringify(summary, null, 2) + '\n');
    else io.out(reportText(summary, outDir, h.summaryPath) + oracleReport);
    if (junitProblem) io.err(`stresslab run: ${junitProblem}`);
    if (h.recordFailure) io.err(recordingText(h.recordFailure, outDir, h.summaryPath));
    if (summary.failure === 'internal' && io.env.STRESSLAB_DEBUG && h.internalError instanceof Error) io.err(`${h.internalError.stack}\n`);
    if (interrupted) io.err(`stresslab run: interrupted by ${sup.signal}; exit status ${EXIT.interrupted}\n`);
    const code = runExitCode(summary, interrupted);
    return junitProblem && (code === EXIT.ok || code === EXIT.findings) ? EXIT.recording : code;
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
