// The oracle: the same scenario run on two targets (a real kernel and the
// simulated one, or a bug profile and the fixed kernel), compared step by
// step. Timing differs between the two, so counts are not compared; what is
// compared is what each step *can* do: the set of outcomes (success or errno)
// every step produced, and for the ops whose answer depends only on the request
// (HW_PARAMS, HW_REFINE, SW_PARAMS) the answer itself. An outcome one side shows
// and the other never does is a divergence: either the model is wrong or the
// kernel is — both worth a look. Memory is bounded by the number of steps, not
// the length of the run, so a side can be fed a live stream.
import type { ActionEvent, RunEvent } from '../events/types.js';
import { opSpec } from '../vocabulary/ops.js';
import type { Scenario } from '../vocabulary/scenario.js';

/**
 * Ops whose results are compared: "exact" ones answer a request with one result
 * on a correct kernel, so any difference counts; "within" ones depend on how a
 * race fell (what the runtime holds after racing HW_PARAMS), so only a result
 * the observed side saw and the model never produced counts — a torn
 * configuration, say — not one the observed side merely did not happen to hit.
 */
const RESULT_OPS = new Map<string, 'exact' | 'within'>([
  ['pcm.hw_params', 'exact'],
  ['pcm.hw_refine', 'exact'],
  ['pcm.sw_params', 'exact'],
  ['pcm.readback', 'within'],
]);
/** Opening a device the other side does not have: the handle cannot be compared. */
const MISSING_DEVICE = new Set(['ENOENT', 'ENODEV', 'ENXIO']);
const MAX_RESULTS = 16;

interface StepStats {
  lane: string;
  phase: 'setup' | 'loop' | 'teardown';
  step: number;
  op: string;
  handle?: string;
  count: number;
  outcomes: Map<string, number>;
  /** Request (varying args as JSON, "" when fixed) → distinct results → count. */
  results: Map<string, Map<string, number>>;
}

export class OracleSide {
  private readonly steps = new Map<string, StepStats>();
  /** handle → outcome of its pcm.open / seq.open in setup. */
  readonly opens = new Map<string, string>();
  actions = 0;

  feed(e: RunEvent): void {
    if (e.kind === 'note') {
      // A sampled journal's closing counts: successful operations after each step's last kept line.
      for (const x of e.journal?.skipped ?? []) {
        const s = this.step(x.lane, x.iter, x.step, x.op);
        if (!s) continue;
        s.count += x.n;
        s.outcomes.set('ok', (s.outcomes.get('ok') ?? 0) + x.n);
        this.actions += x.n;
      }
      return;
    }
    if (e.kind !== 'act') return;
    const s = this.step(e.lane, e.iter, e.step, e.op, e.handle);
    if (!s) return;
    // In a sampled journal a line stands for w operations of its step.
    const n = e.w ?? 1;
    this.actions += n;
    s.count += n;
    const outcome = outcomeOf(e);
    s.outcomes.set(outcome, (s.outcomes.get(outcome) ?? 0) + n);
    if ((e.op === 'pcm.open' || e.op === 'seq.open') && e.handle !== undefined && !this.opens.has(e.handle)) this.opens.set(e.handle, outcome);
    if (e.ret >= 0 && RESULT_OPS.has(e.op) && e.data) {
      const req = e.args ? canonical(e.args) : '';
      let byReq = s.results.get(req);
      if (!byReq) s.results.set(req, (byReq = new Map()));
      const res = canonical(e.data);
      if (byReq.has(res) || byReq.size < MAX_RESULTS) byReq.set(res, (byReq.get(res) ?? 0) + 1);
    }
  }

  private step(lane: string, iter: number, step: number, op: string, handle?: string): StepStats | undefined {
    const spec = opSpec(op);
    if (!spec || spec.family === 'timing') return undefined;
    const phase = iter === -1 ? 'setup' : iter === -2 ? 'teardown' : 'loop';
    const key = `${lane}\u0000${phase}\u0000${step}\u0000${op}`;
    let s = this.steps.get(key);
    if (!s) {
      s = { lane, phase, step, op, count: 0, outcomes: new Map(), results: new Map() };
      if (handle !== undefined) s.handle = handle;
      this.steps.set(key, s);
    }
    return s;
  }

  stats(): Map<string, StepStats> {
    return this.steps;
  }
}

export interface SideCounts {
  count: number;
  outcomes: Record<string, number>;
}

