// How each program op runs on the simulated kernel: the system calls the
// agent makes on a real one (open, ioctl, read, write, close), with the
// run-time rules of app/program/README.md applied exactly as the agent
// applies them. Arguments arrive resolved (app/program/resolve.ts).
import { ERRNO, errnoName } from '../../vocabulary/errno.js';
import type { HwParams } from '../../events/op-data.js';
import type { RunEvent } from '../../events/types.js';
import type { Kernel } from '../../sim/kernel/kernel.js';
import { type KGen, WakeReason } from '../../sim/kernel/task.js';
import { scheduleTimeout } from '../../sim/kernel/sync.js';
import { type Req, type SimFile, fget, fput, sysClose, sysIoctl, sysRead, sysWrite } from '../../sim/core/file.js';
import { snd_ctl_open } from '../../sim/core/control.js';
import { snd_pcm_open, snd_pcm_proc_hw_params_read } from '../../sim/pcm/pcm_file.js';
import { PcmState, Stream, snd_pcm_avail, snd_pcm_hw_avail, snd_pcm_running } from '../../sim/pcm/pcm_types.js';
import type { RefineOut } from '../../sim/pcm/pcm_native.js';
import { SUBSCRIBERS, type SeqReadArg, snd_seq_open } from '../../sim/seq/seq_clientmgr.js';
import type { SeqEvent } from '../../sim/seq/seq_memory.js';
import { simUsbAttach, simUsbDisconnect, simUsbPlugged } from '../../sim/drivers/simusb.js';
import type { Json, Program, ProgramStep, SeqAddress } from '../../program/types.js';
import { SEQ_EVENT_BYTES } from '../../program/ops.js';
import { type Granted, type RequestFacts, atPeriodFrame, preferences, swValue, transferFrames } from '../../program/resolve.js';
import type { Handle, PcmHandle, SeqHandle } from './handles.js';
import type { MetricEvent } from '../../events/types.js';
import type { LibraryState } from './library/ops.js';
import { OPS } from '../../vocabulary/ops.js';
import { type UserBuffer, userBuffer } from '../../sim/kernel/uaccess.js';
import type { XferArg } from '../../sim/pcm/pcm_file.js';
import { pcmSweep } from './sweep.js';

const E = ERRNO;

export interface OpResult {
  ret: number;
  data?: Record<string, unknown>;
  /** What the run-time rules decided (reported with the request when asked). */
  facts?: RequestFacts;
  /** Metrics the op reports (the library ops: xruns, MIDI latency and jitter), emitted after its event. */
  metrics?: Omit<MetricEvent, 't'>[];
}

/** What an op implementation can reach: the kernel and the run's user-space state. */
export interface OpContext {
  k: Kernel;
  program: Program;
  lane: string;
  /** The iteration and step being executed (events an op emits besides its own name them). */
  iter: number;
  step: number;
  /** Events besides the step's own: recoveries, delay samples, sweep results, xrun counts. */
  emit(e: RunEvent): void;
  /** The run is ending: an op made of many parts (the sweep) stops between them. */
  stopping(): boolean;
  /** An op made of bounded parts starts the next one: its hang clock starts again. */
  progress(): void;
  /** Per handle index: xruns of the runtimes the handle had before its current one (the metric counts per handle, as the agent does). */
  xrunBase: number[];
  /** Per handle index: when its last delay sample after a transfer was taken. */
  delayAt: number[];
  /** Open files by program handle index; null while a handle is closed. */
  handles: (Handle | null)[];
  /** Rule "granted parameters": per handle index, forgotten when the handle is opened again. */
  granted: (Granted | null)[];
  /** Rule "control files": one per card number, kept until it answers ENODEV. */
  ctlFiles: Map<number, SimFile>;
  /** Next event number per sending stream (lane/handle). */
  seqNumbers: Map<string, number>;
  /** The application lane's libraries (pa.*, midi.*): their processes, streams and ports (library/ops.ts). */
  lib: LibraryState;
  barrier(index: number): KGen<OpResult>;
  /** A held buffer's fault handler (rule "held buffers"): meet barrier `index`, then wait for the racing calls. */
  hold(index: number): KGen<void>;
}

