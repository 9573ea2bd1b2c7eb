// Binary min-heap keyed by (time, id): deterministic order for equal times.
export interface HeapItem {
  heapIndex: number;
}

export class TimeHeap<T extends HeapItem> {
  private readonly items: T[] = [];
  constructor(
    private readonly time: (x: T) => number,
    private readonly id: (x: T) => number,
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(x: T): void {
    x.heapIndex = this.items.length;
    this.items.push(x);
    this.up(x.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top) this.removeAt(0);
    return top;
  }

  remove(x: T): void {
    if (x.heapIndex >= 0 && this.items[x.heapIndex] === x) this.removeAt(x.heapIndex);
  }

  private removeAt(i: number): void {
    const last = this.items.pop()!;
    const removed = this.items[i];
    if (removed) removed.heapIndex = -1;
    if (i < this.items.length) {
      this.items[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(i);
    } else last.heapIndex = -1;
  }

  private less(a: T, b: T): boolean {
    const ta = this.time(a);
    const tb = this.time(b);
    return ta < tb || (ta === tb && this.id(a) < this.id(b));
  }

  private up(i: number): void {
    const it = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(it[i]!, it[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const it = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < it.length && this.less(it[l]!, it[m]!)) m = l;
      if (r < it.length && this.less(it[r]!, it[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const it = this.items;
    const a = it[i]!;
    const b = it[j]!;
    it[i] = b;
    it[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
}
