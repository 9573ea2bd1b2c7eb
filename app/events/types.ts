// The one event shape every target produces. Analysis, charts, the journal,
// reports and the sim-vs-hardware comparison only ever see these, never the
// target that made them. Times are integer nanoseconds since the run started:
// virtual time on the simulated kernel, CLOCK_MONOTONIC on real targets.
import type { Scenario } from '../vocabulary/scenario.js';

export type TargetId = 'sim' | 'local' | 'vm';

/** One ALSA operation, as issued by one lane. */
export interface ActionEvent {
  kind: 'act';
  t: number;
  dur: number;
  lane: string;
  /** Loop iteration of the lane; -1 for setup, -2 for teardown. */
  iter: number;
  /** Index of the step in the lane's loop (or in setup/teardown). */
  step: number;
  op: string;
  handle?: string;
  /** Arguments as resolved for this iteration (lists cycled, random ranges drawn). */
  args?: Record<string, unknown>;
  /** >= 0 on success (op-specific value), -errno on failure. */
  ret: number;
  errno?: string;
  /** Op-specific result: parameters read back, status, events received... */
  data?: Record<string, unknown>;
  /** Kernel thread id on real targets. */
  tid?: number;
  /**
   * The request the step issued (its resolved arguments and what the run-time
   * rules of app/program/README.md decided), when the run asked for it
   * (RunRequest.reportRequests): the sim-vs-agent comparison reads it.
   */
  req?: Record<string, unknown>;
  /**
   * In a sampled journal (a preset's journal.max_size): how many operations
   * of this step this line stands for, itself and those sampled away since
   * the step's previous line. Absent means 1.
   */
  w?: number;
}

/** Successful operations of one step sampled away after its last kept line (see ActionEvent.w). */
export interface SkippedOps {
  lane: string;
  /** -1 setup, -2 teardown, 0 a lane's loop. */
  iter: number;
  step: number;
  op: string;
  handle?: string;
  n: number;
}

export type KlogSource = 'sim' | 'guest' | 'host';

export interface KlogEvent {
  kind: 'klog';
  t: number;
  /** printk level 0 (emerg) .. 7 (debug). */
  level: number;
  text: string;
  /** Kernel timestamp in microseconds as printed by the kernel ([ 12.345678]). */
  ktime?: number;
  source: KlogSource;
  /** Simulated kernel only: the scheduling steps that led here. */
  trace?: InterleavingStep[];
  /** Simulated kernel only: the tasks the report is about, the faulting one first (Finding.involved). */
  involved?: string[];
}

export interface MetricEvent {
  kind: 'metric';
  t: number;
  name: MetricName;
  value: number;
  handle?: string;
  lane?: string;
  /** 0..1: how sure a measurement is (the loopback latency correlation peak). */
  confidence?: number;
}

export type MetricName =
  | 'xruns'
  | 'latency'
  | 'hw_ptr_rate'
  | 'wakeup_late'
  | 'avail'
  | 'seq_pool_free'
  | 'seq_pool_used'
  /** Application lane: one per glitch found in a looped-back sine (value: its length in frames, -1 a phase jump). */
  | 'glitch'
  /** Application lane: median send-to-receive latency of the MIDI messages one receive collected, ns. */
  | 'midi_latency'
  /** Application lane: standard deviation of those latencies, ns. */
  | 'midi_jitter'
  /**
   * Stream latency: the frames between the application and the converter
   * (DELAY: playback frames queued, capture frames waiting to be read), in ns
   * at the granted rate. Sampled after transfers (at most every 50 ms per
   * stream) and on every pcm.status.
   */
  | 'delay'
  /** Application lane: frames of looped-back tone the glitch analyzer checked so far on a stream (a running count). */
  | 'glitch_checked';

/**
 * A stream recovered from an xrun or a suspend the way alsa-lib's
 * snd_pcm_recover() does (app/program/README.md, rule "xrun recovery"): the
 * transfer that failed is retried once after it.
 */
export interface RecoverEvent {
  kind: 'recover';
  t: number;
  lane: string;
  handle: string;
  /** Loop iteration and step of the transfer that failed. */
  iter: number;
  step: number;
  /** What the transfer failed with. */
  cause: 'EPIPE' | 'ESTRPIPE';
  /** The calls that recovered it, in order ("prepare", "prepare+start", "resume", "prepare+start after resume failed"...). */
  action: string;
  /** 0 when the stream was ready again, else the -errno of the call that failed. */
  ret: number;
  errno?: string;
  /** From the moment the stream stopped (STATUS trigger_tstamp) to the moment it was ready again, ns. */
  lost_ns: number;
}

/**
 * One configuration of a conformance sweep (op pcm.sweep): what was asked,
 * what the kernel granted, and what the stream did while it ran. Pass or fail
 * is decided by the analysis (app/api/conformance.ts, app/analysis/detectors/conformance.ts), not here.
 */
