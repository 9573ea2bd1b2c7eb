// A card that looks like snd-dummy (same names, constraints, mixer) so a
// preset written against the simulator runs unchanged on snd-dummy in the
// virtual lab. One deliberate difference: real snd-dummy cancels its hrtimer
// synchronously in its own close path, which would hide seed 004; this
// driver, like most PCI drivers, relies on the core's sync_stop (see README).
import type { Kernel } from '../kernel/kernel.js';
import type { KGen } from '../kernel/task.js';
import { SndCard } from '../core/card.js';
import { type SndKcontrol, addControl, controlDevice } from '../core/control.js';
import { pcmDevice } from './pcm_device.js';
import { attachTimerDma, timerDmaOps } from './timer_dma.js';
import { INFO_INTERLEAVED, INFO_MMAP, INFO_RESUME, type SndPcmHardware, SndPcm } from '../pcm/pcm_types.js';

export const DUMMY_HARDWARE: SndPcmHardware = {
  info: INFO_MMAP | INFO_INTERLEAVED | INFO_RESUME, // no SNDRV_PCM_INFO_PAUSE: PAUSE gives -ENOSYS
  formats: ['U8', 'S16_LE'],
  rate_min: 5500,
  rate_max: 48000,
  channels_min: 1,
  channels_max: 2,
  buffer_bytes_max: 64 * 1024,
  period_bytes_min: 64,
  period_bytes_max: 64 * 1024,
  periods_min: 1,
  periods_max: 1024,
};

/** snd_card_dummy_probe(): card "Dummy", one PCM device with 8+8 substreams, the Dummy mixer. */
export function createDummyCard(k: Kernel, index: number, opts: { substreams?: number } = {}): SndCard {
  const card = new SndCard(index, index === 0 ? 'Dummy' : `Dummy_${index}`, 'Dummy', 'Dummy', `Dummy ${index + 1}`);
  const n = opts.substreams ?? 8;
  // snd-dummy's default fake_buffer=1: its copy_user callback ignores user memory
  const ops = { ...timerDmaOps(DUMMY_HARDWARE, 'dummy'), fake_buffer: true };
  const pcm = new SndPcm(card, 0, 'Dummy PCM', 'Dummy PCM', n, n, [ops, ops]);
  for (const list of pcm.streams) for (const s of list) attachTimerDma(s, { callback: 'dummy_hrtimer_callback' });
  card.pcms.push(pcm);
  card.devices.push(controlDevice(), pcmDevice(k, pcm));
  for (const src of ['Master', 'Synth', 'Line', 'Mic', 'CD']) {
    addControl(card, { name: `${src} Volume`, type: 'INTEGER', count: 2, min: -50, max: 100, init: [0, 0], put: clampPut(-50, 100) });
    addControl(card, { name: `${src} Capture Switch`, type: 'BOOLEAN', count: 2, init: [false, false] });
  }
  addControl(card, { name: 'External I/O Box', type: 'ENUMERATED', count: 1, items: ['Internal', 'External'], init: [1] });
  k.snd.cards[index] = card;
  return card;
}

function clampPut(min: number, max: number) {
  return function* (_k: Kernel, kc: SndKcontrol, values: (number | boolean)[]): KGen<number> {
    const v = values.map((x) => Math.min(max, Math.max(min, Number(x))));
    const changed = v.some((x, i) => x !== kc.value[i]) ? 1 : 0;
    kc.value = v;
    return changed;
  };
}
