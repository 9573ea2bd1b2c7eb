#!/usr/bin/env node
// The whole test suite, as CI runs it (.ci/run): system setup, build, then
// the unit, virtual-lab and end-to-end suites. Every suite runs even if an
// earlier one failed, so one run shows everything that is broken.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const only = process.argv.slice(2);

function step(label, cmd, args, report) {
  const t0 = Date.now();
  process.stderr.write(`\n== ${label}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  const ok = r.status === 0;
  results.push({ label, ok, secs, failed: ok || !report ? [] : failedTests(report) });
  return ok;
}

/**
 * The failed tests of a vitest JSON report, one line each with the first line
 * of the error: CI keeps only the tail of a long log, and the summary is the
 * tail, so it must say what failed without scrolling back 20 minutes.
 */
function failedTests(file) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return ['(no test report was written: the suite itself failed to start or crashed; see its output above)'];
  }
  const out = [];
  for (const f of report.testResults ?? []) {
    const where = relative(root, f.name);
    const bad = (f.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of bad) {
      const first = String(t.failureMessages?.[0] ?? '').split('\n').find((l) => l.trim()) ?? '';
      out.push(`${where} > ${t.fullName}: ${first.slice(0, 300)}`);
    }
    if (!bad.length && f.status === 'failed') out.push(`${where}: ${String(f.message ?? 'failed').split('\n')[0].slice(0, 300)}`);
  }
  return out.length ? out : ['(the suite failed but its report names no failed test; see its output above)'];
}

const results = [];
const t0 = Date.now();
if (!only.length) {
  if (!step('setup (system packages)', process.execPath, [join(root, 'scripts', 'setup.js')])) finish();
  if (!step('build', process.execPath, [join(root, 'scripts', 'build.js')])) finish();
}
const reports = mkdtempSync(join(tmpdir(), 'stresslab-test-'));
for (const project of ['unit', 'vm', 'e2e']) {
  if (only.length && !only.includes(project)) continue;
  const report = join(reports, `${project}.json`);
  step(`tests: ${project}`, vitest, ['run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], report);
}
rmSync(reports, { recursive: true, force: true });
finish();

function finish() {
  process.stderr.write(`\n== summary (${((Date.now() - t0) / 60000).toFixed(1)} min)\n`);
  for (const r of results) {
    process.stderr.write(`  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.label} (${r.secs}s)\n`);
    for (const f of r.failed ?? []) process.stderr.write(`          ${f}\n`);
  }
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
