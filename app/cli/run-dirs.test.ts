// Runs started together get a directory and a journal each: ten CLI runs at
// once in one working directory (a CI script's loop with &) leave ten run
// directories, and every journal replays to itself.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildTypescript } from '../test/build-first.js';
import { createRunDir } from '../engine/run-dir.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-dirs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(buildTypescript, 120_000);

function runAsync(args: string[], cwd: string): Promise<{ code: number | null; err: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    c.on('close', (code) => res({ code, err }));
  });
}

describe('run directories', () => {
  it('are distinct for runs started in the same second', () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    const ids = Array.from({ length: 10 }, () => createRunDir(join(tmp, 'same'), 'demo', 'sim', now).id);
    expect(new Set(ids).size).toBe(10);
    expect(ids[0]).toBe('2026-01-02T03-04-05_demo_sim');
    expect(ids[9]).toBe('2026-01-02T03-04-05_demo_sim-10');
  });

  it('ten CLI runs started at once: ten directories, ten journals, each replays identically', async () => {
    const cwd = join(tmp, 'ten');
    rmSync(cwd, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', cwd]);
    const seeds = Array.from({ length: 10 }, (_, i) => i + 1);
    const results = await Promise.all(seeds.map((seed) => runAsync(['run', 'stop-close-race', '--seed', String(seed), '--duration', '30ms', '--quiet'], cwd)));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const dirs = readdirSync(join(cwd, 'runs'));
    expect(dirs).toHaveLength(10);
    for (const d of dirs) {
      expect(existsSync(join(cwd, 'runs', d, 'journal.jsonl'))).toBe(true);
      expect(existsSync(join(cwd, 'runs', d, 'summary.json'))).toBe(true);
    }
    const replays = await Promise.all(dirs.map((d) => runAsync(['replay', join(cwd, 'runs', d, 'journal.jsonl'), '--out', join(tmp, 'replays', d)], cwd)));
    for (const [i, r] of replays.entries()) expect(r.code, `${dirs[i]}: ${r.err}`).toBe(0);
  });
});
