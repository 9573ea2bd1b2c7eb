// Sequencer clients, ports and subscriptions (seq_clientmgr.c, seq_ports.c):
// open/release, read() with put-back on copy failure, write() of direct
// events delivered to a port or to its subscribers, and the pool ioctls.
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { KObject } from '../kernel/memory.js';
import { Mutex, mutexLock, mutexUnlock } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';
import { type FileOps, type Req, SimFile } from '../core/file.js';
import { UseLock, snd_use_lock_free, snd_use_lock_sync, snd_use_lock_use } from './seq_lock.js';
import { SEQ_EVENT_SIZE, type SeqAddr, type SeqEvent, type SeqPool, cellsFor, snd_seq_pool_delete, snd_seq_pool_new, snd_seq_unused_cells } from './seq_memory.js';
import {
  type SeqFifo,
  type SeqOracle,
  snd_seq_fifo_cell_out,
  snd_seq_fifo_cell_putback,
  snd_seq_fifo_clear,
  snd_seq_fifo_delete,
  snd_seq_fifo_event_in,
  snd_seq_fifo_new,
  snd_seq_fifo_resize,
  snd_seq_fifo_unused_cells,
} from './seq_fifo.js';
import { snd_seq_cell_free } from './seq_memory.js';
import type { SeqClientInfo } from '../../devices/types.js';

const E = ERRNO;

export const SUBSCRIBERS = 254;
export const DEFAULT_CLIENT_EVENTS = 200;
export const DEFAULT_EVENTS = 500;
export const MAX_CLIENT_EVENTS = 2000;
export const MAX_EVENTS = 2000;

export const CAP_READ = 1;
export const CAP_WRITE = 2;
export const CAP_SUBS_READ = 0x20;
export const CAP_SUBS_WRITE = 0x40;

export class SeqPort {
  readonly subscribers: SeqAddr[] = [];
  readonly subscribedFrom: SeqAddr[] = [];
  constructor(
    readonly client: SeqClient,
    readonly port: number,
    public name: string,
    public caps: number,
    /** Kernel clients: what happens to an event delivered to this port. */
    readonly eventInput?: (k: Kernel, ev: SeqEvent, hop: number) => KGen<number>,
  ) {}
}

export class SeqClient extends KObject {
  readonly ports: SeqPort[] = [];
  readonly ioctl_mutex = new Mutex('client->ioctl_mutex');
  readonly use_lock = new UseLock('client->use_lock');
  fifo: SeqFifo | null = null;
  fifo_pool_size = DEFAULT_CLIENT_EVENTS;
  pool: SeqPool | null = null;
  accept_input = true;
  accept_output = true;
  deleted = false;
  card?: number;
  constructor(
    readonly number: number,
    public name: string,
    readonly type: 'user' | 'kernel',
  ) {
    super('kmalloc-2k', 2048);
  }
}

export class SeqCore {
  readonly clients = new Map<number, SeqClient>();
  constructor(readonly oracle: SeqOracle) {}

  port(a: SeqAddr): SeqPort | undefined {
    return this.clients.get(a.client)?.ports.find((p) => p.port === a.port);
  }

  info(): SeqClientInfo[] {
    return [...this.clients.values()]
      .sort((a, b) => a.number - b.number)
      .map((c) => ({
        client: c.number,
        name: c.name,
        type: c.type,
        ...(c.card !== undefined ? { card: c.card } : {}),
        ports: c.ports.map((p) => ({
          port: p.port,
          name: p.name,
          caps: capNames(p.caps),
          connectedTo: p.subscribers.map((s) => `${s.client}:${s.port}`),
          connectedFrom: p.subscribedFrom.map((s) => `${s.client}:${s.port}`),
        })),
      }));
  }
}

function capNames(caps: number): string[] {
  const out: string[] = [];
  if (caps & CAP_READ) out.push('read');
  if (caps & CAP_WRITE) out.push('write');
  if (caps & CAP_SUBS_READ) out.push('subs_read');
  if (caps & CAP_SUBS_WRITE) out.push('subs_write');
  return out;
}

