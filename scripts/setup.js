#!/usr/bin/env node
// The project's setup step: installs what the tests and the lab need from the
// system (when root) or says exactly what to install. Each concern has its own
// script in setup.d so the virtual lab, the agent and the UI stay independent.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'setup.d');
const only = process.argv.slice(2);
const steps = readdirSync(dir).filter((f) => /^\d\d-.*\.sh$/.test(f)).sort().filter((f) => !only.length || only.some((o) => f.includes(o)));
let failed = [];
for (const s of steps) {
  const t0 = Date.now();
  const r = spawnSync('bash', [join(dir, s)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(s);
  process.stderr.write(`setup: ${s} ${r.status === 0 ? 'ok' : 'FAILED'} (${secs}s)\n`);
}
if (failed.length) {
  process.stderr.write(`setup: ${failed.length} step(s) failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
