// Tests that spawn the real `stresslab` binary need the compiled CLI to match
// the sources; tsc -b is incremental, so this is quick when nothing changed.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'bin/stresslab.js');

export function buildTypescript(): void {
  const r = spawnSync(process.execPath, [resolve(ROOT, 'scripts/build.js'), '--ts'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}`);
}
