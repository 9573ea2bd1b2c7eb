// An action that did not complete within its bound. The target reports the
// stuck lane (its task state, wait channel and kernel stack); this turns
// that into a finding that names the action. On real kernels the agent
// reports a lane only when its kernel stack stayed inside the call across
// repeated samples (native-bridge/agent/watchdog.c); an action that went over
// its bound and then returned is slow, not hung: a metric (slow_op), never a
// finding, so a busy machine cannot make a bug out of timing alone. Also the
// simulator's live-lock: lanes that keep running while virtual time stands still.
import type { ActionEvent, Finding, RunEvent } from '../../events/types.js';
import type { AnalysisContext, Detector } from '../context.js';

/** Slow actions kept by example in the summary. */
const SLOW_EXAMPLES = 10;

export interface SlowOp {
  lane: string;
  op: string;
  t: number;
  dur_ns: number;
  bound_ns: number;
}

export class HangDetector implements Detector {
  readonly name = 'hang';
  hung = 0;
  died = 0;
  /** Actions that took longer than their hang bound and then returned. */
  slow = 0;
  slowestNs = 0;
  readonly slowOps: SlowOp[] = [];
  constructor(private readonly ctx: AnalysisContext) {}

  feed(e: RunEvent): Finding[] | void {
    if (e.kind === 'act') return this.timed(e);
    if (e.kind !== 'lane') return;
    if (e.state === 'died') this.died++;
    if (e.state === 'livelock')
      return [this.ctx.finding('livelock', e.t, e.detail ?? 'virtual time stood still', { lane: e.lane, evidence: { lanes: [e.lane] }, ...(e.trace ? { interleaving: e.trace } : {}) })];
    if (e.state !== 'hung') return;
    this.hung++;
    const where = e.wchan && e.wchan !== '0' ? ` in ${e.wchan}` : '';
    return [
      this.ctx.finding('hang', e.t, `lane ${e.lane}: ${e.detail ?? 'an action did not complete'}; task state ${e.taskState ?? '?'}${where}`, {
        lane: e.lane,
        evidence: { taskState: e.taskState, wchan: e.wchan, stack: e.stack, lanes: [e.lane] },
        ...(e.trace ? { interleaving: e.trace } : {}),
      }),
    ];
  }

  /** The bound an action had: its step's timeout, else the scenario's hang timeout. */
  private bound(a: ActionEvent): number {
    const sc = this.ctx.scenario;
    const steps = a.iter === -1 ? sc.setup : a.iter === -2 ? sc.teardown : (sc.lanes.find((l) => l.name === a.lane) ?? sc.lanes.find((l) => a.lane.startsWith(`${l.name}`)))?.steps;
    return steps?.[a.step]?.timeout ?? sc.expect.hangTimeout;
  }

  private timed(a: ActionEvent): void {
    const bound = this.bound(a);
    if (a.dur <= bound) return;
    this.slow++;
    this.slowestNs = Math.max(this.slowestNs, a.dur);
    if (this.slowOps.length < SLOW_EXAMPLES) this.slowOps.push({ lane: a.lane, op: a.op, t: a.t, dur_ns: a.dur, bound_ns: bound });
  }

  /** For summary.json: hung and died lanes, and the slow actions (count, slowest, first few). */
  summary(): Record<string, unknown> {
    return {
      hung: this.hung,
      died: this.died,
      ...(this.slow ? { slow_ops: { count: this.slow, slowest_ns: this.slowestNs, first: this.slowOps } } : {}),
    };
  }
}
