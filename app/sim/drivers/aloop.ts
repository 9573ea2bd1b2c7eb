// A card shaped like snd-aloop: "Loopback", two PCM devices with eight
// substreams each way, snd-aloop's constraints. What one device's playback
// substream plays its twin on the other device captures; the simulator
// carries no samples, so here each substream is timed on its own (as
// snd-aloop's timer does for a capture whose playback is not running): the
// call sequences, states and timing are modelled, the audio is not. It is
// the card the application lane's presets play into (PortAudio through
// alsa-lib, app/targets/sim/library/).
import type { Kernel } from '../kernel/kernel.js';
import { SndCard } from '../core/card.js';
import { addControl, controlDevice } from '../core/control.js';
import { pcmDevice } from './pcm_device.js';
import { attachTimerDma, timerDmaOps } from './timer_dma.js';
import { INFO_INTERLEAVED, INFO_MMAP, INFO_PAUSE, INFO_RESUME, type SndPcmHardware, SndPcm } from '../pcm/pcm_types.js';

/** loopback_pcm_hardware (sound/drivers/aloop.c), in the formats the lab knows. */
export const ALOOP_HARDWARE: SndPcmHardware = {
  info: INFO_INTERLEAVED | INFO_MMAP | INFO_PAUSE | INFO_RESUME,
  formats: ['S16_LE', 'S16_BE', 'S24_LE', 'S24_3LE', 'S32_LE', 'FLOAT_LE'],
  rate_min: 8000,
  rate_max: 192000,
  channels_min: 1,
  channels_max: 32,
  buffer_bytes_max: 2 * 1024 * 1024,
  period_bytes_min: 64,
  period_bytes_max: 1024 * 1024,
  periods_min: 1,
  periods_max: 1024,
  integer_periods: true,
};

export function createAloopCard(k: Kernel, index: number, opts: { substreams?: number } = {}): SndCard {
  const card = new SndCard(index, 'Loopback', 'Loopback', 'Loopback', `Loopback ${index + 1}`);
  const n = opts.substreams ?? 8;
  const ops = timerDmaOps(ALOOP_HARDWARE, 'loopback');
  for (const device of [0, 1]) {
    const pcm = new SndPcm(card, device, 'Loopback PCM', 'Loopback PCM', n, n, [ops, ops]);
    for (const list of pcm.streams) for (const s of list) attachTimerDma(s, { callback: 'loopback_jiffies_timer_function' });
    card.pcms.push(pcm);
    card.devices.push(pcmDevice(k, pcm));
  }
  card.devices.unshift(controlDevice());
  // snd-aloop's per-substream controls, for the first subdevice of each device
  for (const device of [0, 1]) addControl(card, { name: 'PCM Rate Shift 100000', index: device * n, type: 'INTEGER', count: 1, min: 80000, max: 120000, init: [100000] });
  k.snd.cards[index] = card;
  return card;
}
