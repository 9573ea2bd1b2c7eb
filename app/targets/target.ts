// What every target (simulated kernel, this machine's cards through the agent,
// the agent inside the virtual lab) offers the engine. The engine never asks
// which one it is talking to.
import type { DeviceList } from '../devices/types.js';
import type { Finding, InterleavingStep, RunEvent, TargetId } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';
import type { ScheduleSource } from '../sim/kernel/strategy.js';

export interface RunRequest {
  scenario: Scenario;
  seed: number;
  /** Simulated kernel profile (bug switches); ignored by real targets. */
  profile: string[];
  /** Budget in ns: virtual on the simulator, wall clock on real targets. */
  duration: number;
  strategy: 'pct' | 'random';
  depth: number;
  /** Recorded scheduler decisions to follow instead of choosing (sim replay): DecisionLog text, or read as the run goes. */
  replay?: string | ScheduleSource;
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
  dispose?(): Promise<void>;
}

/** The target could not do its job (missing tool, agent crashed at start). CLI exit code 3. */
export class TargetError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'TargetError';
  }
}
