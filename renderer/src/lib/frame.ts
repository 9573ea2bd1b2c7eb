// Spreading redraw work over animation frames. Each chart asks for a redraw
// when its data changed; the requests are coalesced per chart and run a few
// per frame within a time budget, so five charts updating together cost five
// cheap frames instead of one long one, and a chart never redraws more than
// once per frame however many events arrived.
const BUDGET_MS = 0;
const queue = new Map<object, () => void>();
let scheduled = false;
const idle: (() => void)[] = [];

/** Set by the renderer benchmark (bench/renderer-stream.js) to collect how long each redraw took. */
interface Probe {
  redraws: number[];
  byKey?: Map<object, number[]>;
}
const probe = (): Probe | undefined => (globalThis as { __stresslabProbe?: Probe }).__stresslabProbe;

function run(): void {
  scheduled = false;
  const start = performance.now();
  const p = probe();
  for (const [key, fn] of queue) {
    queue.delete(key);
    const t = performance.now();
    fn();
    if (p) {
      const ms = performance.now() - t;
      p.redraws.push(ms);
      if (p.byKey) p.byKey.set(key, [...(p.byKey.get(key) ?? []), ms]);
    }
    if (performance.now() - start > BUDGET_MS) break;
  }
  if (queue.size) schedule();
  else for (const fn of idle.splice(0)) fn();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(run);
}

/** Runs `fn` in an upcoming frame; a later request for the same key replaces an earlier one. */
export function redraw(key: object, fn: () => void): void {
  queue.delete(key);
  queue.set(key, fn);
  schedule();
}

/** Forget a pending redraw (the chart is going away). */
export function cancelRedraw(key: object): void {
  queue.delete(key);
}

/** Resolves once every redraw asked for so far has run. */
export function whenDrawn(): Promise<void> {
  if (!queue.size) return Promise.resolve();
  return new Promise((r) => idle.push(r));
}
