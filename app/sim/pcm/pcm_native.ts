// sound/core/pcm_native.c: the PCM ioctls and their state machine, the
// action framework (pre/do/post), sync_stop, open and release. Today's
// locking is the default; `pcm-unlocked-hw-params` and `pcm-no-sync-stop`
// put back the historic code paths from seeds 002 and 004.
import { ERRNO } from '../../vocabulary/errno.js';
import type { HwParams, Interval } from '../../events/op-data.js';
import type { Kernel } from '../kernel/kernel.js';
import { mutexLock, mutexUnlock, spinLock, spinUnlock, waitEvent } from '../kernel/sync.js';
import { type KGen, WakeReason } from '../kernel/task.js';
import { choose, initialSpace, refine, type ParamRequest } from './pcm_params.js';
import {
  INFO_PAUSE,
  INFO_RESUME,
  PcmState,
  RUNTIME_OFFSET,
  STATE_NAMES,
  type SndPcm,
  SndPcmRuntime,
  type SndPcmSubstream,
  Stream,
  Trigger,
  snd_pcm_avail,
  snd_pcm_running,
  snd_pcm_playback_avail,
} from './pcm_types.js';
import { snd_pcm_update_hw_ptr, snd_pcm_update_state } from './pcm_lib.js';

const E = ERRNO;
const IOCTL = ['snd_pcm_common_ioctl', 'snd_pcm_ioctl'];

export function snd_pcm_stream_lock(k: Kernel, s: SndPcmSubstream, at: string): KGen {
  return spinLock(k, s.lock, at);
}

export function snd_pcm_stream_unlock(k: Kernel, s: SndPcmSubstream): void {
  spinUnlock(k, s.lock);
}

/** PCM_RUNTIME_CHECK + the access to *runtime that follows (UAF-checked). */
export function runtimeOf(k: Kernel, s: SndPcmSubstream, fn: string, stack: readonly string[]): SndPcmRuntime | null {
  const rt = s.runtime;
  if (!rt) return null;
  return k.use(rt, fn, RUNTIME_OFFSET.state, 4, false, () => [fn, ...stack]);
}

/** snd_pcm_set_state(): DISCONNECTED is sticky. */
export function snd_pcm_set_state(rt: SndPcmRuntime, st: PcmState): void {
  if (rt.state !== PcmState.DISCONNECTED) rt.state = st;
}

export function* snd_pcm_sync_stop(k: Kernel, s: SndPcmSubstream, syncIrq: boolean): KGen {
  if (k.bug('pcm-no-sync-stop')) return; // the op and its callers did not exist before 2019
  const rt = s.runtime;
  if (rt && rt.stop_operating) {
    rt.stop_operating = false;
    yield 'snd_pcm_sync_stop: stop_operating was set, synchronising';
    if (s.ops.sync_stop) yield* s.ops.sync_stop(k, s);
    else if (syncIrq && s.pcm.card.syncIrq) yield* s.pcm.card.syncIrq(k);
  }
}

// ---- buffer access lock (CVE-2022-1048 fix) ----

function* snd_pcm_buffer_access_lock(k: Kernel, rt: SndPcmRuntime, fn: string): KGen<number> {
  if (k.bug('pcm-unlocked-hw-params')) return 0;
  if (rt.buffer_accessing > 0) return -E.EBUSY;
  rt.buffer_accessing--;
  yield* mutexLock(k, rt.buffer_mutex, `${fn}: mutex_lock(&runtime->buffer_mutex)`, [fn, ...IOCTL]);
  return 0;
}

function snd_pcm_buffer_access_unlock(k: Kernel, rt: SndPcmRuntime): void {
  if (k.bug('pcm-unlocked-hw-params')) return;
  mutexUnlock(k, rt.buffer_mutex);
  rt.buffer_accessing++;
}

// ---- HW_REFINE / HW_PARAMS / HW_FREE / SW_PARAMS ----

export interface RefineOut {
  access: string[];
  formats: string[];
  channels: Interval;
  rate: Interval;
  period_size: Interval;
  periods: Interval;
  buffer_size: Interval;
}

export function* snd_pcm_hw_refine(k: Kernel, s: SndPcmSubstream, req: ParamRequest, out: { ranges?: RefineOut }): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_hw_refine', IOCTL);
  if (!rt) return -E.ENXIO;
  yield 'snd_pcm_hw_refine: applying constraints';
  const space = initialSpace(rt.hw, req);
  if (!space || !refine(space)) return -E.EINVAL;
  out.ranges = { access: space.access, formats: space.formats, channels: space.channels, rate: space.rate, period_size: space.period_size, periods: space.periods, buffer_size: space.buffer_size };
  return 0;
}

