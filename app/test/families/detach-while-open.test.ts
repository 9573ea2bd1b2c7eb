// Race family detach-while-open: with its historic bug (detach-without-drain) the preset must
// report use-after-free for every seed 1..20 within its default budget, and on
// today's kernel (fixed) it must pass for seeds 1..200.
import { describe, expect, it } from 'vitest';
import { runPreset } from '../sim-harness.js';

describe('detach-while-open', () => {
  it('finds use-after-free on detach-without-drain for seeds 1..20', async () => {
    const misses: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const s = await runPreset('detach-while-open', ['detach-without-drain'], seed);
      if (s.findings[0]?.type !== 'use-after-free') misses.push(`seed ${seed}: ${s.findings.map((f) => f.type).join(',') || 'no findings'}`);
    }
    expect(misses).toEqual([]);
  }, 600_000);

  it('passes on fixed for seeds 1..200', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const s = await runPreset('detach-while-open', ['fixed'], seed);
      if (s.verdict !== 'pass') failures.push(`seed ${seed}: ${s.findings.map((f) => `${f.type}: ${f.message}`).join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 1_800_000);
});
