// The sound core's global state: the card table (snd_cards[]) and the sequencer.
import type { SndCard } from './card.js';
import type { SeqCore } from '../seq/seq_clientmgr.js';

export const SNDRV_CARDS = 32;

export class SndCore {
  readonly cards: (SndCard | null)[] = new Array<SndCard | null>(SNDRV_CARDS).fill(null);
  seq: SeqCore | null = null;
  /** USB device number of the hot-pluggable card, as the USB core numbers it. */
  usbDevnum = 2;

  /** The first free slot of snd_cards[], or -1 when all SNDRV_CARDS are taken (snd_card_new() then fails with -ENODEV). */
  freeIndex(): number {
    return this.cards.indexOf(null);
  }

  /**
   * Card ids a preset may use for a card this machine has under another id
   * (a preset written for the virtual lab's "Audio" runs on SimUSB: the
   * preset's `sim.cards`).
   */
  readonly aliases = new Map<string, string>();

  byRef(ref: number | string): SndCard | undefined {
    if (typeof ref === 'number') return this.cards[ref] ?? undefined;
    // A disconnected card keeps its slot until its files close, but not its
    // name: snd_card_disconnect() removes /proc/asound/<id> at once
    // (snd_info_card_disconnect), so an id names only a card still connected.
    const id = this.aliases.get(ref) ?? ref;
    return this.cards.find((c) => c && c.id === id && !c.shutdown) ?? undefined;
  }
}
