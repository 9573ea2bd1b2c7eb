// A hot-pluggable card shaped like snd-usb-audio: one playback and one
// capture substream at 48 kHz, and a disconnect path (usb_audio_disconnect
// -> snd_card_free_when_closed) that device.detach drives (seed 003).
import type { Kernel } from '../kernel/kernel.js';
import type { KGen } from '../kernel/task.js';
import { ERRNO } from '../../vocabulary/errno.js';

const ENODEV = ERRNO.ENODEV;
import { SndCard, snd_card_free_when_closed } from '../core/card.js';
import { addControl, controlDevice } from '../core/control.js';
import { pcmDevice } from './pcm_device.js';
import { attachTimerDma, timerDmaOps } from './timer_dma.js';
import { INFO_INTERLEAVED, INFO_MMAP, INFO_PAUSE, INFO_SYNC_APPLPTR, type SndPcmHardware, SndPcm } from '../pcm/pcm_types.js';

export const SIMUSB_HARDWARE: SndPcmHardware = {
  info: INFO_MMAP | INFO_INTERLEAVED | INFO_PAUSE | INFO_SYNC_APPLPTR,
  formats: ['S16_LE'],
  rate_min: 48000,
  rate_max: 48000,
  channels_min: 2,
  channels_max: 2,
  buffer_bytes_max: 1024 * 1024,
  period_bytes_min: 64,
  period_bytes_max: 512 * 1024,
  periods_min: 2,
  periods_max: 1024,
};

export function createSimUsbCard(k: Kernel, index: number): SndCard {
  const card = new SndCard(index, 'SimUSB', 'USB-Audio', 'Sim USB Audio', `Audio Stress Lab Sim USB Audio at usb-0000:00:04.0-1, full speed`, { hotplug: true, chipSize: 1024 });
  const ops = timerDmaOps(SIMUSB_HARDWARE, 'simusb');
  const pcm = new SndPcm(card, 0, 'USB Audio', 'USB Audio', 1, 1, [ops, ops]);
  for (const list of pcm.streams)
    for (const s of list)
      attachTimerDma(s, {
        callback: 'simusb_retire_urb',
        ...(k.bug('usb-clock-fast') ? { clock: 1.0005 } : {}),
        // The URB completion reaches the card through the chip (snd_usb_audio).
        inCallback: (kk) => void kk.use(card.chip, 'simusb_retire_urb', 0x40, 8, false, ['simusb_retire_urb', '__usb_hcd_giveback_urb']),
      });
  card.pcms.push(pcm);
  card.devices.push(controlDevice(), pcmDevice(k, pcm));
  addControl(card, { name: 'PCM Playback Switch', type: 'BOOLEAN', count: 1, init: [true] });
  addControl(card, { name: 'PCM Playback Volume', type: 'INTEGER', count: 2, min: 0, max: 127, init: [100, 100] });
  k.snd.cards[index] = card;
  return card;
}

/** usb_audio_disconnect(): what unplugging the device does. */
export function* simUsbDisconnect(k: Kernel, card: SndCard): KGen<number> {
  k.printk(6, `usb 1-1: USB disconnect, device number ${k.snd.usbDevnum}`);
  yield 'usb_audio_disconnect: card disconnecting';
  return yield* snd_card_free_when_closed(k, card);
}

/**
 * Plugging the device back in: a new card in the first free slot. The old
 * card keeps its slot until its last file is closed, so plugging in and out
 * under open files uses slots up; with none left snd_card_new() fails
 * ("cannot find the slot for index") and the driver's probe returns -ENODEV.
 */
export function simUsbAttach(k: Kernel): SndCard | number {
  k.snd.usbDevnum++;
  k.printk(6, `usb 1-1: new full-speed USB device number ${k.snd.usbDevnum} using xhci_hcd`);
  k.printk(6, 'usb 1-1: New USB device found, idVendor=46f4, idProduct=0002, bcdDevice= 0.00');
  const index = k.snd.freeIndex();
  if (index < 0) {
    k.printk(3, `snd_usb_audio 1-1:1.0: cannot find the slot for index -1 (range 0-${k.snd.cards.length - 1}), error: -19`);
    k.printk(3, 'snd-usb-audio: probe of 1-1:1.0 failed with error -19');
    return -ENODEV;
  }
  return createSimUsbCard(k, index);
}

/** The USB device is plugged in: a hot-pluggable card is registered and not disconnected. */
export function simUsbPlugged(k: Kernel): SndCard | undefined {
  return k.snd.cards.find((c): c is SndCard => c !== null && c.hotplug && !c.shutdown) ?? undefined;
}
