#!/usr/bin/env node
// Runs the compiled CLI, rebuilding the TypeScript first when sources are newer
// than the last build (npm install does not run build scripts in this project).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.buildstamp');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

// A build is the stamp scripts/build.js writes or any tsc -b run (its .tsbuildinfo files).
const infoDir = join(root, 'dist', '.tsbuild');
const infos = existsSync(infoDir) ? readdirSync(infoDir).map((f) => statSync(join(infoDir, f)).mtimeMs) : [];
const built = Math.max(existsSync(stamp) ? statSync(stamp).mtimeMs : 0, ...infos);
const sources = Math.max(...['app', 'main'].filter((d) => existsSync(join(root, d))).map((d) => newestSource(join(root, d))));
if (sources > built) {
  if (process.env.STRESSLAB_NO_AUTOBUILD) {
    process.stderr.write('stresslab: sources are newer than the build; run "npm run build"\n');
    process.exit(3);
  }
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.js'), '--ts'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(3);
}
const entry = existsSync(join(root, 'dist', 'main', 'cli.js')) ? join(root, 'dist', 'main', 'cli.js') : join(root, 'dist', 'app', 'cli', 'bin.js');
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
