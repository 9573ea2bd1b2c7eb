// Kernel synchronisation primitives, modelled at the level that matters for
// races: who may run while whom waits. Spinning is modelled as waiting on the
// lock (state R, so the hung-task detector ignores it, as in Linux).
import { type KGen, type Task, WakeReason, YieldKind, returns } from './task.js';

export class WaitQueue {
  readonly waiters: Task[] = [];
  constructor(readonly name: string) {}
}

export class SpinLock {
  owner: Task | null = null;
  readonly wq: WaitQueue;
  constructor(readonly name: string) {
    this.wq = new WaitQueue(name);
  }
}

export class Mutex {
  owner: Task | null = null;
  readonly wq: WaitQueue;
  constructor(readonly name: string) {
    this.wq = new WaitQueue(name);
  }
}

/** What kernel code needs from the kernel to synchronise. */
export interface SyncHost {
  readonly current: Task;
  readonly now: number;
  wakeUp(wq: WaitQueue): void;
}

/**
 * Uncontended lock paths return an already-finished iterator so that
 * `yield* spinLock(...)` costs no generator allocation: lock acquisitions are
 * the hottest thing the simulated kernel does.
 */
const DONE: KGen = returns(undefined);

export function spinLock(k: SyncHost, l: SpinLock, at: string): KGen {
  if (!l.owner) {
    l.owner = k.current;
    return DONE;
  }
  return spinLockSlow(k, l, at);
}

function* spinLockSlow(k: SyncHost, l: SpinLock, at: string): KGen {
  while (l.owner) {
    if (l.owner === k.current) throw new Error(`recursive spin_lock of ${l.name} at ${at}`);
    yield { kind: YieldKind.Block, wq: l.wq, state: 'R', until: Infinity, at: `${at} (spinning on ${l.name})`, stack: [] };
  }
  l.owner = k.current;
}

export function spinUnlock(k: SyncHost, l: SpinLock): void {
  l.owner = null;
  if (l.wq.waiters.length) k.wakeUp(l.wq);
}

export function spinTryLock(k: SyncHost, l: SpinLock): boolean {
  if (l.owner) return false;
  l.owner = k.current;
  return true;
}

export function mutexLock(k: SyncHost, m: Mutex, at: string, stack: readonly string[]): KGen {
  if (!m.owner) {
    m.owner = k.current;
    return DONE;
  }
  return mutexLockSlow(k, m, at, stack);
}

function* mutexLockSlow(k: SyncHost, m: Mutex, at: string, stack: readonly string[]): KGen {
  while (m.owner) {
    if (m.owner === k.current) throw new Error(`recursive mutex_lock of ${m.name} at ${at}`);
    yield { kind: YieldKind.Block, wq: m.wq, state: 'D', until: Infinity, at: `${at} (waiting for ${m.name})`, stack: ['__mutex_lock', 'mutex_lock', ...stack] };
  }
  m.owner = k.current;
}

export function mutexUnlock(k: SyncHost, m: Mutex): void {
  m.owner = null;
  if (m.wq.waiters.length) k.wakeUp(m.wq);
}

/**
 * Sleep on `wq` until `cond()` holds. Returns the wake reason that ended the
 * wait: Woken when the condition became true, Signal or Timeout otherwise.
 * Like wait_event_*: the condition is rechecked after every wakeup.
 */
export function* waitEvent(
  k: SyncHost,
  wq: WaitQueue,
  cond: () => boolean,
  state: 'S' | 'D',
  timeoutNs: number,
  at: string,
  stack: readonly string[],
): KGen<WakeReason> {
  const until = timeoutNs === Infinity ? Infinity : k.now + timeoutNs;
  while (!cond()) {
    const r = yield k.current.block(wq, state, until, at, stack);
    if (cond()) break;
    if (r === WakeReason.Signal) return WakeReason.Signal;
    if (r === WakeReason.Timeout) return WakeReason.Timeout;
  }
  return WakeReason.Woken;
}

/** schedule_timeout(): sleep for a while, not on any queue. */
export function* scheduleTimeout(k: SyncHost, ns: number, state: 'S' | 'D', at: string, stack: readonly string[]): KGen<WakeReason> {
  const r = yield k.current.sleepUntil(k.now + ns, state, at, stack);
  return r ?? WakeReason.Timeout;
}

/** struct rw_semaphore: many readers or one writer; waiters sleep in D state. */
export class RwSem {
  readers = 0;
  writer: import('./task.js').Task | null = null;
  readonly wq: WaitQueue;
  constructor(readonly name: string) {
    this.wq = new WaitQueue(name);
  }
}

export function* downRead(k: SyncHost, s: RwSem, at: string, stack: readonly string[]): KGen {
  while (s.writer) yield { kind: YieldKind.Block, wq: s.wq, state: 'D', until: Infinity, at: `${at} (waiting for ${s.name})`, stack: ['rwsem_down_read_slowpath', 'down_read', ...stack] };
  s.readers++;
}

export function upRead(k: SyncHost, s: RwSem): void {
  s.readers--;
  if (s.readers === 0 && s.wq.waiters.length) k.wakeUp(s.wq);
}

export function* downWrite(k: SyncHost, s: RwSem, at: string, stack: readonly string[]): KGen {
  while (s.writer || s.readers > 0) yield { kind: YieldKind.Block, wq: s.wq, state: 'D', until: Infinity, at: `${at} (waiting for ${s.name})`, stack: ['rwsem_down_write_slowpath', 'down_write', ...stack] };
  s.writer = k.current;
}

export function upWrite(k: SyncHost, s: RwSem): void {
  s.writer = null;
  if (s.wq.waiters.length) k.wakeUp(s.wq);
}