export function* snd_pcm_hw_params(k: Kernel, s: SndPcmSubstream, req: ParamRequest, out: { params?: HwParams }): KGen<number> {
  const ST = ['snd_pcm_hw_params', ...IOCTL];
  const rt = runtimeOf(k, s, 'snd_pcm_hw_params', IOCTL);
  if (!rt) return -E.ENXIO;
  let err = yield* snd_pcm_buffer_access_lock(k, rt, 'snd_pcm_hw_params');
  if (err < 0) return err;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_hw_params: state check');
  switch (rt.state) {
    case PcmState.OPEN:
    case PcmState.SETUP:
    case PcmState.PREPARED:
      if (s.mmap_count > 0) err = -E.EBADFD;
      break;
    default:
      err = -E.EBADFD;
  }
  snd_pcm_stream_unlock(k, s);
  if (err) {
    snd_pcm_buffer_access_unlock(k, rt);
    return err;
  }
  yield* snd_pcm_sync_stop(k, s, true);
  yield 'snd_pcm_hw_params: snd_pcm_hw_refine + choose';
  const space = initialSpace(rt.hw, req);
  const p = space && refine(space) ? choose(space) : undefined;
  if (!p) err = -E.EINVAL;
  else if (s.ops.hw_params) err = yield* s.ops.hw_params(k, s, p);
  if (err < 0 || !p) {
    snd_pcm_set_state(rt, PcmState.OPEN);
    if (s.ops.hw_free) yield* s.ops.hw_free(k, s);
    rt.dma_area = false;
    snd_pcm_buffer_access_unlock(k, rt);
    return err;
  }
  rt.dma_area = true;
  rt.dma_bytes = (p.buffer_size * rt.hw.period_bytes_min) / Math.max(1, rt.hw.period_bytes_min);
  // Field by field, as the real code does. Without the buffer lock, another
  // HW_PARAMS on the same substream can run in between (seed 002).
  rt.access = p.access;
  rt.format = p.format;
  rt.channels = p.channels;
  rt.rate = p.rate;
  yield 'snd_pcm_hw_params: runtime->rate set';
  rt.period_size = p.period_size;
  yield 'snd_pcm_hw_params: runtime->period_size set';
  rt.periods = p.periods;
  yield 'snd_pcm_hw_params: runtime->periods set';
  rt.buffer_size = p.buffer_size;
  rt.info = rt.hw.info;
  const bits = physicalBits(p) * rt.channels;
  rt.frame_bits = bits;
  let frames = 1;
  let b = bits;
  while (b % 8 !== 0) {
    b *= 2;
    frames *= 2;
  }
  rt.min_align = frames;
  yield 'snd_pcm_hw_params: runtime->buffer_size set, default sw_params';
  rt.avail_min = rt.period_size;
  rt.start_threshold = 1;
  rt.stop_threshold = rt.buffer_size;
  rt.silence_size = 0;
  rt.boundary = boundaryFor(rt.buffer_size);
  snd_pcm_set_state(rt, PcmState.SETUP);
  out.params = { ...p };
  snd_pcm_buffer_access_unlock(k, rt);
  void ST;
  return 0;
}

/** The largest buffer_size * 2^n below 2^52 (the real limit is LONG_MAX; see sim/README). */
export function boundaryFor(bufferSize: number): number {
  let b = bufferSize;
  while (b * 2 <= 2 ** 52 - bufferSize) b *= 2;
  return b;
}

function physicalBits(p: HwParams): number {
  return p.format === 'U8' || p.format === 'S8' ? 8 : p.format === 'S24_3LE' ? 24 : p.format.startsWith('S16') || p.format.startsWith('U16') ? 16 : p.format === 'FLOAT64_LE' ? 64 : 32;
}

function* do_hw_free(k: Kernel, s: SndPcmSubstream): KGen<number> {
  yield* snd_pcm_sync_stop(k, s, true);
  let r = 0;
  if (s.ops.hw_free) r = yield* s.ops.hw_free(k, s);
  if (s.runtime) s.runtime.dma_area = false;
  return r;
}

