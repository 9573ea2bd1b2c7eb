// What every target (simulated kernel, this machine's cards through the agent,
// the agent inside the virtual lab) offers the engine. The engine never asks
// which one it is talking to, and hands every target the same thing: a
// resolved program (app/program), whose user-space decisions are all made.
// A target with settings of its own (the simulator's kernel profile, schedule
// strategy and depth, a replayed schedule) is given them when it is created
// (registry.ts), never through this seam.
import type { DeviceList } from '../devices/types.js';
import type { Finding, InterleavingStep, KernelRecord, RunEvent, TargetId } from '../events/types.js';
import type { Program } from '../program/types.js';
import type { Scenario, SuiteEntry } from '../vocabulary/scenario.js';
import { TargetError, TargetInputError } from '../errors.js';

export { TargetError, TargetInputError };

export interface RunRequest {
  /** What to execute. Its `duration` is the budget: virtual on the simulator, wall clock on real targets. */
  program: Program;
  /** Put the request each step issued into its event (`req`), for the sim-vs-agent comparison. */
  reportRequests?: boolean;
  /**
   * Library ops (pa.*, midi.*) on a real kernel: trace the ALSA calls the
   * library makes and put them in each op's event (`data.calls`), for the
   * oracle. Costs speed; the simulated kernel always reports its mirror's calls.
   */
  traceCalls?: boolean;
  /** Set by the engine when the run must stop (abort, stop-on-finding, budget). */
  signal: AbortSignal;
  emit(e: RunEvent): void;
}

export interface RunOutcome {
  /** completed: lanes ran out their budget; stopped: asked to stop; crashed: the target died (kernel panic, agent killed). */
  status: 'completed' | 'stopped' | 'crashed';
  reason?: string;
  /** Virtual or wall time the run covered, ns. */
  elapsed: number;
}

/** How a target runs, as the journal header and summary.json record it. */
export interface RunSettings {
  profile: string[];
  strategy: string;
  depth: number;
}

/**
 * What journals record for a target without settings of its own (a real
 * kernel): no profile at all (kernel profiles are switches of the simulated
 * kernel; a real kernel is labelled with none, not even "fixed"), and the
 * header's other two fields as they have always been written.
 */
export const NO_SETTINGS: RunSettings = { profile: [], strategy: 'pct', depth: 3 };

/**
 * What a target knows at the end of a run about the real kernel it ran on
 * (the virtual lab: the taint after the run): the engine folds it into the
 * run's one kernel record, summary.json's context.kernel.
 */
export type KernelContext = KernelRecord;

export interface Target {
  readonly id: TargetId;
  readonly label: string;
  /** Cheap check that the target can run here; `why` names what is missing. */
  available(): Promise<{ ok: boolean; why?: string }>;
  listDevices(): Promise<DeviceList>;
  run(req: RunRequest): Promise<RunOutcome>;
  /**
   * The target as it runs one preset (a suite runs several, each `entry`):
   * a target with settings of its own reads the preset's (the simulator: the
   * `sim:` block, the suite entry's kernel profile). Others leave it out.
   */
  forPreset?(scenario: Scenario, entry?: SuiteEntry): Target;
  /** For the journal header; NO_SETTINGS when left out. */
  settings?(): RunSettings;
  /**
   * Called synchronously right after a finding is made from this run's
   * events: a target that knows how it got there (the simulator's schedule)
   * returns the interleaving.
   */
  explain?(finding: Finding): InterleavingStep[] | undefined;
  /** After a run: the real kernel it ran on, if the target knows more of it than its context event said (the virtual lab). */
  kernelContext?(): KernelContext | undefined;
  dispose?(): Promise<void>;
}
