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

  /**
   * Card ids a preset may use for a card this machine has under another id
   * (a preset written for the virtual lab's "Audio" runs on SimUSB: the
   * preset's `sim.cards`).
   */
  readonly aliases = new Map<string, string>();

  byRef(ref: number | string): SndCard | undefined {
    if (typeof ref === 'number') return this.cards[ref] ?? undefined;
    const id = this.aliases.get(ref) ?? ref;
    return this.cards.find((c) => c && c.id === id) ?? undefined;
  }
}
