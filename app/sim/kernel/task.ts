// A schedulable context in the simulated kernel: a user lane (a thread making
// syscalls), an interrupt handler, or a kernel thread. Kernel code is written
// as generators; every `yield` is a point where the real code can be preempted
// or where another CPU can get in between (a lock boundary, a load/store that
// matters for a race). What a generator yields tells the scheduler what to do.
import type { WaitQueue } from './sync.js';

export type Ctx = 'user' | 'irq' | 'kthread';

/** Linux task states as shown in /proc and hung-task reports. */
export type TaskState = 'R' | 'S' | 'D' | 'Z';

export const enum YieldKind {
  Block = 1,
  Sleep = 2,
  Spend = 3,
}

/** Sleep on a wait queue until woken (or until `until`, if given). */
export interface BlockReq {
  kind: YieldKind.Block;
  wq: WaitQueue;
  /** 'S' interruptible (signals wake it), 'D' uninterruptible, 'R' spinning on a lock. */
  state: 'S' | 'D' | 'R';
  until: number;
  at: string;
  stack: readonly string[];
}

/** Sleep until a virtual time, not on any queue. */
export interface SleepReq {
  kind: YieldKind.Sleep;
  until: number;
  state: 'S' | 'D';
  at: string;
  stack: readonly string[];
}

/** Consume CPU time (a copy, a udelay) without leaving the run queue. */
export interface SpendReq {
  kind: YieldKind.Spend;
  ns: number;
  at: string;
}

/** A plain string is a preemption point labelled "function: what happens next". */
export type Yield = string | BlockReq | SleepReq | SpendReq;

export type KGen<T = void> = Generator<Yield, T, WakeReason | undefined>;

/** Why a blocked task was resumed. */
export const enum WakeReason {
  Woken = 1,
  Timeout = 2,
  Signal = 3,
}

export class Task {
  state: TaskState = 'R';
  readyAt: number;
  prio = 0;
  /** Set while blocked on a wait queue. */
  wq: WaitQueue | null = null;
  /** Absolute virtual time at which a sleep/timeout ends (Infinity: none). */
  until = Infinity;
  wake: WakeReason | undefined = undefined;
  /** Label of the last preemption point reached. */
  at = 'start';
  /** Kernel call stack at the point the task blocked, innermost first. */
  stack: readonly string[] = [];
  /**
   * The kernel functions the task is inside right now, outermost first, as
   * the few paths that can reach a driver callback from several callers push
   * them (Kernel.enter): a report from the callback then names the real
   * caller chain (an ioctl, or the period interrupt) instead of a guessed one.
   */
  readonly frames: string[] = [];
  blockedSince = 0;
  /** Context switches, as khungtaskd compares them. */
  switches = 0;
  pendingSignal = false;
  /** Parked waiting for a spinlock: busy on its CPU, so state R to the outside. */
  spinning = false;
  result: unknown;
  error: unknown;
  /** Heap position while in the sleepers heap (-1 when not there). */
  heapIndex = -1;
  // One reusable request of each kind: the scheduler consumes a request as
  // soon as it is yielded, so a task never has two outstanding. Waiting is
  // the most frequent thing tasks do; this keeps it allocation-free.
  private readonly blockReq: BlockReq = { kind: YieldKind.Block, wq: null as unknown as WaitQueue, state: 'S', until: Infinity, at: '', stack: [] };
  private readonly sleepReq: SleepReq = { kind: YieldKind.Sleep, until: 0, state: 'S', at: '', stack: [] };
  private readonly spendReq: SpendReq = { kind: YieldKind.Spend, ns: 0, at: '' };

  /** A request to sleep on `wq` (yield it). */
  block(wq: WaitQueue, state: 'S' | 'D' | 'R', until: number, at: string, stack: readonly string[]): BlockReq {
    const r = this.blockReq;
    r.wq = wq;
    r.state = state;
    r.until = until;
    r.at = at;
    r.stack = stack;
    return r;
  }

  /** A request to sleep until a virtual time (yield it). */
  sleepUntil(until: number, state: 'S' | 'D', at: string, stack: readonly string[]): SleepReq {
    const r = this.sleepReq;
    r.until = until;
    r.state = state;
    r.at = at;
    r.stack = stack;
    return r;
  }

  /** A request to spend CPU time without leaving the run queue (yield it). */
  spend(ns: number, at: string): SpendReq {
    const r = this.spendReq;
    r.ns = ns;
    r.at = at;
    return r;
  }

  constructor(
    readonly id: number,
    readonly name: string,
    readonly pid: number,
    readonly ctx: Ctx,
    public gen: KGen<unknown> | null,
    start: number,
  ) {
    this.readyAt = start;
  }

  /** The comm a kernel report prints (at most 15 characters, like TASK_COMM_LEN). */
  get comm(): string {
    return this.name.slice(0, 15);
  }

  get done(): boolean {
    return this.state === 'Z';
  }
}

/** A finished iterator that returns `value`: for non-generator functions that must look like one. */
export function returns<T>(value: T): KGen<T> {
  const r: IteratorReturnResult<T> = { done: true, value };
  return {
    next: () => r,
    return: () => r,
    throw: (e: unknown) => {
      throw e;
    },
    [Symbol.iterator]() {
      return this;
    },
  } as unknown as KGen<T>;
}
