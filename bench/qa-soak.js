#!/usr/bin/env node
// issue 11's long run: `qa-soak` in the virtual lab (real drivers, TCG) for
// ten minutes, as a QA engineer would start it from the CLI, then its HTML
// report. Prints what the run shows: xruns counted with recovery and the time
// they cost, failed operations, stream latency (delay) samples and
// percentiles, each check's verdict, journal size (bounded?) and the report.
//   node bench/qa-soak.js [duration, default 10m] [target, default vm]
// Writes into a fresh directory under the system temp dir and leaves it there
// (the path is printed) so the report can be opened.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const duration = process.argv[2] ?? '10m';
const target = process.argv[3] ?? 'vm';
const out = join(mkdtempSync(join(tmpdir(), 'qa-soak-bench-')), 'run');
const cli = (args) => spawnSync(process.execPath, [join(root, 'bin', 'stresslab.js'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

const load0 = loadavg()[0];
const t0 = Date.now();
const run = cli(['run', 'qa-soak', '--target', target, '--duration', duration, '--out', out, '--quiet']);
const wallS = (Date.now() - t0) / 1000;
if (run.status !== 0 && run.status !== 1) {
  process.stderr.write(run.stdout + run.stderr);
  process.exit(run.status ?? 3);
}
const rep = cli(['report', out]);
if (rep.status !== 0) process.stderr.write(rep.stderr);

const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
const m = summary.metrics;
const c = summary.counts;
const journalBytes = statSync(join(out, 'journal.jsonl')).size;
const reportBytes = rep.status === 0 ? statSync(join(out, 'report.html')).size : 0;
const ms = (ns) => (ns === undefined ? null : Math.round(ns / 1e4) / 100);
const result = {
  target,
  duration,
  verdict: summary.verdict,
  status: summary.status,
  covered_s: summary.elapsed_ns / 1e9,
  wall_s: wallS,
  load_avg_at_start: load0,
  accel: summary.context?.machine?.accel,
  operations: c.operations,
  failed: c.failed,
  xruns: c.xruns,
  recovered: c.recovered,
  recover_failed: c.recover_failed,
  time_lost_ms: ms(c.time_lost_ns),
  xruns_per_stream: Object.fromEntries(c.streams.map((s) => [s.stream, { xruns: s.xruns, recovered: s.recovered, failed: s.failed, delay_p99_ms: ms(s.delay_p99_ns) }])),
  delay_samples: c.delay_samples,
  delay_p50_ms: ms(m.delay_ns?.p50),
  delay_p99_ms: ms(m.delay_ns?.p99),
  checks: Object.fromEntries((summary.checks ?? []).map((k) => [k.id, k.status])),
  findings: c.findings,
  journal_mb: Math.round(journalBytes / 1e4) / 100,
  journal_bytes_per_s: Math.round(journalBytes / (summary.elapsed_ns / 1e9)),
  report_kb: Math.round(reportBytes / 1024),
  dir: out,
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