export interface ConformanceEvent {
  kind: 'conformance';
  t: number;
  lane: string;
  card: number;
  /** /proc/asound card id, when known ("Dummy"). */
  card_id?: string;
  device: number;
  stream: 'playback' | 'capture';
  /** The sweep dimension this configuration varies ("default", "format", "channels", "rate", "period_size", "pairs"). */
  vary: string;
  format: string;
  channels: number;
  rate: number;
  period_size: number;
  /** 0: opened, configured and ran; else -errno of the call named by `stage`. */
  ret: number;
  errno?: string;
  /** refine: HW_REFINE refused the combination (the device never offered it, not judged); the others: a call that failed. */
  stage?: 'open' | 'refine' | 'hw_params' | 'sw_params' | 'prepare' | 'start' | 'transfer';
  /** What HW_PARAMS granted. */
  granted?: { rate: number; period_size: number; buffer_size: number; channels: number; format: string };
  /** (time, hw_ptr) points the rate was fitted on. */
  points?: number;
  /** Frames per second the hw_ptr advanced (least-squares slope, as alsa_conformance_test fits it). */
  measured_rate?: number;
  /** RMS distance of hw_ptr from the fitted line, frames (alsa_conformance_test's "rate error"). */
  rate_error?: number;
  /** Standard error of the measured rate, Hz: what a run this short can resolve. */
  rate_se?: number;
  /** Period wake-ups: intervals between transfers that waited a period, against the period time. */
  wakeups?: number;
  jitter_mean_ns?: number;
  jitter_max_ns?: number;
  xruns?: number;
  /** How long the configuration ran, ns. */
  ran_ns?: number;
}

export interface LaneEvent {
  kind: 'lane';
  t: number;
  lane: string;
  /** livelock: the lanes (or the kernel) kept running without virtual time passing; the run was stopped. */
  state: 'start' | 'end' | 'hung' | 'died' | 'abandoned' | 'livelock';
  detail?: string;
  /** For hung lanes on real targets: task state and wait channel. */
  wchan?: string;
  taskState?: string;
  stack?: string[];
  /** Simulated kernel only: the scheduling steps that led here. */
  trace?: InterleavingStep[];
}

export interface NoteEvent {
  kind: 'note';
  t: number;
  level: 'info' | 'warn' | 'error';
  text: string;
  /** Written by the journal itself when it samples or fills up (app/journal/README.md). */
  journal?: { keep?: number; full?: boolean; skipped?: SkippedOps[] };
}

export interface PhaseEvent {
  kind: 'phase';
  t: number;
  name: string;
  profile: string[];
}

export interface FindingEvent {
  kind: 'finding';
  t: number;
  finding: Finding;
}

/** Scheduler decisions of the simulated kernel, run-length encoded, for replay. */
export interface SchedEvent {
  kind: 'sched';
  t: number;
  decisions: string;
}

/**
 * A target getting ready before its first action (the virtual lab's boot:
 * fetching the kernel, building the initramfs, booting, loading drivers).
 * `t` is 0: the run's clock starts with the first action.
 */
export interface ProgressEvent {
  kind: 'progress';
  t: number;
  /** Machine-readable stage, e.g. "kernel", "boot", "drivers", "agent". */
  stage: string;
  text: string;
  /** Wall-clock ms since the target was asked to run. */
  wall_ms: number;
}

/** What the run ran on, as the target found it (once, when known). */
export interface ContextEvent {
  kind: 'context';
  t: number;
  context: TargetContext;
}

export interface CardContext {
  index: number;
  id: string;
  driver: string;
  name: string;
  longname: string;
}

/** /proc/sys/kernel/tainted, decoded (letters as the kernel prints them). */
export interface KernelTaint {
  value: number;
  letters: string;
  flags: { letter: string; meaning: string }[];
}

/** The sound modules a virtual-lab run loaded instead of the stock ones (app/vlab/overlay.ts overlaySummary). */
export interface OverlayRecord {
  /** The overlay cache entry (kernel release, source version, directories asked for, patch and directory hashes). */
  key: string;
  release: string;
  source_version: string;
  upstream: string;
  /** Every sound directory rebuilt: those asked for and those the patches touch. */
  rebuilt: string[];
  /** The directories asked for (--rebuild); absent when none were, or in records made before they were kept. */
  rebuild_asked?: string[];
  /** In the order applied. `file`: the path given (absent in records made before it was kept). */
  patches: { name: string; sha256: string; file?: string }[];
  /** Out-of-tree module directories; `hardware`: the virtual hardware whose driver it is (--hw puts it in, not --extra-modules). */
  extra_module_dirs: { dir: string; sha256: string; hardware?: string }[];
  /** modprobe names of the modules in it. */
  modules: string[];
}

/**
 * The kernel a run ran on: the one record of it (summary.json's
 * context.kernel, the journal's context event). Every target says what it
 * knows; the virtual lab adds where the kernel came from, its module overlay,
 * memory debugging and taint, the taint after the run once the run is over.
 */
