// Round-trip latency from content: where a played probe turns up in what was
// recorded. Offline (both buffers in hand) the answer is a lag in frames with
// the correlation as its confidence; the live lanes measure time instead (see
// native-bridge/applane/README.md) and use the same correlation to find the probe.
import { findBurst, MIN_CONFIDENCE } from './correlate.js';
import { mlsBurst } from './mls.js';

export interface LatencyEstimate {
  /** Recorded position minus played position, frames; -1 when not found. */
  lagFrames: number;
  /** Normalised correlation at the match, 0..1. */
  confidence: number;
  /** The confidence reaches the acceptance threshold (0.6, as the agent's). */
  found: boolean;
}

/**
 * `played` holds the probe at `probeAt` (frames); `recorded` is what came back,
 * starting at the same instant as `played`. The lag is the loop's latency in frames.
 */
export function latencyFromContent(recorded: ArrayLike<number>, probeAt: number, probe: ArrayLike<number> = mlsBurst()): LatencyEstimate {
  const m = findBurst(recorded, probe);
  const found = m.offset >= 0 && m.confidence >= MIN_CONFIDENCE;
  return { lagFrames: found ? m.offset - probeAt : -1, confidence: m.confidence, found };
}

/** Time (ns) for a lag in frames at a rate. */
export function framesToNs(frames: number, rate: number): number {
  return Math.round((frames / rate) * 1e9);
}
