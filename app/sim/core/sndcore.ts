// The sound core's global state: the card table (snd_cards[]) and the sequencer.
import type { SndCard } from './card.js';
import type { SeqCore } from '../seq/seq_clientmgr.js';

export const SNDRV_CARDS = 32;

export class SndCore {
  readonly cards: (SndCard | null)[] = new Array<SndCard | null>(SNDRV_CARDS).fill(null);
  seq: SeqCore | null = null;
  /** USB device number of the hot-pluggable card, as the USB core numbers it. */
  usbDevnum = 2;

  freeIndex(): number {
    const i = this.cards.indexOf(null);
    if (i < 0) throw new Error('no free sound card slot');
    return i;
  }

  byRef(ref: number | string): SndCard | undefined {
    if (typeof ref === 'number') return this.cards[ref] ?? undefined;
    return this.cards.find((c) => c && c.id === ref) ?? undefined;
  }
}