export type Args = Record<string, Json>;
type Impl = (c: OpContext, s: ProgramStep, a: Args) => KGen<OpResult>;
type BufferedImpl = (c: OpContext, s: ProgramStep, a: Args, buf: UserBuffer | undefined) => KGen<OpResult>;

/**
 * An op whose system call copies a user buffer laid out by `hold`/`edge`
 * (app/program/README.md, "Buffers"). A held step meets its barrier exactly
 * once per execution: from the fault handler when the kernel touches the
 * held part, else right after the step (the window was not reached), so the
 * lanes waiting there are never left behind. Its event says which (`held`).
 */
function buffered(impl: BufferedImpl): Impl {
  return function* (c, s, a) {
    const hold = typeof a.hold === 'number' ? a.hold : -1;
    const edge = typeof a.edge === 'number' ? a.edge : -1;
    if (hold < 0) return yield* impl(c, s, a, edge >= 0 ? userBuffer(edge, 'unmapped') : undefined);
    const buf = userBuffer(edge, 'held', () => c.hold(hold));
    const r = yield* impl(c, s, a, buf);
    if (!buf.faulted) yield* c.barrier(hold);
    return { ...r, data: { ...r.data, held: buf.faulted } };
  };
}

const EBADF: OpResult = { ret: -E.EBADF };

function pcm(c: OpContext, s: ProgramStep): PcmHandle | undefined {
  const h = c.handles[s.handle];
  return h?.kind === 'pcm' ? h : undefined;
}

function seq(c: OpContext, s: ProgramStep): SeqHandle | undefined {
  const h = c.handles[s.handle];
  return h?.kind === 'seq' ? h : undefined;
}

/** Rule "handles": opening an open handle closes the old file first. */
function* closeHandle(c: OpContext, index: number): KGen<number> {
  const h = c.handles[index];
  if (!h) return -E.EBADF;
  c.handles[index] = null;
  if (h.kind === 'pcm') {
    // the kernel's counter goes with the runtime: what it counted stays the handle's
    const rt = h.substream.runtime;
    if (rt && !rt.freed && rt.xruns) {
      c.xrunBase[index] = (c.xrunBase[index] ?? 0) + rt.xruns;
      c.emit({ kind: 'metric', t: c.k.now, name: 'xruns', value: c.xrunBase[index]!, handle: c.program.handles[index]!.name, lane: c.lane });
    }
  }
  return yield* sysClose(c.k, h.file);
}

/** Delay samples after transfers: at most one per stream this often (the agent's rate). */
export const DELAY_EVERY = 50e6;

/**
 * A `delay` sample (the frames between the application and the converter, as
 * SNDRV_PCM_IOCTL_DELAY computes them: playback frames queued, capture frames
 * captured and not read) of a running stream, in ns at its rate. Read without
 * a system call, so the schedule stays what the program's calls make it.
 */
function delaySample(c: OpContext, index: number, h: PcmHandle, frames?: number): void {
  const sub = h.substream;
  const rt = sub.runtime;
  if (!rt || rt.freed || !rt.rate || !snd_pcm_running(sub, rt)) return;
  const f = frames ?? (sub.stream === Stream.PLAYBACK ? snd_pcm_hw_avail(sub, rt) : snd_pcm_avail(sub, rt));
  c.emit({ kind: 'metric', t: c.k.now, name: 'delay', value: Math.round((f * 1e9) / rt.rate), handle: c.program.handles[index]!.name, lane: c.lane });
}

