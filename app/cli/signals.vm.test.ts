// Stopping a run in the virtual lab from outside: SIGINT to `stresslab run
// --target vm` stops the lanes through the agent, closes the journal, writes
// the summary and shuts the guest down; the command exits 130.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTypescript } from '../test/build-first.js';
import { startCli, userFacingProblems } from '../test/hostile/run-cli.js';
import { parseJournal } from '../journal/reader.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-vmsig-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(buildTypescript, 180_000);

describe('signals in the virtual lab', { timeout: 600_000 }, () => {
  it('SIGINT stops a run on --target vm cleanly: journal closed, summary written, guest gone, exit 130', async () => {
    const preset = join(tmp, 'vm-timing.yaml');
    writeFileSync(preset, 'name: vm-timing\nduration: 600s\nsetup:\n  - pcm.open: { handle: p, card: 0 }\nlanes:\n  - name: a\n    loop:\n      - pcm.status: p\n      - sleep: 1ms\n');
    const out = join(tmp, 'run');
    const { child, done } = startCli(['run', preset, '--target', 'vm', '--hw', 'dummy', '--quiet', '--out', out], { boundMs: 540_000 });
    // Wait for the lanes (the guest boots first): some operations in the journal.
    const file = join(out, 'journal.jsonl');
    const t0 = Date.now();
    while (!(existsSync(file) && statSync(file).size > 20_000 && /"op":"pcm.status"/.test(readFileSync(file, 'utf8')))) {
      if (Date.now() - t0 > 400_000) throw new Error('the run did not get going in the guest');
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGINT');
    const r = await done;
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(130);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ target: 'vm', status: 'stopped', verdict: 'aborted' });
    expect(summary.reason).toMatch(/interrupted by SIGINT/);
    const j = parseJournal(readFileSync(file, 'utf8'));
    expect(j.trailer?.verdict).toBe('aborted');
  });
});