export interface Divergence {
  kind: 'outcome' | 'result';
  /** Which side did what the other never did. */
  seen_on: 'a' | 'b';
  lane: string;
  phase: string;
  step: number;
  op: string;
  handle?: string;
  message: string;
  /**
   * How likely the other side would have missed it by chance had it behaved
   * like this one: (1 - p)^n, p this side's frequency (add-one smoothed), n the
   * other side's calls. Timing decides which outcomes a racing step sees, so a
   * 1-in-1000 outcome absent from 1000 calls on the other side proves nothing.
   */
  chance: number;
  /** chance < 1 %: counted as a divergence; the rest are listed as rare differences. */
  significant: boolean;
  a: SideCounts & { results?: unknown[] };
  b: SideCounts & { results?: unknown[] };
}

export interface OracleReport {
  labels: { a: string; b: string };
  /** Steps both sides ran. */
  compared: number;
  /** (step, request) pairs whose answers were compared (HW_PARAMS and the like). */
  results_compared: number;
  /** Steps only one side ran (not compared): "lane phase#step op". */
  only_a: string[];
  only_b: string[];
  /** Steps on a device only one side has (the model has no AC97 card, say): not compared. */
  not_comparable: string[];
  /** Significant ones first, then by chance. */
  divergences: Divergence[];
  /** How many divergences are significant (the number a verdict should use). */
  significant: number;
}

/** What summary.json says of a run's oracle (the whole report is in oracle.json). */
export interface OracleSummary {
  against: string;
  compared: number;
  /** Significant divergences (see OracleReport.significant). */
  divergences: number;
  /** Differences that timing alone could explain. */
  rare: number;
  /** Steps on devices only one side has (the first 20). */
  not_comparable: string[];
  /** The divergences and rare differences, significant first (the first 20; all in oracle.json). */
  items: { kind: string; significant: boolean; chance: number; message: string }[];
  report: string;
  journal?: string;
}

export const SIGNIFICANT = 0.01;

/** Why a run cannot have an oracle, or null when it can (the CLI and the app ask the same; kept here, away from the simulator, for the app's main process). */
export function oracleRefusal(scenario: Scenario, target: string, profile: readonly string[]): string | null {
  if (scenario.suite) return `the oracle compares one scenario; ${scenario.name} is a suite (run the presets it includes)`;
  if (target === 'sim' && profile.join(',') === 'fixed') return 'the oracle compares a run with the simulated kernel on profile fixed, and this run already is one: choose another target or a bug profile';
  return null;
}

export function outcomeOf(e: ActionEvent): string {
  return e.ret >= 0 ? 'ok' : (e.errno ?? `errno ${-e.ret}`);
}

/** JSON with sorted keys, so equal values compare equal whatever order a target built them in. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))) : x));
}

/** Chance that `n` calls miss an outcome seen `c` times in `total`. */
export function missChance(c: number, total: number, n: number): number {
  return Math.pow(1 - c / (total + 1), n);
}

const where = (s: StepStats) => `${s.lane} ${s.phase}#${s.step} ${s.op}${s.handle ? ` on ${s.handle}` : ''}`;
const counts = (s: StepStats): SideCounts => ({ count: s.count, outcomes: Object.fromEntries([...s.outcomes].sort()) });
const list = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]).map(([o, n]) => `${o} ${n}`).join(', ');
const missingEverywhere = (s: StepStats) => [...s.outcomes.keys()].every((o) => MISSING_DEVICE.has(o));
const sum = (m: Map<string, number>) => [...m.values()].reduce((t, n) => t + n, 0);

