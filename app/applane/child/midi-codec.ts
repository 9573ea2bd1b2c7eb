// Numbered MIDI messages, so every one can be accounted for (sent, received,
// lost, duplicated, reordered) the way the agent numbers sequencer events.
// A note-on or controller has 14 payload bits: the stream id rides in the
// channel (4 bits), the number in the two data bytes (mod 16384, unwrapped by
// the receiver against the last number it saw). A SysEx carries both whole:
// F0 7D 'S' 'L' id(2×7 bits) number(5×7 bits) filler… F7.
export type MidiKind = 'note' | 'controller' | 'sysex';

export const SYSEX_MIN = 12;

export function encodeMessage(kind: MidiKind, sid: number, n: number, size = SYSEX_MIN): number[] {
  if (kind === 'note') return [0x90 | (sid & 0x0f), (n >> 7) & 0x7f, n & 0x7f];
  if (kind === 'controller') return [0xb0 | (sid & 0x0f), (n >> 7) & 0x7f, n & 0x7f];
  const m = [0xf0, 0x7d, 0x53, 0x4c, (sid >> 7) & 0x7f, sid & 0x7f];
  for (let s = 28; s >= 0; s -= 7) m.push(Math.floor(n / 2 ** s) & 0x7f);
  while (m.length < Math.max(SYSEX_MIN, size) - 1) m.push(0x5a);
  m.push(0xf7);
  return m;
}

export interface Decoded {
  kind: MidiKind;
  sid: number;
  /** Full number for SysEx; the low 14 bits for note and controller. */
  n: number;
  wrapped: boolean;
}

export function decodeMessage(m: readonly number[]): Decoded | undefined {
  if (m.length === 3 && (m[0]! & 0xf0) === 0x90) return { kind: 'note', sid: m[0]! & 0x0f, n: (m[1]! << 7) | m[2]!, wrapped: true };
  if (m.length === 3 && (m[0]! & 0xf0) === 0xb0) return { kind: 'controller', sid: m[0]! & 0x0f, n: (m[1]! << 7) | m[2]!, wrapped: true };
  if (m.length >= SYSEX_MIN && m[0] === 0xf0 && m[1] === 0x7d && m[2] === 0x53 && m[3] === 0x4c && m[m.length - 1] === 0xf7) {
    let n = 0;
    for (let i = 6; i < 11; i++) n = n * 128 + m[i]!;
    return { kind: 'sysex', sid: (m[4]! << 7) | m[5]!, n, wrapped: false };
  }
  return undefined;
}

/** The full number nearest to the last one seen whose low 14 bits are `low`. */
export function unwrap14(low: number, last: number): number {
  if (last < 0) return low;
  const base = last - (last % 16384);
  let best = base + low;
  for (const c of [base - 16384 + low, base + 16384 + low]) if (c >= 0 && Math.abs(c - last) < Math.abs(best - last)) best = c;
  return best;
}
