// The same preset, profile and seed give a byte-identical journal; other
// seeds explore other interleavings; `replay` re-runs a recorded schedule.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPreset } from '../test/sim-harness.js';
import { parseJournal } from '../journal/reader.js';
import { DecisionLog } from '../sim/kernel/strategy.js';
import { startRun } from './run.js';
import { SimTarget } from '../targets/sim/sim-target.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-det-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function journalOf(preset: string, profile: string[], seed: number, name: string, duration?: number): Promise<string> {
  const out = join(tmp, name);
  await runPreset(preset, profile, seed, { outDir: out, ...(duration ? { duration } : {}) });
  return readFileSync(join(out, 'journal.jsonl'), 'utf8');
}

describe('determinism', () => {
  it('same preset, profile and seed: byte-identical journals (for every family)', async () => {
    for (const [preset, profile] of [
      ['parallel-hw-params', 'pcm-unlocked-hw-params'],
      ['stop-close-race', 'pcm-no-sync-stop'],
      ['seq-pool-resize', 'fixed'],
      ['dpcm-route-change', 'dpcm-unlocked-be-list'],
      ['detach-while-open', 'fixed'],
    ] as const) {
      const a = await journalOf(preset, [profile], 7, `${preset}-a`, 0.3e9);
      const b = await journalOf(preset, [profile], 7, `${preset}-b`, 0.3e9);
      expect(a.length, preset).toBeGreaterThan(1000);
      expect(a === b, `${preset} journals differ`).toBe(true);
    }
  }, 120_000);

  it('different seeds explore different interleavings', async () => {
    const schedules = new Set<string>();
    const firstTorn = new Set<number>();
    for (let seed = 1; seed <= 6; seed++) {
      const j = parseJournal(await journalOf('parallel-hw-params', ['pcm-unlocked-hw-params'], seed, `seed-${seed}`));
      schedules.add(j.events.filter((e) => e.kind === 'sched').map((e) => (e as { decisions: string }).decisions).join(''));
      const f = j.events.find((e) => e.kind === 'finding');
      if (f) firstTorn.add(f.t);
    }
    expect(schedules.size).toBe(6);
    expect(firstTorn.size).toBeGreaterThan(1);
  }, 60_000);

  it('the schedule log round-trips, stalls included', () => {
    const log = new DecisionLog();
    const seq = [0, 0, 0, 0, 1, 2, 2, 40, 0, 1, 1, 1];
    seq.forEach((d, i) => log.push(d, i === 5 ? 1234 : 0));
    const { choices, stalls } = DecisionLog.decode(log.take());
    expect(choices).toEqual(seq);
    expect([...stalls]).toEqual([[5, 1234]]);
    expect(() => DecisionLog.decode('0*x;')).toThrow(/bad schedule encoding/);
  });

  it('replaying a recorded schedule reproduces the journal exactly, even from a different seed', async () => {
    const dir = join(tmp, 'orig');
    const orig = await runPreset('stop-close-race', ['pcm-no-sync-stop'], 3, { outDir: dir });
    expect(orig.findings[0]?.type).toBe('null-deref');
    const text = readFileSync(join(dir, 'journal.jsonl'), 'utf8');
    const j = parseJournal(text);
    const decisions = j.events.filter((e) => e.kind === 'sched').map((e) => (e as { decisions: string }).decisions).join('');
    const replayDir = join(tmp, 'replay');
    // The scheduler's own random choices come from the seed; replay must not depend on them.
    const again = await startRun({ scenario: j.header.scenario, target: new SimTarget({ profile: j.header.profile, replay: decisions }), seed: 3, duration: j.header.duration, outDir: replayDir, journalSync: false }).done;
    expect(again.findings.map((f) => f.type)).toEqual(orig.findings.map((f) => f.type));
    const body = (s: string) => s.split('\n').slice(1).join('\n');
    expect(body(readFileSync(join(replayDir, 'journal.jsonl'), 'utf8')) === body(text)).toBe(true);
  }, 60_000);
});
