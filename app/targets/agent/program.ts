// Compiles a validated Scenario into the agent's RUN payload, and keeps the
// tables needed to turn the agent's compact event records back into the
// vocabulary's names (lane names, ops, handles, arguments as written).
import type { Scenario, Step } from '../../vocabulary/scenario.js';
import { FORMAT_BITS, type PcmFormat, type Varying, opSpec } from '../../vocabulary/ops.js';
import { A, ADDR, type ArgKey, K, OP, SEC, type Scalar, type Value, Writer } from './protocol.js';

export interface CompileOptions {
  seed: number;
  /** Wall-clock budget, ns. */
  duration: number;
  flags: number;
}

/** How one argument of a step travels and how its reported value maps back. */
export interface VaryingArg {
  name: string;
  key: number;
  /** list: the agent reports the index into `values`; random: it reports the drawn value. */
  kind: 'list' | 'random';
  values?: unknown[];
}

export interface StepInfo {
  op: string;
  handle?: string;
  /** Events carry their arguments when they vary, for timing ops and for ctl.write (as the simulator does). */
  withArgs: boolean;
  /** Arguments that do not change between iterations, as written. */
  fixed: Record<string, unknown>;
  varying: VaryingArg[];
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

export interface CompiledProgram {
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

export class CompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompileError';
  }
}

function isVarying(v: unknown): v is Varying<unknown> {
  return typeof v === 'object' && v !== null && 'kind' in v && ((v as { kind: unknown }).kind === 'list' || (v as { kind: unknown }).kind === 'random');
}

/** Argument name in the vocabulary -> key on the wire, per op where names collide. */
function wireKey(op: string, name: string): number | undefined {
  if (name === 'handle' || name === 'parties') return undefined;
  if (name === 'periods' && (op === 'pcm.write' || op === 'pcm.read')) return A.xfer_periods;
  if (name === 'type' && op === 'seq.send') return A.ev_type;
  if (name === 'max' && op === 'jitter') return A.max_ns;
  if (name === 'max' && op === 'seq.read') return A.max;
  if (name === 'name' && op === 'barrier') return A.barrier;
  return (A as Record<string, number>)[name as ArgKey];
}

class Compiler {
  readonly handles: string[] = [];
  readonly handleKind = new Map<string, 1 | 2>();
  readonly barriers: string[];

  constructor(readonly sc: Scenario) {
    for (const s of [...sc.setup, ...sc.lanes.flatMap((l) => l.steps), ...sc.teardown]) {
      const spec = opSpec(s.op);
      if (!spec) throw new CompileError(`unknown op ${s.op} at ${s.at}`);
      const h = s.args.handle;
      if (typeof h === 'string' && !this.handleKind.has(h) && (spec.opens || spec.uses)) {
        this.handles.push(h);
        this.handleKind.set(h, (spec.opens ?? spec.uses) === 'seq' ? 2 : 1);
      }
      if (spec.opens && typeof h === 'string') this.handleKind.set(h, spec.opens === 'seq' ? 2 : 1);
    }
    this.barriers = Object.keys(sc.barriers);
  }

  /** One scalar as the agent wants it (codes for enums, ns for durations, packed addresses). */
  scalar(op: string, name: string, v: unknown, at: string): Value {
    switch (name) {
      case 'access': {
        const c = ACCESS_CODES[v as keyof typeof ACCESS_CODES];
        if (c === undefined) throw new CompileError(`${at}: unknown access ${String(v)}`);
        return { t: 'int', v: c };
      }
      case 'format': {
        const f = FORMAT_BITS[v as PcmFormat];
        if (!f) throw new CompileError(`${at}: unknown format ${String(v)}`);
        return { t: 'int', v: f.index };
      }
      case 'stream':
        return { t: 'int', v: v === 'capture' ? 1 : 0 };
      case 'pattern':
        return { t: 'int', v: PATTERN_CODES[v as keyof typeof PATTERN_CODES] ?? 0 };
      case 'type':
        return { t: 'int', v: EVTYPE_CODES[v as keyof typeof EVTYPE_CODES] ?? 1 };
      case 'start_threshold':
      case 'stop_threshold':
        return { t: 'int', v: v === 'boundary' ? -1 : (v as number) };
      case 'sender':
      case 'dest':
      case 'to':
        return { t: 'int', v: this.address(String(v), at) };
      case 'name':
        if (op === 'barrier') {
          const i = this.barriers.indexOf(String(v));
          if (i < 0) throw new CompileError(`${at}: barrier ${String(v)} has no party count`);
          return { t: 'int', v: i };
        }
        return { t: 'str', v: String(v) };
      case 'periods':
        if (op === 'pcm.write' || op === 'pcm.read') return { t: 'float', v: v as number };
        return { t: 'int', v: v as number };
      case 'percent':
        return { t: 'float', v: v as number };
    }
    if (typeof v === 'boolean') return { t: 'bool', v };
    if (typeof v === 'string') return { t: 'str', v };
    if (typeof v === 'number') return Number.isInteger(v) ? { t: 'int', v } : { t: 'float', v };
    throw new CompileError(`${at}: cannot send argument ${name} = ${JSON.stringify(v)}`);
  }

