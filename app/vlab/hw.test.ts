import { describe, expect, it } from 'vitest';
import { VlabInputError } from './errors.js';
import { DEFAULT_HW, HW, HW_NAMES, parseHwList } from './hw.js';
import { moduleOptions } from './module-plan.js';
import { hwModuleDirs } from './boot.js';
import { projectRoot } from './paths.js';
import { join } from 'node:path';

describe('virtual hardware', () => {
  it('parses lists, expands "default" and drops repeats', () => {
    expect(parseHwList('dummy,aloop')).toEqual(['dummy', 'aloop']);
    expect(parseHwList(['dummy', 'dummy, usb-audio'])).toEqual(['dummy', 'usb-audio']);
    expect(parseHwList('default')).toEqual(DEFAULT_HW);
  });

  it('rejects unknown names, naming the valid ones', () => {
    expect(() => parseHwList('dummy,sb16')).toThrow(VlabInputError);
    expect(() => parseHwList('sb16')).toThrow(/unknown virtual hardware "sb16".*dummy, aloop, seq-dummy, ac97, usb-audio, hda/);
    expect(() => parseHwList('')).toThrow(/empty/);
  });

  it('numbers cards in the order the hardware is listed', () => {
    const o = moduleOptions(['usb-audio', 'seq-dummy', 'dummy']);
    expect(o.get('snd_usb_audio')).toEqual(['index=0']);
    expect(o.get('snd_dummy')).toEqual(['index=1']);
    expect(o.get('snd_seq_dummy')).toEqual([]);
  });

  it('describes every name it accepts', () => {
    for (const n of HW_NAMES) {
      expect(HW[n].name).toBe(n);
      expect(HW[n].modules.length).toBeGreaterThan(0);
    }
  });

  it('hardware whose driver only an overlay has names its module directory, resolved from the project root', () => {
    // today every entry is stock; a test driver (--hw dpcm) will set overlayModuleDir
    expect(hwModuleDirs([...HW_NAMES])).toEqual([]);
    const saved = HW.dummy.overlayModuleDir;
    try {
      HW.dummy.overlayModuleDir = 'native-bridge/vlab/faults';
      expect(hwModuleDirs(['aloop', 'dummy'])).toEqual([join(projectRoot(), 'native-bridge', 'vlab', 'faults')]);
    } finally {
      HW.dummy.overlayModuleDir = saved;
    }
  });
});

