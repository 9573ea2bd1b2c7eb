// Module overlays without building anything: which directories build in what
// order, how a directory is kept from descending into its subdirectories,
// what a module's own modinfo says, how rebuilt modules take the stock ones'
// places in the boot's load plan, and the input an overlay refuses.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelSpec } from './kernel-cache.js';
import { parseModinfo } from './modinfo.js';
import { planModules } from './module-plan.js';
import { buildOrder, buildOverlay, dropSubdirs, type Overlay, overlayKey, overlaySummary } from './overlay.js';
import { OverlayInputError, readPatch } from './patches.js';

const dir = mkdtempSync(join(tmpdir(), 'vlab-overlay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal ELF64 with a .modinfo section, as a .ko has. */
function ko(modinfo: string[]): Buffer {
  const info = Buffer.from(modinfo.map((s) => s + '\0').join(''));
  const strtab = Buffer.from('\0.modinfo\0.shstrtab\0');
  const shoff = 64 + info.length + strtab.length;
  const b = Buffer.alloc(shoff + 3 * 64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeBigUInt64LE(BigInt(shoff), 0x28);
  b.writeUInt16LE(64, 0x3a);
  b.writeUInt16LE(3, 0x3c);
  b.writeUInt16LE(2, 0x3e);
  info.copy(b, 64);
  strtab.copy(b, 64 + info.length);
  const sh = (i: number, name: number, off: number, size: number) => {
    const o = shoff + i * 64;
    b.writeUInt32LE(name, o);
    b.writeBigUInt64LE(BigInt(off), o + 0x18);
    b.writeBigUInt64LE(BigInt(size), o + 0x20);
  };
  sh(1, 1, 64, info.length);
  sh(2, 10, 64 + info.length, strtab.length);
  return b;
}

describe('module overlays', () => {
  it("reads a module's name, dependencies and vermagic from its .modinfo", () => {
    const m = parseModinfo(ko(['license=GPL', 'depends=snd,snd-seq-device,snd-timer', 'name=snd_seq', 'vermagic=6.1.0-54-amd64 SMP preempt mod_unload modversions ']));
    expect(m).toMatchObject({ name: 'snd_seq', depends: ['snd', 'snd-seq-device', 'snd-timer'], vermagic: '6.1.0-54-amd64 SMP preempt mod_unload modversions ' });
    expect(parseModinfo(ko(['depends=', 'name=snd_dummy'])).depends).toEqual([]);
    expect(() => parseModinfo(Buffer.from('not elf at all, not elf at all, not elf at all, not elf at all!'))).toThrow(/not an ELF/);
  });

  it('builds parents first (sound/core before everything) and each directory without its subdirectories', () => {
    expect(buildOrder(['sound/usb', 'sound/core/seq', 'sound/drivers', 'sound/core', 'sound/usb'])).toEqual(['sound/core', 'sound/core/seq', 'sound/drivers', 'sound/usb']);
    const mk = 'snd-y := sound.o init.o\nobj-$(CONFIG_SND) += snd.o\nobj-$(CONFIG_SND_OSSEMUL)\t+= oss/\nobj-$(CONFIG_SND_SEQUENCER) += seq/ \\\n\tother.o\nsubdir-y := x/\n';
    expect(dropSubdirs(mk)).toBe(
      'snd-y := sound.o init.o\nobj-$(CONFIG_SND) += snd.o\n# (subdirectory not rebuilt) obj-$(CONFIG_SND_OSSEMUL)\t+= oss/\nobj-$(CONFIG_SND_SEQUENCER) += other.o\n# (subdirectory not rebuilt) subdir-y := x/\n',
    );
  });

  it('refuses input it cannot build, before fetching anything', async () => {
    const base = { release: '6.1.0-54-amd64', sourceVersion: '6.1.190-1', cacheDir: dir };
    await expect(buildOverlay(base)).rejects.toThrow(/needs patches, directories to rebuild or extra module directories/);
    await expect(buildOverlay({ ...base, dirs: ['kernel/sched'] })).rejects.toThrow(/kernel\/sched is outside sound\//);
    await expect(buildOverlay({ ...base, dirs: ['sound/../mm'] })).rejects.toThrow(OverlayInputError);
    await expect(buildOverlay({ ...base, extraModuleDirs: [join(dir, 'nope')] })).rejects.toThrow(/extra module directory not found/);
    mkdirSync(join(dir, 'empty'));
    await expect(buildOverlay({ ...base, extraModuleDirs: [join(dir, 'empty')] })).rejects.toThrow(/neither a Kbuild nor a Makefile/);
    await expect(buildOverlay({ ...base, sourceVersion: '', dirs: ['sound/core'] })).rejects.toThrow(/source version of kernel 6.1.0-54-amd64 is unknown/);
  });
});

describe('an overlay found in the cache', () => {
  it('names the patch files and directories of this request, not those of whoever built the entry', async () => {
    const root = join(dir, 'cache');
    const mine = join(dir, 'mine');
    mkdirSync(mine, { recursive: true });
    const text = '--- a/sound/core/timer.c\n+++ b/sound/core/timer.c\n@@ -1,1 +1,1 @@\n-a\n+b\n';
    writeFileSync(join(mine, 'my-name.patch'), text);
    const p = readPatch(join(mine, 'my-name.patch'));
    const entry = join(root, 'overlays', '6.1.0-54-amd64', overlayKey({ release: '6.1.0-54-amd64', sourceVersion: '6.1.190-1', dirs: ['sound/core'], patches: [p], extra: [] }));
    mkdirSync(entry, { recursive: true });
    // built earlier from a checkout elsewhere, the same content under another name
    const manifest = { builder: 3, key: 'k', release: '6.1.0-54-amd64', sourceVersion: '6.1.190-1', upstream: '6.1.190', dirs: ['sound/core'], patches: [{ name: 'theirs.patch', file: '/elsewhere/theirs.patch', sha256: p.sha256 }], extra: [], modules: [], headers: 'cache', buildMs: 1, createdAt: '' };
    writeFileSync(join(entry, 'manifest.json'), JSON.stringify(manifest));
    const ov = await buildOverlay({ release: '6.1.0-54-amd64', sourceVersion: '6.1.190-1', patches: [join(mine, 'my-name.patch')], dirs: ['sound/core'], cacheDir: root });
    expect(ov.cached).toBe(true);
    expect(ov.patches).toEqual([{ name: 'my-name.patch', file: p.file, sha256: p.sha256 }]);
    expect(ov.askedDirs).toEqual(['sound/core']);
    expect(overlaySummary(ov)).toMatchObject({ rebuild_asked: ['sound/core'], patches: [{ name: 'my-name.patch', file: p.file, sha256: p.sha256 }] });
  });
});

describe('module load plan with an overlay', () => {
  const mods = join(dir, 'mods');
  mkdirSync(mods, { recursive: true });
  writeFileSync(
    join(mods, 'modules.dep'),
    `kernel/sound/soundcore.ko:
kernel/sound/core/snd.ko: kernel/sound/soundcore.ko
kernel/sound/core/snd-timer.ko: kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/core/snd-seq-device.ko: kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/core/seq/snd-seq.ko: kernel/sound/core/snd-seq-device.ko kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/core/seq/snd-seq-dummy.ko: kernel/sound/core/seq/snd-seq.ko kernel/sound/core/snd-seq-device.ko kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/core/snd-pcm.ko: kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/drivers/snd-dummy.ko: kernel/sound/core/snd-pcm.ko kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
`,
  );
  writeFileSync(join(mods, 'modules.builtin'), '');
  const kernel: KernelSpec = { release: '6.1.0-54-amd64', image: '/nonexistent', imageKind: 'elf', modulesDir: mods, origin: 'distro', sourceVersion: '6.1.190-1' };
  const ov = (modules: Overlay['modules']): Overlay => ({
    key: 'k',
    dir: '/cache/ov',
    release: '6.1.0-54-amd64',
    sourceVersion: '6.1.190-1',
    upstream: '6.1.190',
    dirs: ['sound/core/seq'],
    patches: [],
    extra: [],
    modules,
    headers: 'cache',
    buildMs: 1,
    cached: true,
  });

  it('loads the rebuilt modules in place of the stock ones, dependencies first, and binds them over the stock files', () => {
    const o = ov([
      { name: 'snd_seq', file: '/cache/ov/sound/core/seq/snd-seq.ko', from: 'sound/core/seq', depends: ['snd', 'snd_seq_device', 'snd_timer'] },
      { name: 'snd_seq_dummy', file: '/cache/ov/sound/core/seq/snd-seq-dummy.ko', from: 'sound/core/seq', depends: ['snd_seq'] },
    ]);
    const p = planModules(kernel, ['seq-dummy', 'dummy'], o);
    expect(p.lines).toEqual([
      'core soundcore kernel/sound/soundcore.ko',
      'core snd kernel/sound/core/snd.ko',
      'core snd_timer kernel/sound/core/snd-timer.ko',
      'seq-dummy snd_seq_device kernel/sound/core/snd-seq-device.ko',
      'seq-dummy snd_seq /cache/ov/sound/core/seq/snd-seq.ko',
      'seq-dummy snd_seq_dummy /cache/ov/sound/core/seq/snd-seq-dummy.ko',
      'dummy snd_pcm kernel/sound/core/snd-pcm.ko',
      'dummy snd_dummy kernel/sound/drivers/snd-dummy.ko index=0',
    ]);
    expect(p.binds).toEqual(['/cache/ov/sound/core/seq/snd-seq.ko kernel/sound/core/seq/snd-seq.ko', '/cache/ov/sound/core/seq/snd-seq-dummy.ko kernel/sound/core/seq/snd-seq-dummy.ko']);
  });

  it('a stock module that depends on a rebuilt one loads after the rebuilt one', () => {
    const o = ov([{ name: 'snd', file: '/cache/ov/sound/core/snd.ko', from: 'sound/core', depends: ['soundcore'] }]);
    expect(planModules(kernel, ['dummy'], o).lines).toEqual([
      'dummy soundcore kernel/sound/soundcore.ko',
      'dummy snd /cache/ov/sound/core/snd.ko',
      'dummy snd_timer kernel/sound/core/snd-timer.ko',
      'dummy snd_pcm kernel/sound/core/snd-pcm.ko',
      'dummy snd_dummy kernel/sound/drivers/snd-dummy.ko index=0',
    ]);
  });

  it('refuses an overlay built for another kernel', () => {
    expect(() => planModules(kernel, ['dummy'], { ...ov([]), release: '6.1.0-57-amd64' })).toThrow(/built for 6.1.0-57-amd64, not for the booted kernel 6.1.0-54-amd64/);
  });
});
