// Race family seq-pool-resize: with its historic bug (seq-fifo-stale-cell) the preset must
// report hang for every seed 1..20 within its default budget, and on
// today's kernel (fixed) it must pass for seeds 1..200.
import { describe, expect, it } from 'vitest';
import { runPreset } from '../sim-harness.js';

describe('seq-pool-resize', () => {
  it('finds hang on seq-fifo-stale-cell for seeds 1..20', async () => {
    const misses: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const s = await runPreset('seq-pool-resize', ['seq-fifo-stale-cell'], seed);
      if (s.findings[0]?.type !== 'hang') misses.push(`seed ${seed}: ${s.findings.map((f) => f.type).join(',') || 'no findings'}`);
    }
    expect(misses).toEqual([]);
  }, 600_000);

  it('passes on fixed for seeds 1..200', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const s = await runPreset('seq-pool-resize', ['fixed'], seed);
      if (s.verdict !== 'pass') failures.push(`seed ${seed}: ${s.findings.map((f) => `${f.type}: ${f.message}`).join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 1_800_000);
});
