import { describe, expect, it } from 'vitest';
import { bootProblems } from './boot.js';
import type { KernelSpec } from './kernel-cache.js';

const kernel: KernelSpec = { release: '6.1.0-test', image: '/k', imageKind: 'elf', modulesDir: '/m', origin: 'distro' };

describe("reading the guest's boot report", () => {
  it('accepts a boot where every module loaded and every card appeared', () => {
    const report = ['stage1 @1.79', 'root @2.39', 'mod snd_dummy ok @2.61', 'loaded @3.22', 'wait /proc/asound/Dummy ok @3.22', 'ready @3.42'];
    expect(bootProblems(report, ['dummy'], kernel)).toEqual([]);
  });

  it('names the module that failed, the hardware it was for, and what insmod said', () => {
    const report = ["mod snd_usb_audio fail insmod: can't insert 'snd-usb-audio.ko': Unknown symbol in module @2.7", 'wait /proc/asound/Audio timeout @32.1', 'ready @32.1'];
    expect(bootProblems(report, ['usb-audio'], kernel)).toEqual([
      "module snd_usb_audio (for usb-audio) did not load on kernel 6.1.0-test: insmod: can't insert 'snd-usb-audio.ko': Unknown symbol in module",
      '/proc/asound/Audio (usb-audio) did not appear in the guest',
    ]);
  });

  it('notices a boot that never finished its steps', () => {
    expect(bootProblems(['stage1 @1.0', 'error cannot bind /m to /lib/modules/x @1.2'], ['dummy'], kernel)).toEqual([
      'cannot bind /m to /lib/modules/x',
      'the guest init did not finish (no "ready" in its boot report)',
    ]);
  });
});
