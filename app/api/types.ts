// The one API the user interface talks to, whichever transport carries it
// (Electron IPC or a WebSocket to `stresslab serve`). Types only: this file
// runs anywhere and imports nothing at run time. App types the renderer needs
// are re-exported from here so the renderer never imports app/ directly.
import type { DeviceList } from '../devices/types.js';
import type { ConformanceEvent, Finding, InterleavingStep, KlogEvent, RecoverEvent, RunContext, RunEvent, RunHeader, RunTrailer, Severity, TargetContext, Verdict } from '../events/types.js';
import type { PhaseSummary, RunSummary } from '../engine/run.js';
import type { PresetProblem } from '../vocabulary/preset-file.js';
import type { Thresholds } from '../vocabulary/scenario.js';
import type { CheckResult, CheckStatus } from '../analysis/checks.js';
import type { MetricRow, MetricsComparison, ComparedRun } from '../analysis/compare-metrics.js';
import type { DeviceRow, RunCounts, StreamRow } from './tally.js';
import type { KernelListing, KernelsResult } from '../vlab/kernel-listing.js';
import type { KernelMatrix, MatrixRow } from '../engine/kernel-matrix.js';
import type { VmSettings } from '../vlab/boot-settings.js';

export type { CheckResult, CheckStatus, ComparedRun, ConformanceEvent, DeviceList, DeviceRow, Finding, InterleavingStep, RecoverEvent, KernelListing, KernelMatrix, KernelsResult, KlogEvent, MatrixRow, MetricRow, MetricsComparison, PhaseSummary, PresetProblem, RunContext, RunCounts, RunEvent, RunHeader, RunSummary, RunTrailer, Severity, StreamRow, TargetContext, Thresholds, Verdict, VmSettings };

/** A kernel matrix started from the app: one run per kernel, one after another. */
export interface MatrixStatus {
  id: string;
  preset: string;
  seed: number;
  state: 'running' | 'done';
  rows: MatrixRowState[];
}

export interface MatrixRowState {
  kernel: string;
  state: 'waiting' | 'running' | 'done' | 'error';
  runId?: string;
  /** Once done: the verdict row (finding types, signature function, time covered). */
  row?: MatrixRow;
  error?: string;
}

export interface LabInfo {
  version: string;
  /** Which front end is talking: the Electron window or a browser on `stresslab serve`. */
  mode: 'electron' | 'browser';
  runsDir: string;
  userPresetDir: string;
  builtinPresetDir: string;
}

export interface TargetInfo {
  id: string;
  label: string;
  available: boolean;
  /** Why the target cannot run here (missing /dev/snd, no QEMU...). */
  why?: string;
}

export interface DevicesResult {
  target: string;
  list: DeviceList;
  /** The listings in the exact layouts of `aplay -l`, `arecord -l` and `aconnect -l`. */
  text: { playback: string; capture: string; seq: string };
}

export interface ProfileSwitch {
  name: string;
  /** The seed report this historic bug comes from. */
  seed: string;
  summary: string;
  /** The finding the bug produces when a scenario hits it. */
  finding: string;
  /** Where the same bug applies: the simulated kernel's switch, the virtual lab's patch file (or why not), this machine. */
  where?: { sim: string; vm: string; local: string };
}

export interface PresetEntry {
  name: string;
  origin: 'builtin' | 'user';
  family?: string;
  description: string;
  suite: boolean;
  bugProfile?: string[];
  /** The preset this one adapts to other hardware (listed under it). */
  variantOf?: string;
  /** The hardware it needs, in a few words ("soc-dpcm SimSoC, sequencer"). */
  needs?: string;
  /** The file does not parse or validate; the first problem. */
  error?: string;
}

export interface PresetText {
  name: string;
  origin: 'builtin' | 'user';
  /** File name shown in problems (file:line:col). */
  file: string;
  text: string;
}

export interface SuitePhase {
  preset: string;
  profile: string[];
  /** ns; absent means the phase preset's own duration. */
  duration?: number;
}

/** What the editor shows about a preset that validates. */
export interface ScenarioOutline {
  name: string;
  family?: string;
  description: string;
  /** ns */
  duration: number;
  lanes: string[];
  bugProfile?: string[];
  variantOf?: string;
  /** What hardware it needs, one line per card (and the sequencer): targets map it or refuse the run. */
  needs?: string[];
  suite?: SuitePhase[];
  /** The preset's thresholds (ns, xruns a count). */
  thresholds?: Thresholds;
}

