#!/usr/bin/env node
// Runs the core's benchmark scripts (bench/*.js) one after another and
// prints their JSON results. Other benchmarks (virtual lab boot, agent ioctl
// rate, renderer frame times) need a guest or a browser and are run by their
// own scripts; bench/RESULTS.md says which and what they measured.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
spawnSync(process.execPath, [join(root, 'scripts', 'build.js'), '--ts'], { stdio: 'inherit' });
for (const [script, args] of [
  ['sim-speed.js', ['20', '5']],
  ['schedules.js', ['500', '5']],
  ['journal-encode.js', ['5']],
]) {
  process.stderr.write(`\n== bench/${script} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bench', script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
