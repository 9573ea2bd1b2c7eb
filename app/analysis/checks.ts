// What a run checked, one entry per check: each threshold the preset sets and
// each detector, with its verdict: passed, failed (its findings), or not
// evaluated and why (a latency threshold with no latency samples, a torn
// HW_PARAMS check with nothing read back). summary.json carries the list; the
// CLI, the app, the HTML report, JUnit (one test case per check) and KTAP
// (one result line per check) all print it as it is.
import type { Finding, FindingType } from '../events/types.js';
import type { Analysis } from './analysis.js';

/** error: the check could not be made because the target failed. */
export type CheckStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface CheckResult {
  /** Stable across runs: "run", "threshold.xruns", "detector.kernel-log". */
  id: string;
  kind: 'run' | 'threshold' | 'detector';
  status: CheckStatus;
  message: string;
  /** Ids of the findings that failed it. */
  findings: string[];
  /** Suite phase the check belongs to. */
  phase?: string;
  value?: number;
  limit?: number;
}

interface DetectorSpec {
  id: string;
  what: string;
  types: readonly FindingType[];
  /** Why the detector had nothing to look at in this run, if so. */
  idle?: (a: Analysis) => string | undefined;
}

export const DETECTORS: readonly DetectorSpec[] = [
  { id: 'kernel-log', what: 'kernel log: no oops, KASAN report, BUG, WARNING or hung task', types: ['use-after-free', 'null-deref', 'kernel-oops', 'kernel-bug', 'kernel-warning', 'hung-task'] },
  { id: 'hang', what: 'every action completed within its bound', types: ['hang'] },
  {
    id: 'torn-hw-params',
    what: 'HW_PARAMS read back as one accepted request',
    types: ['torn-hw-params'],
    idle: (a) => (a.torn.rounds ? undefined : 'no HW_PARAMS was read back'),
  },
  {
    id: 'seq-accounting',
    what: 'every sequencer event delivered once and in order',
    types: ['event-loss', 'event-duplicate', 'event-reorder'],
    idle: (a) => (a.seq.counts && a.seq.counts.sent + a.seq.counts.received > 0 ? undefined : 'no numbered sequencer events were sent'),
  },
  { id: 'unexpected-errno', what: 'no errno the scenario does not expect', types: ['unexpected-errno'] },
  {
    id: 'success-after-detach',
    what: 'no call succeeded on a detached card',
    types: ['success-after-detach'],
    idle: (a) => {
      const d = a.metrics.tally.ops.get('device.detach');
      return d && d.count > Object.values(d.errors).reduce((x, y) => x + y, 0) ? undefined : 'no card was detached';
    },
  },
  {
    id: 'conformance',
    what: 'every configuration the hardware offered opened, ran, and ran at the rate it granted',
    types: ['conformance'],
    idle: (a) => (a.conformance.configurations ? undefined : 'no conformance sweep ran'),
  },
];

const THRESHOLD_TYPES: Record<string, FindingType> = {
  xruns: 'xrun-threshold',
  latency_p99: 'latency-threshold',
  ioctl_p99: 'ioctl-latency-threshold',
  wakeup_late_p99: 'wakeup-latency-threshold',
  glitches: 'glitch-threshold',
  midi_latency_p99: 'midi-latency-threshold',
  xrun_time_lost: 'xrun-time-threshold',
};

/** The checks of one analysis (a run, or one phase of a suite), after it finished. */
export function checksOf(a: Analysis, findings: readonly Finding[], phase?: string): CheckResult[] {
  const out: CheckResult[] = [];
  const ph = phase ? { phase } : {};
  for (const r of a.metrics.results) {
    const ids = findings.filter((f) => f.type === THRESHOLD_TYPES[r.name]).map((f) => f.id);
    out.push({ id: `threshold.${r.name}`, kind: 'threshold', status: r.status, message: r.message, findings: ids, ...ph, limit: r.limit, ...(r.value !== undefined ? { value: r.value } : {}) });
  }
  for (const d of DETECTORS) {
    const mine = findings.filter((f) => d.types.includes(f.type));
    const idle = mine.length ? undefined : d.idle?.(a);
    const status: CheckStatus = mine.length ? 'fail' : idle ? 'skip' : 'pass';
    const message = mine.length ? `${mine.length} finding(s): ${mine[0]!.message}${mine.length > 1 ? ' …' : ''}` : idle ? `not evaluated: ${idle}` : d.what;
    out.push({ id: `detector.${d.id}`, kind: 'detector', status, message, findings: mine.map((f) => f.id), ...ph });
  }
  return out;
}

/** The run itself: the target ran the scenario (pass), crashed under it (fail), or could not run it (error). */
export function runCheck(status: 'completed' | 'stopped' | 'crashed' | 'error', reason?: string): CheckResult {
  const base = { id: 'run', kind: 'run' as const, findings: [] };
  if (status === 'crashed') return { ...base, status: 'fail', message: `the target crashed: ${reason ?? 'no reason given'}` };
  if (status === 'error') return { ...base, status: 'error', message: reason ?? 'the target failed' };
  return { ...base, status: 'pass', message: status === 'completed' ? 'the scenario ran to the end of its budget' : `stopped${reason ? `: ${reason}` : ''}` };
}

export function checkTally(checks: readonly CheckResult[]): Record<CheckStatus, number> {
  const n: Record<CheckStatus, number> = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const c of checks) n[c.status]++;
  return n;
}
