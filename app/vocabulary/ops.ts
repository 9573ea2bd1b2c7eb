// The one vocabulary of ALSA operations scenarios are written in. Each op's
// argument schema lives here and nowhere else: the preset validator, the docs
// (`stresslab ops`) and the program compiler (app/program, which every target
// executes) all read this table.
import { type Schema, type Issue, type Path, bool, describe, encodeWith, int, num, obj, oneOf, oneOrList, str, union } from './schema.js';
import { duration } from './duration.js';

export const PCM_FORMATS = ['S8', 'U8', 'S16_LE', 'S16_BE', 'U16_LE', 'S24_LE', 'S32_LE', 'S24_3LE', 'FLOAT_LE', 'FLOAT64_LE'] as const;
export type PcmFormat = (typeof PCM_FORMATS)[number];
export const FORMAT_BITS: Record<PcmFormat, { physical: number; index: number }> = {
  // index = SNDRV_PCM_FORMAT_* value from <sound/asound.h>
  S8: { physical: 8, index: 0 },
  U8: { physical: 8, index: 1 },
  S16_LE: { physical: 16, index: 2 },
  S16_BE: { physical: 16, index: 3 },
  U16_LE: { physical: 16, index: 4 },
  S24_LE: { physical: 32, index: 6 },
  S32_LE: { physical: 32, index: 10 },
  FLOAT_LE: { physical: 32, index: 14 },
  FLOAT64_LE: { physical: 64, index: 16 },
  S24_3LE: { physical: 24, index: 32 },
};

export type Stream = 'playback' | 'capture';

/** A value written once, a list cycled by iteration, or a seeded random integer range. */
export type Varying<T> = { kind: 'list'; values: T[] } | { kind: 'random'; min: number; max: number };

export function varying<T>(item: Schema<T>, rangeOk: boolean): Schema<Varying<T>> {
  const listS = oneOrList(item);
  const expected = `${item.expected}, a list of them (cycled per iteration)${rangeOk ? ', or {random: [min, max]}' : ''}`;
  return {
    expected,
    check(v, path, issues) {
      if (rangeOk && typeof v === 'object' && v !== null && !Array.isArray(v) && 'random' in v) {
        const r = (v as { random: unknown }).random;
        const keys = Object.keys(v);
        if (keys.length !== 1) {
          issues.push({ path, message: `expected only the key "random" in a random range, got ${describe(v)}` });
          return undefined;
        }
        if (!Array.isArray(r) || r.length !== 2 || r.some((x) => typeof x !== 'number' || !Number.isFinite(x)) || (r[0] as number) > (r[1] as number)) {
          issues.push({ path: [...path, 'random'], message: `expected [min, max] with min <= max, got ${describe(r)}` });
          return undefined;
        }
        // Each end must itself be a valid value.
        const before = issues.length;
        item.check(r[0], [...path, 'random', 0], issues);
        item.check(r[1], [...path, 'random', 1], issues);
        if (issues.length !== before) return undefined;
        return { kind: 'random', min: r[0] as number, max: r[1] as number };
      }
      const vals = listS.check(v, path, issues);
      return vals === undefined ? undefined : { kind: 'list', values: vals };
    },
    encode: (v) => (v.kind === 'random' ? { random: [encodeWith(item, v.min as T), encodeWith(item, v.max as T)] } : v.values.map((x) => encodeWith(item, x))),
  };
}

const handle = str({ pattern: /^[A-Za-z_][A-Za-z0-9_-]{0,31}$/, expected: 'a handle name (letters, digits, _ and -)' });
const cardRef = union<number | string>('a card index (0-31) or card id string', (v) =>
  typeof v === 'number' ? int({ min: 0, max: 31 }) : typeof v === 'string' ? str({ pattern: /^[A-Za-z0-9_ -]{1,32}$/, expected: 'a card id' }) : undefined,
);
const seqAddr = str({
  pattern: /^(subscribers|self(:\d+)?|[A-Za-z_][A-Za-z0-9_-]*(:\d+)?|\d{1,3}:\d{1,3})$/,
  expected: 'a sequencer address: "client:port" (e.g. "14:0"), "handle:port", "self:port" or "subscribers"',
});
const frames = int({ min: 1, max: 1 << 24, unit: 'frames' });
const thresholdFrames = union<number | 'boundary'>('a frame count or "boundary"', (v) =>
  v === 'boundary' ? oneOf(['boundary']) : int({ min: 0, max: 1 << 30, unit: 'frames' }),
);