export function* snd_pcm_hw_free(k: Kernel, s: SndPcmSubstream): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_hw_free', IOCTL);
  if (!rt) return -E.ENXIO;
  let err = yield* snd_pcm_buffer_access_lock(k, rt, 'snd_pcm_hw_free');
  if (err < 0) return err;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_hw_free: state check');
  if (!(rt.state === PcmState.SETUP || rt.state === PcmState.PREPARED) || s.mmap_count > 0) err = -E.EBADFD;
  snd_pcm_stream_unlock(k, s);
  if (!err) {
    err = yield* do_hw_free(k, s);
    snd_pcm_set_state(rt, PcmState.OPEN);
  }
  snd_pcm_buffer_access_unlock(k, rt);
  return err;
}

export interface SwParamsReq {
  avail_min?: number;
  start_threshold?: number | 'boundary';
  stop_threshold?: number | 'boundary';
}

export function* snd_pcm_sw_params(k: Kernel, s: SndPcmSubstream, req: SwParamsReq, out: Record<string, unknown>): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_sw_params', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_sw_params: state check');
  const open = rt.state === PcmState.OPEN;
  snd_pcm_stream_unlock(k, s);
  if (open) return -E.EBADFD;
  const availMin = req.avail_min ?? rt.avail_min;
  if (availMin === 0) return -E.EINVAL;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_sw_params: apply');
  rt.avail_min = availMin;
  if (req.start_threshold !== undefined) rt.start_threshold = req.start_threshold === 'boundary' ? rt.boundary : req.start_threshold;
  if (req.stop_threshold !== undefined) rt.stop_threshold = req.stop_threshold === 'boundary' ? rt.boundary : req.stop_threshold;
  let err = 0;
  if (snd_pcm_running(s, rt)) err = yield* snd_pcm_update_state(k, s, rt);
  Object.assign(out, { avail_min: rt.avail_min, start_threshold: rt.start_threshold, stop_threshold: rt.stop_threshold, boundary: rt.boundary });
  snd_pcm_stream_unlock(k, s);
  return err;
}

// ---- STATUS ----

export function* snd_pcm_status(k: Kernel, s: SndPcmSubstream, out: Record<string, unknown>): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_status64', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_status64: lock');
  if (snd_pcm_running(s, rt)) yield* snd_pcm_update_hw_ptr(k, s, rt);
  const avail = rt.state === PcmState.OPEN ? 0 : snd_pcm_avail(s, rt);
  // snd_pcm_status64(): the delay only of a stream that runs; 0 otherwise
  const running = rt.state === PcmState.RUNNING || rt.state === PcmState.DRAINING;
  Object.assign(out, {
    state: STATE_NAMES[rt.state],
    hw_ptr: rt.hw_ptr,
    appl_ptr: rt.appl_ptr,
    avail,
    delay: !running ? 0 : s.stream === Stream.PLAYBACK ? rt.buffer_size - avail : avail,
    trigger_tstamp: rt.trigger_tstamp,
    tstamp: k.now,
  });
  rt.avail_max = avail;
  snd_pcm_stream_unlock(k, s);
  return 0;
}

// ---- CHANNEL_INFO / SYNC_PTR (what alsa-lib's mmap setup and a mapped stream use) ----

/** SNDRV_PCM_IOCTL_CHANNEL_INFO: where a channel's samples lie in the (interleaved) buffer. */
export function* snd_pcm_channel_info(k: Kernel, s: SndPcmSubstream, channel: number, out: Record<string, unknown>): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_channel_info', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_channel_info: lock');
  const open = rt.state === PcmState.OPEN;
  snd_pcm_stream_unlock(k, s);
  if (open) return -E.EBADFD;
  if (channel >= rt.channels) return -E.EINVAL;
  Object.assign(out, { channel, offset: 0, first: channel * (rt.frame_bits / rt.channels), step: rt.frame_bits });
  return 0;
}

/**
 * SNDRV_PCM_IOCTL_SYNC_PTR: user space that cannot map the control page
 * (a driver with SNDRV_PCM_INFO_SYNC_APPLPTR, as snd-usb-audio) hands its
 * appl_ptr over with this call and reads hw_ptr back.
 */
export function* snd_pcm_sync_ptr(k: Kernel, s: SndPcmSubstream, arg: { appl_ptr?: number } | undefined, out: Record<string, unknown>): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_sync_ptr', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_sync_ptr: lock');
  if (rt.state !== PcmState.OPEN && snd_pcm_running(s, rt)) yield* snd_pcm_update_hw_ptr(k, s, rt);
  if (arg?.appl_ptr !== undefined && rt.state !== PcmState.OPEN) rt.appl_ptr = arg.appl_ptr % Math.max(1, rt.boundary);
  Object.assign(out, { state: STATE_NAMES[rt.state], hw_ptr: rt.hw_ptr, appl_ptr: rt.appl_ptr });
  snd_pcm_stream_unlock(k, s);
  return 0;
}

