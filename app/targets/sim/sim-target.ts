// The simulated kernel as a target: every run boots a fresh deterministic
// machine, so the same scenario, profile and seed give the same events.
import type { Finding, InterleavingStep } from '../../events/types.js';
import { TargetError, type RunOutcome, type RunRequest, type Target } from '../target.js';
import { ProfileError, parseProfile } from '../../sim/profiles.js';
import { simDeviceList } from '../../sim/devices.js';
import { DecisionLog } from '../../sim/kernel/strategy.js';
import { SimRun } from './sim-run.js';
import type { DeviceList } from '../../devices/types.js';
import { placementOf } from '../../vocabulary/placement.js';
import { allSteps } from '../../vocabulary/scenario.js';

export class SimTarget implements Target {
  readonly id = 'sim' as const;
  readonly label = 'Simulated kernel';
  private current: SimRun | null = null;

  async available() {
    return { ok: true };
  }

  async listDevices(): Promise<DeviceList> {
    return simDeviceList();
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    // TODO(applane stage 2): mirror pa.*/midi.* as the ALSA calls the libraries make (native-bridge/applane/ALSA-CALLS.md)
    if (placementOf(allSteps(req.scenario)) === 'library')
      throw new TargetError(`${req.scenario.name} drives PortAudio/RtMidi (pa.*, midi.*); the simulated kernel does not mirror those libraries yet: run it with --target local or --target vm`);
    let bugs;
    try {
      bugs = parseProfile(req.profile);
    } catch (e) {
      if (e instanceof ProfileError) throw new TargetError(e.message);
      throw e;
    }
    const run = new SimRun({
      scenario: req.scenario,
      seed: req.seed,
      bugs,
      duration: req.duration,
      strategy: req.strategy,
      depth: req.depth,
      ...(req.replay !== undefined ? { replay: DecisionLog.decode(req.replay) } : {}),
      emit: req.emit,
      stopRequested: () => req.signal.aborted,
    });
    this.current = run;
    const onAbort = () => run.interrupt();
    req.signal.addEventListener('abort', onAbort);
    try {
      return await run.run();
    } finally {
      req.signal.removeEventListener('abort', onAbort);
      this.current = null;
    }
  }

  explain(f: Finding): InterleavingStep[] | undefined {
    const run = this.current;
    if (!run) return undefined;
    const since = typeof f.evidence?.since === 'number' ? f.evidence.since : f.t - 200e3;
    const lanes = Array.isArray(f.evidence?.lanes) ? (f.evidence.lanes as string[]) : f.lane ? [f.lane] : [];
    const steps = lanes.length ? run.traceFor(lanes, since, 64, 0) : run.recentTrace(since);
    return steps.length ? steps : undefined;
  }
}
