// torn-hw-params: after concurrent HW_PARAMS calls on one substream, what the
// runtime holds (read back from /proc) must equal exactly one of the
// configurations the kernel accepted. A mix of two is a torn configuration.
import type { ActionEvent, Finding, RunEvent } from '../../events/types.js';
import type { HwParams } from '../../events/op-data.js';
import type { AnalysisContext, Detector } from '../context.js';

interface Accepted {
  lane: string;
  t: number;
  end: number;
  params: HwParams;
}

interface HandleState {
  /** Accepted since the last readback. */
  pending: Accepted[];
  /** What the runtime should hold if nothing new was accepted. */
  current: Accepted[];
}

const FIELDS = ['access', 'format', 'channels', 'rate', 'period_size', 'buffer_size'] as const;

export function sameConfig(a: Partial<HwParams>, b: HwParams): boolean {
  for (const f of FIELDS) if (a[f] !== undefined && a[f] !== b[f]) return false;
  if (a.periods !== undefined && Number.isInteger(a.periods) && a.periods !== b.periods) return false;
  return true;
}

function describe(p: Partial<HwParams>): string {
  const periods = p.periods !== undefined ? p.periods : p.buffer_size && p.period_size ? +(p.buffer_size / p.period_size).toFixed(3) : '?';
  return `period_size ${p.period_size} x periods ${periods} = buffer_size ${p.buffer_size} (${p.format}, ${p.channels} ch, ${p.rate} Hz)`;
}

export class TornHwParamsDetector implements Detector {
  readonly name = 'torn-hw-params';
  private readonly handles = new Map<string, HandleState>();
  rounds = 0;
  torn = 0;

  constructor(private readonly ctx: AnalysisContext) {}

  private state(h: string): HandleState {
    let s = this.handles.get(h);
    if (!s) this.handles.set(h, (s = { pending: [], current: [] }));
    return s;
  }

  feed(e: RunEvent): Finding[] | void {
    if (e.kind !== 'act' || !e.handle) return;
    const s = this.state(e.handle);
    if (e.op === 'pcm.open' || e.op === 'pcm.close' || (e.op === 'pcm.hw_free' && e.ret === 0)) {
      s.pending = [];
      s.current = [];
      return;
    }
    if (e.op === 'pcm.hw_params' && e.ret === 0 && e.data?.params) {
      // A call that ended before this one began is overwritten by it (a successful
      // HW_PARAMS writes every field): only calls that overlap can mix. Without this,
      // a lane that sets parameters without ever reading them back would make the
      // list, and a long run's memory, grow without end.
      if (s.pending.length) s.pending = s.pending.filter((p) => p.end >= e.t);
      s.pending.push({ lane: e.lane, t: e.t, end: e.t + e.dur, params: e.data.params as HwParams });
      return;
    }
    if (e.op === 'pcm.readback' && e.ret === 0) return this.check(e, s);
  }

  private check(e: ActionEvent, s: HandleState): Finding[] | void {
    const got = (e.data?.params ?? null) as Partial<HwParams> | null;
    const candidates = s.pending.length ? s.pending : s.current;
    if (s.pending.length) {
      s.current = s.pending;
      s.pending = [];
    }
    if (!got || !candidates.length) return;
    this.rounds++;
    if (candidates.some((c) => sameConfig(got, c.params))) {
      // The runtime now holds that one configuration.
      s.current = candidates.filter((c) => sameConfig(got, c.params));
      return;
    }
    this.torn++;
    const since = Math.min(...candidates.map((c) => c.t));
    return [
      this.ctx.finding('torn-hw-params', e.t, `${e.handle}: the runtime holds ${describe(got)}, which matches none of the ${candidates.length} accepted HW_PARAMS: ${candidates.map((c) => `${c.lane} asked ${describe(c.params)}`).join('; ')}`, {
        lane: e.lane,
        op: e.op,
        handle: e.handle!,
        evidence: { readback: got, requests: candidates.map((c) => ({ lane: c.lane, t: c.t, params: c.params })), since, lanes: [...new Set([...candidates.map((c) => c.lane), e.lane])] },
      }),
    ];
  }
}
