#!/usr/bin/env node
// One way to build: TypeScript (app + main), the renderer bundle, the C agent.
// `--ts` builds only the TypeScript, which is what the CLI needs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsOnly = process.argv.includes('--ts');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(label, cmd, args, opts = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) {
    process.stderr.write(`build: ${label}: cannot run ${cmd}: ${r.error.message}\n`);
    process.exit(1);
  }
  if (r.status !== 0) {
    process.stderr.write(`build: ${label} failed\n`);
    process.exit(r.status ?? 1);
  }
  process.stderr.write(`build: ${label} ok (${((Date.now() - t0) / 1000).toFixed(1)}s)\n`);
}

if (!existsSync(bin('tsc'))) {
  process.stderr.write('build: node_modules is missing; run "npm install" first\n');
  process.exit(1);
}
step('typescript', bin('tsc'), ['-b', 'tsconfig.json']);
if (!tsOnly) {
  if (existsSync(join(root, 'renderer', 'vite.config.ts'))) step('renderer', bin('vite'), ['build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn']);
  if (existsSync(join(root, 'native-bridge', 'Makefile'))) {
    const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
    if (cc.status === 0) step('agent', 'make', ['-s', '-C', 'native-bridge']);
    else process.stderr.write('build: no C compiler (cc); the native agent is not built. Install gcc (sudo apt-get install gcc) to drive real devices.\n');
  }
}
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist', '.buildstamp'), new Date().toISOString() + '\n');
