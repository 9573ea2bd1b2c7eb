// Race family stop-close-race: with its historic bug (pcm-no-sync-stop) the preset must
// report null-deref for every seed 1..20 within its default budget, and on
// today's kernel (fixed) it must pass for seeds 1..200.
import { describe, expect, it } from 'vitest';
import { runPreset } from '../sim-harness.js';

describe('stop-close-race', () => {
  it('finds null-deref on pcm-no-sync-stop for seeds 1..20', async () => {
    const misses: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const s = await runPreset('stop-close-race', ['pcm-no-sync-stop'], seed);
      if (s.findings[0]?.type !== 'null-deref') misses.push(`seed ${seed}: ${s.findings.map((f) => f.type).join(',') || 'no findings'}`);
    }
    expect(misses).toEqual([]);
  }, 600_000);

  it('passes on fixed for seeds 1..200', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const s = await runPreset('stop-close-race', ['fixed'], seed);
      if (s.verdict !== 'pass') failures.push(`seed ${seed}: ${s.findings.map((f) => `${f.type}: ${f.message}`).join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 1_800_000);
});
