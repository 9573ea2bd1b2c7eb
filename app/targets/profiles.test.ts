// A profile name means one historic bug on every target: where it applies
// (the simulator's switch, the virtual lab's patch of the same name, not this
// machine), and the refusals the CLI and the app share.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { profilePlaces, profileRefusal, vmProfilePatches, whereText } from './profiles.js';
import { simBugSwitches } from './sim/options.js';

const dir = mkdtempSync(join(tmpdir(), 'stresslab-profiles-'));
const presets = join(dir, 'presets');
mkdirSync(join(presets, 'patches'), { recursive: true });
writeFileSync(join(presets, 'patches', 'pcm-no-sync-stop.patch'), '--- a/sound/core/pcm_native.c\n+++ b/sound/core/pcm_native.c\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('where a kernel profile applies', () => {
  it('every bug switch is listed with the simulator, the virtual lab and this machine', () => {
    const all = profilePlaces(presets, dir);
    expect(all.map((p) => p.name)).toEqual(['fixed', ...simBugSwitches().map((b) => b.name)]);
    const p = all.find((x) => x.name === 'pcm-no-sync-stop')!;
    expect(whereText(p)).toBe('sim: bug switch · vm: patch presets/patches/pcm-no-sync-stop.patch in a module overlay · local: not available');
    expect(whereText(all.find((x) => x.name === 'seq-fifo-stale-cell')!)).toMatch(/vm: not available \(no historic-bug patch presets\/patches\/seq-fifo-stale-cell\.patch\)/);
    expect(whereText(all[0]!)).toBe("sim: every fix in · vm: stock modules · local: this machine's kernel as it is");
  });

  it('on the virtual lab a profile is its patch; fixed is stock modules; a bug without a patch is refused naming the file', () => {
    expect(vmProfilePatches(['pcm-no-sync-stop'], presets)).toEqual([join(presets, 'patches', 'pcm-no-sync-stop.patch')]);
    expect(vmProfilePatches(['fixed'], presets)).toEqual([]);
    expect(() => vmProfilePatches(['seq-fifo-stale-cell'], presets)).toThrow(/profile seq-fifo-stale-cell has no historic-bug patch for the virtual lab \(.*patches\/seq-fifo-stale-cell\.patch does not exist\); it runs on the simulated kernel/);
    expect(() => vmProfilePatches(['no-such-bug'], presets)).toThrow(/no-such-bug/);
  });

  it('the refusals: none on sim or for fixed, the patch on vm, this machine never', () => {
    expect(profileRefusal(['pcm-no-sync-stop'], 'sim', presets)).toBeNull();
    expect(profileRefusal(['fixed'], 'local', presets)).toBeNull();
    expect(profileRefusal(['pcm-no-sync-stop'], 'vm', presets)).toBeNull();
    expect(profileRefusal(['seq-fifo-stale-cell'], 'vm', presets)).toMatch(/has no historic-bug patch/);
    expect(profileRefusal(['pcm-no-sync-stop'], 'local', presets)).toMatch(/^profile pcm-no-sync-stop cannot run on local: this machine runs its own kernel and the lab does not rebuild its modules; run the profile in the virtual lab \(--target vm\)/);
  });
});