export function kernelClient(core: SeqCore, number: number, name: string): SeqClient {
  const c = new SeqClient(number, name, 'kernel');
  core.clients.set(number, c);
  return c;
}

// ---- delivery ----

function* snd_seq_deliver_single_event(k: Kernel, core: SeqCore, ev: SeqEvent, hop: number): KGen<number> {
  const dest = core.clients.get(ev.dest.client);
  if (!dest || dest.deleted || !dest.accept_input) return -E.ENOENT;
  snd_use_lock_use(dest.use_lock);
  let r: number;
  const port = dest.ports.find((p) => p.port === ev.dest.port);
  if (!port) r = -E.ENOENT;
  else if (!(port.caps & CAP_WRITE)) r = -E.EPERM;
  else if (dest.type === 'user') r = dest.fifo ? yield* snd_seq_fifo_event_in(k, dest.fifo, ev) : -E.ENOENT;
  else r = port.eventInput ? yield* port.eventInput(k, ev, hop) : 0;
  snd_use_lock_free(dest.use_lock);
  return r;
}

/** snd_seq_deliver_event(): to one port, or to every subscriber (first error wins). */
export function* snd_seq_deliver_event(k: Kernel, core: SeqCore, ev: SeqEvent, hop: number): KGen<number> {
  if (hop >= 8) return -E.EMFILE;
  if (ev.dest.client !== SUBSCRIBERS) return yield* snd_seq_deliver_single_event(k, core, ev, hop);
  const src = core.port(ev.source);
  if (!src) return -E.EINVAL;
  let first = 0;
  let delivered = 0;
  for (const sub of [...src.subscribers]) {
    const r = yield* snd_seq_deliver_single_event(k, core, { ...ev, dest: { ...sub } }, hop);
    if (r < 0) {
      if (!first) first = r;
    } else delivered++;
  }
  return first || delivered;
}

// ---- the file: open, read, write, ioctl, release ----

export interface SeqFilePriv {
  client: SeqClient;
}

function clientOf(f: SimFile): SeqClient {
  return (f.priv as SeqFilePriv).client;
}

export interface SeqReadArg {
  /** Size of the reader's buffer in bytes (read(2)'s count). */
  bytes: number;
  /** copy_to_user fails (the lab passes an unmapped buffer). */
  fault: boolean;
  /** Read as if the file had O_NONBLOCK. */
  nonblock?: boolean;
}

/** snd_seq_read(): events read go to out.events as [tag, n]. */
function* snd_seq_read(k: Kernel, core: SeqCore, f: SimFile, arg: SeqReadArg, out: Record<string, unknown>): KGen<number> {
  const client = clientOf(f);
  const fifo = client.fifo;
  if (!client.accept_input || !fifo) return -E.ENXIO;
  const events: [string, number][] = [];
  out.events = events;
  out.foreign = 0;
  if (fifo.overflow > 0) {
    yield* snd_seq_fifo_clear(k, fifo, core.oracle, 'overflow-clear');
    return -E.ENOSPC;
  }
  const stack = ['snd_seq_read', 'vfs_read', 'ksys_read'];
  snd_use_lock_use(fifo.use_lock);
  let count = arg.bytes;
  let result = 0;
  let err = 0;
  let cell = null;
  while (count >= SEQ_EVENT_SIZE) {
    const nonblock = f.nonblock || Boolean(arg.nonblock) || result > 0;
    const r = yield* snd_seq_fifo_cell_out(k, fifo, nonblock, stack);
    if (!r.cell) {
      err = r.err;
      break;
    }
    cell = r.cell;
    yield 'snd_seq_read: copy_to_user';
    if (arg.fault) {
      err = -E.EFAULT;
      break;
    }
    const ev = cell.event!;
    count -= SEQ_EVENT_SIZE;
    const extra = cellsFor(ev) * SEQ_EVENT_SIZE;
    if (ev.type === 'sysex') {
      // snd_seq_expand_var_event(): -EAGAIN when the rest of the buffer is too small.
      if (count < extra) {
        err = -E.EAGAIN;
        break;
      }
      count -= extra;
      result += extra;
    }
    if (ev.tag) events.push([ev.tag, ev.n]);
    else (out.foreign as number)++;
    yield* snd_seq_cell_free(k, cell);
    cell = null;
    result += SEQ_EVENT_SIZE;
  }
  if (err < 0) {
    if (cell) yield* snd_seq_fifo_cell_putback(k, fifo, cell);
    if (err === -E.EAGAIN && result > 0) err = 0;
  }
  snd_use_lock_free(fifo.use_lock);
  return err < 0 ? err : events.length + (out.foreign as number);
}

