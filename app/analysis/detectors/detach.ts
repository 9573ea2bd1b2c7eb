// After a device is detached, every call on a file opened before the detach
// must fail (ENODEV, EBADFD...); only close may succeed. A success means the
// driver kept serving a device that is gone.
import type { Finding, RunEvent } from '../../events/types.js';
import type { AnalysisContext, Detector } from '../context.js';

/** Ops that may succeed on a detached device's file: close always frees; timing ops do not touch it. */
const ALLOWED_AFTER = new Set(['pcm.close', 'seq.close', 'pcm.readback', 'sleep', 'jitter', 'barrier']);

export class SuccessAfterDetachDetector implements Detector {
  readonly name = 'success-after-detach';
  /** handle -> card it was opened on and when the open finished. */
  private readonly opened = new Map<string, { card: number; at: number }>();
  /** card -> time the detach completed. */
  private readonly detached = new Map<number, number>();
  private readonly reported = new Set<string>();
  callsAfterDetach = 0;
  failedAfterDetach = 0;

  constructor(private readonly ctx: AnalysisContext) {}

  feed(e: RunEvent): Finding[] | void {
    if (e.kind !== 'act') return;
    if (e.op === 'pcm.open' && e.ret === 0 && e.handle) {
      this.opened.set(e.handle, { card: e.data!.card as number, at: e.t + e.dur });
      return;
    }
    if (e.op === 'device.detach' && e.ret === 0) {
      this.detached.set(e.data!.card as number, e.t + e.dur);
      return;
    }
    if (!e.handle || ALLOWED_AFTER.has(e.op)) return;
    const o = this.opened.get(e.handle);
    if (!o) return;
    const d = this.detached.get(o.card);
    if (d === undefined || o.at > d || e.t < d) return;
    this.callsAfterDetach++;
    if (e.ret < 0) {
      this.failedAfterDetach++;
      return;
    }
    const key = `${e.handle}:${e.op}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    return [this.ctx.finding('success-after-detach', e.t, `${e.op} on ${e.handle} succeeded although card ${o.card} was detached ${((e.t - d) / 1e6).toFixed(3)} ms earlier`, { lane: e.lane, op: e.op, handle: e.handle })];
  }
}
