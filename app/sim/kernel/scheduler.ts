// The discrete-event core of the simulated kernel.
//
// Time model: every task has a ready time. Tasks whose ready times fall inside
// the same window of `quantum` ns are "running at the same moment on different
// CPUs"; the strategy (PCT, random, or a recorded schedule) decides the order
// of their steps. A step is the code between two yields; it takes `stepCost`
// ns, so a kernel path spans real (virtual) time and can overlap an interrupt
// or another CPU's syscall the way it does on hardware. Time only moves
// forward; when nothing is runnable it jumps to the next timer.
import { TimeHeap } from './heap.js';
import { type Strategy, DecisionLog } from './strategy.js';
import { type Ctx, type KGen, Task, WakeReason, type Yield, YieldKind } from './task.js';
import type { WaitQueue } from './sync.js';
import type { Rng } from './rng.js';

export interface TraceEntry {
  t: number;
  task: Task;
  at: string;
}

interface HostTimer {
  at: number;
  id: number;
  heapIndex: number;
  fn: () => void;
}

/** Thrown by kernel code that crashes (oops); ends the task, or the kernel in IRQ context. */
export class KernelCrash extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
    this.name = 'KernelCrash';
  }
}

export type RunResult = 'time' | 'stopped' | 'idle' | 'panic' | 'budget' | 'livelock';

const TRACE_SIZE = 512;
/**
 * Steps at one virtual instant after which the run counts as live-locked.
 * Every step that does work costs time (30-300 ns), so a legitimate instant
 * holds about one step per task (all of them released at once, say);
 * thousands mean tasks hand control around without anything taking time
 * (a lane looping on a one-party barrier, two lanes ping-ponging on one).
 */
const LIVELOCK_STEPS = 20_000;
const LIVELOCK_STEPS_PER_TASK = 16;

export class Scheduler {
  /** Virtual time of the step being executed (ns). */
  clock = 0;
  current: Task;
  readonly tasks: Task[] = [];
  private readonly runnable: Task[] = [];
  private readonly sleepers = new TimeHeap<Task>(
    (t) => t.until,
    (t) => t.id,
  );
  private readonly timers = new TimeHeap<HostTimer>(
    (t) => t.at,
    (t) => t.id,
  );
  private nextId = 1;
  private nextPid = 1000;
  private timerId = 0;
  readonly decisions = new DecisionLog();
  decisionCount = 0;
  steps = 0;
  panicked = false;
  /** Virtual time stood still for too many steps (see LIVELOCK_STEPS); run() returns 'livelock' until cleared. */
  livelocked = false;
  private stillAt = -1;
  private stillSteps = 0;
  private readonly cands: Task[] = [];
  private readonly traceT = new Float64Array(TRACE_SIZE);
  private readonly traceTask: (Task | undefined)[] = new Array(TRACE_SIZE);
  private readonly traceAt: string[] = new Array(TRACE_SIZE);
  private tracePos = 0;
  private traceLen = 0;
  /** Called when a task ends: normally, by an exception, or killed by an oops. */
  onTaskExit: (t: Task) => void = () => {};

  constructor(
    readonly strategy: Strategy,
    private readonly envRng: Rng,
    readonly quantum: number,
    private readonly stepCostMin: number,
    private readonly stepCostMax: number,
  ) {
    // A placeholder "swapper" so `current` is never undefined outside steps.
    this.current = new Task(0, 'swapper/0', 0, 'kthread', null, 0);
  }

  /** Task count at which finished tasks are next forgotten. */
  private reapAt = 64;

  spawn(name: string, ctx: Ctx, gen: KGen<unknown>, at = this.clock, pid?: number): Task {
    // Interrupt handlers get a new task each time their timer starts: without this the
    // task list, and a run's memory, would grow with its length.
    if (this.tasks.length >= this.reapAt) {
      this.reap();
      this.reapAt = Math.max(64, 2 * this.tasks.length);
    }
    const t = new Task(this.nextId++, name, pid ?? (ctx === 'irq' ? 0 : this.nextPid++), ctx, gen, Math.max(at, this.clock));
    this.tasks.push(t);
    this.strategy.taskCreated(t);
    if (t.readyAt > this.clock + this.quantum) {
      t.state = 'S';
      t.until = t.readyAt;
      t.at = 'waiting to start';
      this.sleepers.push(t);
    } else this.runnable.push(t);
    return t;
  }

  /** Host-side callback at a virtual time (metrics sampling, watchdogs). Not a kernel task. */
  at(time: number, fn: () => void): { cancel(): void } {
    const timer: HostTimer = { at: Math.max(time, this.clock), id: this.timerId++, heapIndex: -1, fn };
    this.timers.push(timer);
    return { cancel: () => this.timers.remove(timer) };
  }

