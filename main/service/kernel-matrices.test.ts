// A kernel matrix from the app: one run per kernel, one after another, each
// row filled from its run's summary, matrix.json kept as the CLI writes it;
// a kernel whose run cannot start is an error row, the rest still run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../app/api/types.js';
import { KernelMatrices } from './kernel-matrices.js';

const dir = mkdtempSync(join(tmpdir(), 'matrices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const summary = (fail: boolean): RunSummary => ({
  verdict: fail ? 'fail' : 'pass',
  preset: 'seq-pool-resize',
  target: 'vm',
  profile: ['fixed'],
  seed: 1,
  strategy: 'pct',
  status: 'completed',
  budget_ns: 1e9,
  elapsed_ns: 1e9,
  wall_ms: 10,
  findings: fail ? [{ id: 'hang#1', type: 'hang', severity: 'critical', t: 5e8, message: 'stuck', evidence: { wchan: 'snd_seq_pool_done' } }] : [],
  finding_counts: {},
  metrics: {},
});

describe('kernel matrices from the app', () => {
  it('runs each kernel in turn and records a row per kernel', async () => {
    const m = new KernelMatrices();
    const order: string[] = [];
    let changes = 0;
    let finished!: () => void;
    const allDone = new Promise<void>((r) => (finished = r));
    const started = await m.start('mx', dir, 'seq-pool-resize', 1, [{ version: '6.1.0-54', source_version: '6.1.190-1' }, { version: '6.1.0-47' }, { version: '6.1.0-57', source_version: '6.1.192-3' }], {
      launch: async (k) => {
        order.push(`start ${k.version}`);
        if (k.version === '6.1.0-47') throw new Error('kernel patch x.patch does not apply to linux-source-6.1 6.1.170-3');
        return { runId: `run-${k.version}`, dir: join(dir, k.version) };
      },
      done: async (runId) => {
        order.push(`done ${runId}`);
        return { summary: summary(runId === 'run-6.1.0-54') };
      },
      changed: () => {
        changes++;
        if (m.get('mx', dir).state === 'done') finished();
      },
    });
    expect(started).toEqual({ runId: 'run-6.1.0-54', dir: join(dir, '6.1.0-54'), matrix: 'mx' });
    await allDone;
    expect(order).toEqual(['start 6.1.0-54', 'done run-6.1.0-54', 'start 6.1.0-47', 'start 6.1.0-57', 'done run-6.1.0-57']);
    const st = m.get('mx', dir);
    expect(st.rows.map((r) => [r.kernel, r.state, r.row?.verdict, r.row?.signature])).toEqual([
      ['6.1.0-54', 'done', 'fail', 'snd_seq_pool_done'],
      ['6.1.0-47', 'error', undefined, undefined],
      ['6.1.0-57', 'done', 'pass', undefined],
    ]);
    expect(st.rows[1]!.error).toMatch(/does not apply/);
    expect(changes).toBeGreaterThan(1);
    const file = JSON.parse(readFileSync(join(dir, 'matrix.json'), 'utf8'));
    expect(file.rows.map((r: { version: string; verdict: string }) => [r.version, r.verdict])).toEqual([
      ['6.1.0-54', 'fail'],
      ['6.1.0-47', 'error'],
      ['6.1.0-57', 'pass'],
    ]);
    // a finished matrix is read back from its file
    expect(new KernelMatrices().get('mx', dir).state).toBe('done');
    expect(() => new KernelMatrices().get('nope', join(dir, 'nope'))).toThrow(/no kernel matrix nope/);
  });

  it("a first kernel that cannot start is the caller's error", async () => {
    const m = new KernelMatrices();
    const hooks = { launch: async () => Promise.reject(new Error('unknown kernel')), done: async () => ({ summary: null }), changed: () => {} };
    await expect(m.start('my', dir, 'p', 1, [{ version: 'x' }], hooks)).rejects.toThrow(/unknown kernel/);
  });
});
