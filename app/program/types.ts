// The resolved program: a preset compiled for one seed and budget, with every
// user-space decision made. Plain data (JSON round-trips it unchanged): the
// simulated kernel, the native agent and a C reproducer execute it and read
// nothing else. README.md beside this file says what each op's arguments
// mean and which few decisions are left to the interpreter (the run-time rules).

import type { HandleKind } from '../vocabulary/ops.js';

export const PROGRAM_FORMAT = 1;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * How an argument gets its value each time its step runs:
 * - fixed: always this value;
 * - list: item `iteration mod n` (setup and teardown use item 0);
 * - range: a fresh draw from the lane's generator at every execution, an
 *   integer in [min, max] when `int`, else a float in [min, max).
 * A step draws its range arguments in the order they appear in `args`.
 */
export type Arg = { fixed: Json } | { list: Json[] } | { range: [number, number]; int: boolean };

/** A sequencer address, resolved as far as the compiler can: handles become indexes. */
export type SeqAddress =
  | { kind: 'client'; client: number; port: number }
  | { kind: 'handle'; handle: number; port: number }
  | { kind: 'self'; port: number }
  | { kind: 'subscribers' };

/** pcm and seq handles are raw files (the agent); pa and midi ones library streams and ports (the application lane). */
export type { HandleKind };

export interface ProgramHandle {
  name: string;
  kind: HandleKind;
}

export interface ProgramBarrier {
  name: string;
  /** Lanes that must arrive before any is released. */
  parties: number;
}

export interface ProgramStep {
  op: string;
  /** Index into Program.handles; -1 for ops without a handle. */
  handle: number;
  /** Hang bound for this step, ns (the preset's hang timeout unless the step names its own). */
  timeout: number;
  /** Every argument the op takes, defaults written in, in draw order. */
  args: Record<string, Arg>;
  /** The step's event records its resolved arguments (they vary, or the op always shows them). */
  recordArgs: boolean;
  /** errnos the preset tolerates for this step ('any' for all); for reports, not for execution. */
  expect?: string[] | 'any';
  /** Where the step was written ("lanes[0].loop[2]"). */
  at: string;
  label?: string;
}

export type LaneRole = 'setup' | 'lane' | 'teardown';

export interface ProgramLane {
  name: string;
  role: LaneRole;
  /** How many times the steps run; null: until the budget ends (or the run stops). Setup and teardown: 1. */
  iterations: number | null;
  /** The iteration number its events carry when it does not loop: -1 setup, -2 teardown; null for lanes. */
  fixedIteration: -1 | -2 | null;
  /** Stream of the lane's generator: xoshiro128** seeded through splitmix32 with (Program.seed, stream). */
  rngStream: number;
  steps: ProgramStep[];
}

export interface Program {
  format: typeof PROGRAM_FORMAT;
  /** The preset it was compiled from (names only: nothing refers back to it). */
  name: string;
  /** Unsigned 32-bit seed of every lane generator. */
  seed: number;
  /** Budget, ns: virtual on the simulator, wall clock on real targets. */
  duration: number;
  /** The preset's hang bound, ns (each step carries its own in `timeout`). */
  hangTimeout: number;
  handles: ProgramHandle[];
  barriers: ProgramBarrier[];
  setup: ProgramLane;
  lanes: ProgramLane[];
  teardown: ProgramLane;
}
