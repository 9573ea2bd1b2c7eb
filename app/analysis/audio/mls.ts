// The latency probe: a 256-frame maximal-length sequence, bit for bit the
// burst native-bridge/agent/metrics.c writes (16-bit Fibonacci LFSR, taps
// 0, 2, 3, 5, seed 1, ±0.5), so the raw-ioctl lane and the library lane
// play the same probe and correlate it the same way.
export const BURST_FRAMES = 256;

let cached: Float32Array | undefined;

export function mlsBurst(): Float32Array {
  if (cached) return cached;
  const b = new Float32Array(BURST_FRAMES);
  let lfsr = 1;
  for (let i = 0; i < BURST_FRAMES; i++) {
    const bit = ((lfsr >> 0) ^ (lfsr >> 2) ^ (lfsr >> 3) ^ (lfsr >> 5)) & 1;
    lfsr = (lfsr >> 1) | (bit << 15);
    b[i] = lfsr & 1 ? 0.5 : -0.5;
  }
  return (cached = b);
}
