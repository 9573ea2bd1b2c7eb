import { describe, expect, it } from 'vitest';
import { loadOrder, moduleName, parseBuiltin, parseModulesDep } from './modules.js';

const DEP = `kernel/sound/soundcore.ko:
kernel/sound/core/snd.ko: kernel/sound/soundcore.ko
kernel/sound/core/snd-timer.ko: kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/core/snd-pcm.ko: kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/sound/drivers/snd-dummy.ko: kernel/sound/core/snd-pcm.ko kernel/sound/core/snd-timer.ko kernel/sound/core/snd.ko kernel/sound/soundcore.ko
kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz
kernel/net/9p/9pnet.ko.xz:
`;

describe('modules.dep', () => {
  it('names modules as modprobe does', () => {
    expect(moduleName('kernel/sound/drivers/snd-dummy.ko')).toBe('snd_dummy');
    expect(moduleName('kernel/fs/9p/9p.ko.xz')).toBe('9p');
  });

  it('orders dependencies before their users, each once', () => {
    const dep = parseModulesDep(DEP);
    const { files, missing } = loadOrder(dep, ['snd-dummy', 'snd_pcm', '9p', 'snd-nope']);
    expect(files).toEqual([
      'kernel/sound/soundcore.ko',
      'kernel/sound/core/snd.ko',
      'kernel/sound/core/snd-timer.ko',
      'kernel/sound/core/snd-pcm.ko',
      'kernel/sound/drivers/snd-dummy.ko',
      'kernel/net/9p/9pnet.ko.xz',
      'kernel/fs/9p/9p.ko.xz',
    ]);
    expect(missing).toEqual(['snd-nope']);
  });

  it('reports a dependency cycle rather than looping', () => {
    const dep = parseModulesDep('a.ko: b.ko\nb.ko: a.ko\n');
    expect(() => loadOrder(dep, ['a'])).toThrow(/cycle/);
  });

  it('reads modules.builtin', () => {
    expect(parseBuiltin('kernel/drivers/virtio/virtio.ko\nkernel/fs/overlayfs/overlay.ko\n')).toEqual(new Set(['virtio', 'overlay']));
  });
});
