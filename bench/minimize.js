#!/usr/bin/env node
// Minimisation of each race family's failing run on the simulated kernel:
// the family's preset with its bug switch and seed 1 (what `stresslab run
// <family> --profile <switch>` finds), minimised by `stresslab minimize`
// with its defaults (3 seeds per candidate, at most 400 runs), before and
// after sizes, runs and time. Results: bench/minimize.md.
//   node bench/minimize.js [seed, default 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PresetLibrary } from '../dist/app/engine/presets.js';
import { startRun } from '../dist/app/engine/run.js';
import { SimTarget } from '../dist/app/targets/sim/sim-target.js';
import { minimize, targetRunner } from '../dist/app/repro/minimize.js';
import { REAL_KERNEL_BUGS } from '../dist/app/repro/real-kernels.js';
import { formatDuration } from '../dist/app/vocabulary/duration.js';

const seed = Number(process.argv[2] ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'bench-minimize-'));
const lib = new PresetLibrary();
const rows = [];
try {
  for (const [family, bug] of Object.entries(REAL_KERNEL_BUGS)) {
    const sc = lib.load(family).scenario;
    const summary = await startRun({ scenario: sc, target: new SimTarget({ profile: [bug.profile] }), seed, journalSync: false }).done;
    const f = summary.findings.find((x) => x.severity === 'critical') ?? summary.findings[0];
    if (!f) {
      rows.push({ family, error: `no finding with ${bug.profile}, seed ${seed}` });
      continue;
    }
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const r = await minimize({ scenario: sc, seed, signature: f.signature, findingAt: f.t, run: targetRunner(() => new SimTarget({ profile: [bug.profile] }), f.signature) });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6;
    rows.push({ family, profile: bug.profile, signature: f.signature, before: r.before, after: r.after, runs: r.runs, seed: r.seed, reductions: r.log.length, exhausted: r.exhausted, wall_s: +wall.toFixed(1), cpu_s: +cpu.toFixed(1) });
    process.stderr.write(`${family}: ${r.before.lanes}/${r.before.steps}/${formatDuration(r.before.budget)} -> ${r.after.lanes}/${r.after.steps}/${formatDuration(r.after.budget)} in ${r.runs} runs, ${wall.toFixed(1)} s\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ bench: 'minimize', seed, rows }, null, 2) + '\n');
