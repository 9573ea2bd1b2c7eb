// The real-kernel families name the finding their simulated bug switch
// reports; kept in step here, where the simulator's profiles may be imported.
import { describe, expect, it } from 'vitest';
import { BUG_SWITCHES, type BugSwitch } from '../../sim/profiles.js';
import { KERNEL_FAMILIES } from '../kernel-families.js';

describe('kernel families and bug switches', () => {
  it('each family expects the finding its bug switch reports', () => {
    for (const f of KERNEL_FAMILIES) {
      expect(Object.keys(BUG_SWITCHES), f.profile).toContain(f.profile);
      expect(f.finding, f.profile).toBe(BUG_SWITCHES[f.profile as BugSwitch].finding);
    }
  });
});
