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

  byRef(ref: number | string): SndCard | undefined {
    if (typeof ref === 'number') return this.cards[ref] ?? undefined;
    // A disconnected card keeps its slot until its files close, but its id now names the one plugged in since.
    return this.cards.find((c) => c && c.id === ref && !c.shutdown) ?? this.cards.find((c) => c && c.id === ref) ?? undefined;
  }
}
