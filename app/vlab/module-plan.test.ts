import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TargetError } from '../errors.js';
import type { KernelSpec } from './kernel-cache.js';
import { planModules } from './module-plan.js';

const dir = mkdtempSync(join(tmpdir(), 'vlab-mods-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kernelWith(dep: string, builtin = ''): KernelSpec {
  writeFileSync(join(dir, 'modules.dep'), dep);
  writeFileSync(join(dir, 'modules.builtin'), builtin);
  return { release: '6.1.0-test', image: '/nonexistent', imageKind: 'elf', modulesDir: dir, origin: 'user' };
}

const CORE = `kernel/sound/soundcore.ko:
kernel/sound/core/snd.ko: kernel/sound/soundcore.ko
kernel/sound/core/snd-pcm.ko: kernel/sound/core/snd.ko kernel/sound/soundcore.ko
`;

describe('module load plan', () => {
  it('loads shared modules first and each piece of hardware in its own group', () => {
    const k = kernelWith(
      CORE +
        `kernel/sound/drivers/snd-dummy.ko: kernel/sound/core/snd-pcm.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/drivers/snd-aloop.ko: kernel/sound/core/snd-pcm.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
`,
    );
    expect(planModules(k, ['dummy', 'aloop'])).toEqual({
      lines: [
        'core soundcore kernel/sound/soundcore.ko',
        'core snd kernel/sound/core/snd.ko',
        'core snd_pcm kernel/sound/core/snd-pcm.ko',
        'dummy snd_dummy kernel/sound/drivers/snd-dummy.ko index=0',
        'aloop snd_aloop kernel/sound/drivers/snd-aloop.ko index=1',
      ],
      cmdline: [],
    });
  });

  it('sends options of built-in drivers to the kernel command line', () => {
    const k = kernelWith(CORE, 'kernel/sound/pci/snd-intel8x0.ko\n');
    const p = planModules(k, ['ac97']);
    expect(p.lines).toEqual([]);
    expect(p.cmdline).toEqual(['snd_intel8x0.ac97_clock=48000', 'snd_intel8x0.index=0']);
  });

  it('refuses hardware whose driver the kernel does not have, before booting', () => {
    const k = kernelWith(CORE);
    expect(() => planModules(k, ['dummy'])).toThrow(TargetError);
    expect(() => planModules(k, ['dummy'])).toThrow(/no module for: snd-dummy \(for dummy\)/);
  });
});
