#!/usr/bin/env node
// The whole test suite, as CI runs it (.ci/run): system setup, build, then
// the unit, virtual-lab and end-to-end suites. Every suite runs even if an
// earlier one failed, so one run shows everything that is broken.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const only = process.argv.slice(2);

function step(label, cmd, args) {
  const t0 = Date.now();
  process.stderr.write(`\n== ${label}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  const ok = r.status === 0;
  results.push({ label, ok, secs });
  return ok;
}

const results = [];
const t0 = Date.now();
if (!only.length) {
  if (!step('setup (system packages)', process.execPath, [join(root, 'scripts', 'setup.js')])) finish();
  if (!step('build', process.execPath, [join(root, 'scripts', 'build.js')])) finish();
}
for (const project of ['unit', 'vm', 'e2e']) {
  if (only.length && !only.includes(project)) continue;
  step(`tests: ${project}`, vitest, ['run', '--project', project]);
}
finish();

function finish() {
  process.stderr.write(`\n== summary (${((Date.now() - t0) / 60000).toFixed(1)} min)\n`);
  for (const r of results) process.stderr.write(`  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.label} (${r.secs}s)\n`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