/**
 * Rule "xrun recovery", as alsa-lib's snd_pcm_recover(): EPIPE: STATUS (when
 * it stopped), PREPARE, and START for capture; ESTRPIPE: RESUME while it
 * answers EAGAIN (every 1 ms, at most 1 s), else PREPARE (+ START for
 * capture). Reports a `recover` event; returns 0 when the stream is ready.
 */
function* recoverStream(c: OpContext, s: ProgramStep, h: PcmHandle, cause: number): KGen<number> {
  const k = c.k;
  const st = yield* pcmIoctl(c, h, 'status');
  const trig = st.ret === 0 ? (st.out.trigger_tstamp as number) : 0;
  const stoppedAt = trig > 0 ? trig : k.now;
  let r: number;
  let action: string;
  let prepared = true;
  if (cause === -E.EPIPE) {
    r = (yield* pcmIoctl(c, h, 'prepare')).ret;
    action = 'prepare';
  } else {
    r = (yield* pcmIoctl(c, h, 'resume')).ret;
    for (let waited = 0; r === -E.EAGAIN && waited < 1e9; waited += 1e6) {
      yield* sleepFor(c, 1e6);
      r = (yield* pcmIoctl(c, h, 'resume')).ret;
    }
    if (r === 0) {
      action = 'resume';
      prepared = false;
    } else {
      // as rules.h writes it (the agent and reproducers share that code)
      action = `prepare (resume: ${errnoName(r)})`;
      r = (yield* pcmIoctl(c, h, 'prepare')).ret;
    }
  }
  if (r === 0 && prepared && h.stream === 'capture') {
    r = (yield* pcmIoctl(c, h, 'start')).ret;
    action += '+start';
  }
  c.emit({
    kind: 'recover',
    t: k.now,
    lane: c.lane,
    handle: c.program.handles[s.handle]!.name,
    iter: c.iter,
    step: c.step,
    cause: cause === -E.EPIPE ? 'EPIPE' : 'ESTRPIPE',
    action,
    ret: r,
    ...(r < 0 ? { errno: errnoName(r) } : {}),
    lost_ns: Math.max(0, k.now - stoppedAt),
  });
  return r;
}

/** The kernel function each PCM ioctl command runs, below snd_pcm_ioctl → snd_pcm_common_ioctl (sound/core/pcm_native.c). */
const IOCTL_FN: Record<string, readonly string[]> = {
  hw_refine: ['snd_pcm_hw_refine_user'],
  hw_params: ['snd_pcm_hw_params_user', 'snd_pcm_hw_params'],
  hw_free: ['snd_pcm_hw_free'],
  sw_params: ['snd_pcm_sw_params_user', 'snd_pcm_sw_params'],
  prepare: ['snd_pcm_prepare'],
  start: ['snd_pcm_start_lock_irq'],
  drop: ['snd_pcm_drop'],
  drain: ['snd_pcm_drain'],
  pause: ['snd_pcm_pause'],
  resume: ['snd_pcm_resume'],
  status: ['snd_pcm_status_user64', 'snd_pcm_status64', 'snd_pcm_update_hw_ptr'],
  writei: ['snd_pcm_xferi_frames_ioctl', '__snd_pcm_lib_xfer'],
  readi: ['snd_pcm_xferi_frames_ioctl', '__snd_pcm_lib_xfer'],
};

function* pcmIoctl(c: OpContext, h: PcmHandle, cmd: string, arg?: unknown): KGen<{ ret: number; out: Record<string, unknown> }> {
  const r: Req = { cmd, arg, out: {} };
  // sysIoctl(), inlined: this is the path every PCM op takes.
  fget(h.file);
  const mark = c.k.enter('snd_pcm_ioctl', 'snd_pcm_common_ioctl', ...(IOCTL_FN[cmd] ?? []));
  let ret: number;
  try {
    ret = yield* h.file.fop.ioctl(c.k, h.file, r);
  } finally {
    c.k.leave(mark);
  }
  yield* fput(c.k, h.file);
  return { ret, out: r.out! };
}

