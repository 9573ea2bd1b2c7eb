// Linux errno values (x86-64/generic). Events carry numbers, reports carry names.
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  EPIPE: 32,
  ERANGE: 34,
  ENOSYS: 38,
  ENODATA: 61,
  ETIME: 62,
  EBADFD: 77,
  ESTRPIPE: 86,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  ESHUTDOWN: 108,
  ECANCELED: 125,
  /** Kernel-internal, never seen by user space; the syscall layer restarts or turns it into EINTR. */
  ERESTARTSYS: 512,
} as const;

export type ErrnoName = keyof typeof ERRNO;
export const ERRNO_NAMES = Object.keys(ERRNO) as ErrnoName[];

const byNumber = new Map<number, ErrnoName>(Object.entries(ERRNO).map(([k, v]) => [v, k as ErrnoName]));

export function errnoName(n: number): string {
  const abs = Math.abs(n);
  return byNumber.get(abs) ?? `E#${abs}`;
}

export function errnoNumber(name: string): number | undefined {
  return (ERRNO as Record<string, number>)[name];
}
