// Reading runs back: journals cut short by a kill, event ranges for
// resubscription, history from directories the CLI wrote, and "what was in
// flight" kept inside the phase that logged the line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../app/api/types.js';
import { ApiError } from '../../app/api/validate.js';
import { validateScenario } from '../../app/vocabulary/scenario.js';
import { buildTypescript } from '../../app/test/build-first.js';
import { RunsStore } from './runs-store.js';

// Journal queries run in worker threads, which load the built code.
beforeAll(buildTypescript, 180_000);

let root: string;
let store: RunsStore;

const scenario = validateScenario({ name: 'p', lanes: [{ name: 'a', loop: [{ sleep: '1ms' }] }] }).scenario!;
const header = { kind: 'run', format: 1, preset: 'p', scenario, target: 'sim', profile: ['fixed'], seed: 3, strategy: 'pct', depth: 3, duration: 1e9, tool: 't' };
const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as RunEvent);
const act = (t: number, lane: string, op: string, dur = 10): RunEvent => ({ kind: 'act', t, dur, lane, iter: 0, step: 0, op, ret: 0 });

function write(id: string, lines: unknown[], tail = '\n'): void {
  mkdirSync(join(root, id), { recursive: true });
  writeFileSync(join(root, id, 'journal.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + tail);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'stresslab-runs-'));
  store = new RunsStore(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('RunsStore', () => {
  it('streams events in index order and stops quietly at a torn last line', async () => {
    const events = Array.from({ length: 5000 }, (_, i) => act(i, 'a', 'pcm.status'));
    write('r1', [header, ...events], '\n{"kind":"act","t":50');
    const got: RunEvent[] = [];
    const froms: number[] = [];
    const r = await store.stream('r1', {}, (from, lines) => {
      froms.push(from);
      got.push(...parsed(lines));
    });
    expect(got.length).toBe(5000);
    expect(froms).toEqual([0, 2000, 4000]);
    expect(r.truncated).toBe(true);
    expect(r.trailer).toBeNull();
  });

  it('reads a range and the trailer', async () => {
    write('r2', [header, act(0, 'a', 'x'), act(1, 'a', 'y'), act(2, 'a', 'z'), { kind: 'end', t: 3, verdict: 'pass', reason: 'ok' }]);
    const got: string[] = [];
    const r = await store.stream('r2', { from: 1 }, (_f, lines) => void got.push(...parsed(lines).map((e) => (e as { op: string }).op)));
    expect(got).toEqual(['y', 'z']);
    expect(r.trailer?.verdict).toBe('pass');
    const part: string[] = [];
    await store.stream('r2', { from: 0, until: 2 }, (_f, lines) => void part.push(...parsed(lines).map((e) => (e as { op: string }).op)));
    expect(part).toEqual(['x', 'y']);
  });

  it('lists runs with and without a summary, newest first', async () => {
    write('2026-01-01T00-00-00_p_sim', [header]);
    write('2026-02-01T00-00-00_p_sim', [header]);
    const finding = { id: 'hang#1', type: 'hang', severity: 'critical', t: 1, message: 'm' };
    writeFileSync(join(root, '2026-02-01T00-00-00_p_sim', 'summary.json'), JSON.stringify({ verdict: 'fail', preset: 'p', target: 'sim', profile: ['fixed'], seed: 3, strategy: 'pct', status: 'completed', budget_ns: 1, findings: [finding], finding_counts: {}, metrics: {}, elapsed_ns: 5, wall_ms: 6 }));
    mkdirSync(join(root, 'not-a-run'));
    const list = await store.list();
    expect(list.map((r) => [r.id, r.state, r.verdict])).toEqual([
      ['2026-02-01T00-00-00_p_sim', 'done', 'fail'],
      ['2026-01-01T00-00-00_p_sim', 'incomplete', undefined],
    ]);
    expect(list[1]!.started).toBe('2026-01-01T00:00:00Z');
  });

  it('refuses ids that would leave the runs directory', () => {
    expect(() => store.path('../x')).toThrow(ApiError);
    expect(() => store.journalPath('nope')).toThrow(/no journal/);
  });

  it('says what each lane was doing at a moment, within the phase that logged the line', async () => {
    write('r3', [
      header,
      { kind: 'phase', t: 0, name: 'one', profile: ['fixed'] },
      act(100, 'x', 'pcm.hw_params', 500),
      act(200, 'y', 'pcm.prepare', 50),
      { kind: 'klog', t: 400, level: 3, text: 'BUG: KASAN: slab-use-after-free in f', source: 'sim', trace: [{ t: 90, task: 'x', ctx: 'user', at: 'f: free' }] },
      { kind: 'phase', t: 400, name: 'two', profile: ['fixed'] },
      act(400, 'setup', 'pcm.open', 60),
    ]);
    const inPhase = await store.inflight('r3', 400, 3);
    expect(inPhase.lanes.map((l) => [l.lane, l.op, l.inFlight])).toEqual([
      ['x', 'pcm.hw_params', true],
      ['y', 'pcm.prepare', false],
    ]);
    expect(inPhase.trace?.[0]?.at).toBe('f: free');
    // Without the line's index, time alone also picks up the next phase's setup.
    const byTime = await store.inflight('r3', 400);
    expect(byTime.lanes.map((l) => l.lane)).toContain('setup');
  });

  it('refuses damaged journals with the line and what is wrong, and a damaged summary is no summary', async () => {
    write('bad1', [header, act(0, 'a', 'x'), null, act(2, 'a', 'z')]);
    await expect(store.stream('bad1', {}, () => {})).rejects.toThrow(/:3: expected an event/);
    await expect(store.inflight('bad1', 1)).rejects.toThrow(/:3: expected an event/);
    write('bad2', [{ ...header, scenario: { ...scenario, lanes: [] } }, act(0, 'a', 'x')]);
    await expect(store.header('bad2')).rejects.toThrow(/its scenario does not validate/);
    write('ok', [header, act(0, 'a', 'x')]);
    writeFileSync(join(root, 'ok', 'summary.json'), '{"verdict":"pass","findings":[null]}');
    expect(await store.summary('ok')).toBeNull();
    expect((await store.list()).find((r) => r.id === 'ok')?.state).toBe('incomplete');
  });

  it('cancels a query whose asker went away (the worker is stopped, nothing more is read)', async () => {
    const events = Array.from({ length: 200_000 }, (_, i) => act(i, 'a', 'pcm.status'));
    write('big', [header, ...events]);
    const signal = { cancelled: false };
    let batches = 0;
    const p = store.stream('big', { signal }, async () => {
      batches++;
      signal.cancelled = true;
    });
    await expect(p).rejects.toThrow(/cancelled/);
    expect(batches).toBeLessThanOrEqual(3);
    const q = { cancelled: true };
    await expect(store.inflight('big', 5, undefined, q)).rejects.toThrow(/cancelled/);
  });
});
