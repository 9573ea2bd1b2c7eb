import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatPcmList, formatSeqList } from './format.js';
import { deviceListFromProc, parseCards, parseSeqClients, splitTailDump } from './proc-asound.js';

// Captured from a virtual-lab guest (default hardware) with aplay playing on
// Dummy and aseqdump subscribed to Midi Through (the files as listGuestDevices
// reads them, `tail -n +1`), and `aplay -l; aconnect -l` run in the same guest
// right after.
const dump = readFileSync(new URL('./fixtures/guest-proc-asound.txt', import.meta.url), 'utf8');
const tools = readFileSync(new URL('./fixtures/guest-aplay-aconnect.txt', import.meta.url), 'utf8');

/** Subdevice availability moves while streams open and close; the layout must not. */
const noAvail = (s: string) => s.replace(/Subdevices: \d+\//g, 'Subdevices: N/');

describe('/proc/asound listings', () => {
  const list = deviceListFromProc('vm', splitTailDump(dump));

  it('lists the cards of the guest', () => {
    expect(list.cards.map((c) => [c.index, c.id, c.driver, c.name])).toEqual([
      [0, 'Dummy', 'Dummy', 'Dummy'],
      [1, 'Loopback', 'Loopback', 'Loopback'],
      [2, 'I82801AAICH', 'ICH', 'Intel 82801AA-ICH'],
      [3, 'Audio', 'USB-Audio', 'QEMU USB Audio'],
      [4, 'Intel', 'HDA-Intel', 'HDA Intel'],
    ]);
    expect(list.cards[2]!.longname).toBe('Intel 82801AA-ICH with STAC9700,83,84 at irq 10');
    expect(list.notes).toEqual([]);
  });

  it('prints PCM devices exactly as aplay -l does', () => {
    const aplay = tools.slice(0, tools.indexOf('client 0:'));
    expect(noAvail(formatPcmList(list, 'playback'))).toBe(noAvail(aplay));
  });

  it('counts open substreams', () => {
    const dummy = list.pcms.find((p) => p.cardId === 'Dummy' && p.stream === 'playback')!;
    expect(dummy.subdevices).toBe(8);
    expect(dummy.subdevicesAvail).toBe(7); // aplay held one while the files were read
    expect(list.pcms.filter((p) => p.stream === 'capture').map((p) => `${p.cardId},${p.device}`)).toEqual(['Dummy,0', 'Loopback,0', 'Loopback,1', 'I82801AAICH,0', 'I82801AAICH,1', 'Intel,0']);
  });

  it('prints sequencer clients as aconnect -l does (without its pid field)', () => {
    const aconnect = tools.slice(tools.indexOf('client 0:')).replace(/,pid=\d+/g, '');
    expect(formatSeqList(list)).toBe(aconnect);
    const through = list.seqClients.find((c) => c.client === 14)!;
    expect(through).toMatchObject({ name: 'Midi Through', type: 'kernel' });
    expect(through.ports[0]).toEqual({ port: 0, name: 'Midi Through Port-0', caps: ['read', 'subs_read', 'write', 'subs_write'], connectedTo: ['128:0'], connectedFrom: [] });
  });

  it('reads card lines with and without a long name, and seq subscriptions with queue tags', () => {
    expect(parseCards(' 7 [My Card        ]: USB-Audio - Fancy Interface\n')).toEqual([{ index: 7, id: 'My Card', driver: 'USB-Audio', name: 'Fancy Interface', longname: 'Fancy Interface' }]);
    const c = parseSeqClients('Client 129 : "x" [User UMP MIDI1]\n  Port   0 : "p" (rwe-)\n    Connected From: 14:0[real:0], 20:1\n');
    expect(c[0]!.type).toBe('user');
    expect(c[0]!.ports[0]).toMatchObject({ caps: ['read', 'write'], connectedFrom: ['14:0', '20:1'] });
  });

  it('splits tail output back into files', () => {
    const files = splitTailDump('==> cards <==\n 0 [A ]: x - y\n\n==> pcm <==\n00-00: a : b : playback 1\n');
    expect([...files]).toEqual([
      ['cards', ' 0 [A ]: x - y\n'],
      ['pcm', '00-00: a : b : playback 1\n'],
    ]);
  });

  it('explains an empty listing', () => {
    expect(deviceListFromProc('local', new Map()).notes).toEqual(['no /proc/asound: ALSA is not loaded (no sound cards, no snd module)']);
    expect(deviceListFromProc('local', new Map([['cards', '--- no soundcards ---\n']])).notes).toEqual([
      'ALSA is loaded but there are no sound cards',
      'no sequencer (/proc/asound/seq/clients missing: snd-seq is not loaded)',
    ]);
  });
});
