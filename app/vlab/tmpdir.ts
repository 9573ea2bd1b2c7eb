// One temporary directory per guest (its sockets and initramfs), named with the
// owning process id so that one left behind by a killed process is recognised
// and removed by the next boot: a kill -9 gives no chance to clean up.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'stresslab-vlab-';

export function guestTmpBase(): string {
  // Unix socket paths are limited to 107 bytes; a long TMPDIR falls back to /tmp.
  const base = tmpdir();
  return base.length > 60 ? '/tmp' : base;
}

export function makeGuestDir(): string {
  return mkdtempSync(join(guestTmpBase(), `${PREFIX}${process.pid}-`));
}

/** Removes guest dirs whose owner process is gone. Returns how many. */
export function sweepStaleGuestDirs(base = guestTmpBase()): number {
  let n = 0;
  let names: string[] = [];
  try {
    names = readdirSync(base);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(base, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

/** True while `pid` runs; a zombie (dead, not yet reaped) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true; // no procfs to ask: trust kill(0)
  }
}
