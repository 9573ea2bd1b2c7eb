#!/usr/bin/env node
// The real-kernel hang detector under load (issue 9, "What must be shown"):
// seq-pool-resize in the virtual lab with CPU hogs on the host beside it
// (one busy loop per core: the guest's vCPUs are starved as on a busy CI
// machine).
//   - today's kernel (source >= 6.1.192, seed 000's bug fixed): no hang
//     finding in any run; actions that were merely slow are counted (slow_op);
//   - a kernel with the bug (default 6.1.0-54, 6.1.190-1): the hang is found.
//
//   node scripts/build.js && node bench/hang-detector.js [--runs 20] [--duration 60s]
//        [--buggy 6.1.0-54] [--buggy-runs 3] [--hogs N] [--out DIR]
//
// Prints one line per run and a summary table (medians); bench/hang-detector.md
// has the figures written down.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(arg('runs', '20'));
const duration = arg('duration', '60s');
const buggy = arg('buggy', '6.1.0-54');
const buggyRuns = Number(arg('buggy-runs', '3'));
const today = arg('today', '');
const hogs = Number(arg('hogs', String(availableParallelism())));
const out = arg('out', mkdtempSync(join(tmpdir(), 'hang-bench-')));
mkdirSync(out, { recursive: true });

function startHogs() {
  const procs = [];
  for (let i = 0; i < hogs; i++) procs.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  return () => procs.forEach((p) => p.kill('SIGKILL'));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

function runOnce(kernel, seed, label) {
  const dir = join(out, `${label}-${seed}`);
  const stop = startHogs();
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [join(root, 'bin', 'stresslab.js'), 'run', 'seq-pool-resize', '--target', 'vm', '--hw', 'seq-dummy', '--duration', duration, '--seed', String(seed), '--out', dir, '--quiet', ...(kernel ? ['--kernel-version', kernel] : [])],
    { encoding: 'utf8', env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } },
  );
  stop();
  const wall = (Date.now() - t0) / 1000;
  let s;
  try {
    s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  } catch {
    return { label, seed, code: r.status, wall, error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  }
  const hang = s.findings.find((f) => f.type === 'hang');
  const slow = s.metrics?.lanes?.slow_ops;
  return {
    label,
    seed,
    code: r.status,
    wall,
    // the run's kernel record (summaries from before it was one record: `kernel` beside the context)
    release: (s.context?.kernel ?? s.kernel)?.release,
    source: s.context?.kernel?.source_version ?? s.kernel?.source_version,
    findings: s.findings.map((f) => f.type),
    hangAt: hang ? hang.t / 1e9 : undefined,
    hangWhere: hang?.evidence?.wchan,
    hangDetail: hang?.message,
    slowOps: slow?.count ?? 0,
    slowestS: slow ? slow.slowest_ns / 1e9 : 0,
    actions: s.metrics?.actions,
    covered: s.elapsed_ns / 1e9,
  };
}

const results = [];
const say = (r) => {
  results.push(r);
  process.stdout.write(
    r.error
      ? `${r.label} seed ${r.seed}: ERROR (exit ${r.code}) ${r.error}\n`
      : `${r.label} seed ${r.seed}: ${r.release} (${r.source}) exit ${r.code}, findings [${r.findings.join(',')}]${r.hangAt !== undefined ? `, hang at ${r.hangAt.toFixed(2)} s in ${r.hangWhere}` : ''}, slow ops ${r.slowOps} (slowest ${r.slowestS.toFixed(2)} s), ${r.actions} actions in ${r.covered.toFixed(1)} s, wall ${r.wall.toFixed(0)} s\n`,
  );
};

process.stdout.write(`hang detector bench: ${runs} x ${duration} on ${today || "today's kernel"}, ${buggyRuns} on ${buggy}, ${hogs} host CPU hog(s); runs in ${out}\n`);
for (let i = 1; i <= runs; i++) say(runOnce(today, i, 'today'));
for (let i = 1; i <= buggyRuns; i++) say(runOnce(buggy, i, 'buggy'));

const t = results.filter((r) => r.label === 'today' && !r.error);
const b = results.filter((r) => r.label === 'buggy' && !r.error);
process.stdout.write(
  `\nsummary\n` +
    `  today: ${t.length} run(s), hang findings in ${t.filter((r) => r.findings.includes('hang')).length}, any finding in ${t.filter((r) => r.findings.length).length}; ` +
    `slow ops per run median ${median(t.map((r) => r.slowOps))} (max ${Math.max(0, ...t.map((r) => r.slowOps))}), slowest ${Math.max(0, ...t.map((r) => r.slowestS)).toFixed(2)} s; actions per run median ${median(t.map((r) => r.actions))}\n` +
    `  buggy (${buggy}): ${b.length} run(s), hang found in ${b.filter((r) => r.findings.includes('hang')).length}, median time to the finding ${median(b.filter((r) => r.hangAt !== undefined).map((r) => r.hangAt)).toFixed(2)} s (run time), in ${[...new Set(b.map((r) => r.hangWhere).filter(Boolean))].join(', ')}\n` +
    `  errors: ${results.filter((r) => r.error).length}\n`,
);
