// How the scheduler picks among tasks that are runnable in the same time
// window (i.e. running at the same moment on different CPUs).
//
// PCT (Burckhardt et al., "A Randomized Scheduler with Probabilistic
// Guarantees of Finding Bugs", ASPLOS 2010): give every task a random
// priority, always run the highest-priority runnable task, and lower the
// running task's priority at d-1 randomly chosen steps. A bug that needs d
// ordering constraints among n tasks within k scheduling steps is found with
// probability at least 1/(n * k^(d-1)) per attempt. Our runs are long series
// of short contention episodes (a barrier release, an interrupt landing on a
// syscall): an episode is a maximal run of steps where more than one task
// could run. Each episode is one PCT attempt: priorities are redrawn when it
// begins and the change points are spread over the expected episode length,
// learned from the episodes seen so far.
import { Rng } from './rng.js';
import type { Task } from './task.js';

export interface Strategy {
  readonly name: string;
  /** Index into `cands` (sorted by task id) of the task to run next. */
  choose(cands: readonly Task[], now: number): number;
  /**
   * After choose(): how long (ns) the chosen task stalls after this step, or
   * 0. A stall is how a CPU falls behind in real life (a vCPU preempted, an
   * SMI, a storm of cache misses); it is what lets another CPU run a long
   * path inside a short window.
   */
  takeStall(): number;
  /** A step ran with nobody else runnable in its window: contention is over. */
  quiet(): void;
  taskCreated(t: Task): void;
}

export class RandomStrategy implements Strategy {
  readonly name = 'random';
  constructor(private readonly rng: Rng) {}
  choose(cands: readonly Task[]): number {
    return this.rng.below(cands.length);
  }
  takeStall(): number {
    return 0;
  }
  quiet(): void {}
  taskCreated(): void {}
}

/** Log-uniform stall between 1 and 50 us. */
function stallNs(rng: Rng): number {
  return Math.round(1000 * Math.exp(rng.float() * Math.log(50)));
}

export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private inEpisode = false;
  private decisions = 0;
  private changePoints: number[] = [];
  private kEstimate = 8;
  private nextLow = 0;
  private stall = 0;
  /** Priorities are drawn lazily: a task's priority belongs to the episode it was drawn in. */
  private episode = 0;
  private readonly drawnIn = new WeakMap<Task, number>();

  constructor(
    private readonly rng: Rng,
    private readonly depth: number,
  ) {}

  private prio(t: Task): number {
    if (this.drawnIn.get(t) !== this.episode) {
      this.drawnIn.set(t, this.episode);
      t.prio = this.depth + this.rng.below(1 << 30);
    }
    return t.prio;
  }

  /** An episode is a maximal run of contended steps: one PCT attempt. */
  quiet(): void {
    this.inEpisode = false;
  }

  taskCreated(): void {}

  choose(cands: readonly Task[]): number {
    if (!this.inEpisode) this.beginEpisode();
    let best = 0;
    let bestPrio = this.prio(cands[0]!);
    for (let i = 1; i < cands.length; i++) {
      const p = this.prio(cands[i]!);
      if (p > bestPrio) {
        best = i;
        bestPrio = p;
      }
    }
    const step = this.decisions++;
    if (this.changePoints.includes(step)) {
      // A priority change point: the running task is demoted and stalls.
      cands[best]!.prio = this.nextLow--;
      this.stall = stallNs(this.rng);
    }
    return best;
  }

  takeStall(): number {
    const s = this.stall;
    this.stall = 0;
    return s;
  }

  private beginEpisode(): void {
    this.inEpisode = true;
    if (this.decisions > 0) this.kEstimate = Math.max(2, Math.round(0.75 * this.kEstimate + 0.25 * this.decisions));
    this.decisions = 0;
    this.nextLow = 0;
    this.episode++;
    this.changePoints = [];
    const span = Math.max(2, Math.ceil(this.kEstimate * 1.5));
    for (let i = 0; i < this.depth - 1; i++) this.changePoints.push(this.rng.below(span));
  }
}