function* simpleIoctl(c: OpContext, s: ProgramStep, cmd: string, arg?: unknown): KGen<OpResult> {
  const h = pcm(c, s);
  if (!h) return EBADF;
  const r = yield* pcmIoctl(c, h, cmd, arg);
  return { ret: r.ret };
}

/** The explicit part of a HW_REFINE / HW_PARAMS request. */
function hwRequest(a: Args): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of ['access', 'format', 'channels', 'rate', 'period_size', 'periods', 'buffer_size']) if (a[k] !== undefined) out[k] = a[k]!;
  return out;
}

function allows(r: RefineOut, key: string, v: Json): boolean {
  if (key === 'format') return r.formats.includes(v as never);
  const iv = r[key as 'channels' | 'rate' | 'period_size' | 'periods'];
  return (v as number) >= iv.min && (v as number) <= iv.max;
}

function* transfer(c: OpContext, h: PcmHandle, cmd: 'writei' | 'readi', frames: number, buf: UserBuffer | undefined): KGen<number> {
  fget(h.file);
  const mark = c.k.enter('snd_pcm_ioctl', 'snd_pcm_common_ioctl', ...IOCTL_FN[cmd]!);
  let ret: number;
  try {
    ret = yield* h.file.fop.ioctl(c.k, h.file, { cmd, arg: buf ? ({ frames, buf } satisfies XferArg) : frames });
  } finally {
    c.k.leave(mark);
  }
  yield* fput(c.k, h.file);
  return ret;
}

function* xfer(c: OpContext, s: ProgramStep, a: Args, cmd: 'writei' | 'readi', buf: UserBuffer | undefined): KGen<OpResult> {
  const h = pcm(c, s);
  if (!h) return EBADF;
  const frames = transferFrames(a, c.granted[s.handle] ?? null);
  let ret = yield* transfer(c, h, cmd, frames, buf);
  const data: Record<string, unknown> = { requested: frames };
  // rule "xrun recovery": the transfer is tried once more on a stream made ready again
  if (a.recover === true && (ret === -E.EPIPE || ret === -E.ESTRPIPE)) {
    data.recovered = errnoName(ret);
    if ((yield* recoverStream(c, s, h, ret)) === 0) ret = yield* transfer(c, h, cmd, frames, buf);
  }
  if (ret > 0 && c.k.now - (c.delayAt[s.handle] ?? -Infinity) >= DELAY_EVERY) {
    c.delayAt[s.handle] = c.k.now;
    delaySample(c, s.handle, h);
  }
  return { ret, data, facts: { frames } };
}

function cardOf(c: OpContext, ref: Json) {
  return c.k.snd.byRef(ref as number | string);
}

/** Rule "cards": an id that names no card is ENODEV before any system call; a missing card number is a device node that does not exist. */
function noCard(ref: Json): number {
  return typeof ref === 'string' ? -E.ENODEV : -E.ENOENT;
}

/** Rule "sequencer addresses": a handle's address is the client its seq.open got. */
function addressOf(c: OpContext, a: SeqAddress, self: SeqHandle): { client: number; port: number } | undefined {
  switch (a.kind) {
    case 'subscribers':
      return { client: SUBSCRIBERS, port: 0 };
    case 'client':
      return { client: a.client, port: a.port };
    case 'self':
      return { client: self.client, port: a.port };
    case 'handle': {
      const h = c.handles[a.handle];
      return h?.kind === 'seq' ? { client: h.client, port: a.port } : undefined;
    }
  }
}

/** Rule "control files": the card's control file, opened at first use. */
function* ctlFile(c: OpContext, card: { number: number }, open: () => KGen<{ err: number; file?: SimFile }>): KGen<{ err: number; file?: SimFile }> {
  const f = c.ctlFiles.get(card.number);
  if (f) return { err: 0, file: f };
  const o = yield* open();
  if (o.file) c.ctlFiles.set(card.number, o.file);
  return o;
}

