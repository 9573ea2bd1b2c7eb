// Program -> the agent's RUN payload, mechanically: every argument of every
// step is already decided (app/program), so this only maps names to wire keys
// and values to the agent's codes. It also keeps the tables that turn the
// agent's compact event records back into the vocabulary's names.
import { FORMAT_BITS, type PcmFormat } from '../../vocabulary/ops.js';
import { HW_PREFER_ORDER } from '../../program/ops.js';
import type { Arg, Json, Program, ProgramLane, ProgramStep, SeqAddress } from '../../program/types.js';
import { A, ADDR, type ArgKey, K, OP, SEC, SWV, type Scalar, type Value, Writer } from './protocol.js';

export interface EncodeOptions {
  flags: number;
}

/** How one varying argument of a step travels and how its reported value maps back. */
export interface VaryingArg {
  name: string;
  key: number;
  /** list: the agent reports the index into `values`; range: it reports the drawn value. */
  kind: 'list' | 'range';
  values?: Json[];
}

export interface StepInfo {
  op: string;
  handle?: string;
  /** The event shows its resolved arguments (ProgramStep.recordArgs). */
  withArgs: boolean;
  /** Arguments that do not change between executions, as the program has them. */
  fixed: Record<string, Json>;
  varying: VaryingArg[];
  /** Program order of the arguments (fixed and varying), so events list them as the simulator does. */
  order: string[];
  at: string;
}

export interface LaneInfo {
  name: string;
  steps: StepInfo[];
}

export interface ProgramLayout {
  lanes: LaneInfo[];
  setup: LaneInfo;
  teardown: LaneInfo;
  handles: string[];
  barriers: string[];
  seed: number;
}

export interface EncodedProgram {
  payload: Buffer;
  layout: ProgramLayout;
}

export const ACCESS_CODES = { mmap_interleaved: 0, rw_interleaved: 3, rw_noninterleaved: 4 } as const;
export const ACCESS_BY_CODE: Record<number, keyof typeof ACCESS_CODES> = { 0: 'mmap_interleaved', 3: 'rw_interleaved', 4: 'rw_noninterleaved' };
export const PATTERN_CODES = { silence: 0, sine: 1, impulse: 2 } as const;
export const EVTYPE_CODES = { note: 0, controller: 1, sysex: 2 } as const;
export const FORMAT_BY_INDEX: Record<number, PcmFormat> = Object.fromEntries(
  Object.entries(FORMAT_BITS).map(([name, f]) => [f.index, name as PcmFormat]),
) as Record<number, PcmFormat>;
export const ROLE_CODES = { lane: 0, setup: 1, teardown: 2 } as const;

/** What the agent cannot run (its fixed limits); the message says which. */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** Program argument name -> wire key, where the op decides (names that collide). */
function wireKey(op: string, name: string): number | undefined {
  if (name === 'periods' && (op === 'pcm.write' || op === 'pcm.read')) return A.xfer_periods;
  if (name === 'type' && op === 'seq.send') return A.ev_type;
  if (name === 'name' && op === 'barrier') return A.barrier;
  // recorded in events, no meaning for raw SW_PARAMS (alsa-lib implements it in user space)
  if (name === 'period_event') return undefined;
  return (A as Record<string, number>)[name as ArgKey];
}

export function packAddress(a: SeqAddress): number {
  const pack = (kind: number, id: number, port: number) => kind * 2 ** 24 + id * 256 + port;
  switch (a.kind) {
    case 'subscribers':
      return pack(ADDR.SUBSCRIBERS, 0, 0);
    case 'client':
      return pack(ADDR.NUMERIC, a.client, a.port);
    case 'self':
      return pack(ADDR.SELF, 0, a.port);
    case 'handle':
      return pack(ADDR.HANDLE, a.handle, a.port);
  }
}

function swCode(v: Json): number {
  return v === 'boundary' ? SWV.BOUNDARY : v === 'period' ? SWV.PERIOD : v === 'buffer' ? SWV.BUFFER : (v as number);
}

/** One value as the agent wants it (codes for enums, packed addresses, floats where the agent reads a double). */
function scalar(p: Program, op: string, name: string, v: Json): Value {
  switch (name) {
    case 'access':
      return { t: 'int', v: ACCESS_CODES[v as keyof typeof ACCESS_CODES] };
    case 'format':
      return { t: 'int', v: FORMAT_BITS[v as PcmFormat].index };
    case 'stream':
      // pcm.sweep: 2 is both directions
      return { t: 'int', v: v === 'capture' ? 1 : v === 'both' ? 2 : 0 };
    case 'pattern':
      return { t: 'int', v: PATTERN_CODES[v as keyof typeof PATTERN_CODES] };
    case 'type':
      return { t: 'int', v: EVTYPE_CODES[v as keyof typeof EVTYPE_CODES] };
    case 'avail_min':
    case 'start_threshold':
    case 'stop_threshold':
      return { t: 'int', v: swCode(v) };
    case 'sender':
    case 'dest':
    case 'to':
      return { t: 'int', v: packAddress(v as SeqAddress) };
    case 'name':
      if (op === 'barrier') return { t: 'int', v: p.barriers.findIndex((b) => b.name === v) };
      return { t: 'str', v: v as string };
    case 'periods':
      if (op === 'pcm.write' || op === 'pcm.read') return { t: 'float', v: v as number };
      return { t: 'int', v: v as number };
    case 'percent':
      return Number.isInteger(v) ? { t: 'int', v: v as number } : { t: 'float', v: v as number };
  }
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (typeof v === 'string') return { t: 'str', v };
  if (typeof v === 'number') return Number.isInteger(v) ? { t: 'int', v } : { t: 'float', v };
  throw new EncodeError(`cannot send ${op} argument ${name} = ${JSON.stringify(v)}`);
}