/**
 * Follows decisions recorded by an earlier run (see DecisionLog). A journal
 * cut short by a crash records only part of the schedule; past its end the
 * fallback strategy decides (and `exhaustedAt` says where that happened).
 */
export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  private pos = 0;
  private stall = 0;
  exhaustedAt = -1;
  constructor(
    private readonly decisions: number[],
    private readonly stalls: ReadonlyMap<number, number>,
    private readonly fallback?: Strategy,
  ) {}
  takeStall(): number {
    const s = this.stall;
    this.stall = 0;
    return s;
  }
  choose(cands: readonly Task[], now: number): number {
    if (this.pos >= this.decisions.length) {
      if (!this.fallback) throw new ReplayDiverged(`the recorded schedule ended after ${this.pos} decisions`);
      if (this.exhaustedAt < 0) this.exhaustedAt = this.pos;
      this.pos++;
      const c = this.fallback.choose(cands, now);
      this.stall = this.fallback.takeStall();
      return c;
    }
    this.stall = this.stalls.get(this.pos) ?? 0;
    const d = this.decisions[this.pos++]!;
    if (d >= cands.length)
      throw new ReplayDiverged(`decision ${this.pos - 1} picks candidate ${d} of ${cands.length}: the run no longer follows the recorded schedule`);
    return d;
  }
  quiet(): void {
    this.fallback?.quiet();
  }
  taskCreated(t: Task): void {
    this.fallback?.taskCreated(t);
  }
  get consumed(): number {
    return this.pos;
  }
}

export class ReplayDiverged extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayDiverged';
  }
}

/**
 * Scheduler decisions as a compact string: one base-36 digit per decision
 * (index into the candidates), runs of the same digit written as digit*count;,
 * indices of 36 and above as {n}, and a stall of the chosen task as !ns;.
 */
export class DecisionLog {
  private out = '';
  private last = -1;
  private run = 0;

  push(d: number, stall = 0): void {
    if (d === this.last && !stall) {
      this.run++;
      return;
    }
    this.flushRun();
    if (stall) {
      this.out += `${d < 36 ? d.toString(36) : `{${d}}`}!${stall};`;
      this.last = -1;
      return;
    }
    this.last = d;
    this.run = 1;
  }

  /** Encoded decisions since the previous take. */
  take(): string {
    this.flushRun();
    this.last = -1;
    const s = this.out;
    this.out = '';
    return s;
  }

  private flushRun(): void {
    if (this.run === 0) return;
    const sym = this.last < 36 ? this.last.toString(36) : `{${this.last}}`;
    this.out += this.run >= 3 ? `${sym}*${this.run};` : sym.repeat(this.run);
    this.run = 0;
  }

  static decode(s: string): { choices: number[]; stalls: Map<number, number> } {
    const out: number[] = [];
    const stalls = new Map<number, number>();
    let i = 0;
    while (i < s.length) {
      let v: number;
      if (s[i] === '{') {
        const j = s.indexOf('}', i);
        if (j < 0) throw new Error(`bad schedule encoding at ${i}`);
        v = Number(s.slice(i + 1, j));
        i = j + 1;
      } else {
        v = parseInt(s[i]!, 36);
        if (Number.isNaN(v)) throw new Error(`bad schedule encoding at ${i}: "${s[i]}"`);
        i++;
      }
      if (s[i] === '*' || s[i] === '!') {
        const j = s.indexOf(';', i);
        if (j < 0) throw new Error(`bad schedule encoding at ${i}`);
        const n = Number(s.slice(i + 1, j));
        if (!Number.isInteger(n) || n < 0) throw new Error(`bad schedule encoding at ${i}`);
        if (s[i] === '!') {
          stalls.set(out.length, n);
          out.push(v);
        } else for (let k = 0; k < n; k++) out.push(v);
        i = j + 1;
      } else out.push(v);
    }
    return { choices: out, stalls };
  }
}
