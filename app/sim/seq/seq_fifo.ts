// The client input FIFO (seq_fifo.c), including SET_CLIENT_POOL's resize.
// `fixed` has the June-2026 fix: event_in revalidates the cell's pool under
// f->lock (and retries against the new pool), putback frees a stale cell.
// `seq-fifo-stale-cell` links stale old-pool cells into the new FIFO, which
// leaves snd_seq_pool_done() waiting for them (seed 000).
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { KObject } from '../kernel/memory.js';
import { SpinLock, WaitQueue, spinLock, spinUnlock } from '../kernel/sync.js';
import { type KGen, WakeReason } from '../kernel/task.js';
import { UseLock, snd_use_lock_free, snd_use_lock_sync, snd_use_lock_use } from './seq_lock.js';
import { type SeqCell, type SeqEvent, type SeqPool, snd_seq_cell_free, snd_seq_event_dup, snd_seq_pool_delete, snd_seq_pool_init, snd_seq_pool_mark_closing, snd_seq_pool_new, snd_seq_unused_cells } from './seq_memory.js';

const E = ERRNO;

export class SeqFifo extends KObject {
  head: SeqCell | null = null;
  tail: SeqCell | null = null;
  cells = 0;
  overflow = 0;
  readonly lock = new SpinLock('f->lock');
  readonly use_lock = new UseLock('f->use_lock');
  readonly input_sleep = new WaitQueue('f->input_sleep');
  constructor(public pool: SeqPool) {
    super('kmalloc-128', 128);
  }
}

/** Where discarded events go, so tests can compare the lab's accounting with the truth. */
export interface SeqOracle {
  discarded(ev: SeqEvent, why: 'resize' | 'overflow-clear' | 'close'): void;
}

export function* snd_seq_fifo_new(k: Kernel, poolsize: number): KGen<SeqFifo> {
  const pool = snd_seq_pool_new(k, poolsize, ['snd_seq_fifo_new']);
  yield* snd_seq_pool_init(k, pool);
  return k.alloc(new SeqFifo(pool), ['snd_seq_fifo_new', 'snd_seq_open']);
}

function fifoCellOut(f: SeqFifo): SeqCell | null {
  const cell = f.head;
  if (cell) {
    f.head = cell.next;
    if (f.tail === cell) f.tail = null;
    cell.next = null;
    f.cells--;
  }
  return cell;
}

export function* snd_seq_fifo_event_in(k: Kernel, f: SeqFifo, ev: SeqEvent): KGen<number> {
  snd_use_lock_use(f.use_lock);
  for (;;) {
    const pool = f.pool;
    yield 'snd_seq_fifo_event_in: pool = READ_ONCE(f->pool), duplicating';
    const r = yield* snd_seq_event_dup(k, pool, ev);
    if (!r.cell) {
      if (r.err === -E.ENOMEM || r.err === -E.EAGAIN) f.overflow++;
      snd_use_lock_free(f.use_lock);
      return r.err;
    }
    const cell = r.cell;
    yield 'snd_seq_fifo_event_in: cell allocated, linking under f->lock';
    yield* spinLock(k, f.lock, 'snd_seq_fifo_event_in: lock f->lock');
    if (!k.bug('seq-fifo-stale-cell') && cell.pool !== f.pool) {
      spinUnlock(k, f.lock);
      yield* snd_seq_cell_free(k, cell);
      continue; // retry against the replacement pool
    }
    if (f.tail) f.tail.next = cell;
    f.tail = cell;
    if (!f.head) f.head = cell;
    cell.next = null;
    f.cells++;
    spinUnlock(k, f.lock);
    if (f.input_sleep.waiters.length) k.wakeUp(f.input_sleep);
    snd_use_lock_free(f.use_lock);
    return 0;
  }
}

export function* snd_seq_fifo_cell_out(k: Kernel, f: SeqFifo, nonblock: boolean, stack: readonly string[]): KGen<{ err: number; cell?: SeqCell }> {
  yield* spinLock(k, f.lock, 'snd_seq_fifo_cell_out: lock f->lock');
  let cell: SeqCell | null;
  while ((cell = fifoCellOut(f)) === null) {
    if (nonblock) {
      spinUnlock(k, f.lock);
      return { err: -E.EAGAIN };
    }
    spinUnlock(k, f.lock);
    const why = yield k.current.block(f.input_sleep, 'S', Infinity, 'snd_seq_fifo_cell_out: sleeping for an event', ['schedule', 'snd_seq_fifo_cell_out', ...stack]);
    yield* spinLock(k, f.lock, 'snd_seq_fifo_cell_out: relock after wakeup');
    if (why === WakeReason.Signal) {
      spinUnlock(k, f.lock);
      return { err: -E.ERESTARTSYS };
    }
  }
  spinUnlock(k, f.lock);
  return { err: 0, cell };
}

