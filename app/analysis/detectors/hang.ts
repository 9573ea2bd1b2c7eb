// An action that did not complete within its bound. The target reports the
// stuck lane (its task state, wait channel and kernel stack); this turns
// that into a finding that names the action. Also the simulator's live-lock:
// lanes that keep running while virtual time stands still.
import type { Finding, RunEvent } from '../../events/types.js';
import type { AnalysisContext, Detector } from '../context.js';

export class HangDetector implements Detector {
  readonly name = 'hang';
  hung = 0;
  died = 0;
  constructor(private readonly ctx: AnalysisContext) {}

  feed(e: RunEvent): Finding[] | void {
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
}