function encodeArg(w: Writer, p: Program, op: string, name: string, key: number, a: Arg): void {
  if ('fixed' in a) w.field(key, scalar(p, op, name, a.fixed));
  else if ('list' in a) w.field(key, { t: 'list', v: a.list.map((v) => scalar(p, op, name, v)) });
  else {
    const [lo, hi] = a.range;
    w.field(key, { t: 'range', v: a.int ? [{ t: 'int', v: lo }, { t: 'int', v: hi }] : [{ t: 'float', v: lo }, { t: 'float', v: hi }] });
  }
}

function encodeStep(w: Writer, p: Program, s: ProgramStep): StepInfo {
  const code = OP[s.op];
  if (code === undefined) throw new EncodeError(`${s.at}: the agent does not implement ${s.op}`);
  const info: StepInfo = { op: s.op, fixed: {}, varying: [], order: Object.keys(s.args), at: s.at, withArgs: s.recordArgs };
  if (s.handle >= 0) info.handle = p.handles[s.handle]!.name;
  w.section(SEC.STEP, (x) => {
    x.field(K.OP, { t: 'int', v: code });
    if (s.handle >= 0) x.field(K.HANDLE, { t: 'int', v: s.handle });
    x.field(K.TIMEOUT, { t: 'int', v: s.timeout });
    for (const [name, a] of Object.entries(s.args)) {
      if ('fixed' in a) info.fixed[name] = a.fixed;
      if (name === 'prefer') {
        // preferred hw_params values travel as their own keys, in the order they are tried
        const prefer = (a as { fixed: Record<string, Json> }).fixed;
        for (const k of HW_PREFER_ORDER) if (prefer[k] !== undefined) x.field(A[`pref_${k}`], scalar(p, s.op, k, prefer[k]!));
        continue;
      }
      const key = wireKey(s.op, name);
      if (key === undefined) continue;
      if (!('fixed' in a)) info.varying.push({ name, key, kind: 'list' in a ? 'list' : 'range', ...('list' in a ? { values: a.list } : {}) });
      encodeArg(x, p, s.op, name, key, a);
    }
  });
  return info;
}

function encodeLane(w: Writer, p: Program, l: ProgramLane): LaneInfo {
  w.section(SEC.LANE, (x) => {
    x.field(K.NAME, { t: 'str', v: l.name });
    x.field(K.ROLE, { t: 'int', v: ROLE_CODES[l.role] });
    x.field(K.ITERATIONS, { t: 'int', v: l.iterations ?? 0 });
    x.field(K.STREAM, { t: 'int', v: l.rngStream });
  });
  return { name: l.name, steps: l.steps.map((s) => encodeStep(w, p, s)) };
}

export function encodeProgram(p: Program, o: EncodeOptions): EncodedProgram {
  if (p.lanes.length > 64) throw new EncodeError(`the agent runs at most 64 lanes, the program has ${p.lanes.length}`);
  if (p.handles.length > 255) throw new EncodeError('the agent supports at most 255 handles');
  for (const l of [p.setup, ...p.lanes, p.teardown]) if (l.steps.length > 256) throw new EncodeError(`the agent runs at most 256 steps per lane (${l.name} has ${l.steps.length})`);
  const w = new Writer();
  w.section(SEC.CONFIG, (x) => {
    x.field(K.SEED, { t: 'int', v: p.seed >>> 0 });
    x.field(K.DURATION, { t: 'int', v: p.duration });
    x.field(K.HANG_TIMEOUT, { t: 'int', v: p.hangTimeout });
    x.field(K.FLAGS, { t: 'int', v: o.flags });
  });
  for (const h of p.handles)
    w.section(SEC.HANDLE, (x) => {
      x.field(K.NAME, { t: 'str', v: h.name });
      x.field(K.KIND, { t: 'int', v: h.kind === 'seq' ? 2 : 1 });
    });
  for (const b of p.barriers)
    w.section(SEC.BARRIER, (x) => {
      x.field(K.NAME, { t: 'str', v: b.name });
      x.field(K.PARTIES, { t: 'int', v: b.parties });
    });
  const setup = encodeLane(w, p, p.setup);
  const lanes = p.lanes.map((l) => encodeLane(w, p, l));
  const teardown = encodeLane(w, p, p.teardown);
  return { payload: w.done(), layout: { lanes, setup, teardown, handles: p.handles.map((h) => h.name), barriers: p.barriers.map((b) => b.name), seed: p.seed } };
}

/** Maps a value the agent reported for a varying argument back to the program's value. */
export function resolvedArg(v: VaryingArg, reported: Scalar | undefined): Json | undefined {
  if (reported === undefined) return undefined;
  if (v.kind === 'list') return v.values?.[Number(reported)];
  return reported;
}
