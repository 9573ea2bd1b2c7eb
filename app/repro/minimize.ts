// Minimisation: given a failing run, the smallest scenario that still shows
// the same finding (the same signature). Greedy delta debugging over what a
// reader of the reproducer has to take in: the budget, whole lanes, replicas,
// steps of each loop, setup and teardown steps, the iteration count. Each
// candidate is checked by running it: on the simulated kernel a run is
// deterministic for its seed, but removing a step changes every schedule
// after it, so a candidate gets `attempts` seeds (the current one first) and
// is kept if any of them shows the signature; on a real kernel each attempt
// is a run with a bounded budget. A total run budget bounds the whole search.
import type { Finding } from '../events/types.js';
import type { Target } from '../targets/target.js';
import { startRun } from '../engine/run.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { validateScenario } from '../vocabulary/scenario.js';
import { presetForm } from './preset-form.js';
import { signatureOf } from '../analysis/signature.js';

/** How big a scenario is, in the terms a reader of its reproducer cares about. */
export interface ScenarioSize {
  /** Lanes (threads), replicas counted. */
  lanes: number;
  /** Steps in the lanes' loops, replicas counted. */
  steps: number;
  setup: number;
  teardown: number;
  /** The budget, ns. */
  budget: number;
  /** The largest lane iteration limit; null: until the budget ends. */
  iterations: number | null;
  /** Lanes that are replicas of another. */
  replicas: number;
}

export function sizeOf(sc: Scenario): ScenarioSize {
  const limits = sc.lanes.map((l) => l.iterations ?? sc.iterations ?? null);
  return {
    lanes: sc.lanes.length,
    steps: sc.lanes.reduce((n, l) => n + l.steps.length, 0),
    setup: sc.setup.length,
    teardown: sc.teardown.length,
    budget: sc.duration,
    iterations: limits.some((x) => x === null) ? null : Math.max(0, ...(limits as number[])),
    replicas: sc.lanes.filter((l) => /\.(\d+)$/.test(l.name) && !/\.0$/.test(l.name)).length,
  };
}

export interface Attempt {
  /** The finding with the wanted signature, if the run showed it. */
  finding?: Finding;
  /** Iterations each lane reached (the largest), to bound the iteration search. */
  iterations: number;
}

/** Runs one candidate with one seed. */
export type Runner = (sc: Scenario, seed: number, budget: number) => Promise<Attempt>;

export interface MinimizeOptions {
  scenario: Scenario;
  seed: number;
  /** The signature the minimised scenario must still show. */
  signature: string;
  /** When the finding came in the original run (ns), to cut the budget first. */
  findingAt?: number;
  run: Runner;
  /** Seeds tried per candidate (the current one, then the next ones). */
  attempts?: number;
  /** Runs in total, at most. */
  maxRuns?: number;
  log?: (line: string) => void;
}

export interface MinimizeResult {
  scenario: Scenario;
  seed: number;
  finding: Finding;
  before: ScenarioSize;
  after: ScenarioSize;
  runs: number;
  /** What was removed, in order. */
  log: string[];
  /** The search stopped at maxRuns before it had tried everything. */
  exhausted: boolean;
}

export class MinimizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MinimizeError';
  }
}

/** A changed scenario through the validator again (barrier parties and step paths are derived there); undefined when it no longer validates. */
function revalidate(sc: Scenario): Scenario | undefined {
  const r = validateScenario(presetForm(sc));
  return r.scenario && !r.issues.length ? r.scenario : undefined;
}

/** Lanes grouped as written: a replicated lane's copies together. */
function groups(sc: Scenario): { base: string; lanes: number[] }[] {
  const out: { base: string; lanes: number[] }[] = [];
  sc.lanes.forEach((l, i) => {
    const m = /^(.*)\.(\d+)$/.exec(l.name);
    const base = m ? m[1]! : l.name;
    const last = out[out.length - 1];
    if (m && m[2] !== '0' && last && last.base === base) last.lanes.push(i);
    else out.push({ base, lanes: [i] });
  });
  return out;
}

function withoutLanes(sc: Scenario, drop: Set<number>): Scenario {
  return { ...sc, lanes: sc.lanes.filter((_, i) => !drop.has(i)) };
}

/** Removes step `k` from every lane of a group (replicas run the same steps). */
function withoutStep(sc: Scenario, lanes: number[], k: number): Scenario {
  return { ...sc, lanes: sc.lanes.map((l, i) => (lanes.includes(i) ? { ...l, steps: l.steps.filter((_, j) => j !== k) } : l)) };
}

