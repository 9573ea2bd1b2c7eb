// The simulated kernel as a target: every run boots a fresh deterministic
// machine, so the same program, profile and seed give the same events. Its
// settings (kernel profile, schedule strategy and depth, a replayed schedule)
// come with it when it is created, and from the preset it runs (forPreset):
// the generic RunRequest carries none of them.
import type { Finding, InterleavingStep } from '../../events/types.js';
import { TargetError, type RunOutcome, type RunRequest, type RunSettings, type Target } from '../target.js';
import { ProfileError, parseProfile, profileLabel } from '../../sim/profiles.js';
import { simDeviceList } from '../../sim/devices.js';
import { ScheduleReader } from '../../sim/kernel/strategy.js';
import type { Scenario, SuiteEntry } from '../../vocabulary/scenario.js';
import { SimRun } from './sim-run.js';
import type { SimTargetOptions } from './options.js';
import type { DeviceList } from '../../devices/types.js';
import { simContext } from '../context.js';
import { placementOf } from '../../vocabulary/placement.js';
import { programSteps } from '../../program/resolve.js';

export class SimTarget implements Target {
  readonly id = 'sim' as const;
  readonly label = 'Simulated kernel';
  private current: SimRun | null = null;

  constructor(
    private readonly opts: SimTargetOptions = {},
    private readonly scenario?: Scenario,
  ) {}

  async available() {
    return { ok: true };
  }

  async listDevices(): Promise<DeviceList> {
    return simDeviceList();
  }

  /** A suite entry runs with its own profile and never replays the whole suite's schedule. */
  forPreset(scenario: Scenario, entry?: SuiteEntry): SimTarget {
    if (!entry) return new SimTarget(this.opts, scenario);
    const { replay: _r, ...rest } = this.opts;
    return new SimTarget({ ...rest, profile: entry.profile ?? ['fixed'] }, scenario);
  }

  settings(): RunSettings {
    const sim = this.scenario?.sim ?? {};
    return {
      profile: this.scenario?.suite ? suiteLabel(this.scenario.suite) : label(this.opts.profile ?? ['fixed']),
      strategy: this.opts.replay !== undefined ? 'replay' : (this.opts.strategy ?? sim.strategy ?? 'pct'),
      depth: sim.depth ?? this.opts.depth ?? 3,
    };
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    // TODO(applane stage 2): mirror pa.*/midi.* as the ALSA calls the libraries make (native-bridge/applane/ALSA-CALLS.md)
    if (placementOf(programSteps(req.program)) === 'library')
      throw new TargetError(`${req.program.name} drives PortAudio/RtMidi (pa.*, midi.*); the simulated kernel does not mirror those libraries yet: run it with --target local or --target vm`);
    let bugs;
    try {
      bugs = parseProfile(this.opts.profile ?? ['fixed']);
    } catch (e) {
      if (e instanceof ProfileError) throw new TargetError(e.message);
      throw e;
    }
    req.emit({ kind: 'context', t: 0, context: simContext() });
    const sim = this.scenario?.sim ?? {};
    const run = new SimRun({
      program: req.program,
      bugs,
      strategy: this.opts.strategy ?? sim.strategy ?? 'pct',
      depth: sim.depth ?? this.opts.depth ?? 3,
      ...(sim.quantum ? { quantum: sim.quantum } : {}),
      ...(this.opts.replay !== undefined ? { replay: typeof this.opts.replay === 'string' ? ScheduleReader.of(this.opts.replay) : this.opts.replay } : {}),
      ...(req.reportRequests ? { reportRequests: true } : {}),
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

/** The profile label, or the names as given when they do not parse (the run then fails with the reason). */
function label(names: readonly string[]): string[] {
  try {
    return profileLabel(parseProfile(names));
  } catch {
    return [...names];
  }
}

/** A suite's phases name their own profiles; the run's is every switch any phase turns on. */
function suiteLabel(suite: SuiteEntry[]): string[] {
  const names = suite.flatMap((e) => e.profile ?? []).flatMap((n) => n.split(',')).map((n) => n.trim());
  return profileLabel(new Set(names.filter((n) => n && n !== 'fixed')));
}