export interface SeqWriteArg {
  events: SeqEvent[];
}

/** snd_seq_write(): returns the number of events accepted, or the first error. */
function* snd_seq_write(k: Kernel, core: SeqCore, f: SimFile, arg: SeqWriteArg): KGen<number> {
  const client = clientOf(f);
  if (!client.accept_output || !client.pool) return -E.ENXIO;
  yield* mutexLock(k, client.ioctl_mutex, 'snd_seq_write: mutex_lock(&client->ioctl_mutex)', ['snd_seq_write', 'vfs_write', 'ksys_write']);
  let written = 0;
  let err = 0;
  for (const ev of arg.events) {
    ev.source = { client: client.number, port: ev.source.port };
    if (ev.dest.client === SUBSCRIBERS && !client.ports.some((p) => p.port === ev.source.port)) {
      err = -E.EINVAL;
      break;
    }
    const r = yield* snd_seq_deliver_event(k, core, ev, 0);
    if (r < 0) {
      err = r;
      break;
    }
    written++;
  }
  mutexUnlock(k, client.ioctl_mutex);
  return written ? written : err;
}

export interface PoolInfo {
  input_pool: number;
  input_free: number;
  output_pool: number;
  output_free: number;
  output_room: number;
}

function* snd_seq_ioctl_get_client_pool(k: Kernel, client: SeqClient): KGen<PoolInfo> {
  const input_free = client.fifo ? yield* snd_seq_fifo_unused_cells(k, client.fifo) : 0;
  return {
    input_pool: client.fifo_pool_size,
    input_free,
    output_pool: client.pool?.size ?? 0,
    output_free: snd_seq_unused_cells(client.pool),
    output_room: client.pool?.room ?? 0,
  };
}

export interface SetPoolArg {
  input_pool?: number;
  output_pool?: number;
  output_room?: number;
}

function* snd_seq_ioctl_set_client_pool(k: Kernel, core: SeqCore, client: SeqClient, a: SetPoolArg, out: Record<string, unknown>): KGen<number> {
  const ip = a.input_pool ?? 0;
  const op = a.output_pool ?? 0;
  if (op >= 1 && op <= MAX_EVENTS && client.pool && op !== client.pool.size) {
    // The output pool is only allocated by write(); resizing an unallocated one just records the size.
    if (client.pool.ptr && client.pool.counter) return -E.EBUSY;
    client.pool.size = op;
  }
  if (client.type === 'user' && client.fifo && ip >= 1 && ip <= MAX_CLIENT_EVENTS && ip !== client.fifo_pool_size) {
    const rc = yield* snd_seq_fifo_resize(k, client.fifo, ip, core.oracle);
    if (rc < 0) return rc;
    client.fifo_pool_size = ip;
  }
  if (a.output_room !== undefined && client.pool && a.output_room >= 1 && a.output_room <= client.pool.size) client.pool.room = a.output_room;
  Object.assign(out, yield* snd_seq_ioctl_get_client_pool(k, client));
  return 0;
}

export interface CreatePortArg {
  name: string;
  port?: number;
}

export interface SubscribeArg {
  sender: SeqAddr;
  dest: SeqAddr;
}

