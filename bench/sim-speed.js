#!/usr/bin/env node
// Simulated-time speed: two 48 kHz playback streams with 1 ms periods, the
// application writing one period at a time (blocking), for a span of virtual
// time. Reports virtual seconds per wall second (aim: >= 100x real time on
// one core), with and without the analysis + journal a normal run has.
//   node bench/sim-speed.js [virtual seconds, default 20] [repeats, default 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateScenario } from '../dist/app/vocabulary/scenario.js';
import { SimRun } from '../dist/app/targets/sim/sim-run.js';
import { compileProgram } from '../dist/app/program/compile.js';
import { startRun } from '../dist/app/engine/run.js';
import { SimTarget } from '../dist/app/targets/sim/sim-target.js';

const secs = Number(process.argv[2] ?? 20);
const repeats = Number(process.argv[3] ?? 5);
const stream = (h) => [
  { 'pcm.open': { handle: h, card: 'Dummy', device: 0, stream: 'playback' } },
  { 'pcm.hw_params': { handle: h, format: 'S16_LE', channels: 2, rate: 48000, period_size: 48, periods: 4 } },
  { 'pcm.prepare': h },
];
const { scenario, issues } = validateScenario({
  name: 'bench-two-streams',
  duration: `${secs}s`,
  setup: [...stream('a'), ...stream('b')],
  lanes: [
    { name: 'a', loop: [{ 'pcm.write': { handle: 'a', periods: 1 } }] },
    { name: 'b', loop: [{ 'pcm.write': { handle: 'b', periods: 1 } }] },
  ],
});
if (!scenario) throw new Error(JSON.stringify(issues));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// CPU time of this process as well as wall time: on a shared machine the
// wall clock measures the neighbours; CPU time is what the simulator costs.
function clock() {
  const c = process.cpuUsage();
  return { wall: process.hrtime.bigint(), cpu: c.user + c.system };
}
function since(t0) {
  const t = clock();
  return { wall: Number(t.wall - t0.wall) / 1e9, cpu: (t.cpu - t0.cpu) / 1e6 };
}

async function kernelOnly() {
  let events = 0;
  const run = new SimRun({ program: compileProgram(scenario, { seed: 1, duration: secs * 1e9 }), bugs: new Set(), strategy: 'pct', depth: 3, emit: () => void events++, stopRequested: () => false });
  const t0 = clock();
  await run.run();
  return { ...since(t0), events, steps: run.k.sched.steps };
}

async function fullRun() {
  const dir = mkdtempSync(join(tmpdir(), 'stresslab-bench-'));
  const t0 = clock();
  const s = await startRun({ scenario, target: new SimTarget({ profile: ['fixed'] }), seed: 1, outDir: dir, journalSync: false }).done;
  const t = since(t0);
  rmSync(dir, { recursive: true, force: true });
  return { ...t, events: s.metrics.actions, xruns: s.metrics.xruns.total };
}

const a = [];
const b = [];
const ac = [];
const bc = [];
let last;
for (let i = 0; i < repeats; i++) {
  const k = await kernelOnly();
  const f = await fullRun();
  a.push(secs / k.wall);
  b.push(secs / f.wall);
  ac.push(secs / k.cpu);
  bc.push(secs / f.cpu);
  last = { k, f };
}
console.log(JSON.stringify({
  virtual_seconds: secs,
  repeats,
  kernel_only_x_realtime_median: +median(a).toFixed(1),
  full_run_x_realtime_median: +median(b).toFixed(1),
  kernel_only_x_cpu_time_median: +median(ac).toFixed(1),
  full_run_x_cpu_time_median: +median(bc).toFixed(1),
  kernel_steps_per_virtual_second: Math.round(last.k.steps / secs),
  actions_per_virtual_second: Math.round(last.f.events / secs),
  xruns: last.f.xruns,
}));
