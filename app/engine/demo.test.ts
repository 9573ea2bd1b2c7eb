// The demo walks the five race families on the simulated kernel with their
// bugs on: one phase each, each ending at its finding, one journal with time
// running on across phases.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPreset } from '../test/sim-harness.js';
import { parseJournal } from '../journal/reader.js';

describe('demo', () => {
  it('shows every race family\'s finding, in order, in one journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stresslab-demo-'));
    try {
      const s = await runPreset('demo', ['fixed'], 1, { outDir: dir });
      expect(s.verdict).toBe('fail');
      expect(s.phases!.map((p) => p.name)).toEqual(['parallel-hw-params', 'seq-pool-resize', 'dpcm-route-change', 'stop-close-race', 'detach-while-open']);
      const firstPerPhase = s.phases!.map((p) => s.findings.find((f) => f.id === p.findings[0])?.type);
      expect(firstPerPhase).toEqual(['torn-hw-params', 'hang', 'use-after-free', 'null-deref', 'use-after-free']);
      const j = parseJournal(readFileSync(join(dir, 'journal.jsonl'), 'utf8'));
      const phases = j.events.filter((e) => e.kind === 'phase');
      expect(phases.map((p) => (p as { profile: string[] }).profile[0])).toEqual(['pcm-unlocked-hw-params', 'seq-fifo-stale-cell', 'dpcm-unlocked-be-list', 'pcm-no-sync-stop', 'detach-without-drain']);
      let last = -1;
      for (const e of j.events) {
        expect(e.t).toBeGreaterThanOrEqual(last - 5e9); // klog traces may point back, but phases never overlap
        if (e.kind === 'phase') {
          expect(e.t).toBeGreaterThan(last);
          last = e.t;
        }
      }
      expect(j.trailer?.verdict).toBe('fail');
      // the run as a whole is labelled with every switch its phases turned on
      const all = ['detach-without-drain', 'dpcm-unlocked-be-list', 'pcm-no-sync-stop', 'pcm-unlocked-hw-params', 'seq-fifo-stale-cell'];
      expect(s.profile).toEqual(all);
      expect(j.header.profile).toEqual(all);
      expect(j.events.some((e) => e.kind === 'note' && /was not applied/.test((e as { text: string }).text))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('says so when a profile is asked of a suite, whose phases name their own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stresslab-demo-'));
    try {
      const s = await runPreset('demo', ['pcm-no-sync-stop'], 2, { outDir: dir });
      expect(s.profile).toHaveLength(5);
      const j = parseJournal(readFileSync(join(dir, 'journal.jsonl'), 'utf8'));
      const note = j.events.find((e) => e.kind === 'note');
      expect(note).toMatchObject({ level: 'warn', text: 'demo is a suite whose phases name their own kernel profiles; the requested profile pcm-no-sync-stop was not applied' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