/** PortAudio's formats, in the lab's names (paInt8, paInt16, paInt24 packed, paInt32, paFloat32). */
export const PA_FORMATS = ['S8', 'S16_LE', 'S24_3LE', 'S32_LE', 'FLOAT_LE'] as const;
export type PaFormat = (typeof PA_FORMATS)[number];

const paDevice = union<number | string>('a PortAudio device index, a device name (or a unique part of it), or "hw:CARD,DEV"', (v) =>
  typeof v === 'number' ? int({ min: 0, max: 4095 }) : typeof v === 'string' ? str({ maxLength: 128 }) : undefined,
);
const midiPort = union<number | string>('a port index or a unique part of a port name (e.g. "Midi Through")', (v) =>
  typeof v === 'number' ? int({ min: 0, max: 1023 }) : typeof v === 'string' ? str({ maxLength: 128 }) : undefined,
);

const ctlValue = union<number | boolean | string>('an integer, true/false or an enum item name', (v) =>
  typeof v === 'number' ? int({ min: -(2 ** 31), max: 2 ** 31 - 1 }) : typeof v === 'boolean' ? bool : typeof v === 'string' ? str({ maxLength: 44 }) : undefined,
);

const byteOffset = int({ min: 0, max: 1 << 24, unit: 'bytes into the buffer' });
const barrierName = str({ pattern: /^[A-Za-z_][A-Za-z0-9_-]*$/, expected: 'a barrier name' });

/**
 * Race windows on demand (syzkaller's tricks), for ops whose system call
 * copies a user buffer: `hold` registers the buffer from `hold_from` on with
 * userfaultfd, so the kernel's first touch blocks inside copy_to_user /
 * copy_from_user while the lab's fault handler meets the barrier; the page is
 * resolved when the barrier releases and the lanes that met it are inside
 * their next call. `unmapped_from` leaves the buffer's tail unmapped, so the
 * copy faults part way (EFAULT). app/program/README.md, "Buffers".
 */
export const BUFFER_ARGS = {
  hold: barrierName,
  hold_from: byteOffset,
  unmapped_from: byteOffset,
};
/** Ops whose buffer the lab can lay out with BUFFER_ARGS. */
export const BUFFER_OPS = ['pcm.write', 'pcm.read', 'seq.send', 'seq.read'] as const;
const BUFFER_EXCLUSIVE = [['hold', 'unmapped_from']];

/** Keys every step may carry besides its op's own arguments. */
export const STEP_MODIFIERS = {
  expect: oneOrList(str({ pattern: /^(E[A-Z]+|any)$/, expected: 'an errno name like "EBADFD", or "any"' })),
  timeout: duration({ min: 1e3, max: 3600e9 }),
  label: str({ maxLength: 64 }),
};

export type OpFamily = 'pcm' | 'seq' | 'ctl' | 'device' | 'timing' | 'pa' | 'midi';

/** What a handle holds: a raw PCM file or sequencer client (the agent), or a library stream or port (the application lane). */
export type HandleKind = 'pcm' | 'seq' | 'pa' | 'midi';

/** Ops of these families run through the libraries an application uses (native-bridge/applane/), not as raw ioctls. */
export const LIBRARY_FAMILIES: readonly OpFamily[] = ['pa', 'midi'];

export interface OpSpec {
  name: string;
  family: OpFamily;
  summary: string;
  /** The real ALSA call the op maps to, for docs and the agent. */
  kernel: string;
  /** When the step is written as `op: scalar`, the scalar fills this argument. */
  shorthand?: string;
  args: Schema<Record<string, unknown>>;
  /** Which handle kind the op opens or uses, for cross-reference checks. */
  opens?: HandleKind;
  uses?: HandleKind;
  /** Ops whose arguments may not appear together. */
  exclusive?: string[][];
  /** [a, b]: argument a only with argument b. */
  requires?: [string, string][];
}

function spec(s: Omit<OpSpec, 'args'> & { required?: Record<string, Schema<unknown>>; optional?: Record<string, Schema<unknown>> }): OpSpec {
  const { required = {}, optional = {}, ...rest } = s;
  return { ...rest, args: obj(required, { ...optional, ...STEP_MODIFIERS }, `arguments of ${s.name}`) as Schema<Record<string, unknown>> };
}

