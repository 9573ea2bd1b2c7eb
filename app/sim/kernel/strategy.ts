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
//
// PCT alone is not fair: the highest-priority task runs until it blocks, and
// while the episode lasts (with many lanes contention never ends) a
// low-priority task may never run, so virtual time moves on without it and the
// budget is never seen to end. A task kept waiting more than STARVE_NS behind
// the clock is therefore promoted above every other: a priority change point
// that scales with lanes and steps, since each starving task earns one. Real
// CPUs do not leave a runnable thread behind for that long, and none of the
// race presets ever waits more than ~8 us (measured over seeds 1-40), so their
// schedules are untouched.
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

/** How far (ns) a runnable task may fall behind the clock before it is promoted. */
export const STARVE_NS = 100_000;
/** Above every drawn priority (depth + 2^30 at most); promotions count up from here. */
const PROMOTED = 2 ** 31;

export class PctStrategy implements Strategy {
  readonly name = 'pct';
  /** Starving tasks promoted so far (see STARVE_NS). */
  promotions = 0;
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

  choose(cands: readonly Task[], now: number): number {
    if (!this.inEpisode) this.beginEpisode();
    this.promoteStarving(cands, now);
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

  /** The candidate furthest behind the clock, if it is more than STARVE_NS behind, goes to the top. */
  private promoteStarving(cands: readonly Task[], now: number): void {
    let oldest: Task | undefined;
    let oldestAt = now - STARVE_NS;
    for (let i = 0; i < cands.length; i++) {
      const t = cands[i]!;
      if (t.readyAt < oldestAt) {
        oldest = t;
        oldestAt = t.readyAt;
      }
    }
    if (!oldest) return;
    // No random draw for it: the draws other tasks get stay what they would have been.
    this.drawnIn.set(oldest, this.episode);
    oldest.prio = PROMOTED + this.promotions++;
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
 * Recorded scheduler decisions, read one at a time so a schedule of any
 * length replays in constant memory (a journal is read as the replay goes).
 */
export interface ScheduleSource {
  /** The next recorded decision (an index into the candidates), or -1 past the end of the record. */
  next(): number;
  /** The stall recorded with the decision next() just returned (0: none). */
  readonly stall: number;
}

/**
 * Follows decisions recorded by an earlier run (see DecisionLog). The
 * strategy that made them (the fallback: the run's own strategy and seed)
 * is asked for every decision too, its answer set aside: it then stands
 * exactly where the recorded run's stood, so when the record ends (a journal
 * cut short by a crash or kill -9 records only part of the schedule) it goes
 * on as that run did, and `exhaustedAt` says where that happened.
 */
export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  private pos = 0;
  private stall = 0;
  exhaustedAt = -1;
  /** First decision where the record and the fallback disagreed (another version of the strategy made the record), or -1. */
  departedAt = -1;
  constructor(
    private readonly source: ScheduleSource,
    private readonly fallback?: Strategy,
  ) {}
  takeStall(): number {
    const s = this.stall;
    this.stall = 0;
    return s;
  }
  choose(cands: readonly Task[], now: number): number {
    const shadow = this.fallback ? this.fallback.choose(cands, now) : -1;
    const shadowStall = this.fallback ? this.fallback.takeStall() : 0;
    const d = this.source.next();
    if (d < 0) {
      if (!this.fallback) throw new ReplayDiverged(`the recorded schedule ended after ${this.pos} decisions`);
      if (this.exhaustedAt < 0) this.exhaustedAt = this.pos;
      this.pos++;
      this.stall = shadowStall;
      return shadow;
    }
    this.stall = this.source.stall;
    if (this.departedAt < 0 && this.fallback && (d !== shadow || this.stall !== shadowStall)) this.departedAt = this.pos;
    this.pos++;
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

  /** The whole record at once (tests, small schedules); replays read it with ScheduleReader instead. */
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

export class ScheduleEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleEncodingError';
  }
}

/**
 * Decodes DecisionLog text one decision at a time. Text is appended in
 * pieces (one journal `sched` line each) as the replay consumes it; `more`
 * is asked for the next piece when the current one runs out and returns
 * undefined at the end of the record.
 */
export class ScheduleReader implements ScheduleSource {
  private text = '';
  private i = 0;
  private repeat = 0;
  private value = 0;
  stall = 0;
  /** Decisions handed out so far. */
  count = 0;

  constructor(private readonly more: () => string | undefined) {}

  static of(text: string): ScheduleReader {
    let given = false;
    return new ScheduleReader(() => (given ? undefined : ((given = true), text)));
  }

  next(): number {
    this.stall = 0;
    if (this.repeat > 0) {
      this.repeat--;
      this.count++;
      return this.value;
    }
    while (this.i >= this.text.length) {
      const piece = this.more();
      if (piece === undefined) return -1;
      this.text = piece;
      this.i = 0;
    }
    const s = this.text;
    let i = this.i;
    let v: number;
    if (s[i] === '{') {
      const j = s.indexOf('}', i);
      v = j < 0 ? NaN : Number(s.slice(i + 1, j));
      if (!Number.isInteger(v) || v < 0) throw new ScheduleEncodingError(`bad schedule encoding at decision ${this.count}: ${JSON.stringify(s.slice(i, i + 12))}`);
      i = j + 1;
    } else {
      v = parseInt(s[i]!, 36);
      if (Number.isNaN(v)) throw new ScheduleEncodingError(`bad schedule encoding at decision ${this.count}: ${JSON.stringify(s[i])}`);
      i++;
    }
    if (s[i] === '*' || s[i] === '!') {
      const j = s.indexOf(';', i);
      const n = j < 0 ? NaN : Number(s.slice(i + 1, j));
      if (!Number.isSafeInteger(n) || n < 0) throw new ScheduleEncodingError(`bad schedule encoding at decision ${this.count}: ${JSON.stringify(s.slice(i, i + 12))}`);
      if (s[i] === '!') this.stall = n;
      else if (n === 0) {
        this.i = j + 1;
        return this.next();
      } else {
        this.value = v;
        this.repeat = n - 1;
      }
      i = j + 1;
    }
    this.i = i;
    this.count++;
    return v;
  }
}
