// Event pools and cells (seq_memory.c). `counter` is the number of cells in
// use; snd_seq_pool_done() waits, uninterruptibly and without a time limit,
// until it reaches zero.
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { JIFFY } from '../kernel/kernel.js';
import { KObject } from '../kernel/memory.js';
import { SpinLock, WaitQueue, scheduleTimeout, spinLock, spinUnlock } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';

const E = ERRNO;
export const SEQ_EVENT_SIZE = 28;

export type SeqEventType = 'note' | 'controller' | 'sysex';

export interface SeqAddr {
  client: number;
  port: number;
}

export interface SeqEvent {
  type: SeqEventType;
  source: SeqAddr;
  dest: SeqAddr;
  /** Sending stream ("lane/handle") and the event's number within it. */
  tag: string;
  n: number;
  /** Variable-length payload bytes (sysex). */
  extLen: number;
}

export class SeqCell {
  next: SeqCell | null = null;
  event: SeqEvent | null = null;
  /** Extra cells holding a variable-length payload. */
  chained: SeqCell[] = [];
  constructor(readonly pool: SeqPool) {}
}

export class SeqPool extends KObject {
  ptr: SeqCell[] | null = null;
  free: SeqCell | null = null;
  total_elements = 0;
  counter = 0;
  room = 0;
  closing = false;
  max_used = 0;
  event_alloc_success = 0;
  event_alloc_failures = 0;
  readonly lock = new SpinLock('pool->lock');
  readonly output_sleep = new WaitQueue('pool->output_sleep');
  constructor(public size: number) {
    super('kmalloc-192', 192);
  }
}

export function cellsFor(ev: SeqEvent): number {
  return ev.type === 'sysex' ? Math.ceil(ev.extLen / SEQ_EVENT_SIZE) : 0;
}

export function snd_seq_pool_new(k: Kernel, size: number, stack: readonly string[]): SeqPool {
  return k.alloc(new SeqPool(size), ['snd_seq_pool_new', ...stack]);
}

export function* snd_seq_pool_init(k: Kernel, pool: SeqPool): KGen<number> {
  yield* spinLock(k, pool.lock, 'snd_seq_pool_init: lock');
  if (!pool.ptr) {
    pool.ptr = [];
    pool.free = null;
    for (let i = 0; i < pool.size; i++) {
      const c = new SeqCell(pool);
      c.next = pool.free;
      pool.free = c;
      pool.ptr.push(c);
    }
    pool.room = Math.floor((pool.size + 1) / 2);
    pool.max_used = 0;
    pool.total_elements = pool.size;
  }
  spinUnlock(k, pool.lock);
  return 0;
}

export function snd_seq_unused_cells(pool: SeqPool | null): number {
  return pool ? pool.total_elements - pool.counter : 0;
}

function freeCell(pool: SeqPool, cell: SeqCell): void {
  cell.next = pool.free;
  pool.free = cell;
  pool.counter--;
}

/** snd_seq_cell_free(): back into the pool the cell came from, whichever that is. */
export function* snd_seq_cell_free(k: Kernel, cell: SeqCell): KGen {
  const pool = cell.pool;
  yield* spinLock(k, pool.lock, 'snd_seq_cell_free: lock pool');
  freeCell(pool, cell);
  for (const c of cell.chained) freeCell(pool, c);
  cell.chained = [];
  cell.event = null;
  if (pool.output_sleep.waiters.length && snd_seq_unused_cells(pool) >= pool.room) k.wakeUp(pool.output_sleep);
  spinUnlock(k, pool.lock);
}

function* snd_seq_cell_alloc(k: Kernel, pool: SeqPool): KGen<{ err: number; cell?: SeqCell }> {
  yield* spinLock(k, pool.lock, 'snd_seq_cell_alloc: lock pool');
  let err = -E.EAGAIN;
  let cell: SeqCell | undefined;
  if (!pool.ptr) err = -E.EINVAL;
  else if (pool.closing) err = -E.ENOMEM;
  else if (pool.free) {
    cell = pool.free;
    pool.free = cell.next;
    cell.next = null;
    pool.counter++;
    if (pool.max_used < pool.counter) pool.max_used = pool.counter;
    pool.event_alloc_success++;
    err = 0;
  } else pool.event_alloc_failures++;
  spinUnlock(k, pool.lock);
  return cell ? { err: 0, cell } : { err };
}

/** snd_seq_event_dup() with nonblock=1 (the FIFO path never sleeps for cells). */
export function* snd_seq_event_dup(k: Kernel, pool: SeqPool, ev: SeqEvent): KGen<{ err: number; cell?: SeqCell }> {
  const ncells = cellsFor(ev);
  if (ncells >= pool.total_elements) return { err: -E.ENOMEM };
  const r = yield* snd_seq_cell_alloc(k, pool);
  if (!r.cell) return r;
  r.cell.event = { ...ev };
  for (let i = 0; i < ncells; i++) {
    const t = yield* snd_seq_cell_alloc(k, pool);
    if (!t.cell) {
      yield* snd_seq_cell_free(k, r.cell);
      return { err: t.err };
    }
    r.cell.chained.push(t.cell);
  }
  return r;
}

export function* snd_seq_pool_mark_closing(k: Kernel, pool: SeqPool): KGen {
  yield* spinLock(k, pool.lock, 'snd_seq_pool_mark_closing: lock');
  pool.closing = true;
  spinUnlock(k, pool.lock);
}

export function* snd_seq_pool_done(k: Kernel, pool: SeqPool, stack: readonly string[]): KGen {
  if (pool.output_sleep.waiters.length) k.wakeUp(pool.output_sleep);
  while (pool.counter > 0)
    yield* scheduleTimeout(k, JIFFY, 'D', `snd_seq_pool_done: waiting for ${pool.counter} cell(s) of the old pool`, ['schedule_timeout_uninterruptible', 'snd_seq_pool_done', ...stack]);
  yield* spinLock(k, pool.lock, 'snd_seq_pool_done: release cells');
  pool.ptr = null;
  pool.free = null;
  pool.total_elements = 0;
  spinUnlock(k, pool.lock);
  pool.closing = false;
}

export function* snd_seq_pool_delete(k: Kernel, pool: SeqPool, stack: readonly string[]): KGen {
  yield* snd_seq_pool_mark_closing(k, pool);
  yield* snd_seq_pool_done(k, pool, ['snd_seq_pool_delete', ...stack]);
  k.kfree(pool, ['snd_seq_pool_delete', ...stack]);
}
