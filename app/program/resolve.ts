// Executing a program step in TypeScript: its arguments for one iteration,
// and the run-time rules (README.md) as pure functions. The simulated kernel
// calls these; the agent implements the same in C (native-bridge/agent/args.c,
// pcm.c, seq.c, timing.c), and program.test.ts checks the two agree.
import type { Arg, Json, Program, ProgramStep } from './types.js';
import { HW_PREFER_ORDER } from './ops.js';

/** Every step of the program: setup, the lanes, teardown. */
export function programSteps(p: Program): ProgramStep[] {
  return [...p.setup.steps, ...p.lanes.flatMap((l) => l.steps), ...p.teardown.steps];
}

/** A lane's generator (app/sim/kernel/rng.ts's Rng, or the agent's bit-identical C one). */
export interface Draws {
  int(min: number, max: number): number;
  float(): number;
}

export function resolveArg(a: Arg, iter: number, draws: Draws): Json {
  if ('fixed' in a) return a.fixed;
  if ('list' in a) return a.list[iter < 0 ? 0 : iter % a.list.length]!;
  const [min, max] = a.range;
  return a.int ? draws.int(min, max) : min + draws.float() * (max - min);
}

/** Arguments for one execution, drawn in program order. */
export function resolveStep(step: ProgramStep, iter: number, draws: Draws): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k in step.args) out[k] = resolveArg(step.args[k]!, iter, draws);
  return out;
}

/** True when the step's arguments are the same at every execution (interpreters may resolve it once). */
export function isStatic(step: ProgramStep): boolean {
  for (const k in step.args) if (!('fixed' in step.args[k]!)) return false;
  return true;
}

/** What a handle remembers from its last successful HW_PARAMS (rule "granted parameters"). */
export interface Granted {
  period_size: number;
  buffer_size: number;
  rate: number;
}

/** Rule "transfer frames". */
export function transferFrames(v: Record<string, Json>, granted: Granted | null): number {
  if (typeof v.frames === 'number') return v.frames;
  if (!granted || granted.period_size <= 0) return v.fallback as number;
  const f = Math.floor((v.periods as number) * granted.period_size + 0.5);
  return f > 0 ? f : 1;
}

/** Rule "sw_params": a threshold or avail_min as passed to SW_PARAMS ('boundary' is the kernel's). */
export function swValue(v: Json, granted: Granted | null): number | 'boundary' {
  if (v === 'period') return granted && granted.period_size > 0 ? granted.period_size : 1;
  if (v === 'buffer') return granted && granted.buffer_size > 0 ? granted.buffer_size : 'boundary';
  return v as number | 'boundary';
}

/**
 * Rule "at_period": the frame within the period to wait for, 0..P; P is the
 * period's end, where its interrupt fires.
 */
export function atPeriodFrame(percent: number, periodSize: number): number {
  return Math.floor((percent / 100) * periodSize);
}

/** Rule "preferences": the hw_params preferences, in the order they are tried. */
export function preferences(v: Record<string, Json>): [string, number | string][] {
  const p = (v.prefer ?? {}) as Record<string, number | string>;
  return HW_PREFER_ORDER.filter((k) => p[k] !== undefined).map((k) => [k, p[k]!]);
}

/**
 * What a step asked the kernel for, as both interpreters report it when asked
 * (RunRequest.reportRequests): the resolved arguments, plus what the run-time
 * rules decided (frames, preferences kept, sw_params values, the at_period
 * frame, the first sequencer number).
 */
export interface RequestFacts {
  frames?: number;
  /** hw_params: the preferences the device allowed, in order. */
  preferred?: string[];
  avail_min?: number | 'boundary';
  start_threshold?: number | 'boundary';
  stop_threshold?: number | 'boundary';
  /** at_period: the frame in the period it waited for. */
  frame?: number;
  /** seq.send: number of the first event. */
  first?: number;
}

export function requestOf(values: Record<string, Json>, facts: RequestFacts | undefined): Record<string, unknown> {
  return facts ? { ...values, ...facts } : { ...values };
}
