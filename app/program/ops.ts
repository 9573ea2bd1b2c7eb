// Each op's arguments in the program: what the preset wrote, converted to the
// program's units (ns, indexes, resolved addresses), plus every default the
// lab applies, written in explicitly. This table is the one place user-space
// defaults live; README.md lists them and the run-time rules next to them.
import { opSpec, type Varying } from '../vocabulary/ops.js';
import type { Arg, Json, SeqAddress } from './types.js';

/** Preferred hardware parameters, applied only where the device still allows them (README.md, rule "preferences"). */
export const HW_PREFERRED = { format: 'S16_LE', channels: 2, rate: 48000, period_size: 1024, periods: 4 } as const;
export const HW_PREFER_ORDER = ['format', 'channels', 'rate', 'period_size', 'periods'] as const;
export type HwPreference = (typeof HW_PREFER_ORDER)[number];
/** Frames of a transfer given in periods when the handle has no granted parameters yet: the kernel still answers. */
export const FALLBACK_FRAMES = 1024;
/** sizeof(struct snd_seq_event) on Linux (64-bit and 32-bit alike). */
export const SEQ_EVENT_BYTES = 28;
/** The lab's numbered sysex events carry a 12-byte header (PROTOCOL.md, "Sequencer events"). */
export const SYSEX_MIN_BYTES = 12;
export const SEQ_READ_DEFAULT_EVENTS = 64;

/**
 * The application lane's defaults (pa.*, midi.*): what naudiodon and midi
 * would do with the option left out, or what the lab chooses for them.
 */
export const PA_DEFAULTS = { direction: 'playback', channels: 2, format: 'S16_LE', rate: 48000, frames_per_buffer: 0, max_queue: 2 } as const;
/** Frames of a pa.write/pa.read given in periods when the stream was opened with frames_per_buffer 0 (paFramesPerBufferUnspecified). */
export const PA_FALLBACK_FRAMES = 1024;
export const MIDI_VIRTUAL_NAME = 'stresslab';

export interface CompileContext {
  /** The preset's `recover` (rule "xrun recovery"): a transfer's default. */
  recover: boolean;
  /** Index of a handle name in Program.handles (the compiler checked it exists). */
  handle(name: string): number;
  /** Index of a barrier name in Program.barriers. */
  barrier(name: string): number;
  /** The step's own handle name, for defaults derived from it. */
  handleName: string | undefined;
  at: string;
}

export class CompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompileError';
  }
}

type Written = Record<string, unknown>;
type Args = Record<string, Arg>;

function isVarying(v: unknown): v is Varying<unknown> {
  return typeof v === 'object' && v !== null && 'kind' in v && ((v as { kind: unknown }).kind === 'list' || (v as { kind: unknown }).kind === 'random');
}

/** A written value as a program argument: one-item lists are fixed, ranges keep integer-ness. */
export function argOf(v: unknown, map: (x: unknown) => Json = (x) => x as Json): Arg {
  if (isVarying(v)) {
    if (v.kind === 'random') return { range: [v.min, v.max], int: Number.isInteger(v.min) && Number.isInteger(v.max) };
    if (v.values.length === 1) return { fixed: map(v.values[0]) };
    return { list: v.values.map(map) };
  }
  return { fixed: map(v) };
}

const fixed = (v: Json): Arg => ({ fixed: v });

/** Written arguments named in `keys` (in that order), then defaults for those left out. */
function pick(a: Written, keys: string[], defaults: Record<string, Json> = {}): Args {
  const out: Args = {};
  for (const k of keys) if (a[k] !== undefined) out[k] = argOf(a[k]);
  for (const [k, v] of Object.entries(defaults)) if (out[k] === undefined) out[k] = fixed(v);
  return out;
}

export function parseAddress(text: string, c: CompileContext): SeqAddress {
  if (text === 'subscribers') return { kind: 'subscribers' };
  const m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new CompileError(`${c.at}: bad sequencer address ${text}`);
  const port = m[2] ? Number(m[2]) : 0;
  if (/^\d+$/.test(m[1]!)) return { kind: 'client', client: Number(m[1]), port };
  if (m[1] === 'self') return { kind: 'self', port };
  return { kind: 'handle', handle: c.handle(m[1]!), port };
}

const HW_KEYS = ['access', 'format', 'channels', 'rate', 'period_size', 'periods', 'buffer_size'];

function transfer(a: Written, playback: boolean, c: CompileContext): Args {
  const out: Args = {};
  if (a.frames !== undefined) out.frames = argOf(a.frames);
  else {
    out.periods = a.periods !== undefined ? argOf(a.periods) : fixed(1);
    out.fallback = fixed(FALLBACK_FRAMES);
  }
  if (playback) out.pattern = fixed((a.pattern as string | undefined) ?? 'silence');
  // rule "xrun recovery": the step's own word, else the preset's (a scenario
  // from a journal older than recovery has none: it ran without)
  out.recover = fixed(a.recover !== undefined ? Boolean(a.recover) : c.recover === true);
  return out;
}

