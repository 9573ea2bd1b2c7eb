// Kept with the simulator (the only place its profiles may be imported). The families table agrees with the simulated kernel's bug profiles: one
// family per profile, the same finding type, a patch file of the profile's
// name, and a preset that loads.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PresetLibrary } from '../../engine/presets.js';
import { BUG_NAMES, BUG_SWITCHES, type BugSwitch } from '../../sim/profiles.js';
import { projectRoot } from '../../vlab/paths.js';
import { familyPatch, KERNEL_FAMILIES } from '../kernel-families.js';

describe('race families on the real kernel', () => {
  it('has one family per simulated bug profile, reporting the same finding type', () => {
    // every race family's bug switch (the ones with a seed report; usb-clock-fast is a device defect, not a race)
    const races = BUG_NAMES.filter((n) => BUG_SWITCHES[n].seed !== 'none');
    expect(KERNEL_FAMILIES.map((f) => f.profile).sort()).toEqual([...races].sort());
    for (const f of KERNEL_FAMILIES) {
      expect(f.finding).toBe(BUG_SWITCHES[f.profile as BugSwitch].finding);
      expect(f.seed).toBe(BUG_SWITCHES[f.profile as BugSwitch].seed);
    }
  });

  it('names a patch file and a preset that exist', () => {
    const root = projectRoot();
    const lib = new PresetLibrary(join(root, 'presets'));
    for (const f of KERNEL_FAMILIES) {
      expect(existsSync(join(root, familyPatch(f))), familyPatch(f)).toBe(true);
      expect(lib.load(f.preset.includes('/') ? join(root, f.preset) : f.preset).scenario.lanes.length).toBeGreaterThan(0);
    }
  });
});