// ---- the action framework ----

interface ActionOps {
  /** The snd_pcm_do_* function that calls the driver's trigger. */
  name: string;
  pre(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, state: PcmState): number;
  do(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, state: PcmState): KGen<number>;
  undo?(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, state: PcmState): KGen<void>;
  post(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, state: PcmState): void;
}

/** snd_pcm_action_single(); the stream lock is held by the caller. */
function* action(k: Kernel, ops: ActionOps, s: SndPcmSubstream, rt: SndPcmRuntime, state: PcmState): KGen<number> {
  let r = ops.pre(k, s, rt, state);
  if (r < 0) return r;
  const mark = k.enter('snd_pcm_action_single', ops.name);
  try {
    r = yield* ops.do(k, s, rt, state);
  } finally {
    k.leave(mark);
  }
  if (r === 0) ops.post(k, s, rt, state);
  else if (ops.undo) yield* ops.undo(k, s, rt, state);
  return r;
}

const startOps: ActionOps = {
  name: 'snd_pcm_do_start',
  pre(_k, s, rt) {
    if (rt.state !== PcmState.PREPARED) return -E.EBADFD;
    if (rt.buffer_accessing < 0) return -E.EBADFD;
    if (s.stream === Stream.PLAYBACK && !(rt.stop_threshold >= rt.boundary || snd_pcm_playback_avail(rt) < rt.buffer_size)) return -E.EPIPE;
    rt.trigger_master = s;
    return 0;
  },
  *do(k, s, rt) {
    if (rt.trigger_master !== s) return 0;
    const err = yield* s.ops.trigger(k, s, Trigger.START);
    if (err === -E.EPIPE) rt.state = PcmState.XRUN;
    return err;
  },
  *undo(k, s, rt) {
    if (rt.trigger_master === s) {
      yield* s.ops.trigger(k, s, Trigger.STOP);
      rt.stop_operating = true;
    }
  },
  post(k, _s, rt, state) {
    rt.trigger_tstamp = k.now;
    rt.hw_ptr_jiffies = k.jiffies;
    rt.hw_ptr_buffer_jiffies = Math.floor((rt.buffer_size * 250) / rt.rate);
    rt.state = state;
  },
};

const stopOps: ActionOps = {
  name: 'snd_pcm_do_stop',
  pre(_k, s, rt) {
    if (rt.state === PcmState.OPEN) return -E.EBADFD;
    rt.trigger_master = s;
    return 0;
  },
  *do(k, s, rt) {
    if (rt.trigger_master === s && snd_pcm_running(s, rt)) {
      yield* s.ops.trigger(k, s, Trigger.STOP);
      rt.stop_operating = true;
    }
    return 0;
  },
  post(k, _s, rt, state) {
    if (rt.state !== state) {
      rt.trigger_tstamp = k.now;
      rt.state = state;
    }
    k.wakeUp(rt.sleep);
    k.wakeUp(rt.tsleep);
  },
};

/** snd_pcm_start(): caller holds the stream lock. */
export function* snd_pcm_start(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime): KGen<number> {
  const mark = k.enter('snd_pcm_start');
  try {
    return yield* action(k, startOps, s, rt, PcmState.RUNNING);
  } finally {
    k.leave(mark);
  }
}

/** snd_pcm_stop(): caller holds the stream lock. */
export function* snd_pcm_stop(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, state: PcmState): KGen<number> {
  const mark = k.enter('snd_pcm_stop');
  try {
    return yield* action(k, stopOps, s, rt, state);
  } finally {
    k.leave(mark);
  }
}

export function* snd_pcm_start_lock_irq(k: Kernel, s: SndPcmSubstream): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_start_lock_irq', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_start_lock_irq: lock');
  const r = yield* snd_pcm_start(k, s, rt);
  snd_pcm_stream_unlock(k, s);
  return r;
}