function* ctlIoctl(c: OpContext, a: Args, r: Req): KGen<number> {
  const card = cardOf(c, a.card!);
  if (!card) {
    yield* forgetGoneCtlFiles(c);
    return noCard(a.card!);
  }
  const o = yield* ctlFile(c, card, () => snd_ctl_open(c.k, card, `/dev/snd/controlC${card.number}`));
  if (!o.file) return o.err;
  const ret = yield* sysIoctl(c.k, o.file, r);
  if (ret === -E.ENODEV && c.ctlFiles.get(card.number) === o.file) {
    // a card that went away answers ENODEV on this file forever: the next use opens afresh
    c.ctlFiles.delete(card.number);
    yield* sysClose(c.k, o.file);
  }
  return ret;
}

/** Rule "control files": a card id that names no card closes the files of every card that has gone (CARD_INFO answers ENODEV). */
function* forgetGoneCtlFiles(c: OpContext): KGen<void> {
  for (const [number, file] of [...c.ctlFiles]) {
    if ((yield* sysIoctl(c.k, file, { cmd: 'card_info', out: {} })) !== -E.ENODEV) continue;
    c.ctlFiles.delete(number);
    yield* sysClose(c.k, file);
  }
}

export function* sleepFor(c: OpContext, ns: number): KGen<number> {
  const r = yield* scheduleTimeout(c.k, ns, 'S', 'clock_nanosleep', ['hrtimer_nanosleep', 'common_nsleep']);
  return r === WakeReason.Signal ? -E.EINTR : 0;
}

/** pa.* and midi.*: the libraries' models on this kernel, on the step's handle process (library/). */
function* libraryOp(c: OpContext, s: ProgramStep, a: Args): KGen<OpResult> {
  const handle = s.handle >= 0 ? c.program.handles[s.handle]!.name : undefined;
  return yield* c.lib.run(s.op, s, handle, c.lane, a);
}

const LIBRARY_IMPLS: Record<string, Impl> = Object.fromEntries(OPS.filter((o) => o.family === 'pa' || o.family === 'midi').map((o) => [o.name, libraryOp]));