export async function minimize(o: MinimizeOptions): Promise<MinimizeResult> {
  const attempts = o.attempts ?? 3;
  const maxRuns = o.maxRuns ?? 400;
  const log: string[] = [];
  const say = (l: string) => {
    log.push(l);
    o.log?.(l);
  };
  let runs = 0;
  let exhausted = false;
  let cur = o.scenario;
  let seed = o.seed;

  /** Does the candidate still show the signature, for one of `attempts` seeds? */
  const shows = async (sc: Scenario, tries = attempts): Promise<{ seed: number; a: Attempt } | undefined> => {
    for (let i = 0; i < tries; i++) {
      if (runs >= maxRuns) {
        exhausted = true;
        return undefined;
      }
      runs++;
      const s = (seed + i) >>> 0;
      const a = await o.run(sc, s, sc.duration);
      if (a.finding) return { seed: s, a };
    }
    return undefined;
  };

  const first = await shows(cur, 1);
  if (!first) throw new MinimizeError(`the run does not show ${o.signature} again with seed ${o.seed}: nothing to minimise from`);
  let found = first.a.finding!;
  let iterations = first.a.iterations;

  /** Tries a candidate; keeps it when it still shows the finding. */
  const attempt = async (what: string, cand: Scenario | undefined): Promise<boolean> => {
    if (!cand || exhausted) return false;
    const v = revalidate(cand);
    if (!v) return false;
    const r = await shows(v);
    if (!r) return false;
    cur = v;
    seed = r.seed;
    found = r.a.finding!;
    iterations = Math.min(iterations, r.a.iterations);
    say(`${what} (seed ${seed}, finding at ${(found.t / 1e6).toFixed(3)} ms)`);
    return true;
  };

  // 1. The budget: the run need not go on long after the finding came.
  const cut = (t: number) => Math.max(1e6, Math.ceil((t * 1.25) / 1e6) * 1e6);
  if (cut(found.t) < cur.duration) await attempt(`budget ${(cur.duration / 1e6).toFixed(0)} ms -> ${(cut(found.t) / 1e6).toFixed(0)} ms`, { ...cur, duration: cut(found.t) });

  // 2.-5. Lanes, replicas, loop steps, setup and teardown, until nothing more goes.
  for (let changed = true; changed && !exhausted; ) {
    changed = false;
    for (const g of groups(cur).reverse()) {
      if (cur.lanes.length <= 1) break;
      if (await attempt(`lane ${g.base}${g.lanes.length > 1 ? ` (${g.lanes.length} replicas)` : ''} removed`, withoutLanes(cur, new Set(g.lanes)))) changed = true;
      else if (g.lanes.length > 1) {
        // fewer replicas: drop them from the end
        for (let n = g.lanes.length - 1; n >= 1; n--) {
          const drop = new Set(g.lanes.slice(n));
          if (await attempt(`lane ${g.base}: ${g.lanes.length} -> ${n} replicas`, withoutLanes(cur, drop))) {
            changed = true;
            break;
          }
        }
      }
    }
    for (const g of groups(cur)) {
      const lane = cur.lanes[g.lanes[0]!];
      if (!lane) continue;
      for (let k = lane.steps.length - 1; k >= 0 && (cur.lanes[g.lanes[0]!]?.steps.length ?? 0) > 1; k--) {
        const l = cur.lanes[g.lanes[0]!]!;
        if (k >= l.steps.length) continue;
        if (await attempt(`lane ${g.base}: step ${k} (${l.steps[k]!.op}) removed`, withoutStep(cur, g.lanes, k))) changed = true;
      }
    }
    if (cur.teardown.length && (await attempt(`teardown removed (${cur.teardown.length} steps)`, { ...cur, teardown: [] }))) changed = true;
    for (let k = cur.teardown.length - 1; k >= 0; k--)
      if (await attempt(`teardown step ${k} (${cur.teardown[k]!.op}) removed`, { ...cur, teardown: cur.teardown.filter((_, j) => j !== k) })) changed = true;
    for (let k = cur.setup.length - 1; k >= 0; k--)
      if (await attempt(`setup step ${k} (${cur.setup[k]!.op}) removed`, { ...cur, setup: cur.setup.filter((_, j) => j !== k) })) changed = true;
  }

  // 6. Iterations: the fewest that still reach the finding (every lane the same count, so barriers still meet).
  if (!exhausted && iterations > 0) {
    const limit = (n: number): Scenario => ({ ...cur, iterations: n, lanes: cur.lanes.map(({ iterations: _i, ...l }) => l) });
    const current = sizeOf(cur).iterations;
    for (let n = 1; n <= iterations + 1 && (current === null || n < current); n = n < 8 ? n + 1 : Math.ceil(n * 1.5)) {
      if (await attempt(`iterations -> ${n}`, limit(n))) break;
    }
  }

  // 7. The budget once more, now that the scenario is small.
  if (!exhausted && cut(found.t) < cur.duration) await attempt(`budget -> ${(cut(found.t) / 1e6).toFixed(0)} ms`, { ...cur, duration: cut(found.t) });

  return { scenario: cur, seed, finding: found, before: sizeOf(o.scenario), after: sizeOf(cur), runs, log, exhausted };
}

/**
 * A runner on any target: the engine runs the candidate; the attempt shows the
 * signature if any finding has it. `keep`: the target is shared by every
 * attempt (one guest for a whole minimisation) and not disposed after each.
 */
export function targetRunner(target: () => Target, signature: string, opts: { budget?: (sc: Scenario) => number; keep?: boolean } = {}): Runner {
  const budget = opts.budget;
  return async (sc, seed) => {
    let maxIter = 0;
    const t = target();
    const h = startRun({ scenario: sc, target: t, seed, ...(budget ? { duration: budget(sc) } : {}), journalSync: false });
    h.subscribe((e) => {
      if (e.kind === 'act' && e.iter + 1 > maxIter) maxIter = e.iter + 1;
    });
    try {
      const s = await h.done;
      const finding = s.findings.find((f) => (f.signature ?? signatureOf(f)) === signature);
      return { ...(finding ? { finding } : {}), iterations: maxIter };
    } finally {
      if (!opts.keep) await t.dispose?.();
    }
  };
}