function libraryTransfer(a: Written): Args {
  if (a.frames !== undefined) return { frames: argOf(a.frames) };
  return { periods: a.periods !== undefined ? argOf(a.periods) : fixed(1), fallback: fixed(PA_FALLBACK_FRAMES) };
}

/**
 * The buffer layout of a copying op (README.md, "Buffers"): `hold` is the
 * barrier index the fault handler meets (−1: none); `edge` the byte offset
 * where ordinary memory ends — from there on the buffer is userfaultfd-backed
 * when `hold` ≥ 0, else unmapped; −1: ordinary all through.
 */
function buffer(a: Written, c: CompileContext): Args {
  if (a.hold !== undefined) return { hold: fixed(c.barrier(a.hold as string)), edge: fixed((a.hold_from as number | undefined) ?? 0) };
  return { hold: fixed(-1), edge: fixed((a.unmapped_from as number | undefined) ?? -1) };
}

/** How long each configuration of a conformance sweep runs when the preset does not say. */
export const SWEEP_DEFAULT_FOR = 200e6;

function card(a: Written): Arg {
  return fixed((a.card as number | string | undefined) ?? 0);
}

/**
 * Per op: the program's arguments from the written ones. An op missing here
 * has no arguments beyond its handle. Adding an op: one entry here, one
 * implementation per interpreter (README.md, "Adding an op").
 */
