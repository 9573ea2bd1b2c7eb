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
  | 'midi_jitter';

export interface LaneEvent {
  kind: 'lane';
  t: number;
  lane: string;
  state: 'start' | 'end' | 'hung' | 'died' | 'abandoned';
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

export type RunEvent = ActionEvent | KlogEvent | MetricEvent | LaneEvent | NoteEvent | PhaseEvent | FindingEvent | SchedEvent;

export const FINDING_TYPES = [
  'torn-hw-params',
  'use-after-free',
  'null-deref',
  'hang',
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
  tool: string;
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
