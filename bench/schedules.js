#!/usr/bin/env node
// Seeded schedules explored per second on the parallel-hw-params race
// (aim: >= 1,000/s on one core). Two readings:
//  - seeds/s: fresh machines, each running the race for 20 rounds with its own seed
//    (what a seed sweep does);
//  - rounds/s within one long run: each round is one contention episode, i.e.
//    one PCT attempt at the race.
//   node bench/schedules.js [seeds, default 500] [repeats, default 5]
import { PresetLibrary } from '../dist/app/engine/presets.js';
import { SimRun } from '../dist/app/targets/sim/sim-run.js';
import { simBugs } from '../dist/app/targets/sim/options.js';
import { compileProgram } from '../dist/app/program/compile.js';

const seeds = Number(process.argv[2] ?? 500);
const repeats = Number(process.argv[3] ?? 5);
const { scenario } = new PresetLibrary().load('parallel-hw-params');
const short = { ...scenario, iterations: 20 };
const long = { ...scenario, iterations: 20000 };

function cpu() {
  const c = process.cpuUsage();
  return c.user + c.system;
}

async function sweep() {
  const w0 = process.hrtime.bigint();
  const c0 = cpu();
  let torn = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const run = new SimRun({ program: compileProgram(short, { seed, duration: 10e9 }), bugs: simBugs(['pcm-unlocked-hw-params']), strategy: 'pct', depth: 3, emit: (e) => void (e.kind === 'act' && e.op === 'pcm.readback' && torn++), stopRequested: () => false });
    await run.run();
  }
  return { wall: Number(process.hrtime.bigint() - w0) / 1e9, cpu: (cpu() - c0) / 1e6, readbacks: torn };
}

async function rounds() {
  let n = 0;
  const w0 = process.hrtime.bigint();
  const c0 = cpu();
  const run = new SimRun({ program: compileProgram(long, { seed: 1, duration: 100e9 }), bugs: simBugs(['fixed']), strategy: 'pct', depth: 3, emit: (e) => void (e.kind === 'act' && e.op === 'pcm.readback' && n++), stopRequested: () => false });
  await run.run();
  return { wall: Number(process.hrtime.bigint() - w0) / 1e9, cpu: (cpu() - c0) / 1e6, rounds: n };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const a = [];
const b = [];
const ac = [];
const bc = [];
for (let i = 0; i < repeats; i++) {
  const s = await sweep();
  const r = await rounds();
  a.push(seeds / s.wall);
  ac.push(seeds / s.cpu);
  b.push(r.rounds / r.wall);
  bc.push(r.rounds / r.cpu);
}
console.log(JSON.stringify({
  seeds_per_run: seeds,
  repeats,
  seeds_per_s_wall_median: Math.round(median(a)),
  seeds_per_s_cpu_median: Math.round(median(ac)),
  rounds_per_s_wall_median: Math.round(median(b)),
  rounds_per_s_cpu_median: Math.round(median(bc)),
}));