function* snd_seq_ioctl(k: Kernel, core: SeqCore, f: SimFile, r: Req): KGen<number> {
  const client = clientOf(f);
  const out = (r.out ??= {});
  yield* mutexLock(k, client.ioctl_mutex, 'snd_seq_ioctl: mutex_lock(&client->ioctl_mutex)', ['snd_seq_ioctl']);
  let ret: number;
  switch (r.cmd) {
    case 'set_client_pool':
      ret = yield* snd_seq_ioctl_set_client_pool(k, core, client, r.arg as SetPoolArg, out);
      break;
    case 'get_client_pool':
      Object.assign(out, yield* snd_seq_ioctl_get_client_pool(k, client));
      ret = 0;
      break;
    case 'create_port': {
      const a = r.arg as CreatePortArg;
      const num = a.port ?? (client.ports.length ? Math.max(...client.ports.map((p) => p.port)) + 1 : 0);
      if (client.ports.some((p) => p.port === num)) ret = -E.EBUSY;
      else {
        client.ports.push(new SeqPort(client, num, a.name, CAP_READ | CAP_WRITE | CAP_SUBS_READ | CAP_SUBS_WRITE));
        out.port = num;
        ret = 0;
      }
      break;
    }
    case 'subscribe': {
      const a = r.arg as SubscribeArg;
      const sp = core.port(a.sender);
      const dp = core.port(a.dest);
      if (!sp || !dp) ret = -E.EINVAL;
      else if (!(sp.caps & CAP_SUBS_READ) || !(dp.caps & CAP_SUBS_WRITE)) ret = -E.EPERM;
      else if (sp.subscribers.some((s) => s.client === a.dest.client && s.port === a.dest.port)) ret = -E.EBUSY;
      else {
        sp.subscribers.push({ ...a.dest });
        dp.subscribedFrom.push({ ...a.sender });
        ret = 0;
      }
      break;
    }
    default:
      ret = -E.ENOTTY;
  }
  mutexUnlock(k, client.ioctl_mutex);
  return ret;
}

export function seqFops(core: SeqCore): FileOps {
  return {
    name: 'snd_seq_f_ops',
    ioctl: (k, f, r) => snd_seq_ioctl(k, core, f, r),
    read: (k, f, r) => snd_seq_read(k, core, f, r.arg as SeqReadArg, (r.out ??= {})),
    write: (k, f, r) => snd_seq_write(k, core, f, r.arg as SeqWriteArg),
    release: (k, f) => snd_seq_release(k, core, f),
  };
}

/** open("/dev/snd/seq", O_RDWR): a user client numbered from 128. */
export function* snd_seq_open(k: Kernel, core: SeqCore, name: string, nonblock: boolean): KGen<{ err: number; file?: SimFile; client?: SeqClient }> {
  let num = 128;
  while (core.clients.has(num)) num++;
  if (num > 191) return { err: -E.ENOMEM };
  const client = k.alloc(new SeqClient(num, name, 'user'), ['seq_create_client1', 'snd_seq_open']);
  core.clients.set(num, client);
  client.pool = snd_seq_pool_new(k, DEFAULT_EVENTS, ['snd_seq_open']);
  client.fifo = yield* snd_seq_fifo_new(k, DEFAULT_CLIENT_EVENTS);
  yield 'snd_seq_open: client created';
  const f = new SimFile(seqFops(core), { client } satisfies SeqFilePriv, nonblock, null, '/dev/snd/seq');
  return { err: 0, file: f, client };
}

function* snd_seq_release(k: Kernel, core: SeqCore, f: SimFile): KGen<number> {
  const client = clientOf(f);
  const stack = ['seq_free_client1', 'seq_free_client', 'snd_seq_release'];
  client.deleted = true;
  for (const p of client.ports) {
    for (const s of p.subscribers) core.port(s)?.subscribedFrom.splice(core.port(s)!.subscribedFrom.findIndex((x) => x.client === client.number && x.port === p.port), 1);
    for (const s of p.subscribedFrom) {
      const sp = core.port(s);
      if (sp) sp.subscribers.splice(sp.subscribers.findIndex((x) => x.client === client.number && x.port === p.port), 1);
    }
  }
  yield* snd_use_lock_sync(k, client.use_lock, 'sound/core/seq/seq_clientmgr.c', 293, stack);
  core.clients.delete(client.number);
  if (client.fifo) yield* snd_seq_fifo_delete(k, client.fifo, core.oracle);
  if (client.pool) yield* snd_seq_pool_delete(k, client.pool, stack);
  k.kfree(client, stack);
  return 0;
}

export { snd_seq_read as _snd_seq_read_for_tests };
