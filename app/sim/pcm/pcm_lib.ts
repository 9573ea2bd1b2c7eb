// sound/core/pcm_lib.c: the hardware pointer update, xrun and drain
// detection, the period interrupt entry point, and the read/write loop.
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { JIFFY } from '../kernel/kernel.js';
import { type KGen, WakeReason, returns } from '../kernel/task.js';
import { PcmState, RUNTIME_OFFSET, type SndPcmRuntime, type SndPcmSubstream, Stream, snd_pcm_hw_avail, snd_pcm_avail, snd_pcm_running } from './pcm_types.js';
import { snd_pcm_start, snd_pcm_stop, snd_pcm_stream_lock, snd_pcm_stream_unlock } from './pcm_native.js';
import { frameBytes } from './pcm_params.js';

const E = ERRNO;

/** Finished iterators for the common results: the pointer update rarely needs to yield. */
const RET0 = returns(0);

export function snd_pcm_update_hw_ptr(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime): KGen<number> {
  return snd_pcm_update_hw_ptr0(k, s, rt, false);
}

/**
 * snd_pcm_update_hw_ptr0(). A plain function: it only yields when the update
 * stops the stream (xrun, drain done), and then returns that path's
 * generator; otherwise a finished iterator. It runs on every transfer and
 * every period interrupt, so this saves a generator per call.
 */
export function snd_pcm_update_hw_ptr0(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, inInterrupt: boolean): KGen<number> {
  const old = rt.hw_ptr;
  let pos = s.ops.pointer(k, s);
  if (pos >= rt.buffer_size) {
    k.printk(3, `${s.pcm.card.driver.toLowerCase()} ${s.pcm.card.driver.toLowerCase()}.0: invalid position: ${s.debugName}, pos = ${pos}, buffer size = ${rt.buffer_size}, period size = ${rt.period_size}`);
    pos = 0;
  }
  pos -= pos % rt.min_align;
  let hwBase = rt.hw_ptr_base;
  let newPtr = hwBase + pos;
  let wrapped = false;
  if (inInterrupt) {
    // A period must have passed; if the pointer has not moved a period and
    // half a buffer's time elapsed, a whole buffer went by unseen.
    const expected = rt.hw_ptr_interrupt + rt.period_size;
    if (expected > newPtr && k.jiffies - rt.hw_ptr_jiffies > Math.floor(rt.hw_ptr_buffer_jiffies / 2) + 1) {
      hwBase += rt.buffer_size;
      if (hwBase >= rt.boundary) hwBase = 0;
      newPtr = hwBase + pos;
      wrapped = true;
    }
  }
  if (!wrapped && newPtr < old) {
    hwBase += rt.buffer_size;
    if (hwBase >= rt.boundary) hwBase = 0;
    newPtr = hwBase + pos;
  }
  let delta = newPtr - old;
  if (delta < 0) delta += rt.boundary;
  if (delta >= rt.buffer_size + rt.period_size) return RET0; // "Unexpected hw_ptr" (logged only with xrun_debug)
  if (rt.hw_ptr === newPtr) {
    rt.hw_ptr_jiffies = k.jiffies;
    return RET0;
  }
  if (inInterrupt) {
    let d = newPtr - rt.hw_ptr_interrupt;
    if (d < 0) d += rt.boundary;
    d -= d % rt.period_size;
    rt.hw_ptr_interrupt += d;
    if (rt.hw_ptr_interrupt >= rt.boundary) rt.hw_ptr_interrupt -= rt.boundary;
  }
  rt.hw_ptr_base = hwBase;
  rt.hw_ptr = newPtr;
  rt.hw_ptr_jiffies = k.jiffies;
  return snd_pcm_update_state(k, s, rt);
}

/** The xrun/drain check and the wakeups, after every pointer update (plain function, as above). */
export function snd_pcm_update_state(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime): KGen<number> {
  const avail = snd_pcm_avail(s, rt);
  if (avail > rt.avail_max) rt.avail_max = avail;
  if (rt.state === PcmState.DRAINING) {
    if (avail >= rt.buffer_size) return drainDone(k, s, rt);
  } else if (avail >= rt.stop_threshold) return xrunStop(k, s, rt);
  if (rt.twake) {
    if (avail >= rt.twake) k.wakeUp(rt.tsleep);
  } else if (avail >= rt.avail_min) k.wakeUp(rt.sleep);
  return RET0;
}

function* drainDone(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime): KGen<number> {
  const mark = k.enter('snd_pcm_update_hw_ptr0', 'snd_pcm_update_state', 'snd_pcm_drain_done');
  try {
    yield* snd_pcm_stop(k, s, rt, PcmState.SETUP);
  } finally {
    k.leave(mark);
  }
  return -E.EPIPE;
}