export const PROGRAM_OPS: Record<string, (a: Written, c: CompileContext) => Args> = {
  'pcm.open': (a) => ({
    card: card(a),
    device: fixed((a.device as number | undefined) ?? 0),
    subdevice: fixed((a.subdevice as number | undefined) ?? -1),
    stream: fixed((a.stream as string | undefined) ?? 'playback'),
    nonblock: fixed(Boolean(a.nonblock)),
  }),
  'pcm.hw_refine': (a) => pick(a, HW_KEYS),
  'pcm.hw_params': (a) => {
    // Access is fixed: the lab transfers with READI/WRITEI (READN/WRITEN), never through mmap.
    const out = pick(a, HW_KEYS, { access: 'rw_interleaved' });
    const prefer: Record<string, Json> = {};
    for (const k of HW_PREFER_ORDER) {
      if (out[k] !== undefined) continue;
      // the buffer size implies the number of periods
      if (k === 'periods' && out.buffer_size !== undefined) continue;
      prefer[k] = HW_PREFERRED[k];
    }
    out.prefer = fixed(prefer);
    return out;
  },
  'pcm.sw_params': (a) => ({
    // 'period' and 'buffer': the handle's granted sizes; 'boundary': the runtime's boundary (README.md, rule "sw_params")
    avail_min: a.avail_min !== undefined ? argOf(a.avail_min) : fixed('period'),
    start_threshold: fixed((a.start_threshold as number | 'boundary' | undefined) ?? 1),
    stop_threshold: fixed((a.stop_threshold as number | 'boundary' | undefined) ?? 'buffer'),
    ...(a.period_event !== undefined ? { period_event: fixed(Boolean(a.period_event)) } : {}),
  }),
  'pcm.write': (a, c) => ({ ...transfer(a, true, c), ...buffer(a, c) }),
  'pcm.read': (a, c) => ({ ...transfer(a, false, c), ...buffer(a, c) }),
  // rule "conformance sweep": -1 is every card / every device
  'pcm.sweep': (a) => ({
    card: fixed(a.card === undefined || a.card === 'all' ? -1 : (a.card as number | string)),
    device: fixed(a.device === undefined || a.device === 'all' ? -1 : (a.device as number)),
    stream: fixed((a.stream as string | undefined) ?? 'both'),
    for: fixed((a.for as number | undefined) ?? SWEEP_DEFAULT_FOR),
    pairs: fixed(Boolean(a.pairs)),
  }),
  'pcm.pause': (a) => ({ on: a.on !== undefined ? argOf(a.on) : fixed(true) }),

  'seq.open': (a, c) => ({ name: fixed((a.name as string | undefined) ?? `stresslab-${c.handleName}`), nonblock: fixed(Boolean(a.nonblock)) }),
  'seq.create_port': (a, c) => ({ name: fixed((a.name as string | undefined) ?? c.handleName!), port: fixed((a.port as number | undefined) ?? -1) }),
  'seq.subscribe': (a, c) => ({ sender: fixed(parseAddress(a.sender as string, c)), dest: fixed(parseAddress(a.dest as string, c)) }),
  // 0 leaves a pool as it is (the kernel's own meaning of 0 in SET_CLIENT_POOL)
  'seq.set_client_pool': (a) => pick(a, ['input_pool', 'output_pool', 'output_room'], { input_pool: 0, output_pool: 0, output_room: 0 }),
  'seq.send': (a, c) => ({
    to: fixed(parseAddress(a.to as string, c)),
    count: a.count !== undefined ? argOf(a.count) : fixed(1),
    type: fixed((a.type as string | undefined) ?? 'controller'),
    size: fixed((a.size as number | undefined) ?? SYSEX_MIN_BYTES),
    port: fixed((a.port as number | undefined) ?? 0),
    ...buffer(a, c),
  }),
  'seq.read': (a, c) => ({
    bytes: fixed((a.bytes as number | undefined) ?? ((a.max as number | undefined) ?? SEQ_READ_DEFAULT_EVENTS) * SEQ_EVENT_BYTES),
    block: fixed(a.block !== false),
    fault: a.fault !== undefined ? argOf(a.fault) : fixed(false),
    ...buffer(a, c),
  }),

  // ---- the application lane: PortAudio through naudiodon, RtMidi through midi ----
  // device null: PortAudio's default device (naudiodon's deviceId -1); frames_per_buffer 0: paFramesPerBufferUnspecified
  'pa.open': (a) => ({
    device: a.device !== undefined ? argOf(a.device) : fixed(null),
    direction: fixed((a.direction as string | undefined) ?? PA_DEFAULTS.direction),
    channels: a.channels !== undefined ? argOf(a.channels) : fixed(PA_DEFAULTS.channels),
    format: a.format !== undefined ? argOf(a.format) : fixed(PA_DEFAULTS.format),
    rate: a.rate !== undefined ? argOf(a.rate) : fixed(PA_DEFAULTS.rate),
    frames_per_buffer: a.frames_per_buffer !== undefined ? argOf(a.frames_per_buffer) : fixed(PA_DEFAULTS.frames_per_buffer),
    max_queue: fixed((a.max_queue as number | undefined) ?? PA_DEFAULTS.max_queue),
  }),
  // rule "library transfer frames": periods of the stream's frames per buffer, the fallback when it has none
  // drop: the lab leaves that many frames of the tone out before this buffer (a glitch on purpose, to test the detector)
  'pa.write': (a) => ({ ...libraryTransfer(a), pattern: fixed((a.pattern as string | undefined) ?? 'sine'), ...(a.drop !== undefined ? { drop: fixed(a.drop as number) } : {}) }),
  'pa.read': (a) => ({ ...libraryTransfer(a), glitch: fixed(Boolean(a.glitch)) }),
  // port null: the first port RtMidi lists
  'midi.open': (a) => ({
    direction: fixed((a.direction as string | undefined) ?? 'output'),
    port: a.port !== undefined ? fixed(a.port as Json) : fixed(null),
    ...(a.name !== undefined ? { name: fixed(a.name as string) } : {}),
  }),
  'midi.open_virtual': (a) => ({ direction: fixed((a.direction as string | undefined) ?? 'output'), name: fixed((a.name as string | undefined) ?? MIDI_VIRTUAL_NAME) }),
  'midi.send': (a) => ({
    count: a.count !== undefined ? argOf(a.count) : fixed(1),
    type: fixed((a.type as string | undefined) ?? 'note'),
    size: fixed((a.size as number | undefined) ?? SYSEX_MIN_BYTES),
  }),
  // count null: whatever arrived; for 0: do not wait
  'midi.receive': (a) => ({ count: fixed((a.count as number | undefined) ?? null), for: fixed((a.for as number | undefined) ?? 0) }),

  'ctl.write': (a) => ({ card: card(a), name: fixed(a.name as string), index: fixed((a.index as number | undefined) ?? 0), value: argOf(a.value) }),
  'ctl.read': (a) => ({ card: card(a), name: fixed(a.name as string), index: fixed((a.index as number | undefined) ?? 0) }),
  'device.detach': (a) => ({ card: card(a) }),
  'device.attach': (a) => ({ card: card(a) }),

  sleep: (a) => ({ for: argOf(a.for) }),
  // the sleep is drawn like any range argument
  jitter: (a) => {
    const min = (a.min as number | undefined) ?? 0;
    const max = a.max as number;
    return { for: max > min ? { range: [min, max], int: true } : fixed(min) };
  },
  barrier: (a, c) => {
    c.barrier(a.name as string);
    return { name: fixed(a.name as string) };
  },
  at_period: (a) => ({ percent: argOf(a.percent) }),
};

/**
 * Ops without an entry in PROGRAM_OPS: the arguments the preset wrote, as
 * program arguments, no defaults added: the ops whose only argument is their
 * handle (pa.start, pa.stop, midi.close…) and the listings (pa.devices, midi.ports).
 */
export function writtenArgs(a: Written): Args {
  const out: Args = {};
  for (const [k, v] of Object.entries(a)) if (k !== 'handle') out[k] = argOf(v);
  return out;
}

/** The op always shows its arguments in its events (timing ops, control writes), as before the program existed. */
export function showsArgs(op: string): boolean {
  return opSpec(op)?.family === 'timing' || op === 'ctl.write';
}