export interface ValidateResult {
  ok: boolean;
  problems: PresetProblem[];
  outline?: ScenarioOutline;
}

/** A library preset by name, or the editor's text (run without saving). */
export type RunSource = { preset: string } | { text: string; name: string };

export interface RunStartParams {
  source: RunSource;
  target: string;
  /** Simulated kernel profile: ["fixed"] or bug switches. Suites use their phases' profiles. */
  profile: string[];
  seed: number;
  /** Budget in ns; absent means the preset's. */
  duration?: number;
  /** Afterwards, run the same scenario on the fixed simulated kernel and compare (summary.oracle). */
  oracle?: boolean;
  /** Thresholds changed for this run, written as in a preset ("50ms", 0); null removes one. */
  thresholds?: ThresholdValues;
  /** Target "vm": kernel, module overlay, memory debugging, hardware. */
  vm?: VmSettings;
}

/** Threshold values as a person writes them in a preset; null (or "") removes the threshold. */
export type ThresholdValues = Partial<Record<keyof Thresholds, string | number | null>>;

export interface ThresholdCheck {
  /** The thresholds the run would use (ns; xruns a count), when every value is valid. */
  thresholds?: Thresholds;
  /** Problems with the preset's words: "expect.thresholds.latency_p99: expected a duration…". */
  problems: PresetProblem[];
}

export interface RunStarted {
  runId: string;
  dir: string;
  /** A kernel matrix (vm.kernelVersion named several kernels): its id for matrix.get; runId is its first run. */
  matrix?: string;
}

export type RunState = 'running' | 'done' | 'incomplete';

export interface RunInfo {
  id: string;
  preset: string;
  target: string;
  profile: string[];
  seed: number;
  /** ISO time the run started (from its directory name or file times). */
  started: string;
  state: RunState;
  verdict?: Verdict;
  findings?: number;
  elapsed_ns?: number;
  /** The run's budget (ns); a suite's phases have their own. */
  budget_ns?: number;
  wall_ms?: number;
  /** The journal could not be read; why. */
  error?: string;
  /** What it ran on (from summary.json's context). */
  kernel?: string;
  accel?: 'tcg' | 'kvm';
  xruns?: number;
  /** The user's note on the run (runs/<id>/notes.txt). */
  note?: string;
}

export interface SubscribeParams {
  runId: string;
  /** Index of the first event wanted (0 = from the start). */
  from?: number;
}

export interface SubscribeResult {
  sub: string;
  header: RunHeader;
  live: boolean;
}

export interface InflightParams {
  runId: string;
  /** Time (ns since run start) of the kernel-log line. */
  t: number;
  /** Index of the line's event: in a suite, only the actions of the phase that logged it count. */
  i?: number;
}

/** What one lane was doing at a moment. */
export interface LaneActivity {
  lane: string;
  op: string;
  since: number;
  dur: number;
  handle?: string;
  /** The action spans the moment (it was in flight); otherwise it is the lane's last completed action. */
  inFlight: boolean;
  ret: number;
  errno?: string;
}

export interface InflightResult {
  t: number;
  lanes: LaneActivity[];
  /** The scheduling steps (simulated kernel) that led to the report this line belongs to. */
  trace?: InterleavingStep[];
}

export interface ReportResult {
  /** Where the report was written (inside the run's directory). */
  file: string;
  /** Suggested download name. */
  name: string;
  html: string;
}

/** A standalone C reproducer of a run (stresslab repro). */
export interface ReproResult {
  /** Suggested download name. */
  name: string;
  text: string;
  /** The finding it describes, with its signature. */
  finding?: { id: string; type: string; signature?: string };
}

export interface ReproParams {
  runId: string;
  /** The finding to describe; default the run's first critical one. */
  findingId?: string;
  /** The finding's time (ids restart in each phase of a suite). */
  t?: number;
}

export interface ReplayParams {
  runId: string;
  findingId: string;
  /** The finding's time: ids restart in each phase of a suite, so the time tells them apart. */
  t?: number;
}

