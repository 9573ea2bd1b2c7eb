// --profile NAME means one bug on every target, and --oracle then sets the
// real kernel and the model side by side: in the virtual lab the profile is
// its patch in the module overlay (recorded as the run's profile, with the
// overlay), the model runs the same bug, and summary.json says whether the
// two found the same thing. One family (004, the fastest overlay: sound/core
// and sound/drivers), through the CLI as a user runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../events/types.js';
import { projectRoot } from '../vlab/paths.js';

const root = projectRoot();
const tmp = mkdtempSync(join(tmpdir(), 'side-by-side-vm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('simulation and reality side by side in the virtual lab', { timeout: 1_800_000 }, () => {
  it('stop-close-race-vm --profile pcm-no-sync-stop --oracle: the patch in the overlay, the model on the same bug, both findings compared', () => {
    const out = join(tmp, 'scr');
    const r = spawnSync(process.execPath, [join(root, 'bin', 'stresslab.js'), 'run', 'stop-close-race-vm', '--target', 'vm', '--hw', 'dummy', '--profile', 'pcm-no-sync-stop', '--oracle', '--quiet', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 1_700_000,
      env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' },
    });
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
    expect(s.profile, r.stderr).toEqual(['pcm-no-sync-stop']);
    expect((s.context?.kernel?.overlay?.patches ?? []).map((p) => p.name)).toEqual(['pcm-no-sync-stop.patch']);
    expect('kernel' in s, 'one kernel record: context.kernel').toBe(false);
    expect(s.oracle!.against).toBe('sim (profile pcm-no-sync-stop)');
    const g = s.oracle!.agreement!;
    expect(g.labels).toEqual({ a: 'vm (pcm-no-sync-stop)', b: 'model (pcm-no-sync-stop)' });
    // The model finds its bug on every seed; beside it, whatever the real kernel
    // did, named by type and function. Whether the real kernel reproduces the
    // bug on one seed is the families' test (families.vm.test.ts) and bench;
    // here the comparison must say what each side found and judge by it.
    expect(g.b?.type).toBe('null-deref');
    expect(g.b?.function).toBe('snd_pcm_period_elapsed');
    expect(r.stdout).toMatch(/simulation and reality: (agree|partly agree|disagree|only |neither )/);
    if (!g.a) expect(g.verdict).toBe('disagree');
    else expect(g.verdict === 'disagree', g.text).toBe(g.checks.find((c) => c.what === 'type')!.result === 'different');
  });
});