export interface KernelRecord {
  /** uname -r, or "simulated". */
  release: string;
  /** simulated: the lab's model; distro: the distribution's kernel package; user: a kernel the user built; host: the kernel this machine runs. */
  origin: 'simulated' | 'distro' | 'user' | 'host';
  /** uname -v */
  version?: string;
  /** Debian package the kernel came from. */
  package?: string;
  /** Debian source version (6.1.190-1) and its upstream version (6.1.190). */
  source_version?: string;
  upstream?: string;
  /** A kernel of the user's own: the image and modules as given (--kernel, --modules). */
  image_path?: string;
  modules_path?: string;
  /** Virtual lab: the memory-debugging boot options that were on, and what the kernel could not do (or "all: turned off for this run"). */
  memory_debug?: { on: string[]; unavailable: string[] };
  /** Virtual lab: the module overlay loaded instead of stock modules. */
  overlay?: OverlayRecord;
  /** Virtual lab: the taint after boot (modules loaded) and after the run. */
  taint_at_boot?: KernelTaint;
  taint_at_end?: KernelTaint;
}

export interface TargetContext {
  kernel: KernelRecord;
  /** Virtual lab: the emulated machine. */
  machine?: {
    emulator: 'qemu';
    /** tcg: software emulation; kvm: hardware virtualisation. */
    accel: 'tcg' | 'kvm';
    qemu?: string;
    cpus: number;
    memory_mb: number;
    /** Virtual sound hardware (app/vlab/hw.ts names). */
    hardware: string[];
  };
  /** /proc/asound/cards */
  cards: CardContext[];
  /** /proc/asound/version: the ALSA driver version of the kernel. */
  alsa_version?: string;
  /** /proc/asound/modules: the driver module of each card. */
  modules?: { card: number; module: string }[];
}

/** The machine the lab itself ran on (not the target's kernel, on the virtual lab). */
export interface HostContext {
  hostname: string;
  os?: string;
  kernel: string;
  arch: string;
  cpus: number;
  node: string;
  tool: string;
}

export interface RunContext extends Partial<TargetContext> {
  /** Absent in a summary made from a journal alone (app/engine/summary-from-journal.ts): the journal does not record the host. */
  host?: HostContext;
}

export type RunEvent = ActionEvent | KlogEvent | MetricEvent | LaneEvent | NoteEvent | PhaseEvent | FindingEvent | SchedEvent | ProgressEvent | ContextEvent | RecoverEvent | ConformanceEvent;

export const FINDING_TYPES = [
  'torn-hw-params',
  'use-after-free',
  'null-deref',
  'hang',
  'livelock',
  'event-loss',
  'event-duplicate',
  'event-reorder',
  'unexpected-errno',
  'kernel-oops',
  'kernel-bug',
  'kernel-warning',
  'hung-task',
  'success-after-detach',
  'xrun-threshold',
  'latency-threshold',
  'ioctl-latency-threshold',
  'wakeup-latency-threshold',
  'glitch-threshold',
  'midi-latency-threshold',
  'xrun-time-threshold',
  'conformance',
] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

export type Severity = 'critical' | 'error' | 'warning';

export interface InterleavingStep {
  t: number;
  /** Task that ran: a lane name, "irq/<card>" or a kernel thread. */
  task: string;
  ctx: 'user' | 'irq' | 'kthread';
  /** Kernel function and the point inside it, e.g. "snd_pcm_hw_params: runtime->period_size = 64". */
  at: string;
}

export interface InFlight {
  lane: string;
  op: string;
  since: number;
  handle?: string;
}

export interface Finding {
  /** Stable within a run: "<type>#<n>". */
  id: string;
  type: FindingType;
  severity: Severity;
  t: number;
  message: string;
  lane?: string;
  op?: string;
  handle?: string;
  evidence?: Record<string, unknown>;
  /** Kernel log lines that make up this finding, when it came from the log. */
  klog?: string[];
  /** Actions in flight when it happened. */
  inflight?: InFlight[];
  /** Simulated kernel: the interleaving that produced it. */
  interleaving?: InterleavingStep[];
  /**
   * Tasks the finding is about (the faulting one first, then those that freed
   * or allocated what it touched, or the lanes whose calls collided): the
   * interleaving's "involved tasks only" view shows their steps.
   */
  involved?: string[];
  /**
   * Type and the top frames of the failing code, offsets stripped
   * (app/analysis/signature.ts): the same bug has the same signature across
   * seeds, runs and kernels.
   */
  signature?: string;
}

/** First line of a journal. Holds everything needed to replay a sim run. */
export interface RunHeader {
  kind: 'run';
  format: 1;
  preset: string;
  scenario: Scenario;
  target: TargetId;
  profile: string[];
  seed: number;
  strategy: string;
  depth: number;
  duration: number;
  /**
   * Format of the resolved program the run executed (app/program/types.ts
   * PROGRAM_FORMAT). Journals from before programs have none: their lanes drew
   * from other generators, so their schedules cannot be followed exactly.
   */
  program?: number;
  tool: string;
  /** The size bound the journal was written under, when it had one (a replay writes its journal the same way). */
  journal?: { maxBytes: number; sampleAfter: number };
}

/** Last line of a complete journal. */
export interface RunTrailer {
  kind: 'end';
  t: number;
  verdict: Verdict;
  reason: string;
}

export type Verdict = 'pass' | 'fail' | 'error' | 'aborted';

export type JournalLine = RunHeader | RunEvent | RunTrailer;