function* xrunStop(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime): KGen<number> {
  const mark = k.enter('snd_pcm_update_hw_ptr0', 'snd_pcm_update_state');
  try {
    yield* __snd_pcm_xrun(k, s, rt);
  } finally {
    k.leave(mark);
  }
  return -E.EPIPE;
}

/** Caller holds the stream lock. Nothing is logged without CONFIG_SND_PCM_XRUN_DEBUG. */
export function* __snd_pcm_xrun(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime): KGen {
  const mark = k.enter('__snd_pcm_xrun');
  try {
    yield '__snd_pcm_xrun: stopping the stream as XRUN';
    yield* snd_pcm_stop(k, s, rt, PcmState.XRUN);
    rt.xruns++;
  } finally {
    k.leave(mark);
  }
}

const PE_STACK = ['snd_pcm_period_elapsed'];

/**
 * snd_pcm_period_elapsed(), called by a driver's interrupt handler. Today it
 * takes the stream lock first and checks the runtime under it. Before the
 * 2019 sync_stop series it read substream->runtime before locking, so a
 * close that ran in between left snd_pcm_running() with a NULL runtime.
 */
export function* snd_pcm_period_elapsed(k: Kernel, s: SndPcmSubstream, callers: readonly string[]): KGen {
  const mark = k.enter('snd_pcm_period_elapsed');
  try {
    yield* period_elapsed(k, s, callers);
  } finally {
    k.leave(mark);
  }
}

function* period_elapsed(k: Kernel, s: SndPcmSubstream, callers: readonly string[]): KGen {
  const stack = () => [...PE_STACK, ...callers];
  if (k.bug('pcm-no-sync-stop')) {
    if (!s.runtime) return; // PCM_RUNTIME_CHECK
    const early = k.use(s.runtime, 'snd_pcm_period_elapsed', RUNTIME_OFFSET.state, 8, false, stack);
    yield 'snd_pcm_period_elapsed: runtime checked, taking the stream lock';
    yield* snd_pcm_stream_lock(k, s, 'snd_pcm_period_elapsed: snd_pcm_stream_lock_irqsave');
    // snd_pcm_running(substream) dereferences substream->runtime again.
    const rt = k.use(s.runtime, 'snd_pcm_period_elapsed', RUNTIME_OFFSET.state, 8, false, stack, () => [s.detachedBy]);
    if (snd_pcm_running(s, rt)) yield* snd_pcm_update_hw_ptr0(k, s, rt, true);
    k.use(early, 'snd_pcm_period_elapsed', 0x1f0, 8, false, stack); // kill_fasync(&runtime->fasync)
    snd_pcm_stream_unlock(k, s);
    return;
  }
  yield* snd_pcm_stream_lock(k, s, 'snd_pcm_period_elapsed: snd_pcm_stream_lock_irqsave');
  const raw = s.runtime;
  if (raw) {
    const rt = k.use(raw, 'snd_pcm_period_elapsed_under_stream_lock', RUNTIME_OFFSET.state, 4, false, () => ['snd_pcm_period_elapsed_under_stream_lock', ...stack()]);
    if (snd_pcm_running(s, rt)) yield* snd_pcm_update_hw_ptr0(k, s, rt, true);
  }
  snd_pcm_stream_unlock(k, s);
}

function accessible(rt: SndPcmRuntime): number {
  switch (rt.state) {
    case PcmState.PREPARED:
    case PcmState.RUNNING:
    case PcmState.PAUSED:
      return 0;
    case PcmState.XRUN:
      return -E.EPIPE;
    case PcmState.SUSPENDED:
      return -E.ESTRPIPE;
    default:
      return -E.EBADFD;
  }
}

const XFER_STACK = ['__snd_pcm_lib_xfer', 'snd_pcm_xferi_frames_ioctl', 'snd_pcm_common_ioctl', 'snd_pcm_ioctl'];
const WAIT_STACK = ['schedule_timeout', 'wait_for_avail', ...XFER_STACK];
const WAIT_USE_STACK = ['wait_for_avail', ...XFER_STACK];

