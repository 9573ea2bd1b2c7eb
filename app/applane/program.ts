// What the host sends the application lane: the resolved program
// (app/program), as every back-end gets it. The child resolves each step's
// arguments as the simulator and the agent do (app/program/resolve.ts: one
// xoshiro128** stream per lane, setup 1000, teardown 1001), so events carry
// the same drawn values for a seed. pa.* and midi.* steps carry the arguments
// the preset wrote; their defaults are still the child's (handle-host.ts).
import type { Program, ProgramLane, ProgramStep } from '../program/types.js';
import { PROGRAM_FORMAT } from '../program/types.js';
import { programSteps } from '../program/resolve.js';
import { LIBRARY_LANE_EXTRAS, placementOf } from '../vocabulary/placement.js';
import { isLibraryOp } from '../vocabulary/ops.js';

export const LIBRARY_PROGRAM_FORMAT = PROGRAM_FORMAT;
export type LibraryProgram = Program;
export type LibraryLane = ProgramLane;
export type LibraryStep = ProgramStep;

export class LibraryProgramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibraryProgramError';
  }
}

/** The program, checked to be the application lane's: library ops, and only the ops the lane runs besides them. */
export function libraryProgram(p: Program): LibraryProgram {
  const steps = programSteps(p);
  if (placementOf(steps) !== 'library') throw new LibraryProgramError(`${p.name} has no library steps (pa.*, midi.*): it is the native agent's to run`);
  for (const s of steps)
    if (!isLibraryOp(s.op) && !(LIBRARY_LANE_EXTRAS as readonly string[]).includes(s.op)) throw new LibraryProgramError(`${s.at}: ${s.op} does not run in the application lane`);
  return p;
}