const hwParamArgs = {
  access: varying(oneOf(['rw_interleaved', 'rw_noninterleaved', 'mmap_interleaved'] as const), false),
  format: varying(oneOf(PCM_FORMATS, 'a PCM format, one of'), false),
  channels: varying(int({ min: 1, max: 256 }), true),
  rate: varying(int({ min: 1000, max: 768000, unit: 'Hz' }), true),
  period_size: varying(frames, true),
  periods: varying(int({ min: 1, max: 1 << 16 }), true),
  buffer_size: varying(frames, true),
};

export const OPS: readonly OpSpec[] = [
  // ---- PCM ----
  spec({ name: 'pcm.open', family: 'pcm', summary: 'Open a PCM substream', kernel: 'open("/dev/snd/pcmC%dD%d%c")', opens: 'pcm', shorthand: 'handle',
    required: { handle },
    optional: { card: cardRef, device: int({ min: 0, max: 31 }), subdevice: int({ min: -1, max: 31 }), stream: oneOf(['playback', 'capture'] as const), nonblock: bool } }),
  spec({ name: 'pcm.hw_refine', family: 'pcm', summary: 'Ask which hardware parameters are possible', kernel: 'SNDRV_PCM_IOCTL_HW_REFINE', uses: 'pcm', shorthand: 'handle',
    required: { handle }, optional: hwParamArgs }),
  spec({ name: 'pcm.hw_params', family: 'pcm', summary: 'Set hardware parameters (allocates the buffer)', kernel: 'SNDRV_PCM_IOCTL_HW_PARAMS', uses: 'pcm', shorthand: 'handle',
    required: { handle }, optional: hwParamArgs }),
  spec({ name: 'pcm.sw_params', family: 'pcm', summary: 'Set software parameters', kernel: 'SNDRV_PCM_IOCTL_SW_PARAMS', uses: 'pcm', shorthand: 'handle',
    required: { handle }, optional: { avail_min: varying(frames, true), start_threshold: thresholdFrames, stop_threshold: thresholdFrames, period_event: bool } }),
  spec({ name: 'pcm.prepare', family: 'pcm', summary: 'Prepare the stream', kernel: 'SNDRV_PCM_IOCTL_PREPARE', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.start', family: 'pcm', summary: 'Start the DMA', kernel: 'SNDRV_PCM_IOCTL_START', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.write', family: 'pcm', summary: 'Write frames (blocking unless opened nonblock)', kernel: 'SNDRV_PCM_IOCTL_WRITEI_FRAMES', uses: 'pcm', shorthand: 'handle',
    required: { handle }, optional: { frames: varying(frames, true), periods: varying(num({ min: 0.01, max: 65536 }), false), pattern: oneOf(['silence', 'sine', 'impulse'] as const), recover: bool, ...BUFFER_ARGS },
    exclusive: [['frames', 'periods'], ...BUFFER_EXCLUSIVE], requires: [['hold_from', 'hold']] }),
  spec({ name: 'pcm.read', family: 'pcm', summary: 'Read frames (blocking unless opened nonblock)', kernel: 'SNDRV_PCM_IOCTL_READI_FRAMES', uses: 'pcm', shorthand: 'handle',
    required: { handle }, optional: { frames: varying(frames, true), periods: varying(num({ min: 0.01, max: 65536 }), false), recover: bool, ...BUFFER_ARGS },
    exclusive: [['frames', 'periods'], ...BUFFER_EXCLUSIVE], requires: [['hold_from', 'hold']] }),
  spec({ name: 'pcm.status', family: 'pcm', summary: 'Read state, pointers and delay', kernel: 'SNDRV_PCM_IOCTL_STATUS64', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.readback', family: 'pcm', summary: 'Read back the parameters the runtime really holds', kernel: '/proc/asound/cardN/pcmDx/subS/hw_params', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.drop', family: 'pcm', summary: 'Stop immediately, dropping pending frames', kernel: 'SNDRV_PCM_IOCTL_DROP', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.drain', family: 'pcm', summary: 'Stop after pending frames are played', kernel: 'SNDRV_PCM_IOCTL_DRAIN', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.pause', family: 'pcm', summary: 'Pause or resume', kernel: 'SNDRV_PCM_IOCTL_PAUSE', uses: 'pcm', shorthand: 'handle', required: { handle }, optional: { on: varying(bool, false) } }),
  spec({ name: 'pcm.hw_free', family: 'pcm', summary: 'Release the hardware parameters and buffer', kernel: 'SNDRV_PCM_IOCTL_HW_FREE', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.close', family: 'pcm', summary: 'Close the file', kernel: 'close()', uses: 'pcm', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pcm.sweep', family: 'pcm', summary: 'Conformance sweep: every format, rate, channel count and period size a PCM offers, each opened and run briefly, its rate measured from hw_ptr',
    kernel: 'open, HW_REFINE per value, then per configuration HW_PARAMS, SW_PARAMS, PREPARE, READI/WRITEI + STATUS, DROP, close',
    optional: {
      card: union<number | string>('a card index (0-31), a card id string, or "all"', (v) =>
        v === 'all' ? oneOf(['all']) : typeof v === 'number' ? int({ min: 0, max: 31 }) : typeof v === 'string' ? str({ pattern: /^[A-Za-z0-9_ -]{1,32}$/, expected: 'a card id' }) : undefined),
      device: union<number | 'all'>('a PCM device number (0-31) or "all"', (v) => (v === 'all' ? oneOf(['all']) : int({ min: 0, max: 31 }))),
      stream: oneOf(['playback', 'capture', 'both'] as const),
      for: duration({ min: 10e6, max: 60e9 }),
      pairs: bool,
    } }),

  // ---- sequencer ----
  spec({ name: 'seq.open', family: 'seq', summary: 'Open a sequencer client', kernel: 'open("/dev/snd/seq")', opens: 'seq', shorthand: 'handle',
    required: { handle }, optional: { name: str({ maxLength: 63 }), nonblock: bool } }),
  spec({ name: 'seq.create_port', family: 'seq', summary: 'Create a port on the client', kernel: 'SNDRV_SEQ_IOCTL_CREATE_PORT', uses: 'seq', shorthand: 'handle',
    required: { handle }, optional: { name: str({ maxLength: 63 }), port: int({ min: 0, max: 253 }) } }),
  spec({ name: 'seq.subscribe', family: 'seq', summary: 'Connect sender port to destination port', kernel: 'SNDRV_SEQ_IOCTL_SUBSCRIBE_PORT', uses: 'seq',
    required: { handle, sender: seqAddr, dest: seqAddr } }),
  spec({ name: 'seq.set_client_pool', family: 'seq', summary: 'Resize the client event pools', kernel: 'SNDRV_SEQ_IOCTL_SET_CLIENT_POOL', uses: 'seq', shorthand: 'handle',
    required: { handle }, optional: { input_pool: varying(int({ min: 1, max: 16384 }), true), output_pool: varying(int({ min: 1, max: 16384 }), true), output_room: varying(int({ min: 1, max: 16384 }), true) } }),
  spec({ name: 'seq.get_client_pool', family: 'seq', summary: 'Read pool sizes and free cells', kernel: 'SNDRV_SEQ_IOCTL_GET_CLIENT_POOL', uses: 'seq', shorthand: 'handle', required: { handle } }),
  spec({ name: 'seq.send', family: 'seq', summary: 'Send numbered events', kernel: 'write() of struct snd_seq_event', uses: 'seq',
    required: { handle, to: seqAddr }, optional: { count: varying(int({ min: 1, max: 4096 }), true), type: oneOf(['note', 'controller', 'sysex'] as const), size: int({ min: 12, max: 65536, unit: 'bytes of sysex (at least the 12-byte numbered header)' }), port: int({ min: 0, max: 253 }), ...BUFFER_ARGS },
    exclusive: BUFFER_EXCLUSIVE, requires: [['hold_from', 'hold']] }),
  spec({ name: 'seq.read', family: 'seq', summary: 'Read events (blocking by default); fault makes copy_to_user fail; bytes below an event plus its data force the put-back path', kernel: 'read() of struct snd_seq_event', uses: 'seq', shorthand: 'handle',
    required: { handle }, optional: { block: bool, max: int({ min: 1, max: 4096 }), bytes: int({ min: 1, max: 4096 * 28, unit: "bytes (read(2)'s count; 28 is one event header)" }), fault: varying(bool, false), ...BUFFER_ARGS },
    exclusive: [['max', 'bytes'], ['fault', 'hold', 'unmapped_from']], requires: [['hold_from', 'hold']] }),
  spec({ name: 'seq.close', family: 'seq', summary: 'Close the client', kernel: 'close()', uses: 'seq', shorthand: 'handle', required: { handle } }),

  // ---- controls ----
  spec({ name: 'ctl.write', family: 'ctl', summary: 'Write a control element (e.g. a routing switch)', kernel: 'SNDRV_CTL_IOCTL_ELEM_WRITE',
    required: { name: str({ maxLength: 44 }), value: varying(ctlValue, false) }, optional: { card: cardRef, index: int({ min: 0, max: 1023 }) } }),
  spec({ name: 'ctl.read', family: 'ctl', summary: 'Read a control element', kernel: 'SNDRV_CTL_IOCTL_ELEM_READ', shorthand: 'name',
    required: { name: str({ maxLength: 44 }) }, optional: { card: cardRef, index: int({ min: 0, max: 1023 }) } }),

  // ---- device ----
  spec({ name: 'device.detach', family: 'device', summary: 'Remove the card while files are open (USB unplug, unbind)', kernel: 'snd_card_disconnect()', shorthand: 'card',
    required: { card: cardRef } }),
  spec({ name: 'device.attach', family: 'device', summary: 'Bring a detached card back', kernel: 'hot-plug / bind', shorthand: 'card', required: { card: cardRef } }),

  // ---- application lane: PortAudio (naudiodon) ----
  spec({ name: 'pa.devices', family: 'pa', summary: 'List devices and host APIs as PortAudio sees them', kernel: 'Pa_Initialize: ALSA host API probes every PCM (snd_pcm_open, HW_REFINE, close)' }),
  spec({ name: 'pa.open', family: 'pa', summary: 'Open a PortAudio stream (callback mode, as naudiodon does)', kernel: 'Pa_OpenStream: snd_pcm_open, HW_REFINE…, HW_PARAMS, SW_PARAMS', opens: 'pa', shorthand: 'handle',
    required: { handle },
    optional: {
      device: varying(paDevice, false),
      direction: oneOf(['playback', 'capture'] as const),
      channels: varying(int({ min: 1, max: 64 }), true),
      format: varying(oneOf(PA_FORMATS, 'a PortAudio sample format, one of'), false),
      rate: varying(int({ min: 1000, max: 768000, unit: 'Hz' }), true),
      frames_per_buffer: varying(int({ min: 0, max: 1 << 16, unit: 'frames' }), true),
      max_queue: int({ min: 1, max: 64 }),
    } }),
  spec({ name: 'pa.start', family: 'pa', summary: 'Start the stream (its callback thread prepares and starts the PCM)', kernel: 'Pa_StartStream: PREPARE, mmap silence, START', uses: 'pa', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pa.write', family: 'pa', summary: 'Queue frames for the callback to play (waits while the queue is full); drop: leave frames of the tone out first (a glitch on purpose)', kernel: 'callback thread: poll, avail_update, mmap_begin/commit', uses: 'pa', shorthand: 'handle',
    required: { handle }, optional: { frames: varying(frames, true), periods: varying(num({ min: 0.01, max: 65536 }), false), pattern: oneOf(['silence', 'sine', 'impulse'] as const), drop: int({ min: 1, max: 1 << 20, unit: 'frames' }) },
    exclusive: [['frames', 'periods']] }),
  spec({ name: 'pa.read', family: 'pa', summary: 'Take captured frames (waits for the callback); glitch: check a looped-back sine', kernel: 'callback thread: poll, avail_update, mmap_begin/commit', uses: 'pa', shorthand: 'handle',
    required: { handle }, optional: { frames: varying(frames, true), periods: varying(num({ min: 0.01, max: 65536 }), false), glitch: bool },
    exclusive: [['frames', 'periods']] }),
  spec({ name: 'pa.stop', family: 'pa', summary: 'Stop after queued frames, then close (naudiodon quit("WAIT"))', kernel: 'Pa_StopStream: DROP (PortAudio 19.6 never drains); Pa_CloseStream: HW_FREE, close', uses: 'pa', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pa.abort', family: 'pa', summary: 'Stop at once, then close (naudiodon quit("ABORT"))', kernel: 'Pa_AbortStream: DROP; Pa_CloseStream: HW_FREE, close', uses: 'pa', shorthand: 'handle', required: { handle } }),
  spec({ name: 'pa.close', family: 'pa', summary: 'Release the stream (aborts it first if it is still open)', kernel: 'Pa_AbortStream + Pa_CloseStream when not stopped yet', uses: 'pa', shorthand: 'handle', required: { handle } }),

  // ---- application lane: RtMidi (midi) ----
  spec({ name: 'midi.ports', family: 'midi', summary: 'List MIDI input and output ports as RtMidi sees them', kernel: 'snd_seq_open, QUERY_NEXT_CLIENT/PORT' }),
  spec({ name: 'midi.open', family: 'midi', summary: 'Open an RtMidi input or output and connect it to a port', kernel: 'snd_seq_open, CREATE_PORT, SUBSCRIBE_PORT', opens: 'midi', shorthand: 'handle',
    required: { handle }, optional: { direction: oneOf(['input', 'output'] as const), port: midiPort, name: str({ maxLength: 63 }) } }),
  spec({ name: 'midi.open_virtual', family: 'midi', summary: 'Open an RtMidi virtual port others can connect to', kernel: 'snd_seq_open, CREATE_PORT', opens: 'midi', shorthand: 'handle',
    required: { handle }, optional: { direction: oneOf(['input', 'output'] as const), name: str({ maxLength: 63 }) } }),
  spec({ name: 'midi.send', family: 'midi', summary: 'Send numbered messages (note, controller or SysEx)', kernel: 'snd_seq_event_output_direct → write()', uses: 'midi',
    required: { handle }, optional: { count: varying(int({ min: 1, max: 4096 }), true), type: oneOf(['note', 'controller', 'sysex'] as const), size: int({ min: 12, max: 65536, unit: 'bytes of sysex' }) } }),
  spec({ name: 'midi.receive', family: 'midi', summary: 'Collect received messages with counts and timestamps', kernel: 'input thread: poll, snd_seq_event_input → read()', uses: 'midi', shorthand: 'handle',
    required: { handle }, optional: { count: int({ min: 1, max: 1 << 20 }), for: duration({ max: 3600e9 }) } }),
  spec({ name: 'midi.close', family: 'midi', summary: 'Close the port and its client', kernel: 'UNSUBSCRIBE_PORT, DELETE_PORT, close()', uses: 'midi', shorthand: 'handle', required: { handle } }),

  // ---- timing ----
  spec({ name: 'sleep', family: 'timing', summary: 'Sleep for a while', kernel: 'clock_nanosleep()', shorthand: 'for', required: { for: varying(duration({ max: 3600e9 }), false) } }),
  spec({ name: 'jitter', family: 'timing', summary: 'Sleep a seeded random time in [min, max]', kernel: 'clock_nanosleep()', shorthand: 'max',
    required: { max: duration({ max: 60e9 }) }, optional: { min: duration({ max: 60e9 }) } }),
  spec({ name: 'barrier', family: 'timing', summary: 'Wait until all parties arrive, then release them together', kernel: 'fuzzy-sync barrier (busy-wait aligned)', shorthand: 'name',
    required: { name: str({ pattern: /^[A-Za-z_][A-Za-z0-9_-]*$/, expected: 'a barrier name' }) }, optional: { parties: int({ min: 1, max: 64 }) } }),
  spec({ name: 'at_period', family: 'timing', summary: 'Wait until the DMA position reaches a fraction of the current period', kernel: 'SNDRV_PCM_IOCTL_SYNC_PTR polling', uses: 'pcm',
    required: { handle, percent: varying(num({ min: 0, max: 100 }), true) } }),
];

export const OP_NAMES = OPS.map((o) => o.name);
const byName = new Map(OPS.map((o) => [o.name, o]));

export function opSpec(name: string): OpSpec | undefined {
  return byName.get(name);
}

/** Does the op run through a library in the application lane (pa.*, midi.*)? */
export function isLibraryOp(name: string): boolean {
  const f = byName.get(name)?.family;
  return f !== undefined && LIBRARY_FAMILIES.includes(f);
}

/** Reserved step keys that are not op arguments. */
export function isModifier(key: string): boolean {
  return key in STEP_MODIFIERS;
}

export function checkExclusive(spec: OpSpec, args: Record<string, unknown>, path: Path, issues: Issue[]): void {
  for (const group of spec.exclusive ?? []) {
    const present = group.filter((k) => args[k] !== undefined);
    if (present.length > 1) issues.push({ path, message: `${spec.name} takes only one of ${group.join(', ')}, got ${present.join(' and ')}` });
  }
  for (const [a, b] of spec.requires ?? []) {
    if (args[a] !== undefined && args[b] === undefined) issues.push({ path: [...path, a], message: `${spec.name}: ${a} needs ${b}` });
  }
}
