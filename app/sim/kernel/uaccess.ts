// copy_to_user / copy_from_user against the user memory the lab lays out for
// a step (app/program/README.md, "Buffers"): ordinary memory up to an edge,
// then either nothing (the tail is unmapped: the copy stops there and the
// caller answers EFAULT) or pages registered with userfaultfd (the first
// touch blocks the copying task in handle_userfault until the lab's fault
// handler resolves the page, after its barrier). Without a buffer, or before
// the edge, a copy just succeeds: the simulator keeps no user bytes.
import type { KGen } from './task.js';

export interface UserBuffer {
  /** Byte offset where ordinary memory ends; Infinity: the whole buffer is ordinary. */
  readonly edge: number;
  /** Past the edge: 'unmapped' (PROT_NONE) or 'held' (userfaultfd, MISSING mode). */
  readonly tail: 'unmapped' | 'held';
  /** The fault handler's work before it resolves the held pages (the interpreter sets it). */
  readonly onFault?: () => KGen<void>;
  /** The kernel touched the held part (the handler ran once; the pages are resolved from then on). */
  faulted: boolean;
}

export function userBuffer(edge: number, tail: 'unmapped' | 'held', onFault?: () => KGen<void>): UserBuffer {
  return { edge: edge < 0 ? Infinity : edge, tail, ...(onFault ? { onFault } : {}), faulted: false };
}

/**
 * Copy `len` bytes at byte `off` of the user buffer, either direction:
 * returns the bytes NOT copied, as Linux's copy_{to,from}_user do (0: all).
 */
export function* copy_user(buf: UserBuffer | undefined, off: number, len: number): KGen<number> {
  if (!buf || len <= 0 || off + len <= buf.edge) return 0;
  if (buf.tail === 'unmapped') return off >= buf.edge ? len : off + len - buf.edge;
  if (!buf.faulted) {
    // UFFDIO_COPY resolves every held page at once: only the first touch waits.
    buf.faulted = true;
    if (buf.onFault) yield* buf.onFault();
  }
  return 0;
}
