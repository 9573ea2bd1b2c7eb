// A host tool stopped mid-way (a run stopped while its kernel downloads or its
// overlay builds) goes with everything it started: apt-get's download
// methods, make's compilers, a bash pipeline's stages.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TargetError } from '../errors.js';
import { descendants, runHost } from './exec-host.js';

const tmp = mkdtempSync(join(tmpdir(), 'exec-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Alive and not a zombie (a killed child of a parent that is gone waits for whoever reaps orphans here). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(what: () => boolean): Promise<void> {
  // a liveness wait, not a timing claim: the test's own timeout bounds it
  while (!what()) await new Promise((r) => setTimeout(r, 20));
}

describe('host tools', () => {
  it('an abort kills the tool and every process below it, and the step fails with the abort, not as a tool failure', async () => {
    const pids = join(tmp, 'pids');
    const ac = new AbortController();
    // a pipeline whose stages have children of their own, as `dpkg-deb | tar | xz | tar` has
    const script = `(sleep 300 & echo $! >> ${pids}; wait) | (sleep 300 & echo $! >> ${pids}; wait; cat) & echo $! >> ${pids}; wait`;
    const ran = runHost('bash', ['-c', script], { what: 'a long step', signal: ac.signal });
    await until(() => {
      try {
        return readFileSync(pids, 'utf8').trim().split('\n').length >= 3;
      } catch {
        return false;
      }
    });
    const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(started.every(running)).toBe(true);
    ac.abort(new TargetError('stopped while the kernel was prepared'));
    await expect(ran).rejects.toThrow('stopped while the kernel was prepared');
    await until(() => !started.some(running));
    expect(started.filter(running)).toEqual([]);
  });

  it('does not start a tool once aborted, and reports a failing tool with what it said', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runHost('true', [], { what: 'nothing', signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(runHost('sh', ['-c', 'echo no such package >&2; exit 100'], { what: 'downloading x', hint: 'apt-get update' })).rejects.toMatchObject({ message: expect.stringContaining('downloading x failed (sh -c echo no such package >&2; exit 100):\nno such package'), hint: 'apt-get update' });
  });

  it('finds the processes below one', async () => {
    expect(descendants(process.pid)).not.toContain(process.pid);
    expect(descendants(2 ** 22 + 1)).toEqual([]);
  });
});