export function* snd_seq_fifo_cell_putback(k: Kernel, f: SeqFifo, cell: SeqCell): KGen {
  yield* spinLock(k, f.lock, 'snd_seq_fifo_cell_putback: lock f->lock');
  if (!k.bug('seq-fifo-stale-cell') && cell.pool !== f.pool) {
    spinUnlock(k, f.lock);
    yield* snd_seq_cell_free(k, cell);
    return;
  }
  cell.next = f.head;
  f.head = cell;
  if (!f.tail) f.tail = cell;
  f.cells++;
  spinUnlock(k, f.lock);
}

export function* snd_seq_fifo_clear(k: Kernel, f: SeqFifo, oracle: SeqOracle, why: 'overflow-clear' | 'close'): KGen {
  f.overflow = 0;
  yield* snd_use_lock_sync(k, f.use_lock, 'sound/core/seq/seq_fifo.c', 82, ['snd_seq_fifo_clear']);
  yield* spinLock(k, f.lock, 'snd_seq_fifo_clear: lock f->lock');
  const drained: SeqCell[] = [];
  let c: SeqCell | null;
  while ((c = fifoCellOut(f)) !== null) drained.push(c);
  spinUnlock(k, f.lock);
  for (const cell of drained) {
    if (cell.event) oracle.discarded(cell.event, why);
    yield* snd_seq_cell_free(k, cell);
  }
}

const RESIZE = ['snd_seq_fifo_resize', 'snd_seq_ioctl_set_client_pool', 'snd_seq_ioctl'];

/** Swap the pool first, then wait for FIFO users, then drop the old cells. */
export function* snd_seq_fifo_resize(k: Kernel, f: SeqFifo, poolsize: number, oracle: SeqOracle): KGen<number> {
  const newpool = snd_seq_pool_new(k, poolsize, RESIZE);
  yield* snd_seq_pool_init(k, newpool);
  yield* spinLock(k, f.lock, 'snd_seq_fifo_resize: lock f->lock to swap pools');
  const oldpool = f.pool;
  let oldhead = f.head;
  f.pool = newpool;
  f.head = null;
  f.tail = null;
  f.cells = 0;
  spinUnlock(k, f.lock);
  yield 'snd_seq_fifo_resize: pools swapped, closing the old pool';
  yield* snd_seq_pool_mark_closing(k, oldpool);
  yield* snd_use_lock_sync(k, f.use_lock, 'sound/core/seq/seq_fifo.c', 262, RESIZE);
  yield 'snd_seq_fifo_resize: users gone, freeing the old cells';
  while (oldhead) {
    const next: SeqCell | null = oldhead.next;
    if (oldhead.event) oracle.discarded(oldhead.event, 'resize');
    yield* snd_seq_cell_free(k, oldhead);
    oldhead = next;
  }
  yield* snd_seq_pool_delete(k, oldpool, RESIZE);
  return 0;
}

export function* snd_seq_fifo_delete(k: Kernel, f: SeqFifo, oracle: SeqOracle): KGen {
  yield* snd_seq_pool_mark_closing(k, f.pool);
  yield* snd_seq_fifo_clear(k, f, oracle, 'close');
  if (f.input_sleep.waiters.length) k.wakeUp(f.input_sleep);
  yield* snd_seq_pool_delete(k, f.pool, ['snd_seq_fifo_delete', 'seq_free_client1', 'snd_seq_release']);
  k.kfree(f, ['snd_seq_fifo_delete', 'seq_free_client1', 'snd_seq_release']);
}

export function* snd_seq_fifo_unused_cells(k: Kernel, f: SeqFifo): KGen<number> {
  snd_use_lock_use(f.use_lock);
  yield* spinLock(k, f.lock, 'snd_seq_fifo_unused_cells: lock');
  const n = snd_seq_unused_cells(f.pool);
  spinUnlock(k, f.lock);
  snd_use_lock_free(f.use_lock);
  return n;
}