  address(a: string, at: string): number {
    const pack = (kind: number, id: number, port: number) => kind * 2 ** 24 + id * 256 + port;
    if (a === 'subscribers') return pack(ADDR.SUBSCRIBERS, 0, 0);
    let m = /^(\d{1,3}):(\d{1,3})$/.exec(a);
    if (m) return pack(ADDR.NUMERIC, Number(m[1]), Number(m[2]));
    m = /^([A-Za-z_][A-Za-z0-9_-]*)(?::(\d+))?$/.exec(a);
    if (!m) throw new CompileError(`${at}: bad sequencer address ${a}`);
    const port = m[2] ? Number(m[2]) : 0;
    if (m[1] === 'self') return pack(ADDR.SELF, 0, port);
    const h = this.handles.indexOf(m[1]!);
    if (h < 0) throw new CompileError(`${at}: address ${a} names no handle`);
    return pack(ADDR.HANDLE, h, port);
  }

  step(w: Writer, s: Step): StepInfo {
    const code = OP[s.op];
    if (code === undefined) throw new CompileError(`${s.at}: the agent does not implement ${s.op}`);
    const info: StepInfo = { op: s.op, fixed: {}, varying: [], at: s.at, withArgs: false };
    const handle = s.args.handle;
    w.section(SEC.STEP, (x) => {
      x.field(K.OP, { t: 'int', v: code });
      if (typeof handle === 'string') {
        info.handle = handle;
        x.field(K.HANDLE, { t: 'int', v: this.handles.indexOf(handle) });
      }
      if (s.timeout !== undefined) x.field(K.TIMEOUT, { t: 'int', v: s.timeout });
      for (const [name, raw] of Object.entries(s.args)) {
        if (name === 'handle') continue;
        const key = wireKey(s.op, name);
        if (key === undefined) {
          info.fixed[name] = raw;
          continue;
        }
        if (isVarying(raw)) {
          if (raw.kind === 'list' && raw.values.length === 1) {
            info.fixed[name] = raw.values[0];
            x.field(key, this.scalar(s.op, name, raw.values[0], s.at));
          } else if (raw.kind === 'list') {
            info.varying.push({ name, key, kind: 'list', values: raw.values });
            x.field(key, { t: 'list', v: raw.values.map((v) => this.scalar(s.op, name, v, s.at)) });
          } else {
            info.varying.push({ name, key, kind: 'random' });
            // as app/vocabulary/resolve.ts: integers when both ends are integers
            const float = !(Number.isInteger(raw.min) && Number.isInteger(raw.max));
            x.field(key, {
              t: 'range',
              v: float ? [{ t: 'float', v: raw.min }, { t: 'float', v: raw.max }] : [{ t: 'int', v: raw.min }, { t: 'int', v: raw.max }],
            });
          }
        } else {
          info.fixed[name] = raw;
          x.field(key, this.scalar(s.op, name, raw, s.at));
        }
      }
    });
    info.withArgs = info.varying.length > 0 || opSpec(s.op)!.family === 'timing' || s.op === 'ctl.write';
    return info;
  }

  lane(w: Writer, name: string, role: number, steps: Step[], iterations?: number): LaneInfo {
    w.section(SEC.LANE, (x) => {
      x.field(K.NAME, { t: 'str', v: name });
      x.field(K.ROLE, { t: 'int', v: role });
      if (iterations) x.field(K.ITERATIONS, { t: 'int', v: iterations });
    });
    return { name, steps: steps.map((s) => this.step(w, s)) };
  }
}

export function compileScenario(sc: Scenario, opts: CompileOptions): CompiledProgram {
  if (sc.lanes.length > 64) throw new CompileError(`the agent runs at most 64 lanes, the scenario has ${sc.lanes.length}`);
  const c = new Compiler(sc);
  if (c.handles.length > 255) throw new CompileError('the agent supports at most 255 handles');
  for (const l of [...sc.lanes.map((x) => x.steps), sc.setup, sc.teardown])
    if (l.length > 256) throw new CompileError('the agent runs at most 256 steps per lane');
  const w = new Writer();
  w.section(SEC.CONFIG, (x) => {
    x.field(K.SEED, { t: 'int', v: opts.seed >>> 0 });
    x.field(K.DURATION, { t: 'int', v: opts.duration });
    if (sc.iterations) x.field(K.ITERATIONS, { t: 'int', v: sc.iterations });
    x.field(K.HANG_TIMEOUT, { t: 'int', v: sc.expect.hangTimeout });
    x.field(K.FLAGS, { t: 'int', v: opts.flags });
  });
  for (const h of c.handles)
    w.section(SEC.HANDLE, (x) => {
      x.field(K.NAME, { t: 'str', v: h });
      x.field(K.KIND, { t: 'int', v: c.handleKind.get(h)! });
    });
  for (const b of c.barriers)
    w.section(SEC.BARRIER, (x) => {
      x.field(K.NAME, { t: 'str', v: b });
      x.field(K.PARTIES, { t: 'int', v: sc.barriers[b]! });
    });
  const setup = c.lane(w, 'setup', 1, sc.setup);
  const lanes = sc.lanes.map((l) => c.lane(w, l.name, 0, l.steps, l.iterations));
  const teardown = c.lane(w, 'teardown', 2, sc.teardown);
  return { payload: w.done(), layout: { lanes, setup, teardown, handles: c.handles, barriers: c.barriers, seed: opts.seed >>> 0 } };
}

/** Maps a value the agent reported for a varying argument back to the argument as written. */
export function resolvedArg(v: VaryingArg, reported: Scalar | undefined): unknown {
  if (reported === undefined) return undefined;
  if (v.kind === 'list') return v.values?.[Number(reported)];
  return reported;
}
