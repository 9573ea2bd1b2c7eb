// The test tone: a sine whose period is a whole number of frames, so an
// analyzer can accumulate exactly one period at a time (the Fourier sums of
// glitch.ts are only exact over whole periods). Phase carries across calls:
// consecutive writes form one unbroken tone.
export const DEFAULT_SINE_PERIOD = 48; // 1 kHz at 48 kHz
export const DEFAULT_SINE_AMPLITUDE = 0.5;

export class SineGenerator {
  private n = 0;

  constructor(
    readonly period = DEFAULT_SINE_PERIOD,
    readonly amplitude = DEFAULT_SINE_AMPLITUDE,
  ) {}

  /** The next `frames` samples of the tone (mono). */
  next(frames: number): Float32Array {
    const out = new Float32Array(frames);
    const w = (2 * Math.PI) / this.period;
    for (let i = 0; i < frames; i++) out[i] = this.amplitude * Math.sin(w * ((this.n + i) % this.period));
    this.n = (this.n + frames) % this.period;
    return out;
  }
}
