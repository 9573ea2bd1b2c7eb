// What every target (simulated kernel, this machine's cards through the agent,
// the agent inside the virtual lab) offers the engine. The engine never asks
// which one it is talking to, and hands every target the same thing: a
// resolved program (app/program), whose user-space decisions are all made.
// A target with settings of its own (the simulator's kernel profile, schedule
// strategy and depth, a replayed schedule) is given them when it is created
// (registry.ts), never through this seam.
import type { DeviceList } from '../devices/types.js';
import type { Finding, InterleavingStep, RunEvent, TargetId } from '../events/types.js';
import type { Program } from '../program/types.js';
import type { Scenario, SuiteEntry } from '../vocabulary/scenario.js';
import { TargetError } from '../errors.js';

export { TargetError };

export interface RunRequest {
  /** What to execute. Its `duration` is the budget: virtual on the simulator, wall clock on real targets. */
  program: Program;
  /** Put the request each step issued into its event (`req`), for the sim-vs-agent comparison. */
  reportRequests?: boolean;
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

/** The real kernel a run ran on (virtual lab): summary.json's "kernel", shown in reports and kernel matrices. */
export interface KernelContext {
  /** uname -r */
  release: string;
  origin: 'distro' | 'user';
  /** linux-image package (distribution kernels). */
  package?: string;
  /** Debian source version (6.1.190-1) and its upstream version (6.1.190). */
  source_version?: string;
  upstream?: string;
  /** Memory-debugging boot options that were on, and what the kernel could not do. */
  memory_debug: { on: string[]; unavailable: string[] };
  /** The module overlay loaded instead of stock modules (app/vlab/overlay.ts overlaySummary). */
  overlay?: Record<string, unknown>;
  /** /proc/sys/kernel/tainted after boot and after the run, decoded (letters as the kernel prints them). */
  taint_at_boot?: { value: number; letters: string; flags: { letter: string; meaning: string }[] };
  taint_at_end?: { value: number; letters: string; flags: { letter: string; meaning: string }[] };
}

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
  /** After a run: the real kernel it ran on, if the target has one it knows (the virtual lab). */
  kernelContext?(): KernelContext | undefined;
  dispose?(): Promise<void>;
}
