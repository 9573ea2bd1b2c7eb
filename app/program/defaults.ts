// The default of every op argument a preset may leave out, as the program
// compiler writes it in (ops.ts, PROGRAM_OPS): read off the compiler itself,
// by compiling each op with only its required arguments, so `stresslab ops`
// and docs/vocabulary.md can never disagree with what runs. A few defaults
// reach the program under another name (seq.read's `max` becomes `bytes`) or
// are decided by a run-time rule; those say so in words.
import { opSpec, isModifier, OPS } from '../vocabulary/ops.js';
import type { Json } from './types.js';
import { FALLBACK_FRAMES, HW_PREFERRED, PROGRAM_OPS, SEQ_READ_DEFAULT_EVENTS, type CompileContext } from './ops.js';

export interface ArgDefault {
  /** The value the program gets when the preset leaves the argument out. */
  value?: Json;
  /** What happens instead, in words, when no single value says it. */
  note?: string;
}

const HANDLE = 'h';

/** A written value for each required argument, enough for the compiler to run. */
const SAMPLE: Record<string, unknown> = { handle: HANDLE, to: `${HANDLE}:0`, sender: `${HANDLE}:0`, dest: `${HANDLE}:0`, name: 'x', value: 1, for: 1e6, max: 1e6, percent: 50, card: 0 };

/** A copying op's buffer layout reaches the program as `hold` and `edge` (README.md, "Buffers"). */
const LAYOUT: Record<string, ArgDefault> = {
  hold: { note: 'none: ordinary memory (program: hold -1); a barrier name holds the copy in userfaultfd until that barrier' },
  hold_from: { value: 0, note: 'with hold: the byte the held part starts at (program: edge)' },
  unmapped_from: { note: 'none: the whole buffer is mapped (program: edge -1); n: bytes from n on are unmapped, the copy fails part way (EFAULT)' },
};

/** Defaults that reach the program under another name, or are decided at run time. */
const DERIVED: Record<string, Record<string, ArgDefault>> = {
  'seq.read': {
    max: { value: SEQ_READ_DEFAULT_EVENTS, note: `events: a buffer of max x 28 bytes (sizeof struct snd_seq_event)` },
    bytes: { note: 'max x 28; fewer than a header plus a variable event\'s rounded data takes the put-back path (-EAGAIN)' },
    ...LAYOUT,
  },
  'seq.send': LAYOUT,
  'pcm.write': {
    ...LAYOUT,
    frames: { note: 'given in periods instead' },
    periods: { value: 1, note: `when frames is not given either; before any HW_PARAMS granted a period size: ${FALLBACK_FRAMES} frames, so the kernel answers (rule "transfer frames")` },
    recover: { value: true, note: 'the preset\'s `recover` (true unless it says `recover: false`): retry once after recovering as snd_pcm_recover does (rule "xrun recovery")' },
  },
  'pcm.read': {
    ...LAYOUT,
    frames: { note: 'given in periods instead' },
    periods: { value: 1, note: `when frames is not given either; before any HW_PARAMS granted a period size: ${FALLBACK_FRAMES} frames, so the kernel answers (rule "transfer frames")` },
    recover: { value: true, note: 'the preset\'s `recover` (true unless it says `recover: false`): retry once after recovering as snd_pcm_recover does (rule "xrun recovery")' },
  },
  jitter: { min: { value: 0 } },
  'seq.set_client_pool': Object.fromEntries(['input_pool', 'output_pool', 'output_room'].map((k) => [k, { value: 0, note: 'left as it is (the kernel\'s own meaning of 0)' }])),
  barrier: { parties: { note: 'the number of lanes that use the barrier' } },
  'seq.open': { name: { value: `stresslab-<handle>` } },
  'seq.create_port': { name: { value: '<handle>' }, port: { value: -1, note: 'the kernel chooses' } },
  'pcm.open': { subdevice: { value: -1, note: 'any free subdevice' } },
  'pcm.sweep': {
    card: { value: 'all', note: 'every card (-1 in the program)' },
    device: { value: 'all', note: 'every PCM device of the card (-1 in the program)' },
  },
  'pcm.sw_params': {
    avail_min: { value: 'period', note: 'the granted period size (1 when none)' },
    stop_threshold: { value: 'buffer', note: 'the granted buffer size (the boundary when none)' },
  },
};

function hwPreferNote(key: string): ArgDefault | undefined {
  if (!(key in HW_PREFERRED)) return undefined;
  const v = HW_PREFERRED[key as keyof typeof HW_PREFERRED];
  return { note: `preferred ${v} if the device allows it, else the kernel's choice (rule "preferences")${key === 'periods' ? '; none when buffer_size is named' : ''}` };
}

/** Defaults of one op's arguments, by preset argument name. */
export function opDefaults(op: string): Record<string, ArgDefault> {
  const spec = opSpec(op);
  const compile = PROGRAM_OPS[op];
  if (!spec || !compile) return {};
  const fields = spec.args.fields!;
  const written: Record<string, unknown> = {};
  for (const k of Object.keys(fields.required)) written[k] = SAMPLE[k] ?? 1;
  const ctx: CompileContext = { recover: true, handle: () => 0, barrier: () => 0, handleName: HANDLE, at: op };
  const args = compile(written, ctx);
  const out: Record<string, ArgDefault> = {};
  for (const k of Object.keys(fields.optional)) {
    if (isModifier(k)) continue;
    const derived = DERIVED[op]?.[k];
    if (derived) {
      out[k] = derived;
      continue;
    }
    if ((op === 'pcm.hw_params' && k !== 'access') || op === 'pcm.hw_refine') {
      const n = op === 'pcm.hw_params' ? hwPreferNote(k) : undefined;
      out[k] = n ?? { note: op === 'pcm.hw_refine' ? 'left open (HW_REFINE asks what the device allows)' : 'left to the kernel' };
      continue;
    }
    const a = args[k];
    if (a && 'fixed' in a) out[k] = { value: a.fixed };
  }
  return out;
}

/** Every op's defaults (pa.* and midi.* have their application lane's own, not the program's). */
export function allDefaults(): Record<string, Record<string, ArgDefault>> {
  return Object.fromEntries(OPS.map((o) => [o.name, opDefaults(o.name)]));
}
