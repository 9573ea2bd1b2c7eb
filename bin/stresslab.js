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
    process.exit(70);
  }
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.js'), '--ts'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(70);
}
const entry = existsSync(join(root, 'dist', 'main', 'cli.js')) ? join(root, 'dist', 'main', 'cli.js') : join(root, 'dist', 'app', 'cli', 'bin.js');
// Never a stack trace: whatever escapes is a bug (exit 70), said in one line.
const internal = (e) => {
  process.stderr.write(`stresslab: internal error: ${e instanceof Error ? e.message : String(e)}\n(this is a bug in stresslab; run with STRESSLAB_DEBUG=1 to see where)\n`);
  if (process.env.STRESSLAB_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(70);
};
process.on('uncaughtException', internal);
process.on('unhandledRejection', internal);
// A reader that went away (| head) is not an error.
for (const s of [process.stdout, process.stderr]) s.on('error', (e) => (e.code === 'EPIPE' ? process.exit(process.exitCode ?? 0) : internal(e)));
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
// Whatever the command left running (a child that would not exit, a timer)
// must not keep it from ending.
setTimeout(() => process.exit(process.exitCode), 5000).unref();
