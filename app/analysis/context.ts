// What every detector shares: making findings with stable ids and severities,
// and a short memory of recent actions to say what was in flight.
import type { ActionEvent, Finding, FindingType, InFlight, Severity } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { signatureOf } from './signature.js';

export const SEVERITY: Record<FindingType, Severity> = {
  'use-after-free': 'critical',
  'null-deref': 'critical',
  'kernel-oops': 'critical',
  'kernel-bug': 'critical',
  hang: 'critical',
  livelock: 'critical',
  'hung-task': 'critical',
  'torn-hw-params': 'critical',
  'event-loss': 'error',
  'event-duplicate': 'error',
  'event-reorder': 'error',
  'unexpected-errno': 'error',
  'success-after-detach': 'error',
  'kernel-warning': 'warning',
  'xrun-threshold': 'warning',
  'latency-threshold': 'warning',
  'ioctl-latency-threshold': 'warning',
  'wakeup-latency-threshold': 'warning',
  'glitch-threshold': 'warning',
  'midi-latency-threshold': 'warning',
  'xrun-time-threshold': 'warning',
  // a configuration the hardware offers that does not work, or a clock that is not the rate it reports
  conformance: 'error',
};

export interface Detector {
  readonly name: string;
  feed(e: import('../events/types.js').RunEvent): Finding[] | void;
  finish?(end: number): Finding[] | void;
}

const RING = 4096;

export class AnalysisContext {
  private readonly ring: ActionEvent[] = [];
  private ringPos = 0;

  constructor(
    readonly scenario: Scenario,
    private readonly counts: Map<string, number> = new Map(),
  ) {}

  finding(type: FindingType, t: number, message: string, extra: Partial<Finding> = {}): Finding {
    const n = (this.counts.get(type) ?? 0) + 1;
    this.counts.set(type, n);
    const f: Finding = { id: `${type}#${n}`, type, severity: SEVERITY[type], t, message, ...extra };
    f.signature ??= signatureOf(f);
    return f;
  }

  remember(a: ActionEvent): void {
    if (this.ring.length < RING) this.ring.push(a);
    else {
      this.ring[this.ringPos] = a;
      this.ringPos = (this.ringPos + 1) % RING;
    }
  }

  /** Recent actions whose span covers time t. */
  inflightAt(t: number): InFlight[] {
    return this.ring
      .filter((a) => a.t <= t && a.t + a.dur >= t)
      .map((a) => ({ lane: a.lane, op: a.op, since: a.t, ...(a.handle ? { handle: a.handle } : {}) }));
  }
}