  wakeUp(wq: WaitQueue, reason: WakeReason = WakeReason.Woken): void {
    const ws = wq.waiters;
    if (!ws.length) return;
    const woken = ws.splice(0, ws.length);
    for (const t of woken) this.makeRunnable(t, reason);
  }

  /** Deliver a signal: interrupts interruptible sleeps, like SIGKILL does. */
  signal(t: Task): void {
    t.pendingSignal = true;
    if (t.state === 'S' && !t.spinning && !t.done) {
      if (t.wq) removeFrom(t.wq.waiters, t);
      this.makeRunnable(t, WakeReason.Signal);
    }
  }

  kill(t: Task): void {
    if (t.done) return;
    if (t.wq) removeFrom(t.wq.waiters, t);
    this.sleepers.remove(t);
    removeFrom(this.runnable, t);
    t.state = 'Z';
    t.gen = null;
    this.onTaskExit(t);
  }

  private makeRunnable(t: Task, reason: WakeReason): void {
    if (t.done || t.state === 'R') return;
    t.wq = null;
    this.sleepers.remove(t);
    t.until = Infinity;
    t.state = 'R';
    t.spinning = false;
    t.wake = reason;
    t.switches++;
    t.readyAt = Math.max(t.readyAt, this.clock);
    this.runnable.push(t);
  }

  /**
   * Run until virtual time `limit`, until `stop()` says so (checked between
   * steps), or until nothing can ever happen again.
   */
  /**
   * Set by the caller when something happened that may end its wait (a task
   * finished, an abort); run() returns 'stopped' at the next step and the
   * caller decides. Cheaper than asking a callback on every step.
   */
  attention = false;

  run(limit: number, maxSteps = Infinity): RunResult {
    const q = this.quantum;
    const runnable = this.runnable;
    const cands = this.cands;
    let budget = maxSteps;
    for (;;) {
      if (this.panicked) return 'panic';
      if (this.livelocked) return 'livelock';
      if (this.attention) return 'stopped';
      if (--budget < 0) return 'budget';
      // Earliest moment anything can happen.
      let tmin = Infinity;
      for (let i = 0; i < runnable.length; i++) if (runnable[i]!.readyAt < tmin) tmin = runnable[i]!.readyAt;
      const sl = this.sleepers.peek();
      const tm = this.timers.peek();
      const tnext = Math.min(tmin, sl ? sl.until : Infinity, tm ? tm.at : Infinity);
      if (tnext === Infinity) return 'idle';
      if (tnext > limit) {
        this.clock = Math.max(this.clock, limit);
        return 'time';
      }
      // Fast path: one runnable task and nothing else due within its window.
      if (runnable.length === 1 && tmin === tnext) {
        const only = runnable[0]!;
        const horizon1 = Math.max(tmin, this.clock) + q;
        if ((!sl || sl.until >= horizon1) && (!tm || tm.at >= horizon1)) {
          this.strategy.quiet();
          this.step(only);
          continue;
        }
      }
      // Host timers fire before kernel steps at the same time, in order.
      if (tm && tm.at <= tmin && tm.at <= (sl ? sl.until : Infinity)) {
        this.timers.pop();
        this.clock = Math.max(this.clock, tm.at);
        tm.fn();
        continue;
      }
      // Wake sleepers whose time has come within this window.
      const horizon = Math.max(tnext, this.clock) + q;
      for (let s = this.sleepers.peek(); s && s.until < horizon; s = this.sleepers.peek()) {
        this.sleepers.pop();
        if (s.wq) removeFrom(s.wq.waiters, s);
        s.wq = null;
        s.state = 'R';
        s.wake = WakeReason.Timeout;
        s.readyAt = Math.max(s.readyAt, s.until);
        s.until = Infinity;
        s.switches++;
        runnable.push(s);
        if (s.readyAt < tmin) tmin = s.readyAt;
      }
      const windowEnd = Math.max(tmin, this.clock) + q;
      // Most steps have exactly one candidate: find it without building a list.
      let n = 0;
      let single: Task | undefined;
      for (let i = 0; i < runnable.length; i++)
        if (runnable[i]!.readyAt < windowEnd) {
          n++;
          single = runnable[i];
        }
      let chosen: Task;
      if (n === 1) {
        chosen = single!;
        this.strategy.quiet();
      } else {
        cands.length = 0;
        for (let i = 0; i < runnable.length; i++) if (runnable[i]!.readyAt < windowEnd) cands.push(runnable[i]!);
        cands.sort(byId);
        const idx = this.strategy.choose(cands, Math.max(tmin, this.clock));
        const stall = this.strategy.takeStall();
        this.decisions.push(idx, stall);
        this.decisionCount++;
        chosen = cands[idx]!;
        if (stall) {
          this.step(chosen);
          if (!chosen.done && chosen.state === 'R') chosen.readyAt += stall;
          continue;
        }
      }
      this.step(chosen);
    }
  }

