// struct file as the sound core sees it: swappable file operations (card
// disconnect replaces them), and a reference count so that close() while
// another thread is inside a syscall on the same file defers ->release to
// the end of that syscall, as fput() does.
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { type KGen, returns } from '../kernel/task.js';
import type { SndCard } from './card.js';

/** A request carried by an ioctl/read/write into a driver, already decoded. */
export interface Req {
  cmd: string;
  arg?: unknown;
  /** Filled by the callee for the caller (hw_params result, status...). */
  out?: Record<string, unknown>;
}

export interface FileOps {
  readonly name: string;
  ioctl(k: Kernel, f: SimFile, r: Req): KGen<number>;
  read(k: Kernel, f: SimFile, r: Req): KGen<number>;
  write(k: Kernel, f: SimFile, r: Req): KGen<number>;
  release(k: Kernel, f: SimFile): KGen<number>;
}

export class SimFile {
  /** One for the fd table, one per syscall in flight. */
  refs = 1;
  released = false;
  disconnected_fop: FileOps | null = null;

  constructor(
    public fop: FileOps,
    public priv: unknown,
    /** O_NONBLOCK; fcntl(F_SETFL) may change it after open. */
    public nonblock: boolean,
    readonly card: SndCard | null,
    readonly path: string,
  ) {}
}

/** fput() usually just drops a reference: a finished iterator, so it allocates nothing. */
const RETURNS_ZERO: KGen<number> = returns(0);

export function fput(k: Kernel, f: SimFile): KGen<number> {
  if (--f.refs > 0 || f.released) return RETURNS_ZERO;
  f.released = true;
  return f.fop.release(k, f);
}

/** fget(): a syscall in flight holds the file; pair with fput(). */
export function fget(f: SimFile): void {
  f.refs++;
}

export function* sysIoctl(k: Kernel, f: SimFile, r: Req): KGen<number> {
  f.refs++;
  const ret = yield* f.fop.ioctl(k, f, r);
  yield* fput(k, f);
  return ret;
}

export function* sysRead(k: Kernel, f: SimFile, r: Req): KGen<number> {
  f.refs++;
  const ret = yield* f.fop.read(k, f, r);
  yield* fput(k, f);
  return ret;
}

export function* sysWrite(k: Kernel, f: SimFile, r: Req): KGen<number> {
  f.refs++;
  const ret = yield* f.fop.write(k, f, r);
  yield* fput(k, f);
  return ret;
}

/** close(): always succeeds from the caller's view; release may run later. */
export function* sysClose(k: Kernel, f: SimFile): KGen<number> {
  yield* fput(k, f);
  return 0;
}

const ENODEV = -ERRNO.ENODEV;

/** snd_shutdown_f_ops: what every file of a disconnected card gets (sound/core/init.c). */
export const shutdownFops: FileOps = {
  name: 'snd_shutdown_f_ops',
  *ioctl() {
    return ENODEV;
  },
  *read() {
    return ENODEV;
  },
  *write() {
    return ENODEV;
  },
  *release(k, f) {
    // snd_disconnect_release: call the original release so the file is freed.
    const orig = f.disconnected_fop;
    return orig ? yield* orig.release(k, f) : 0;
  },
};
