// What the host sends the application lane: the scenario's steps with their
// arguments as validated (lists and {random} ranges still unresolved), the
// seed, the budget. The child resolves arguments exactly as the agent does
// (PROTOCOL.md "Varying arguments": one xoshiro128** stream per lane, setup
// 1000, teardown 1001), so events carry the same drawn values for a seed.
// TODO(program): when app/program/ lands, this becomes the resolved Program.
import type { Scenario, Step } from '../vocabulary/scenario.js';
import { LIBRARY_LANE_EXTRAS, placementOf } from '../vocabulary/placement.js';
import { allSteps } from '../vocabulary/scenario.js';
import { isLibraryOp } from '../vocabulary/ops.js';

export const LIBRARY_PROGRAM_FORMAT = 1;

export interface LibraryStep {
  op: string;
  args: Record<string, unknown>;
  timeout: number;
  at: string;
}

export interface LibraryLane {
  name: string;
  role: 'setup' | 'lane' | 'teardown';
  iterations: number | null;
  rngStream: number;
  steps: LibraryStep[];
}

export interface LibraryProgram {
  format: typeof LIBRARY_PROGRAM_FORMAT;
  name: string;
  seed: number;
  /** ns, wall clock. */
  duration: number;
  /** Scenario-wide iteration cap (null: until the budget ends). */
  iterations: number | null;
  hangTimeout: number;
  barriers: Record<string, number>;
  setup: LibraryLane;
  lanes: LibraryLane[];
  teardown: LibraryLane;
}

export class LibraryProgramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibraryProgramError';
  }
}

function step(s: Step, hang: number): LibraryStep {
  if (!isLibraryOp(s.op) && !(LIBRARY_LANE_EXTRAS as readonly string[]).includes(s.op)) throw new LibraryProgramError(`${s.at}: ${s.op} does not run in the application lane`);
  return { op: s.op, args: s.args, timeout: s.timeout ?? hang, at: s.at };
}

export function compileLibraryProgram(sc: Scenario, o: { seed: number; duration: number }): LibraryProgram {
  if (placementOf(allSteps(sc)) !== 'library') throw new LibraryProgramError(`${sc.name} has no library steps (pa.*, midi.*): it is the native agent's to run`);
  const hang = sc.expect.hangTimeout;
  return {
    format: LIBRARY_PROGRAM_FORMAT,
    name: sc.name,
    seed: o.seed >>> 0,
    duration: o.duration,
    iterations: sc.iterations ?? null,
    hangTimeout: hang,
    barriers: sc.barriers,
    setup: { name: 'setup', role: 'setup', iterations: 1, rngStream: 1000, steps: sc.setup.map((s) => step(s, hang)) },
    lanes: sc.lanes.map((l, i) => ({ name: l.name, role: 'lane' as const, iterations: l.iterations ?? null, rngStream: i, steps: l.steps.map((s) => step(s, hang)) })),
    teardown: { name: 'teardown', role: 'teardown', iterations: 1, rngStream: 1001, steps: sc.teardown.map((s) => step(s, hang)) },
  };
}
