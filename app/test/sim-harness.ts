// Test helpers: run scenarios on the simulated kernel and look at what
// happened, without files or a CLI in between.
import { validateScenario, type Scenario } from '../vocabulary/scenario.js';
import { SimRun } from '../targets/sim/sim-run.js';
import { simBugs } from '../targets/sim/options.js';
import { compileProgram } from '../program/compile.js';
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

export async function simulate(sc: Scenario, o: { profile?: string[]; seed?: number; duration?: number; oracle?: SeqOracle; reportRequests?: boolean } = {}): Promise<SimResult> {
  const events: RunEvent[] = [];
  const run = new SimRun({
    program: compileProgram(sc, { seed: o.seed ?? 1, duration: o.duration ?? sc.duration }),
    bugs: simBugs(o.profile ?? ['fixed']),
    strategy: 'pct',
    depth: 3,
    emit: (e) => events.push(e),
    stopRequested: () => false,
    ...(o.oracle ? { oracle: o.oracle } : {}),
    ...(o.reportRequests ? { reportRequests: true } : {}),
  });
  const out = await run.run();
  const acts = events.filter((e): e is ActionEvent => e.kind === 'act');
  return { events, acts, run, status: out.status, op: (name, lane) => acts.filter((a) => a.op === name && (!lane || a.lane === lane)) };
}

export const library = new PresetLibrary();

export async function runPreset(name: string, profile: string[], seed: number, extra: { duration?: number; outDir?: string } = {}): Promise<RunSummary> {
  const { scenario } = library.load(name);
  return startRun({ scenario, target: new SimTarget({ profile }), seed, ...extra, journalSync: false, loadScenario: (n) => library.load(n).scenario }).done;
}

/** One lane running `steps` once (setup opens what it needs). */
export function once(setup: unknown[], steps: unknown[], extra: Record<string, unknown> = {}): Scenario {
  return scenario({ duration: '1s', setup, lanes: [{ name: 'app', iterations: 1, loop: steps }], ...extra });
}

/**
 * The two claims every race family makes: with its historic bug the preset
 * reports `finding` for every seed 1..20 within its default budget, and on
 * today's kernel it passes for seeds 1..200. One file per family calls this,
 * so the families run in parallel.
 */
export function raceFamily(describe: (name: string, fn: () => void) => void, it: (name: string, fn: () => Promise<void>, timeout: number) => void, expectEqual: (a: unknown, b: unknown) => void, preset: string, bugProfile: string, finding: string): void {
  describe(preset, () => {
    it(`finds ${finding} on ${bugProfile} for seeds 1..20`, async () => {
      const misses: string[] = [];
      for (let seed = 1; seed <= 20; seed++) {
        const s = await runPreset(preset, [bugProfile], seed);
        if (s.findings[0]?.type !== finding) misses.push(`seed ${seed}: ${s.findings.map((f) => f.type).join(',') || 'no findings'}`);
      }
      expectEqual(misses, []);
    }, 600_000);
    it('passes on fixed for seeds 1..200', async () => {
      const failures: string[] = [];
      for (let seed = 1; seed <= 200; seed++) {
        const s = await runPreset(preset, ['fixed'], seed);
        if (s.verdict !== 'pass') failures.push(`seed ${seed}: ${s.findings.map((f) => `${f.type}: ${f.message}`).join('; ')}`);
      }
      expectEqual(failures, []);
    }, 1_800_000);
  });
}
