// An operation failed with an errno the scenario does not expect. Expected
// errnos come from the step (`expect:`), from the preset (`expect.errnos`),
// and EINTR, which the lab itself causes when it stops lanes at the end.
import type { Finding, RunEvent } from '../../events/types.js';
import type { Scenario, Step } from '../../vocabulary/scenario.js';
import type { AnalysisContext, Detector } from '../context.js';

export class UnexpectedErrnoDetector implements Detector {
  readonly name = 'unexpected-errno';
  private readonly seen = new Map<string, Finding>();
  errors: Record<string, number> = {};
  /** Occurrences per lane:iteration-kind:step:errno, for summary.json. */
  repeats: Record<string, number> = {};

  constructor(private readonly ctx: AnalysisContext, private readonly scenario: Scenario) {}

  private step(lane: string, iter: number, index: number): Step | undefined {
    if (iter === -1) return this.scenario.setup[index];
    if (iter === -2) return this.scenario.teardown[index];
    return this.scenario.lanes.find((l) => l.name === lane)?.steps[index];
  }

  feed(e: RunEvent): Finding[] | void {
    if (e.kind !== 'act' || !e.errno) return;
    const key = `${e.op}:${e.errno}`;
    this.errors[key] = (this.errors[key] ?? 0) + 1;
    if (e.errno === 'EINTR') return;
    const step = this.step(e.lane, e.iter, e.step);
    if (step?.expect === 'any' || step?.expect?.includes(e.errno)) return;
    if (this.scenario.expect.errnos[e.op]?.includes(e.errno)) return;
    const id = `${e.lane}:${e.iter < 0 ? e.iter : 0}:${e.step}:${e.errno}`;
    if (this.seen.has(id)) {
      // Repeats are counted for the summary; the finding itself stays as emitted.
      this.repeats[id] = (this.repeats[id] ?? 1) + 1;
      return;
    }
    const where = step ? ` (step ${step.at})` : '';
    // the library ops say why in the library's words ("PortAudio has no device 42 (it lists …)"): the finding names it
    const why = typeof e.data?.error === 'string' ? `: ${e.data.error}` : '';
    const f = this.ctx.finding('unexpected-errno', e.t, `${e.op}${e.handle ? ` on ${e.handle}` : ''} failed with ${e.errno} in lane ${e.lane}${where}, which the scenario does not expect${why}`, {
      lane: e.lane,
      op: e.op,
      ...(e.handle ? { handle: e.handle } : {}),
      evidence: { errno: e.errno, iter: e.iter, lanes: [e.lane], since: e.t },
    });
    this.seen.set(id, f);
    return [f];
  }
}
