// Every numbered sequencer event is accounted for: delivered, refused at send
// (with its errno), discarded by a pool resize or an overflow clear, unread
// at the end, or lost. Only what user space can observe is used, so the
// same accounting works on real kernels; the simulator checks it against
// the kernel's own record in tests.
import type { ActionEvent, Finding, RunEvent } from '../../events/types.js';
import type { AnalysisContext, Detector } from '../context.js';

interface SentRange {
  first: number;
  count: number;
  t: number;
  dest: string;
}

interface Stream {
  sent: SentRange[];
  refused: Map<string, number>;
  /** number -> receive time. */
  received: Map<number, number>;
  lastReceived: number;
}

interface Window {
  start: number;
  end: number;
}

export interface SeqCounts {
  sent: number;
  refused: Record<string, number>;
  received: number;
  discarded_by_resize: number;
  discarded_by_overflow: number;
  unread_at_end: number;
  lost: number;
  duplicated: number;
  reordered: number;
  foreign: number;
}

export class SeqAccountingDetector implements Detector {
  readonly name = 'seq-accounting';
  private readonly streams = new Map<string, Stream>();
  /** Sequencer handle -> client number. */
  private readonly clients = new Map<string, number>();
  /** Client number -> resize and overflow-clear windows on it. */
  private readonly resizes = new Map<number, Window[]>();
  private readonly clears = new Map<number, Window[]>();
  private duplicated = 0;
  private reordered = 0;
  private foreign = 0;
  private readonly reportedReorder = new Set<string>();
  counts: SeqCounts | null = null;

  constructor(private readonly ctx: AnalysisContext) {}

  private stream(src: string): Stream {
    let s = this.streams.get(src);
    if (!s) this.streams.set(src, (s = { sent: [], refused: new Map(), received: new Map(), lastReceived: -1 }));
    return s;
  }

  feed(e: RunEvent): Finding[] | void {
    if (e.kind !== 'act' || !(e.op.startsWith('seq.') || e.op.startsWith('midi.'))) return;
    const d = e.data ?? {};
    // the application lane numbers RtMidi messages the same way (native-bridge/applane/PROTOCOL.md)
    const op = e.op === 'midi.send' ? 'seq.send' : e.op === 'midi.receive' ? 'seq.read' : e.op;
    switch (op) {
      case 'seq.open':
        if (e.ret === 0 && e.handle) this.clients.set(e.handle, d.client as number);
        return;
      case 'seq.send': {
        const s = this.stream(d.src as string);
        if (d.src === undefined) return;
        if ((d.sent as number) > 0) s.sent.push({ first: d.first as number, count: d.sent as number, t: e.t, dest: d.dest as string });
        if (e.errno && d.refused !== undefined) s.refused.set(e.errno, (s.refused.get(e.errno) ?? 0) + 1);
        return;
      }
      case 'seq.set_client_pool':
        if (e.ret === 0 && d.input_pool !== undefined && e.handle) this.window(this.resizes, e);
        return;
      case 'seq.read':
        if (e.errno === 'ENOSPC' && e.handle) this.window(this.clears, e);
        if (e.ret >= 0) return this.received(e);
        return;
    }
  }

  private window(map: Map<number, Window[]>, e: ActionEvent): void {
    const c = this.clients.get(e.handle!);
    if (c === undefined) return;
    let l = map.get(c);
    if (!l) map.set(c, (l = []));
    l.push({ start: e.t, end: e.t + e.dur });
  }

  private received(e: ActionEvent): Finding[] | void {
    const out: Finding[] = [];
    const events = (e.data?.events ?? []) as [string, number][];
    this.foreign += (e.data?.foreign as number) ?? 0;
    const at = e.t + e.dur;
    for (const [src, n] of events) {
      const s = this.stream(src);
      if (s.received.has(n)) {
        this.duplicated++;
        if (this.duplicated <= 3) out.push(this.ctx.finding('event-duplicate', at, `event ${src}#${n} was delivered twice (to ${e.lane})`, { lane: e.lane, op: e.op, handle: e.handle!, evidence: { src, n, first: s.received.get(n), again: at } }));
        continue;
      }
      s.received.set(n, at);
      if (n < s.lastReceived) {
        this.reordered++;
        if (!this.reportedReorder.has(src)) {
          this.reportedReorder.add(src);
          out.push(this.ctx.finding('event-reorder', at, `event ${src}#${n} arrived after #${s.lastReceived} from the same sender`, { lane: e.lane, op: e.op, handle: e.handle!, evidence: { src, n, after: s.lastReceived } }));
        }
      } else s.lastReceived = n;
    }
    return out.length ? out : undefined;
  }

  finish(end: number): Finding[] {
    const counts: SeqCounts = { sent: 0, refused: {}, received: 0, discarded_by_resize: 0, discarded_by_overflow: 0, unread_at_end: 0, lost: 0, duplicated: this.duplicated, reordered: this.reordered, foreign: this.foreign };
    const lost: { src: string; n: number }[] = [];
    for (const [src, s] of this.streams) {
      for (const [errno, c] of s.refused) counts.refused[errno] = (counts.refused[errno] ?? 0) + c;
      counts.received += s.received.size;
      const got = [...s.received.keys()].sort((a, b) => a - b);
      for (const r of s.sent) {
        counts.sent += r.count;
        const destClient = Number(r.dest.split(':')[0]);
        const resizes = this.resizes.get(destClient) ?? NO_WINDOWS;
        const clears = this.clears.get(destClient) ?? NO_WINDOWS;
        for (let n = r.first; n < r.first + r.count; n++) {
          if (s.received.has(n)) continue;
          const later = firstAbove(got, n);
          if (later === undefined) {
            counts.unread_at_end++;
            continue;
          }
          // The event must have left the FIFO before `until`, when a later one arrived.
          const until = s.received.get(later)!;
          if (overlaps(resizes, r.t, until)) counts.discarded_by_resize++;
          else if (overlaps(clears, r.t, until)) counts.discarded_by_overflow++;
          else {
            counts.lost++;
            lost.push({ src, n });
          }
        }
      }
    }
    this.counts = counts;
    if (!lost.length) return [];
    const first = lost[0]!;
    return [
      this.ctx.finding('event-loss', end, `${lost.length} sequencer event(s) accepted by the kernel never arrived, though later events from the same sender did and no resize or overflow clear explains them (first: ${first.src}#${first.n})`, {
        evidence: { lost: lost.slice(0, 50).map((l) => `${l.src}#${l.n}`), count: lost.length },
      }),
    ];
  }
}

const NO_WINDOWS: Window[] = [];

/** Does any window (in time order, as recorded) overlap [from, until]? */
function overlaps(ws: Window[], from: number, until: number): boolean {
  // Windows are appended in start order and do not overlap each other (one
  // thread per client resizes or reads), so ends are ordered too.
  let lo = 0;
  let hi = ws.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ws[mid]!.end < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < ws.length && ws[lo]!.start <= until;
}

function firstAbove(sorted: number[], n: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! > n) hi = mid;
    else lo = mid + 1;
  }
  return sorted[lo];
}
