// A new run's directory, runs/<time>_<preset>_<target>[-n]. mkdir without
// `recursive` either creates the directory or fails with EEXIST, atomically,
// so runs started in the same second (ten CLI runs from one CI script, the CLI
// beside the app) each get their own directory and journal.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function runStamp(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

export function createRunDir(runsDir: string, preset: string, target: string, now = new Date()): { id: string; dir: string } {
  mkdirSync(runsDir, { recursive: true });
  const base = `${runStamp(now)}_${preset}_${target}`;
  for (let n = 1; ; n++) {
    const id = n > 1 ? `${base}-${n}` : base;
    const dir = join(runsDir, id);
    try {
      mkdirSync(dir);
      return { id, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 10_000) throw e;
    }
  }
}
