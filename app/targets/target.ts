// What every target (simulated kernel, this machine's cards through the agent,
// the agent inside the virtual lab) offers the engine. The engine never asks
// which one it is talking to.
import type { DeviceList } from '../devices/types.js';
import type { Finding, InterleavingStep, RunEvent, TargetId } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';

export interface RunRequest {
  scenario: Scenario;
  seed: number;
  /** Simulated kernel profile (bug switches); ignored by real targets. */
  profile: string[];
  /** Budget in ns: virtual on the simulator, wall clock on real targets. */
  duration: number;
  strategy: 'pct' | 'random';
  depth: number;
  /** Recorded scheduler decisions to follow instead of choosing (sim replay). */
  replay?: string;
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
   * Called synchronously right after a finding is made from this run's
   * events: a target that knows how it got there (the simulator's schedule)
   * returns the interleaving.
   */
  explain?(finding: Finding): InterleavingStep[] | undefined;
  /** After a run: the real kernel it ran on, if the target has one it knows (the virtual lab). */
  kernelContext?(): KernelContext | undefined;
  dispose?(): Promise<void>;
}

/** The target could not do its job (missing tool, agent crashed at start). CLI exit code 3. */
export class TargetError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'TargetError';
  }
}
