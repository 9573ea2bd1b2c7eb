// The kernel matrix's table: one row per kernel from its run's summary, the
// function the findings name, and where consecutive kernels' verdicts differ.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../events/types.js';
import { bareFunction, type KernelMatrix, matrixHtml, matrixRow, matrixText, signatureOf, verdictChanges } from './kernel-matrix.js';
import type { RunSummary } from './run.js';

const hang: Finding = {
  id: 'hang#1',
  type: 'hang',
  severity: 'critical',
  t: 4.9e9,
  message: 'lane app: seq.set_client_pool … has not returned',
  evidence: { wchan: 'snd_seq_pool_done', stack: ['[<0>] snd_seq_pool_done+0x48/0xb0 [snd_seq]', '[<0>] snd_seq_pool_delete+0x3c/0x50 [snd_seq]'] },
};

function summary(findings: Finding[], extra: Partial<RunSummary> = {}): RunSummary {
  return {
    verdict: findings.length ? 'fail' : 'pass',
    preset: 'seq-pool-resize',
    target: 'vm',
    profile: ['fixed'],
    seed: 1,
    strategy: 'pct',
    status: findings.length ? 'stopped' : 'completed',
    budget_ns: 60e9,
    elapsed_ns: findings.length ? 5.1e9 : 60e9,
    wall_ms: 70_000,
    findings,
    finding_counts: {},
    metrics: {},
    ...extra,
  };
}

describe('kernel matrix', () => {
  it("names the function a finding points at: its report's function, else the hung lane's wait channel or stack", () => {
    expect(bareFunction('snd_seq_pool_done+0x48/0xb0 [snd_seq]')).toBe('snd_seq_pool_done');
    expect(bareFunction('[<0>] snd_seq_pool_delete+0x3c/0x50 [snd_seq]')).toBe('snd_seq_pool_delete');
    expect(signatureOf(hang)).toBe('snd_seq_pool_done');
    expect(signatureOf({ ...hang, evidence: { function: 'lab_kfence_uaf+0x70/0xa0' } })).toBe('lab_kfence_uaf');
    expect(signatureOf({ ...hang, evidence: { stack: ['[<0>] snd_seq_fifo_resize+0xec/0x120 [snd_seq]'] } })).toBe('snd_seq_fifo_resize');
  });

  it('makes one row per kernel and says which update changed the verdict', () => {
    const rows = [
      matrixRow({ version: '6.1.0-53', source_version: '6.1.187-1' }, summary([hang]), '6.1.0-53'),
      matrixRow({ version: '6.1.0-54', source_version: '6.1.190-1' }, summary([hang, { ...hang, id: 'hang#2', severity: 'critical' }]), '6.1.0-54'),
      matrixRow({ version: '6.1.0-55', source_version: '6.1.192-1' }, summary([]), '6.1.0-55'),
    ];
    expect(rows[1]).toMatchObject({ verdict: 'fail', finding_types: ['hang'], findings: 2, signature: 'snd_seq_pool_done', elapsed_ns: 5.1e9, run: '6.1.0-54' });
    expect(rows[2]).toMatchObject({ verdict: 'pass', finding_types: [], findings: 0 });
    expect(rows[2]!.signature).toBeUndefined();
    expect(verdictChanges(rows)).toEqual(['fail → pass between 6.1.0-54 (6.1.190-1) and 6.1.0-55 (6.1.192-1): the hang fixed there']);
    const m: KernelMatrix = { kind: 'kernel-matrix', preset: 'seq-pool-resize', seed: 1, kernels: ['6.1.0-53', '6.1.0-54', '6.1.0-55'], rows, created: '2026-12-03T00:00:00Z' };
    expect(matrixText(m)).toBe(
      [
        'kernel matrix: seq-pool-resize, seed 1, 3 kernel(s)',
        'kernel    source     verdict  findings  signature          covered  wall',
        '6.1.0-53  6.1.187-1  FAIL     hang      snd_seq_pool_done  5.1s     70.0s',
        '6.1.0-54  6.1.190-1  FAIL     hang      snd_seq_pool_done  5.1s     70.0s',
        '6.1.0-55  6.1.192-1  PASS     —                            60.0s    70.0s',
        '',
        'fail → pass between 6.1.0-54 (6.1.190-1) and 6.1.0-55 (6.1.192-1): the hang fixed there',
        '',
      ].join('\n'),
    );
    const html = matrixHtml(m);
    expect(html).toContain('<a href="6.1.0-54/report.html">6.1.0-54</a>');
    expect(JSON.parse(/id="stresslab-matrix">([\s\S]*?)<\/script>/.exec(html)![1]!)).toEqual(JSON.parse(JSON.stringify(m)));
  });
});