export const OP_IMPLS: Record<string, Impl> = {
  ...LIBRARY_IMPLS,
  *'pcm.open'(c, s, a) {
    if (c.handles[s.handle]) yield* closeHandle(c, s.handle);
    c.granted[s.handle] = null;
    const card = cardOf(c, a.card!);
    const device = a.device as number;
    const stream = a.stream as 'playback' | 'capture';
    if (!card) return { ret: noCard(a.card!) };
    const p = card.pcms.find((x) => x.device === device);
    if (!p) return { ret: -E.ENOENT };
    const path = `/dev/snd/pcmC${card.number}D${device}${stream === 'playback' ? 'p' : 'c'}`;
    const r = yield* snd_pcm_open(c.k, p, stream === 'playback' ? Stream.PLAYBACK : Stream.CAPTURE, a.subdevice as number, a.nonblock as boolean, path);
    if (!r.file) return { ret: r.err };
    const sub = (r.file.priv as { substream: import('../../sim/pcm/pcm_types.js').SndPcmSubstream }).substream;
    c.handles[s.handle] = { kind: 'pcm', file: r.file, substream: sub, card: card.number, device, stream };
    return { ret: 0, data: { card: card.number, device, subdevice: sub.number, stream } };
  },
  *'pcm.hw_refine'(c, s, a) {
    const h = pcm(c, s);
    if (!h) return EBADF;
    const r = yield* pcmIoctl(c, h, 'hw_refine', hwRequest(a));
    if (r.ret !== 0) return { ret: r.ret };
    // the agent reports the ranges it reads back (op-data.ts); the access mask is the library mirror's only
    const { access: _access, ...ranges } = r.out.ranges as RefineOut;
    return { ret: 0, data: ranges as unknown as Record<string, unknown> };
  },
  *'pcm.hw_params'(c, s, a) {
    const h = pcm(c, s);
    if (!h) return EBADF;
    const req = hwRequest(a);
    // Rule "preferences": each kept only if the device still allows it after HW_REFINE.
    const kept: string[] = [];
    for (const [key, v] of preferences(a)) {
      const r = yield* pcmIoctl(c, h, 'hw_refine', { ...req });
      if (r.ret < 0) return { ret: r.ret, facts: { preferred: kept } };
      if (allows(r.out.ranges as RefineOut, key, v)) {
        req[key] = v;
        kept.push(key);
      }
    }
    const r = yield* pcmIoctl(c, h, 'hw_params', req);
    if (r.ret === 0) {
      const p = r.out.params as HwParams;
      c.granted[s.handle] = { period_size: p.period_size, buffer_size: p.buffer_size, rate: p.rate };
    }
    return { ret: r.ret, facts: { preferred: kept }, ...(r.ret === 0 ? { data: { params: r.out.params } } : {}) };
  },
  *'pcm.sw_params'(c, s, a) {
    const h = pcm(c, s);
    if (!h) return EBADF;
    const g = c.granted[s.handle] ?? null;
    const facts = { avail_min: swValue(a.avail_min!, g), start_threshold: swValue(a.start_threshold!, g), stop_threshold: swValue(a.stop_threshold!, g) };
    const r = yield* pcmIoctl(c, h, 'sw_params', facts);
    return { ret: r.ret, facts, ...(r.ret === 0 ? { data: r.out } : {}) };
  },
  'pcm.prepare': (c, s) => simpleIoctl(c, s, 'prepare'),
  'pcm.start': (c, s) => simpleIoctl(c, s, 'start'),
  'pcm.drop': (c, s) => simpleIoctl(c, s, 'drop'),
  'pcm.drain': (c, s) => simpleIoctl(c, s, 'drain'),
  'pcm.pause': (c, s, a) => simpleIoctl(c, s, 'pause', a.on as boolean),
  'pcm.hw_free': (c, s) => simpleIoctl(c, s, 'hw_free'),
  *'pcm.status'(c, s) {
    const h = pcm(c, s);
    if (!h) return EBADF;
    const r = yield* pcmIoctl(c, h, 'status');
    if (r.ret !== 0) return { ret: r.ret };
    const o = r.out;
    if (o.state === 'RUNNING' || o.state === 'DRAINING') delaySample(c, s.handle, h, o.delay as number);
    return { ret: 0, data: { state: o.state, hw_ptr: o.hw_ptr, appl_ptr: o.appl_ptr, avail: o.avail, delay: o.delay } };
  },
  'pcm.write': buffered((c, s, a, buf) => xfer(c, s, a, 'writei', buf)),
  'pcm.read': buffered((c, s, a, buf) => xfer(c, s, a, 'readi', buf)),
  *'pcm.readback'(c, s) {
    const h = pcm(c, s);
    if (!h) return EBADF;
    const params = yield* snd_pcm_proc_hw_params_read(c.k, h.substream);
    return { ret: 0, data: { params } };
  },
  *'pcm.close'(c, s) {
    return { ret: yield* closeHandle(c, s.handle) };
  },
  'pcm.sweep': (c, _s, a) => pcmSweep(c, a),

  *'seq.open'(c, s, a) {
    if (c.handles[s.handle]) yield* closeHandle(c, s.handle);
    const r = yield* snd_seq_open(c.k, c.k.snd.seq!, a.name as string, a.nonblock as boolean);
    if (!r.file) return { ret: r.err };
    c.handles[s.handle] = { kind: 'seq', file: r.file, client: r.client!.number };
    return { ret: 0, data: { client: r.client!.number } };
  },
  *'seq.create_port'(c, s, a) {
    const h = seq(c, s);
    if (!h) return EBADF;
    const port = a.port as number;
    const r: Req = { cmd: 'create_port', arg: { name: a.name, ...(port >= 0 ? { port } : {}) }, out: {} };
    const ret = yield* sysIoctl(c.k, h.file, r);
    return { ret, ...(ret === 0 ? { data: { port: r.out!.port } } : {}) };
  },
  *'seq.subscribe'(c, s, a) {
    const h = seq(c, s);
    if (!h) return EBADF;
    const sender = addressOf(c, a.sender as SeqAddress, h);
    const dest = addressOf(c, a.dest as SeqAddress, h);
    if (!sender || !dest) return EBADF;
    return { ret: yield* sysIoctl(c.k, h.file, { cmd: 'subscribe', arg: { sender, dest } }) };
  },
  *'seq.set_client_pool'(c, s, a) {
    const h = seq(c, s);
    if (!h) return EBADF;
    const arg = { input_pool: a.input_pool as number, output_pool: a.output_pool as number, output_room: a.output_room as number };
    const ret = yield* sysIoctl(c.k, h.file, { cmd: 'set_client_pool', arg, out: {} });
    return { ret, data: Object.fromEntries(Object.entries(arg).filter(([, v]) => v > 0)) };
  },
  *'seq.get_client_pool'(c, s) {
    const h = seq(c, s);
    if (!h) return EBADF;
    const r: Req = { cmd: 'get_client_pool', out: {} };
    const ret = yield* sysIoctl(c.k, h.file, r);
    return { ret, ...(ret === 0 ? { data: r.out } : {}) };
  },
  'seq.send': buffered(function* (c, s, a, buf) {
    const h = seq(c, s);
    if (!h) return EBADF;
    const dest = addressOf(c, a.to as SeqAddress, h);
    if (!dest) return EBADF;
    const src = `${c.lane}/${c.program.handles[s.handle]!.name}`;
    const first = c.seqNumbers.get(src) ?? 0;
    const count = a.count as number;
    const type = a.type as SeqEvent['type'];
    const port = a.port as number;
    const extLen = type === 'sysex' ? (a.size as number) : 0;
    // Rule "sequencer sends": a short write is followed by a write of the rest, until
    // everything is accepted or a write fails (which is how the errno is learned).
    let sent = 0;
    let ret = 0;
    while (sent < count) {
      const events: SeqEvent[] = [];
      for (let i = sent; i < count; i++) events.push({ type, source: { client: h.client, port }, dest: { ...dest }, tag: src, n: first + i, extLen });
      // the rest is written from where it sits in the same buffer
      const n = yield* sysWrite(c.k, h.file, { cmd: 'write', arg: { events, ...(buf ? { buf, base: sent * (SEQ_EVENT_BYTES + extLen) } : {}) } });
      if (n < 0) {
        ret = n;
        break;
      }
      if (n === 0) {
        ret = -E.EIO;
        break;
      }
      sent += n;
    }
    c.seqNumbers.set(src, first + sent + (ret < 0 ? 1 : 0));
    return { ret: ret < 0 ? ret : sent, facts: { first }, data: { src, first, sent, ...(ret < 0 ? { refused: first + sent } : {}), dest: `${dest.client}:${dest.port}` } };
  }),
  'seq.read': buffered(function* (c, s, a, buf) {
    const h = seq(c, s);
    if (!h) return EBADF;
    const r: Req = { cmd: 'read', arg: { bytes: a.bytes as number, fault: a.fault as boolean, nonblock: a.block === false, ...(buf ? { buf } : {}) } satisfies SeqReadArg, out: {} };
    const ret = yield* sysRead(c.k, h.file, r);
    return { ret, data: { events: (r.out!.events as [string, number][]) ?? [], foreign: (r.out!.foreign as number) ?? 0 } };
  }),
  *'seq.close'(c, s) {
    return { ret: yield* closeHandle(c, s.handle) };
  },

  *'ctl.write'(c, _s, a) {
    const r: Req = { cmd: 'elem_write', arg: { name: a.name, index: a.index, value: a.value }, out: {} };
    const ret = yield* ctlIoctl(c, a, r);
    return { ret, ...(ret === 0 ? { data: { value: a.value as number, changed: Boolean(r.out!.changed) } } : {}) };
  },
  *'ctl.read'(c, _s, a) {
    const r: Req = { cmd: 'elem_read', arg: { name: a.name, index: a.index }, out: {} };
    const ret = yield* ctlIoctl(c, a, r);
    return { ret, ...(ret === 0 ? { data: { value: r.out!.value } } : {}) };
  },

  *'device.detach'(c, _s, a) {
    const card = cardOf(c, a.card!);
    if (!card) return { ret: -E.ENODEV };
    if (!card.hotplug) return { ret: -E.EOPNOTSUPP, data: { card: card.number, why: `card ${card.id} cannot be unplugged (only hot-pluggable cards can)` } };
    const ret = yield* simUsbDisconnect(c.k, card);
    return { ret, data: { card: card.number } };
  },
  *'device.attach'(c, _s, a) {
    // The machine has one hot-pluggable device: attach plugs it back in. A card
    // that is there already (the one named, or the device while plugged) is busy.
    const existing = cardOf(c, a.card!);
    if (existing && !existing.shutdown) return { ret: -E.EBUSY, data: { card: existing.number, why: `card ${existing.id} is present` } };
    const plugged = simUsbPlugged(c.k);
    if (plugged) return { ret: -E.EBUSY, data: { card: plugged.number, why: `the USB device is plugged in as card ${plugged.number}` } };
    yield 'hub_event: new device';
    const card = simUsbAttach(c.k);
    if (typeof card === 'number') return { ret: card, data: { why: 'no free sound card slot: the cards of earlier plug-ins are still held open' } };
    return { ret: 0, data: { card: card.number } };
  },

  *sleep(c, _s, a) {
    return { ret: yield* sleepFor(c, a.for as number) };
  },
  *jitter(c, _s, a) {
    const ns = a.for as number;
    return { ret: yield* sleepFor(c, ns), data: { slept: ns } };
  },
  barrier(c, _s, a) {
    return c.barrier(c.program.barriers.findIndex((b) => b.name === a.name));
  },
  *at_period(c, s, a) {
    const h = pcm(c, s);
    if (!h) return EBADF;
    const target = a.percent as number;
    // Rule "at_period": aimed at the period this handle was granted; none yet: EBADFD
    const g = c.granted[s.handle];
    if (!g || g.period_size <= 0 || g.rate <= 0) return { ret: -E.EBADFD, data: { target, actual: -1 } };
    const P = g.period_size;
    const frame = atPeriodFrame(target, P);
    const facts = { frame };
    const sub = h.substream;
    const rt = sub.runtime;
    if (!rt || !snd_pcm_running(sub, rt) || rt.state === PcmState.DISCONNECTED) return { ret: -E.EBADFD, facts, data: { target, actual: -1 } };
    const inPeriod = sub.ops.pointer(c.k, sub) % P;
    // already at or past that point: wait for it in the next period
    const frames = frame > inPeriod ? frame - inPeriod : P - inPeriod + frame;
    const r = yield* scheduleTimeout(c.k, Math.round((frames * 1e9) / g.rate), 'S', 'at_period: polling SYNC_PTR', ['snd_pcm_sync_ptr']);
    if (r === WakeReason.Signal) return { ret: -E.EINTR, facts, data: { target, actual: -1 } };
    if (!sub.runtime || !snd_pcm_running(sub, sub.runtime)) return { ret: -E.EBADFD, facts, data: { target, actual: -1 } };
    const now = sub.ops.pointer(c.k, sub);
    return { ret: 0, facts, data: { target, actual: Math.round((((now % P) / P) * 100) * 10) / 10 } };
  },
};