const pauseOps: ActionOps = {
  name: 'snd_pcm_do_pause',
  pre(_k, s, rt, state) {
    if (!(rt.info & INFO_PAUSE)) return -E.ENOSYS;
    const push = state === PcmState.PAUSED;
    if (push ? rt.state !== PcmState.RUNNING : rt.state !== PcmState.PAUSED) return -E.EBADFD;
    rt.trigger_master = s;
    return 0;
  },
  *do(k, s, rt, state) {
    if (rt.trigger_master !== s) return 0;
    return yield* s.ops.trigger(k, s, state === PcmState.PAUSED ? Trigger.PAUSE_PUSH : Trigger.PAUSE_RELEASE);
  },
  post(k, _s, rt, state) {
    rt.state = state;
    if (state === PcmState.PAUSED) {
      k.wakeUp(rt.sleep);
      k.wakeUp(rt.tsleep);
    } else rt.hw_ptr_jiffies = k.jiffies;
  },
};

function* pauseLocked(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, push: boolean): KGen<number> {
  return yield* action(k, pauseOps, s, rt, push ? PcmState.PAUSED : PcmState.RUNNING);
}

export function* snd_pcm_pause(k: Kernel, s: SndPcmSubstream, push: boolean): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_pause_lock_irq', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_pause_lock_irq: lock');
  const r = yield* pauseLocked(k, s, rt, push);
  snd_pcm_stream_unlock(k, s);
  return r;
}

/**
 * snd_pcm_resume(). The simulated kernel has no power management: nothing
 * suspends a stream, so a resume finds none (EBADFD), or a driver that cannot
 * resume (ENOSYS), as the real pre-check answers first.
 */
export function* snd_pcm_resume(k: Kernel, s: SndPcmSubstream): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_resume', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_resume: lock');
  const r = !(rt.info & INFO_RESUME) ? -E.ENOSYS : rt.state !== PcmState.SUSPENDED ? -E.EBADFD : 0;
  snd_pcm_stream_unlock(k, s);
  return r;
}

// ---- DROP / PREPARE / DRAIN ----

export function* snd_pcm_drop(k: Kernel, s: SndPcmSubstream): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_drop', IOCTL);
  if (!rt) return -E.ENXIO;
  if (rt.state === PcmState.OPEN || rt.state === PcmState.DISCONNECTED) return -E.EBADFD;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_drop: lock');
  if (rt.state === PcmState.PAUSED) yield* pauseLocked(k, s, rt, false);
  yield* snd_pcm_stop(k, s, rt, PcmState.SETUP);
  snd_pcm_stream_unlock(k, s);
  yield 'snd_pcm_drop: stopped';
  return 0;
}

export function* snd_pcm_prepare(k: Kernel, s: SndPcmSubstream): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_prepare', IOCTL);
  if (!rt) return -E.ENXIO;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_prepare: lock');
  if (rt.state === PcmState.PAUSED) yield* pauseLocked(k, s, rt, false);
  if (rt.state === PcmState.PAUSED || rt.state === PcmState.SUSPENDED) yield* snd_pcm_stop(k, s, rt, PcmState.SETUP);
  snd_pcm_stream_unlock(k, s);
  // snd_pcm_action_nonatomic(): the buffer lock, then pre/do/post without the stream lock.
  const err = yield* snd_pcm_buffer_access_lock(k, rt, 'snd_pcm_prepare');
  if (err < 0) return err;
  let r: number;
  if (rt.state === PcmState.OPEN || rt.state === PcmState.DISCONNECTED) r = -E.EBADFD;
  else if (snd_pcm_running(s, rt)) r = -E.EBUSY;
  else {
    yield* snd_pcm_sync_stop(k, s, true);
    r = yield* s.ops.prepare(k, s);
    if (r === 0) {
      // snd_pcm_do_reset() + snd_pcm_lib_ioctl_reset() on a stopped stream.
      rt.hw_ptr = 0;
      rt.hw_ptr_base = 0;
      rt.hw_ptr_interrupt = 0;
      rt.appl_ptr = rt.hw_ptr;
      snd_pcm_set_state(rt, PcmState.PREPARED);
    }
  }
  snd_pcm_buffer_access_unlock(k, rt);
  return r;
}

