// include/linux/list.h, enough of it: list_del() poisons the entry's
// pointers, so a walker that follows a deleted entry faults at
// LIST_POISON1 (0xdead000000000100) the way a real kernel does.
export interface ListNode<T> {
  next: ListNode<T> | typeof LIST_POISON1;
  prev: ListNode<T> | typeof LIST_POISON2;
  readonly owner: T | null;
}

export const LIST_POISON1 = Symbol('LIST_POISON1');
export const LIST_POISON2 = Symbol('LIST_POISON2');
export const POISON1_ADDR = 0x00000100;

export function listHead<T>(): ListNode<T> {
  const h: ListNode<T> = { next: null as never, prev: null as never, owner: null };
  h.next = h;
  h.prev = h;
  return h;
}

export function listNode<T>(owner: T): ListNode<T> {
  return { next: LIST_POISON1, prev: LIST_POISON2, owner };
}

export function listAdd<T>(n: ListNode<T>, head: ListNode<T>): void {
  const next = head.next as ListNode<T>;
  n.next = next;
  n.prev = head;
  next.prev = n;
  head.next = n;
}

export function listDel<T>(n: ListNode<T>): void {
  const prev = n.prev as ListNode<T>;
  const next = n.next as ListNode<T>;
  next.prev = prev;
  prev.next = next;
  n.next = LIST_POISON1;
  n.prev = LIST_POISON2;
}

export function listEntries<T>(head: ListNode<T>): T[] {
  const out: T[] = [];
  for (let p = head.next; p !== head && p !== LIST_POISON1; p = (p as ListNode<T>).next) out.push((p as ListNode<T>).owner!);
  return out;
}