export function compareSides(a: OracleSide, b: OracleSide, labels = { a: 'hardware', b: 'model' }): OracleReport {
  const report: OracleReport = { labels, compared: 0, results_compared: 0, only_a: [], only_b: [], not_comparable: [], divergences: [], significant: 0 };
  const sa = a.stats();
  const sb = b.stats();
  const push = (d: Omit<Divergence, 'significant'>) => report.divergences.push({ ...d, significant: d.chance < SIGNIFICANT });
  // A handle one side could not open at all (no such card) says nothing about the steps on it.
  const unmatched = new Set<string>();
  for (const [h, oa] of a.opens) {
    const ob = b.opens.get(h);
    if (ob === undefined || oa === ob || (!MISSING_DEVICE.has(oa) && !MISSING_DEVICE.has(ob))) continue;
    unmatched.add(h);
    const openA = [...sa.values()].find((s) => s.handle === h && (s.op === 'pcm.open' || s.op === 'seq.open'))!;
    report.not_comparable.push(`${where(openA)}: the ${MISSING_DEVICE.has(oa) ? labels.a : labels.b} has no such device (${labels.a}: ${oa}, ${labels.b}: ${ob}); no step on ${h} is compared`);
  }
  for (const [key, x] of sa) {
    const y = sb.get(key);
    if (!y) {
      report.only_a.push(where(x));
      continue;
    }
    if (x.handle !== undefined && unmatched.has(x.handle)) continue;
    // The same for a step that names its card itself (a control write): every call
    // failing with "no such device" on one side while the other succeeds.
    const missingOn = missingEverywhere(x) && y.outcomes.has('ok') ? labels.a : missingEverywhere(y) && x.outcomes.has('ok') ? labels.b : null;
    if (missingOn) {
      report.not_comparable.push(`${where(x)}: the ${missingOn} has no such device (${labels.a}: ${list(x.outcomes)}; ${labels.b}: ${list(y.outcomes)})`);
      continue;
    }
    report.compared++;
    const at = { lane: x.lane, phase: x.phase, step: x.step, op: x.op, ...(x.handle ? { handle: x.handle } : {}) };
    for (const [self, other, side] of [[x, y, 'a'], [y, x, 'b']] as const) {
      const [me, them] = side === 'a' ? [labels.a, labels.b] : [labels.b, labels.a];
      for (const [o, c] of self.outcomes) {
        if (other.outcomes.has(o)) continue;
        push({
          kind: 'outcome', seen_on: side, ...at,
          message: `${where(x)}: the ${me} returned ${o} ${c} of ${self.count} times, the ${them} never in ${other.count} (${labels.a}: ${list(x.outcomes)}; ${labels.b}: ${list(y.outcomes)})`,
          chance: missChance(c, self.count, other.count), a: counts(x), b: counts(y),
        });
      }
    }
    const mode = RESULT_OPS.get(x.op);
    for (const [req, ra] of x.results) {
      const rb = y.results.get(req);
      if (!rb || !mode) continue;
      report.results_compared++;
      const r = `${where(x)}${req ? ` ${req}` : ''}`;
      // Built only for a divergence: most requests get the same answers on both sides.
      const results = () => ({ a: { ...counts(x), results: [...ra.keys()].map((v) => JSON.parse(v) as unknown) }, b: { ...counts(y), results: [...rb.keys()].map((v) => JSON.parse(v) as unknown) } });
      if (mode === 'exact' && ra.size === 1 && rb.size === 1) {
        const [va] = ra.keys();
        const [vb] = rb.keys();
        if (va !== vb) push({ kind: 'result', seen_on: 'a', ...at, message: `${r}: for the same request the ${labels.a} answered ${describeDiff(JSON.parse(va!), JSON.parse(vb!), labels.b)}`, chance: 0, ...results() });
        continue;
      }
      const sides = mode === 'exact' ? ([[ra, rb, 'a'], [rb, ra, 'b']] as const) : ([[ra, rb, 'a']] as const);
      for (const [self, other, side] of sides) {
        const [me, them] = side === 'a' ? [labels.a, labels.b] : [labels.b, labels.a];
        const n = sum(self);
        for (const [v, c] of self) {
          if (other.has(v)) continue;
          // A request with one right answer: any other answer is wrong, however rare.
          const chance = mode === 'exact' ? 0 : missChance(c, n, sum(other));
          push({ kind: 'result', seen_on: side, ...at, message: `${r}: the ${me} answered ${v} ${c} of ${n} times, the ${them} never (it answered ${[...other.keys()].join(' | ')})`, chance, ...results() });
        }
      }
    }
  }
  for (const [key, y] of sb) if (!sa.has(key)) report.only_b.push(where(y));
  report.divergences.sort((p, q) => p.chance - q.chance);
  report.significant = report.divergences.filter((d) => d.significant).length;
  return report;
}

/** "params.period_size 1024 where the model answered 1088", field by field. */
function describeDiff(a: unknown, b: unknown, other: string): string {
  const fa = flatten(a);
  const fb = flatten(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  return keys
    .filter((k) => canonical(fa[k]) !== canonical(fb[k]))
    .map((k) => `${k || 'the result'} ${canonical(fa[k]) ?? '(none)'} where the ${other} answered ${canonical(fb[k]) ?? '(none)'}`)
    .join(', ');
}

function flatten(v: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = v;
  return out;
}

/** Both sides from whole event lists (two journals). */
export function compareRuns(a: Iterable<RunEvent>, b: Iterable<RunEvent>, labels = { a: 'hardware', b: 'model' }): OracleReport {
  const sa = new OracleSide();
  const sb = new OracleSide();
  for (const e of a) sa.feed(e);
  for (const e of b) sb.feed(e);
  return compareSides(sa, sb, labels);
}