/** wait_for_avail(): called and returns with the stream lock held. */
function* wait_for_avail(k: Kernel, s: SndPcmSubstream, rt: SndPcmRuntime, io: { avail: number }): KGen<number> {
  const isPlayback = s.stream === Stream.PLAYBACK;
  const waitMs = Math.max(100, rt.rate ? Math.floor((rt.buffer_size * 1100) / rt.rate) : 100);
  const waitNs = Math.ceil((waitMs * 1e6) / JIFFY) * JIFFY;
  for (;;) {
    if (k.current.pendingSignal) return -E.ERESTARTSYS;
    io.avail = snd_pcm_avail(s, rt);
    if (io.avail >= rt.twake) return 0;
    snd_pcm_stream_unlock(k, s);
    const why = yield k.current.block(rt.tsleep, 'S', k.now + waitNs, isPlayback ? 'wait_for_avail: sleeping for space' : 'wait_for_avail: sleeping for data', WAIT_STACK);
    yield* snd_pcm_stream_lock(k, s, 'wait_for_avail: relock after wakeup');
    k.use(rt, 'wait_for_avail', RUNTIME_OFFSET.state, 4, false, WAIT_USE_STACK);
    if (why === WakeReason.Signal) return -E.ERESTARTSYS;
    switch (rt.state) {
      case PcmState.SUSPENDED:
        return -E.ESTRPIPE;
      case PcmState.XRUN:
        return -E.EPIPE;
      case PcmState.DRAINING:
        if (isPlayback) return -E.EPIPE;
        io.avail = 0;
        return 0;
      case PcmState.OPEN:
      case PcmState.SETUP:
      case PcmState.DISCONNECTED:
        return -E.EBADFD;
      case PcmState.PAUSED:
        continue;
    }
    if (why === WakeReason.Timeout) return -E.EIO;
  }
}

/** __snd_pcm_lib_xfer() for interleaved read/write of `frames` frames. */
export function* snd_pcm_lib_xfer(k: Kernel, s: SndPcmSubstream, frames: number, nonblock: boolean): KGen<number> {
  const raw = s.runtime;
  if (!raw) return -E.ENXIO;
  const rt = k.use(raw, '__snd_pcm_lib_xfer', RUNTIME_OFFSET.state, 4, false, XFER_STACK);
  if (rt.state === PcmState.OPEN) return -E.EBADFD;
  if (rt.access !== 'rw_interleaved' && rt.channels > 1) return -E.EINVAL;
  if (frames === 0) return 0;
  const isPlayback = s.stream === Stream.PLAYBACK;
  yield* snd_pcm_stream_lock(k, s, '__snd_pcm_lib_xfer: lock');
  let err = accessible(rt);
  if (err < 0) {
    snd_pcm_stream_unlock(k, s);
    return err;
  }
  rt.twake = rt.avail_min || 1;
  if (rt.state === PcmState.RUNNING) yield* snd_pcm_update_hw_ptr(k, s, rt);
  if (!isPlayback && rt.state === PcmState.PREPARED && frames >= rt.start_threshold) {
    err = yield* snd_pcm_start(k, s, rt);
    if (err < 0) {
      snd_pcm_stream_unlock(k, s);
      return err;
    }
  }
  const io = { avail: snd_pcm_avail(s, rt) };
  let size = frames;
  let xfer = 0;
  const fb = frameBytes(rt.format, rt.channels);
  while (size > 0) {
    if (!io.avail) {
      if (!isPlayback && rt.state === PcmState.DRAINING) {
        yield* snd_pcm_stop(k, s, rt, PcmState.SETUP);
        break;
      }
      if (nonblock) {
        err = -E.EAGAIN;
        break;
      }
      rt.twake = Math.min(size, rt.avail_min || 1);
      err = yield* wait_for_avail(k, s, rt, io);
      if (err < 0) break;
      if (!io.avail) continue;
    }
    const ofs = rt.appl_ptr % rt.buffer_size;
    const n = Math.min(size, io.avail, rt.buffer_size - ofs);
    if (rt.buffer_accessing < 0) {
      err = -E.EBUSY;
      break;
    }
    rt.buffer_accessing++;
    snd_pcm_stream_unlock(k, s);
    yield k.current.spend(40 + Math.ceil((n * fb) / 8), isPlayback ? '__snd_pcm_lib_xfer: copy_from_user' : '__snd_pcm_lib_xfer: copy_to_user');
    yield* snd_pcm_stream_lock(k, s, '__snd_pcm_lib_xfer: relock after copy');
    rt.buffer_accessing--;
    k.use(rt, '__snd_pcm_lib_xfer', RUNTIME_OFFSET.appl_ptr, 8, true, XFER_STACK);
    err = accessible(rt);
    if (err < 0) break;
    let appl = rt.appl_ptr + n;
    if (appl >= rt.boundary) appl -= rt.boundary;
    rt.appl_ptr = appl;
    size -= n;
    xfer += n;
    io.avail -= n;
    if (isPlayback && rt.state === PcmState.PREPARED && snd_pcm_hw_avail(s, rt) >= rt.start_threshold) {
      err = yield* snd_pcm_start(k, s, rt);
      if (err < 0) break;
    }
  }
  if (xfer > 0 && err >= 0) yield* snd_pcm_update_state(k, s, rt);
  snd_pcm_stream_unlock(k, s);
  return xfer > 0 ? xfer : err;
}
