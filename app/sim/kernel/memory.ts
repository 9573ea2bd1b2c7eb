// Kernel objects with a lifetime. The simulated kernel is a KASAN build: an
// access to a freed object produces a KASAN report at the faulting access
// (the first one only, as without kasan_multi_shot), and an access through a
// NULL pointer oopses. Accesses are checked only at the points the real code
// touches memory in a way that matters for the races we model.

/**
 * Deterministic fake kernel addresses (ffff8880xxxxxxxx). Each simulated
 * machine owns an address space and makes it current while it runs, so two
 * simulations in one process never disturb each other's addresses.
 */
export class AddressSpace {
  next = 0x03000000;
}

let space = new AddressSpace();

export function useAddressSpace(s: AddressSpace): void {
  space = s;
}

export interface AllocSite {
  pid: number;
  comm: string;
  /** The task's name (a lane, an interrupt handler), for the interleaving of a report. */
  task: string;
  stack: readonly string[];
}

/** Slab bookkeeping of one kernel object. Kept in one field so kernel structs keep their real field names. */
export interface KMem {
  readonly cache: string;
  readonly size: number;
  readonly addr: number;
  freed: boolean;
  alloc?: AllocSite;
  free?: AllocSite;
}

export class KObject {
  readonly kmem: KMem;

  constructor(cache: string, size: number) {
    const align = size >= 4096 ? 4096 : size >= 1024 ? 1024 : 64;
    space.next = Math.ceil(space.next / align) * align;
    this.kmem = { cache, size, addr: space.next, freed: false };
    space.next += Math.max(size, 64);
    if (space.next > 0x7fffffff) space.next = 0x03000000;
  }

  get freed(): boolean {
    return this.kmem.freed;
  }
}

export function hexAddr(low: number): string {
  return `ffff8880${(low >>> 0).toString(16).padStart(8, '0')}`;
}

export function hex16(n: number): string {
  return (n >>> 0).toString(16).padStart(16, '0');
}