export function* snd_pcm_drain(k: Kernel, s: SndPcmSubstream, nonblock: boolean): KGen<number> {
  const rt = runtimeOf(k, s, 'snd_pcm_drain', IOCTL);
  if (!rt) return -E.ENXIO;
  if (rt.state === PcmState.OPEN) return -E.EBADFD;
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_drain: lock');
  if (rt.state === PcmState.PAUSED) yield* pauseLocked(k, s, rt, false);
  if (rt.state === PcmState.DISCONNECTED || rt.state === PcmState.SUSPENDED) {
    snd_pcm_stream_unlock(k, s);
    return -E.EBADFD;
  }
  if (s.stream === Stream.PLAYBACK) {
    switch (rt.state) {
      case PcmState.PREPARED:
        if (snd_pcm_playback_avail(rt) < rt.buffer_size) {
          const r = yield* snd_pcm_start(k, s, rt);
          if (r === 0) rt.state = PcmState.DRAINING;
        } else rt.state = PcmState.SETUP;
        break;
      case PcmState.RUNNING:
        rt.state = PcmState.DRAINING;
        break;
      case PcmState.XRUN:
        rt.state = PcmState.SETUP;
        break;
    }
  } else if (rt.state === PcmState.RUNNING) {
    const newState = snd_pcm_avail(s, rt) > 0 ? PcmState.DRAINING : PcmState.SETUP;
    yield* snd_pcm_stop(k, s, rt, newState);
  }
  if (nonblock) {
    snd_pcm_stream_unlock(k, s);
    return -E.EAGAIN;
  }
  let result = 0;
  while (s.stream === Stream.PLAYBACK && rt.state === PcmState.DRAINING) {
    snd_pcm_stream_unlock(k, s);
    const tout = rt.rate ? Math.max(10e9, (rt.buffer_size / rt.rate) * 1e9 * 1.1 + 1e9) : 10e9;
    const why = yield* waitEvent(k, rt.sleep, () => rt.state !== PcmState.DRAINING, 'S', tout, 'snd_pcm_drain: waiting for the buffer to play out', ['snd_pcm_drain', ...IOCTL]);
    k.use(rt, 'snd_pcm_drain', RUNTIME_OFFSET.state, 4, false, ['snd_pcm_drain', ...IOCTL]);
    yield* snd_pcm_stream_lock(k, s, 'snd_pcm_drain: relock after wakeup');
    if (s.pcm.card.shutdown) {
      result = -E.ENODEV;
      break;
    }
    if (why === WakeReason.Signal) {
      result = -E.ERESTARTSYS;
      break;
    }
    if (why === WakeReason.Timeout) {
      yield* snd_pcm_stop(k, s, rt, PcmState.SETUP);
      result = -E.EIO;
      break;
    }
  }
  snd_pcm_stream_unlock(k, s);
  return result;
}

// ---- open / release ----

/** snd_pcm_attach_substream() + driver open. */
export function* snd_pcm_open_substream(k: Kernel, pcm: SndPcm, stream: Stream, subdevice: number, file: unknown): KGen<{ err: number; s?: SndPcmSubstream }> {
  const list = pcm.streams[stream];
  if (!list.length) return { err: -E.ENODEV };
  const s = subdevice >= 0 ? list[subdevice] : list.find((x) => x.ref_count === 0);
  if (!s) return { err: subdevice >= 0 ? -E.ENODEV : -E.EAGAIN };
  if (s.ref_count > 0) return { err: -E.EAGAIN };
  const rt = k.alloc(new SndPcmRuntime(), ['snd_pcm_attach_substream', 'snd_pcm_open_substream', 'snd_pcm_open', 'snd_pcm_playback_open', 'snd_open', 'chrdev_open', 'do_dentry_open']);
  s.runtime = rt;
  s.ref_count = 1;
  s.file = file;
  yield 'snd_pcm_open_substream: runtime attached';
  const err = yield* s.ops.open(k, s);
  if (err < 0) {
    yield* snd_pcm_release_substream(k, s);
    return { err };
  }
  s.hw_opened = true;
  return { err: 0, s };
}

export function* snd_pcm_release_substream(k: Kernel, s: SndPcmSubstream): KGen<void> {
  if (--s.ref_count > 0) return;
  const rt = s.runtime;
  if (rt) {
    yield* snd_pcm_drop(k, s);
    if (s.hw_opened) {
      if (rt.state !== PcmState.OPEN) yield* do_hw_free(k, s);
      yield* s.ops.close(k, s);
      s.hw_opened = false;
    }
  }
  yield* snd_pcm_detach_substream(k, s);
}

export function* snd_pcm_detach_substream(k: Kernel, s: SndPcmSubstream): KGen<void> {
  const rt = s.runtime;
  if (!rt) return;
  s.runtime = null;
  s.detachedBy = k.current.name;
  s.file = null;
  yield 'snd_pcm_detach_substream: substream->runtime = NULL';
  k.kfree(rt, ['snd_pcm_detach_substream', 'snd_pcm_release_substream', 'snd_pcm_release', '__fput', 'task_work_run', 'syscall_exit_to_user_mode']);
}
