#!/usr/bin/env node
// Runs a preset on the simulated kernel for a range of seeds and reports, per
// seed, the first finding and when it came (virtual time). Used to choose
// each family's default budget and to check `fixed` stays clean.
//   node bench/seed-sweep.js <preset> <profile> <from> <to> [--duration 2s]
import { PresetLibrary } from '../dist/app/engine/presets.js';
import { startRun } from '../dist/app/engine/run.js';
import { SimTarget } from '../dist/app/targets/sim/sim-target.js';
import { parseDuration } from '../dist/app/vocabulary/duration.js';

const [preset, profile, from, to] = process.argv.slice(2);
const di = process.argv.indexOf('--duration');
const duration = di > 0 ? parseDuration(process.argv[di + 1]) : undefined;
const lib = new PresetLibrary();
const { scenario } = lib.load(preset);
const rows = [];
for (let seed = Number(from); seed <= Number(to); seed++) {
  const t0 = Date.now();
  const s = await startRun({ scenario, target: new SimTarget({ profile: profile.split(',') }), seed, ...(duration ? { duration } : {}), loadScenario: (n) => lib.load(n).scenario }).done;
  const f = s.findings[0];
  rows.push({ seed, verdict: s.verdict, first: f ? f.type : '-', at_ms: f ? +(f.t / 1e6).toFixed(3) : null, findings: s.findings.map((x) => x.type).join(','), wall_ms: Date.now() - t0 });
  console.log(JSON.stringify(rows[rows.length - 1]));
}
const hits = rows.filter((r) => r.first !== '-');
console.log(JSON.stringify({ preset, profile, seeds: rows.length, with_findings: hits.length, max_at_ms: Math.max(0, ...hits.map((r) => r.at_ms)), wall_ms_total: rows.reduce((a, r) => a + r.wall_ms, 0) }));
