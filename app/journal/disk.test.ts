// A full disk under a run, for real: a 2 MB tmpfs as --out. The run must end
// with a clear message and exit 4, summary.json must be there (written into
// the space reserved for it), and the journal must read back up to the
// failure. A read-only mount as --out is refused before the run. Mounting
// needs root (CAP_SYS_ADMIN); without it these tests are skipped and say so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTypescript } from '../test/build-first.js';
import { runCli, userFacingProblems } from '../test/hostile/run-cli.js';
import { readJournal } from './reader.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-disk-'));
const mounts: string[] = [];

function mount(dir: string, opts: string): boolean {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) mounts.push(dir);
  return r.status === 0;
}

const root = process.getuid?.() === 0;
const canMount = root && mount(join(tmp, 'probe'), 'size=1m');

beforeAll(buildTypescript, 180_000);
afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!canMount)(`a full disk under a run${canMount ? '' : ' [skipped: mounting a tmpfs needs root]'}`, () => {
  it('2 MB tmpfs as --out: a clear message, exit 4, the summary in its reserved space, the journal readable up to the failure', async () => {
    const disk = join(tmp, 'small');
    expect(mount(disk, 'size=2m')).toBe(true);
    const out = join(disk, 'run');
    const r = await runCli(['run', 'qa-soak', '--duration', '3600s', '--quiet', '--out', out], { boundMs: 120_000 });
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/the run could not be recorded: the disk holding it is full \(ENOSPC\); the run was stopped/);
    expect(r.err).toMatch(/journal: .* is readable up to line \d+/);
    expect(r.err).toMatch(/summary: .*summary\.json \(written into the space reserved for it\)/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ verdict: 'error', status: 'error', failure: 'recording', preset: 'qa-soak' });
    expect(summary.journal_state.failed.code).toBe('ENOSPC');
    expect(existsSync(join(out, '.summary.reserve'))).toBe(false);
    // The journal is most of the disk and reads back: header, events, at worst a torn last line, no trailer.
    expect(statSync(join(out, 'journal.jsonl')).size).toBeGreaterThan(1_000_000);
    let n = 0;
    const info = await readJournal(join(out, 'journal.jsonl'), () => void n++);
    expect(info.header.preset).toBe('qa-soak');
    expect(info.trailer).toBeNull();
    expect(n).toBeGreaterThan(1000);
    expect(n).toBeGreaterThanOrEqual(summary.journal_state.failed.linesWritten - 1);
    // And the other readers take it as a journal cut short.
    const rep = await runCli(['report', out, '--out', join(tmp, 'report.html')], { boundMs: 120_000 });
    expect(rep.code).toBe(0);
    expect(readFileSync(join(tmp, 'report.html'), 'utf8')).toMatch(/cut (at a line boundary|inside a line)/);
  }, 180_000);

  it('a read-only mount as --out or for --junit is refused before the run (exit 2)', async () => {
    const ro = join(tmp, 'ro');
    expect(mount(ro, 'ro,size=1m')).toBe(true);
    const a = await runCli(['run', 'stop-close-race', '--out', join(ro, 'run')], { boundMs: 60_000 });
    expect(userFacingProblems(a)).toEqual([]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/read-only file system/);
    const b = await runCli(['run', 'stop-close-race', '--out', join(tmp, 'fine'), '--junit', join(ro, 'junit.xml')], { boundMs: 60_000 });
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--junit .*junit\.xml: cannot write in .*\/ro: read-only file system/);
    expect(existsSync(join(tmp, 'fine', 'journal.jsonl'))).toBe(false);
  }, 120_000);
});
