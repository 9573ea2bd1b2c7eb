// Finding a known burst in recorded audio by normalised cross-correlation:
// at every offset, the dot product of the window with the burst divided by
// the geometric mean of their energies. 1.0 is a bit-exact copy (any gain),
// noise of the burst's length stays well below 0.5. The same formula and the
// same 0.6 acceptance as the agent's metrics.c, so both lanes agree.
import { mlsBurst } from './mls.js';

export const MIN_CONFIDENCE = 0.6;

export interface BurstMatch {
  /** Frame index of the burst's first frame in the searched signal. */
  offset: number;
  /** Normalised correlation at the peak, 0..1. */
  confidence: number;
}

/**
 * The best match of `burst` in `signal` (mono). Windows whose energy is under
 * 1 % of the burst's are skipped: silence correlates with nothing and must not
 * produce a peak from rounding noise.
 */
export function findBurst(signal: ArrayLike<number>, burst: ArrayLike<number> = mlsBurst()): BurstMatch {
  const n = burst.length;
  let be = 0;
  for (let i = 0; i < n; i++) be += burst[i]! * burst[i]!;
  let best = 0;
  let at = -1;
  if (signal.length < n || be === 0) return { offset: -1, confidence: 0 };
  let e = 0;
  for (let i = 0; i < n; i++) e += signal[i]! * signal[i]!;
  for (let o = 0; o + n <= signal.length; o++) {
    if (o) e += signal[o + n - 1]! * signal[o + n - 1]! - signal[o - 1]! * signal[o - 1]!;
    if (e < be * 0.01) continue;
    let dot = 0;
    for (let i = 0; i < n; i++) dot += signal[o + i]! * burst[i]!;
    const c = dot / Math.sqrt(e * be);
    if (c > best) {
      best = c;
      at = o;
    }
  }
  return { offset: at, confidence: Math.max(0, Math.min(1, best)) };
}

/**
 * A streaming scanner: reads arrive in pieces and the burst may straddle two
 * of them, so the last burst-length − 1 frames are kept. `push` answers the
 * match in absolute frames since the scanner was made, or undefined.
 */
export class BurstScanner {
  private tail = new Float32Array(0);
  private consumed = 0;

  constructor(
    private readonly burst: ArrayLike<number> = mlsBurst(),
    private readonly minConfidence = MIN_CONFIDENCE,
  ) {}

  push(frames: ArrayLike<number>): BurstMatch | undefined {
    const all = new Float32Array(this.tail.length + frames.length);
    all.set(this.tail, 0);
    for (let i = 0; i < frames.length; i++) all[this.tail.length + i] = frames[i]!;
    const base = this.consumed - this.tail.length;
    this.consumed += frames.length;
    const keep = Math.min(all.length, this.burst.length - 1);
    this.tail = all.slice(all.length - keep);
    const m = findBurst(all, this.burst);
    if (m.confidence < this.minConfidence || m.offset < 0) return undefined;
    // A match wholly inside the kept tail will be seen again with the next read: report it once.
    this.tail = new Float32Array(0);
    return { offset: base + m.offset, confidence: m.confidence };
  }

  /** Frames pushed so far. */
  get frames(): number {
    return this.consumed;
  }
}