export interface ReplayStarted extends RunStarted {
  /**
   * exact: the recorded schedule is followed; phase: the suite phase is re-run
   * with its seed and profile; seed: the run predates resolved programs (its
   * schedule cannot be followed), so its preset is re-run with its seed and profile.
   */
  mode: 'exact' | 'phase' | 'seed';
  phase?: string;
  /** The finding the replay should reproduce, with its time relative to the replayed run. */
  expect: { type: string; message: string; t: number };
}

type NoParams = Record<string, never>;

/** Every method: its parameters and its result. */
export interface ApiMethods {
  'lab.info': { params: NoParams; result: LabInfo };
  'targets.list': { params: NoParams; result: TargetInfo[] };
  'devices.list': { params: { target: string; refresh?: boolean; vm?: VmSettings }; result: DevicesResult };
  /** The Debian kernels the virtual lab can boot (stresslab kernels). */
  'kernels.list': { params: { refresh?: boolean }; result: KernelsResult };
  'matrix.get': { params: { id: string }; result: MatrixStatus };
  'profiles.list': { params: NoParams; result: ProfileSwitch[] };
  'presets.list': { params: NoParams; result: PresetEntry[] };
  'presets.load': { params: { name: string }; result: PresetText };
  'presets.validate': { params: { text: string; file?: string }; result: ValidateResult };
  'presets.save': { params: { name: string; text: string; overwrite?: boolean }; result: PresetEntry };
  'run.start': { params: RunStartParams; result: RunStarted };
  /** Ask the run to finish: the target stops, the journal and summary are written. */
  'run.stop': { params: { runId: string }; result: { stopping: boolean } };
  /** Kill the run's worker at once (for a run that does not stop); the journal keeps what was flushed. */
  'run.abort': { params: { runId: string }; result: { aborted: boolean } };
  'run.replay': { params: ReplayParams; result: ReplayStarted };
  'runs.list': { params: NoParams; result: RunInfo[] };
  'runs.subscribe': { params: SubscribeParams; result: SubscribeResult };
  'runs.unsubscribe': { params: { sub: string }; result: { ok: boolean } };
  'runs.inflight': { params: InflightParams; result: InflightResult };
  'report.export': { params: { runId: string }; result: ReportResult };
  /** Checks thresholds for the run settings, with the preset's own validation. */
  'thresholds.check': { params: { values: ThresholdValues; base?: Thresholds }; result: ThresholdCheck };
  /** Deletes a finished run's directory (journal, summary, report). */
  'runs.delete': { params: { runId: string }; result: { deleted: boolean } };
  /** Sets (or, with "", clears) the note on a run. */
  'runs.note': { params: { runId: string; text: string }; result: { note: string } };
  /** Two or more runs by their metrics, the first as the baseline. */
  'runs.compare': { params: { runIds: string[] }; result: MetricsComparison };
  /** The run's program as one C file (the same file `stresslab repro <run dir>` writes). */
  'repro.export': { params: ReproParams; result: ReproResult };
}

export type Method = keyof ApiMethods;
export type Params<M extends Method> = ApiMethods[M]['params'];
export type Result<M extends Method> = ApiMethods[M]['result'];

export type ErrorCode = 'bad-request' | 'not-found' | 'conflict' | 'unavailable' | 'internal';

export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
}

/** Client → server. `id` pairs the reply with the request. */
export interface RequestMessage<M extends Method = Method> {
  id: number;
  method: M;
  params: Params<M>;
}

export type ResponseMessage = { type: 'result'; id: number; ok: true; result: unknown } | { type: 'result'; id: number | null; ok: false; error: ApiErrorBody };

/** Server → client, unasked. */
export type PushMessage =
  /** Events `from`, `from + 1`, ... of a subscribed run (index = journal line - 1). */
  | { type: 'events'; sub: string; runId: string; from: number; events: RunEvent[] }
  /** The subscription has delivered everything: the run ended (summary) or the journal was read to its end. */
  | { type: 'end'; sub: string; runId: string; summary: RunSummary | null; trailer: RunTrailer | null; truncated: boolean; error?: string }
  /** Runs started or finished: history lists should refresh. */
  | { type: 'runs-changed' };

export type ServerMessage = ResponseMessage | PushMessage;

/**
 * What the Electron preload exposes to the page as `window.stresslab`: one
 * call and one push channel, nothing else of Electron or Node.
 */
export interface Bridge {
  call(method: string, params: unknown): Promise<ResponseMessage>;
  onPush(fn: (m: PushMessage) => void): () => void;
}
