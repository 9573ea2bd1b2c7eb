// struct snd_card lifetime: files register with the card, disconnect swaps
// their file operations and disconnects the devices, and the card is freed
// only when the last file is closed (snd_card_free_when_closed). The
// `detach-without-drain` bug frees device state at once instead.
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { KObject } from '../kernel/memory.js';
import { RwSem, SpinLock, WaitQueue, spinLock, spinUnlock } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';
import type { SndPcm } from '../pcm/pcm_types.js';
import type { SndKcontrol } from './control.js';
import { type SimFile, shutdownFops } from './file.js';

/** struct snd_device: a component of a card with disconnect/free hooks. */
export interface SndDevice {
  readonly kind: 'pcm' | 'control' | 'seq';
  disconnect(k: Kernel): KGen<void>;
  free(k: Kernel): KGen<void>;
}

export class SndCard {
  shutdown = false;
  registered = true;
  readonly files: SimFile[] = [];
  readonly files_lock: SpinLock;
  readonly devices: SndDevice[] = [];
  readonly pcms: SndPcm[] = [];
  readonly controls: SndKcontrol[] = [];
  readonly controls_rwsem: RwSem;
  readonly remove_sleep: WaitQueue;
  /** card_dev reference count: one initial, one per open file. */
  refs = 1;
  freed = false;
  /** The driver's private data ("softc"); freed with the card. */
  readonly chip: KObject;
  /** Set by drivers whose interrupts must be synchronised on stop (card->sync_irq). */
  syncIrq: ((k: Kernel) => KGen<void>) | null = null;
  /** Card can be unplugged (USB); used by device.detach. */
  readonly hotplug: boolean;

  constructor(
    readonly number: number,
    readonly id: string,
    readonly driver: string,
    readonly shortname: string,
    readonly longname: string,
    opts: { hotplug?: boolean; chipSize?: number } = {},
  ) {
    this.files_lock = new SpinLock(`card${number}->files_lock`);
    this.controls_rwsem = new RwSem(`card${number}->controls_rwsem`);
    this.remove_sleep = new WaitQueue(`card${number}->remove_sleep`);
    this.hotplug = opts.hotplug ?? false;
    this.chip = new KObject(`kmalloc-${opts.chipSize ?? 512}`, opts.chipSize ?? 512);
  }
}

const FILE_ADD = ['snd_card_file_add'];

export function* snd_card_file_add(k: Kernel, card: SndCard, f: SimFile): KGen<number> {
  yield* spinLock(k, card.files_lock, 'snd_card_file_add: lock files_lock');
  if (card.shutdown) {
    spinUnlock(k, card.files_lock);
    return -ERRNO.ENODEV;
  }
  card.files.push(f);
  card.refs++;
  spinUnlock(k, card.files_lock);
  void FILE_ADD;
  return 0;
}

export function* snd_card_file_remove(k: Kernel, card: SndCard, f: SimFile): KGen<void> {
  yield* spinLock(k, card.files_lock, 'snd_card_file_remove: lock files_lock');
  const i = card.files.indexOf(f);
  if (i >= 0) card.files.splice(i, 1);
  if (card.files.length === 0) k.wakeUp(card.remove_sleep);
  spinUnlock(k, card.files_lock);
  yield* cardPut(k, card);
}

/** put_device(&card->card_dev): the last reference frees the card. */
function* cardPut(k: Kernel, card: SndCard): KGen<void> {
  if (--card.refs > 0 || card.freed) return;
  yield 'release_card_device: last reference dropped';
  yield* snd_card_do_free(k, card);
}

function* snd_card_do_free(k: Kernel, card: SndCard): KGen<void> {
  for (const d of [...card.devices].reverse()) yield* d.free(k);
  if (!card.chip.freed) k.kfree(card.chip, ['snd_card_do_free', 'release_card_device', 'kobject_put', 'snd_card_file_remove', 'snd_disconnect_release']);
  card.freed = true;
}

/** snd_card_disconnect(): today's behaviour. */
export function* snd_card_disconnect(k: Kernel, card: SndCard): KGen<number> {
  yield* spinLock(k, card.files_lock, 'snd_card_disconnect: lock files_lock');
  if (card.shutdown) {
    spinUnlock(k, card.files_lock);
    return 0;
  }
  card.shutdown = true;
  // Replace file->f_op of every open file with snd_shutdown_f_ops: from now
  // on new syscalls fail with -ENODEV and only release reaches the driver.
  for (const f of card.files) {
    if (f.fop === shutdownFops) continue;
    f.disconnected_fop = f.fop;
    f.fop = shutdownFops;
  }
  spinUnlock(k, card.files_lock);
  yield 'snd_card_disconnect: file operations replaced';
  for (const d of [...card.devices].reverse()) yield* d.disconnect(k);
  if (card.syncIrq) yield* card.syncIrq(k);
  if (k.snd.cards[card.number] === card) k.snd.cards[card.number] = null;
  card.registered = false;
  return 0;
}

/**
 * The detach-without-drain bug: the device state is torn down at once while
 * files are open and calls are in flight; nothing waits for users to drain
 * and the file operations still point at the driver.
 */
export function* snd_card_disconnect_nodrain(k: Kernel, card: SndCard): KGen<number> {
  if (card.shutdown) return 0;
  card.shutdown = true;
  yield 'snd_card_disconnect: (no drain) marking card gone';
  for (const d of [...card.devices].reverse()) yield* d.disconnect(k);
  for (const d of [...card.devices].reverse()) yield* d.free(k);
  if (!card.chip.freed) k.kfree(card.chip, ['snd_card_disconnect', 'usb_audio_disconnect', 'usb_unbind_interface']);
  if (k.snd.cards[card.number] === card) k.snd.cards[card.number] = null;
  card.registered = false;
  return 0;
}

/** snd_card_free_when_closed(): disconnect now, free at the last close. */
export function* snd_card_free_when_closed(k: Kernel, card: SndCard): KGen<number> {
  if (k.bug('detach-without-drain')) return yield* snd_card_disconnect_nodrain(k, card);
  const r = yield* snd_card_disconnect(k, card);
  yield* cardPut(k, card);
  return r;
}
