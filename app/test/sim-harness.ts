// Test helpers: run scenarios on the simulated kernel and look at what
// happened, without files or a CLI in between.
import { validateScenario, type Scenario } from '../vocabulary/scenario.js';
import { SimRun } from '../targets/sim/sim-run.js';
import { parseProfile } from '../sim/profiles.js';
import type { ActionEvent, RunEvent } from '../events/types.js';
import { PresetLibrary } from '../engine/presets.js';
import { type RunSummary, startRun } from '../engine/run.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import type { SeqOracle } from '../sim/seq/seq_fifo.js';

export function scenario(doc: Record<string, unknown>): Scenario {
  const { scenario, issues } = validateScenario({ name: 'test', ...doc });
  if (!scenario) throw new Error(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return scenario;
}

export interface SimResult {
  events: RunEvent[];
  acts: ActionEvent[];
  run: SimRun;
  status: string;
  /** The action events of one op, in order. */
  op(name: string, lane?: string): ActionEvent[];
}

export async function simulate(sc: Scenario, o: { profile?: string[]; seed?: number; duration?: number; oracle?: SeqOracle } = {}): Promise<SimResult> {
  const events: RunEvent[] = [];
  const run = new SimRun({
    scenario: sc,
    seed: o.seed ?? 1,
    bugs: parseProfile(o.profile ?? ['fixed']),
    duration: o.duration ?? sc.duration,
    strategy: 'pct',
    depth: 3,
    emit: (e) => events.push(e),
    stopRequested: () => false,
    ...(o.oracle ? { oracle: o.oracle } : {}),
  });
  const out = await run.run();
  const acts = events.filter((e): e is ActionEvent => e.kind === 'act');
  return { events, acts, run, status: out.status, op: (name, lane) => acts.filter((a) => a.op === name && (!lane || a.lane === lane)) };
}

export const library = new PresetLibrary();

export async function runPreset(name: string, profile: string[], seed: number, extra: { duration?: number; outDir?: string } = {}): Promise<RunSummary> {
  const { scenario } = library.load(name);
  return startRun({ scenario, target: new SimTarget(), seed, profile, ...extra, journalSync: false, loadScenario: (n) => library.load(n).scenario }).done;
}

/** One lane running `steps` once (setup opens what it needs). */
export function once(setup: unknown[], steps: unknown[], extra: Record<string, unknown> = {}): Scenario {
  return scenario({ duration: '1s', setup, lanes: [{ name: 'app', iterations: 1, loop: steps }], ...extra });
}
