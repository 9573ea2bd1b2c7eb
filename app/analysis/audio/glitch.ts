// Glitch detection from content, after OboeTester's GlitchAnalyzer: lock
// onto a looped-back sine of known period (magnitude and phase from sin/cos
// sums over whole periods), then predict every sample and compare. A sample
// further from the prediction than `tolerance` × magnitude starts a glitch; a
// full period of good samples ends it; a glitch longer than two periods (the
// tone came back with another phase: frames were dropped or inserted) is
// closed and the analyzer locks again. Every glitch is counted and placed at
// the frame where it began, so callers can turn it into a time.

export interface GlitchOptions {
  /** Frames per cycle of the tone (a whole number). */
  period: number;
  /** Allowed deviation from the prediction, relative to the magnitude (OboeTester: 0.10). */
  tolerance?: number;
  /** Below this peak level there is no signal to lock onto. */
  threshold?: number;
  /** Whole periods accumulated before locking. */
  lockPeriods?: number;
  /** Largest phase correction per period that still counts as the same tone, radians. */
  maxPhaseError?: number;
}

export type GlitchState = 'waiting-for-signal' | 'waiting-for-lock' | 'locked' | 'glitching';

export interface Glitch {
  /** Frame (counted from the first sample pushed) where the deviation began. */
  frame: number;
  /** Frames it lasted; -1 when it never ended and the analyzer had to lock again (a phase jump). */
  length: number;
  /** Largest |sample − prediction| inside it, relative to the magnitude. */
  depth: number;
}

export class GlitchAnalyzer {
  readonly period: number;
  private readonly tolerance: number;
  private readonly threshold: number;
  private readonly lockPeriods: number;
  private readonly maxPhaseError: number;
  private readonly inc: number;

  state: GlitchState = 'waiting-for-signal';
  /** Frames seen so far. */
  frame = 0;
  magnitude = 0;
  readonly glitches: Glitch[] = [];
  /** Frames spent locked (including glitching): how much of the signal was actually checked. */
  framesChecked = 0;
  /** Has the analyzer ever locked? Without a lock "no glitches" means nothing. */
  everLocked = false;

  private phase = 0;
  private sinAcc = 0;
  private cosAcc = 0;
  private accumulated = 0;
  private sqAcc = 0;
  private peak = 0;
  private current?: Glitch;
  private goodRun = 0;

  constructor(o: GlitchOptions) {
    if (!Number.isInteger(o.period) || o.period < 4) throw new RangeError(`the sine period must be a whole number of frames >= 4, got ${o.period}`);
    this.period = o.period;
    this.tolerance = o.tolerance ?? 0.1;
    this.threshold = o.threshold ?? 0.01;
    this.lockPeriods = o.lockPeriods ?? 4;
    this.maxPhaseError = o.maxPhaseError ?? 0.1;
    this.inc = (2 * Math.PI) / this.period;
  }

  /** Feed mono samples; returns the glitches that ended inside them. */
  push(samples: ArrayLike<number>): Glitch[] {
    const done: Glitch[] = [];
    for (let i = 0; i < samples.length; i++) {
      const g = this.sample(samples[i]!);
      if (g) done.push(g);
      this.frame++;
    }
    return done;
  }

  /** Close a glitch still open at the end of the signal. */
  finish(): Glitch[] {
    if (!this.current) return [];
    const g = this.current;
    this.current = undefined;
    this.glitches.push(g);
    return [g];
  }

  private advance(): void {
    this.phase += this.inc;
    if (this.phase > Math.PI) this.phase -= 2 * Math.PI;
  }

  private resetSums(): void {
    this.sinAcc = 0;
    this.cosAcc = 0;
    this.sqAcc = 0;
    this.accumulated = 0;
  }

  /** Magnitude and phase error of the tone over the frames accumulated (whole periods). */
  private solve(): { magnitude: number; offset: number; purity: number } {
    const s = this.sinAcc / this.accumulated;
    const c = this.cosAcc / this.accumulated;
    const magnitude = 2 * Math.hypot(s, c);
    const ms = this.sqAcc / this.accumulated;
    // share of the window's power that is the tone (1 for a pure sine, ~0 for noise)
    return { magnitude, offset: Math.atan2(c, s), purity: ms > 0 ? (magnitude * magnitude) / 2 / ms : 0 };
  }

  private sample(x: number): Glitch | undefined {
    this.peak = Math.max(Math.abs(x), this.peak * (1 - 1 / (4 * this.period)));
    switch (this.state) {
      case 'waiting-for-signal':
        if (this.peak > this.threshold) {
          this.state = 'waiting-for-lock';
          this.resetSums();
          this.phase = 0;
        }
        return undefined;
      case 'waiting-for-lock': {
        this.sinAcc += x * Math.sin(this.phase);
        this.cosAcc += x * Math.cos(this.phase);
        this.sqAcc += x * x;
        this.accumulated++;
        this.advance();
        if (this.accumulated === this.period * this.lockPeriods) {
          const { magnitude, offset, purity } = this.solve();
          this.resetSums();
          // lock only onto a tone that dominates the signal: noise has components at every frequency
          if (magnitude > this.threshold && purity > 0.5) {
            // the first estimate moves the phase; a second one that needs no move confirms the lock
            this.phase += offset;
            this.magnitude = magnitude;
            if (Math.abs(offset) < this.maxPhaseError) {
              this.state = 'locked';
              this.everLocked = true;
              this.goodRun = 0;
            }
          } else if (this.peak <= this.threshold) this.state = 'waiting-for-signal';
        }
        return undefined;
      }
      case 'locked': {
        this.framesChecked++;
        const predicted = Math.sin(this.phase) * this.magnitude;
        const dev = Math.abs(predicted - x);
        if (dev > this.tolerance * this.magnitude) {
          this.current = { frame: this.frame, length: 1, depth: dev / this.magnitude };
          this.state = 'glitching';
          this.goodRun = 0;
          this.resetSums();
          this.advance();
          return undefined;
        }
        this.sinAcc += x * Math.sin(this.phase);
        this.cosAcc += x * Math.cos(this.phase);
        this.accumulated++;
        this.advance();
        if (this.accumulated === this.period) {
          // follow slow drift in gain and rate; a sudden change is a glitch of its own
          const { magnitude, offset } = this.solve();
          this.resetSums();
          if (Math.abs(offset) > this.maxPhaseError || magnitude < this.threshold) {
            this.current = { frame: this.frame - this.period + 1, length: this.period, depth: Math.abs(offset) };
            this.state = 'glitching';
            this.goodRun = 0;
          } else {
            this.phase += offset;
            this.magnitude = magnitude;
          }
        }
        return undefined;
      }
      case 'glitching': {
        this.framesChecked++;
        const g = this.current!;
        const predicted = Math.sin(this.phase) * this.magnitude;
        const dev = Math.abs(predicted - x);
        this.advance();
        if (dev > this.tolerance * this.magnitude) {
          g.length += 1 + this.goodRun;
          this.goodRun = 0;
          g.depth = Math.max(g.depth, dev / this.magnitude);
          if (g.length > 2 * this.period) {
            // the tone is back with another phase (frames dropped or inserted): lock again
            g.length = -1;
            this.current = undefined;
            this.glitches.push(g);
            this.state = 'waiting-for-lock';
            this.resetSums();
            return g;
          }
          return undefined;
        }
        this.goodRun++;
        if (this.goodRun > this.period) {
          this.current = undefined;
          this.glitches.push(g);
          this.state = 'locked';
          this.resetSums();
          this.goodRun = 0;
          return g;
        }
        return undefined;
      }
    }
  }
}
