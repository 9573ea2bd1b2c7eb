import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProcAsound } from '../devices/local.js';
import { localDeviceList, nodeHostFiles } from './local-devices.js';

const root = mkdtempSync(join(tmpdir(), 'asound-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeProc(): string {
  const p = join(root, 'proc');
  mkdirSync(join(p, 'card0', 'pcm0p', 'sub0'), { recursive: true });
  mkdirSync(join(p, 'seq'), { recursive: true });
  writeFileSync(join(p, 'cards'), ' 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf7f10000 irq 33\n');
  const info = 'card: 0\ndevice: 0\nsubdevice: 0\nstream: PLAYBACK\nid: ALC3232 Analog\nname: ALC3232 Analog\nsubname: subdevice #0\nclass: 0\nsubclass: 0\nsubdevices_count: 1\nsubdevices_avail: 1\n';
  writeFileSync(join(p, 'card0', 'pcm0p', 'info'), info);
  writeFileSync(join(p, 'card0', 'pcm0p', 'sub0', 'info'), info);
  writeFileSync(join(p, 'seq', 'clients'), 'Client   0 : "System" [Kernel]\n  Port   0 : "Timer" (Rwe-)\n');
  return p;
}

describe("this machine's devices", () => {
  it('reads a /proc/asound tree', () => {
    const files = readProcAsound(nodeHostFiles, fakeProc());
    expect([...files.keys()].sort()).toEqual(['card0/pcm0p/info', 'card0/pcm0p/sub0/info', 'cards', 'seq/clients']);
  });

  it('lists cards and says when /dev/snd is missing', () => {
    const l = localDeviceList({ procAsound: fakeProc(), devSnd: join(root, 'no-dev-snd') });
    expect(l.target).toBe('local');
    expect(l.pcms.map((p) => `${p.cardId}:${p.device}:${p.name}`)).toEqual(['PCH:0:ALC3232 Analog']);
    expect(l.seqClients.map((c) => c.name)).toEqual(['System']);
    expect(l.notes).toEqual([expect.stringMatching(/no .*no-dev-snd: this machine exposes no sound devices/)]);
  });

  it('says so when there is no ALSA at all', () => {
    const l = localDeviceList({ procAsound: join(root, 'nothing'), devSnd: join(root, 'nothing') });
    expect(l.cards).toEqual([]);
    expect(l.notes).toHaveLength(2);
  });
});
