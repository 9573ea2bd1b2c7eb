// The journal survives a kill -9 of the lab mid-run: everything up to the
// last batch parses, a torn last line is tolerated, damage elsewhere is not.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildTypescript } from '../test/build-first.js';
import { JournalError, parseJournal } from './reader.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-journal-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = BIN;
beforeAll(buildTypescript, 120_000);

describe('journal', () => {
  it('tolerates a torn last line and reports damage elsewhere with its line number', () => {
    const header = JSON.stringify({ kind: 'run', format: 1, preset: 'x' });
    const ok = `${header}\n{"kind":"note","t":1,"level":"info","text":"a"}\n{"kind":"no`;
    const j = parseJournal(ok);
    expect(j.truncated).toBe(true);
    expect(j.events).toHaveLength(1);
    expect(() => parseJournal(`${header}\n{"kind":"no\n{"kind":"note","t":1}\n`)).toThrow(/:2: not a JSON line/);
    expect(() => parseJournal('{"kind":"note"}\n')).toThrow(JournalError);
  });

  it('is readable after kill -9 of the lab, with events from the last 100 ms batch', async () => {
    const out = join(tmp, 'killed');
    const child = spawn(process.execPath, [bin, 'run', 'qa-soak', '--duration', '600s', '--out', out, '--quiet'], { stdio: 'ignore', env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } });
    const file = join(out, 'journal.jsonl');
    // Wait until the run is well under way (journal growing), then kill it hard.
    const t0 = Date.now();
    while (!(existsSync(file) && statSync(file).size > 200_000) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const sizeBefore = statSync(file).size;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const j = parseJournal(readFileSync(file, 'utf8'), file);
    expect(j.header.preset).toBe('qa-soak');
    expect(j.trailer).toBeNull();
    expect(j.events.length).toBeGreaterThan(1000);
    expect(statSync(file).size).toBeGreaterThanOrEqual(sizeBefore);
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
  }, 90_000);
});