  private step(t: Task): void {
    this.current = t;
    if (t.readyAt > this.clock) this.clock = t.readyAt;
    this.steps++;
    if (this.clock !== this.stillAt) {
      this.stillAt = this.clock;
      this.stillSteps = 0;
    } else if (++this.stillSteps >= LIVELOCK_STEPS + LIVELOCK_STEPS_PER_TASK * this.tasks.length) this.livelocked = true;
    const wake = t.wake;
    t.wake = undefined;
    let r: IteratorResult<Yield, unknown>;
    try {
      r = t.gen!.next(wake);
    } catch (e) {
      if (e instanceof KernelCrash) {
        if (e.fatal) this.panicked = true;
        t.error = e;
        this.kill(t);
        return;
      }
      throw e;
    }
    if (r.done) {
      removeFrom(this.runnable, t);
      t.state = 'Z';
      t.result = r.value;
      t.gen = null;
      this.onTaskExit(t);
      return;
    }
    const y = r.value;
    if (typeof y === 'string') {
      t.at = y;
      this.trace(t, y);
      t.readyAt = this.clock + this.cost();
      return;
    }
    switch (y.kind) {
      case YieldKind.Spend:
        t.at = y.at;
        this.trace(t, y.at);
        t.readyAt = this.clock + y.ns;
        return;
      case YieldKind.Block:
        if (this.interruptedBySignal(t, y.state)) return;
        removeFrom(this.runnable, t);
        t.state = y.state === 'R' ? 'S' : y.state;
        t.spinning = y.state === 'R';
        t.at = y.at;
        t.stack = y.stack;
        t.blockedSince = this.clock;
        t.wq = y.wq;
        y.wq.waiters.push(t);
        t.until = y.until;
        if (y.until !== Infinity) this.sleepers.push(t);
        this.trace(t, y.at);
        return;
      case YieldKind.Sleep:
        if (this.interruptedBySignal(t, y.state)) return;
        removeFrom(this.runnable, t);
        t.state = y.state;
        t.at = y.at;
        t.stack = y.stack;
        t.blockedSince = this.clock;
        t.until = Math.max(y.until, this.clock);
        this.sleepers.push(t);
        return;
    }
  }

  /** An interruptible sleep with a signal already pending returns at once, as signal_pending() makes it. */
  private interruptedBySignal(t: Task, state: 'S' | 'D' | 'R'): boolean {
    if (!t.pendingSignal || state !== 'S') return false;
    t.pendingSignal = false;
    t.wake = WakeReason.Signal;
    t.readyAt = this.clock;
    return true;
  }

  private cost(): number {
    const { stepCostMin: a, stepCostMax: b } = this;
    return a === b ? a : a + ((this.envRng.u32() % (b - a + 1)) | 0);
  }

  private trace(t: Task, at: string): void {
    const i = this.tracePos;
    this.traceT[i] = this.clock;
    this.traceTask[i] = t;
    this.traceAt[i] = at;
    this.tracePos = (i + 1) % TRACE_SIZE;
    if (this.traceLen < TRACE_SIZE) this.traceLen++;
  }

  /** Forget a live-lock once the caller has dealt with it (e.g. told the lanes to stop). */
  clearLivelock(): void {
    this.livelocked = false;
    this.stillSteps = 0;
  }

  /** The most recent steps, oldest first. */
  recentSteps(n: number): TraceEntry[] {
    const k = Math.min(n, this.traceLen);
    const out: TraceEntry[] = [];
    for (let j = k; j > 0; j--) {
      const i = (this.tracePos - j + TRACE_SIZE) % TRACE_SIZE;
      out.push({ t: this.traceT[i]!, task: this.traceTask[i]!, at: this.traceAt[i]! });
    }
    return out;
  }

  /** Tasks that are alive, for reports and watchdogs. */
  live(): Task[] {
    return this.tasks.filter((t) => !t.done);
  }

  /** Forget finished tasks so long runs do not grow without bound. */
  reap(): void {
    let w = 0;
    for (const t of this.tasks) if (!t.done) this.tasks[w++] = t;
    this.tasks.length = w;
  }
}

function byId(a: Task, b: Task): number {
  return a.id - b.id;
}

/** Order-free removal (candidates are sorted by id when order matters). */
function removeFrom(xs: Task[], t: Task): void {
  const i = xs.indexOf(t);
  if (i < 0) return;
  const last = xs.pop()!;
  if (i < xs.length) xs[i] = last;
}
