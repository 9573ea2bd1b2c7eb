// The kernel matrix and the real-kernel hang detector, as a QA engineer uses
// them: seq-pool-resize on a Debian kernel from before the stale-cell fix
// (6.1.0-54, source 6.1.190-1; Debian's changelog puts "ALSA: seq: avoid stale
// FIFO cells during resize" in 6.1.192-1) and on today's, with CPU hogs on the
// host beside the guest. The old kernel hangs for real in snd_seq_pool_done;
// today's passes, its merely slow actions counted, never reported as a hang.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelMatrix } from '../../engine/kernel-matrix.js';
import type { RunSummary } from '../../engine/run.js';
import { runCommands } from '../../test/cli-in-process.js';
import { runCommand } from './run.js';

const out = mkdtempSync(join(tmpdir(), 'stresslab-matrix-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function hogs(): () => void {
  const ps: ChildProcess[] = [];
  for (let i = 0; i < availableParallelism(); i++) ps.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  return () => ps.forEach((p) => p.kill('SIGKILL'));
}

describe('kernel matrix with the real-kernel hang detector, under load', { timeout: 900_000 }, () => {
  it('6.1.0-54 hangs in snd_seq_pool_done, today\'s kernel passes: the table says which update fixed it', async () => {
    const dir = join(out, 'm');
    const stop = hogs();
    let r;
    try {
      r = await runCommands([runCommand], ['run', 'seq-pool-resize', '--target', 'vm', '--hw', 'seq-dummy', '--kernel-version', '6.1.0-54,6.1.0-57', '--duration', '15s', '--out', dir, '--quiet']);
    } finally {
      stop();
    }
    expect(r.code, r.err).toBe(1);
    const m = JSON.parse(readFileSync(join(dir, 'matrix.json'), 'utf8')) as KernelMatrix;
    expect(m.rows.map((x) => [x.version, x.source_version, x.verdict])).toEqual([
      ['6.1.0-54', '6.1.190-1', 'fail'],
      ['6.1.0-57', '6.1.192-3', 'pass'],
    ]);
    expect(m.rows[0]).toMatchObject({ finding_types: ['hang'], signature: 'snd_seq_pool_done' });
    expect(r.out).toMatch(/^6\.1\.0-54\s+6\.1\.190-1\s+FAIL\s+hang\s+snd_seq_pool_done/m);
    expect(r.out).toMatch(/fail → pass between 6\.1\.0-54 \(6\.1\.190-1\) and 6\.1\.0-57 \(6\.1\.192-3\)/);

    const old = JSON.parse(readFileSync(join(dir, '6.1.0-54', 'summary.json'), 'utf8')) as RunSummary;
    const hang = old.findings.find((f) => f.type === 'hang')!;
    // the kernel's own words: the stack the agent sampled, the same in every sample
    expect(hang.message).toMatch(/kernel stack unchanged in \d+ samples/);
    expect((hang.evidence!.stack as string[]).join('\n')).toMatch(/snd_seq_pool_done[\s\S]*snd_seq_pool_delete[\s\S]*snd_seq_fifo_resize/);
    expect(old.context?.kernel).toMatchObject({ release: '6.1.0-54-amd64', source_version: '6.1.190-1', upstream: '6.1.190' });

    const today = JSON.parse(readFileSync(join(dir, '6.1.0-57', 'summary.json'), 'utf8')) as RunSummary;
    expect(today.findings).toEqual([]);
    expect(today.context?.kernel?.memory_debug?.on).toContain('init_on_free=1');
    expect((today.metrics as { actions: number }).actions).toBeGreaterThan(1000);
  });
});
