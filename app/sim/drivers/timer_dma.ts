// A DMA engine driven by a high-resolution timer, as snd-dummy's hrtimer
// backend: the pointer is computed from the time since start, and each
// period the callback calls snd_pcm_period_elapsed() from (soft)irq context.
// All three simulated cards use it; their differences are in the hooks.
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { SimHrtimer } from '../kernel/hrtimer.js';
import type { KGen } from '../kernel/task.js';
import { snd_pcm_period_elapsed } from '../pcm/pcm_lib.js';
import { type SndPcmHardware, type SndPcmOps, type SndPcmSubstream, Trigger } from '../pcm/pcm_types.js';

const E = ERRNO;

export interface TimerDma {
  substream: SndPcmSubstream;
  running: boolean;
  baseTime: number;
  periodNs: number;
  timer: SimHrtimer;
  /** The sample clock against the rate the driver reports (1: honest; 1.0005: 0.05 % fast). */
  clock: number;
}

export interface TimerDmaHooks {
  /** Name of the driver's timer callback, for traces and oops reports. */
  callback: string;
  /** Runs in the callback before snd_pcm_period_elapsed (e.g. touching the driver's chip data). */
  inCallback?: (k: Kernel, d: TimerDma) => void;
  /** The card's sample clock against its reported rate (default 1). */
  clock?: number;
}

export function timerDma(s: SndPcmSubstream): TimerDma {
  return s.private_data as TimerDma;
}

export function attachTimerDma(s: SndPcmSubstream, hooks: TimerDmaHooks): TimerDma {
  const d: TimerDma = {
    substream: s,
    running: false,
    baseTime: 0,
    periodNs: 0,
    clock: hooks.clock ?? 1,
    timer: new SimHrtimer(s.debugName, function* (k: Kernel): KGen<boolean> {
      yield `${hooks.callback}: atomic_read(&dpcm->running)`;
      if (!d.running) return false;
      hooks.inCallback?.(k, d);
      const mark = k.enter(hooks.callback);
      try {
        yield* snd_pcm_period_elapsed(k, d.substream, [hooks.callback]);
      } finally {
        k.leave(mark);
      }
      if (!d.running) return false;
      d.timer.forward(d.periodNs, k.now);
      return true;
    }),
  };
  s.private_data = d;
  return d;
}

function periodNs(s: SndPcmSubstream): number {
  const rt = s.runtime!;
  return Math.floor((rt.period_size * 1e9) / (rt.rate * timerDma(s).clock));
}

/** Start/stop the timer; the trigger part of the ops, usable by wrappers. */
export function* timerDmaTrigger(k: Kernel, s: SndPcmSubstream, cmd: Trigger): KGen<number> {
  const d = timerDma(s);
  if (cmd === Trigger.START || cmd === Trigger.PAUSE_RELEASE) {
    d.baseTime = cmd === Trigger.START ? k.now : d.baseTime + (k.now - d.baseTime);
    d.periodNs = periodNs(s);
    d.timer.start(k, k.now + d.periodNs);
    d.running = true;
    return 0;
  }
  if (cmd === Trigger.STOP || cmd === Trigger.PAUSE_PUSH) {
    d.running = false;
    if (!d.timer.running) d.timer.tryToCancel(k);
    return 0;
  }
  return -E.EINVAL;
}

export function timerDmaOps(hw: SndPcmHardware, name: string): SndPcmOps {
  return {
    *open(_k, s) {
      s.runtime!.hw = hw;
      s.runtime!.private_data = timerDma(s);
      return 0;
    },
    *close(k, s) {
      const d = timerDma(s);
      // Today the core has synchronised through sync_stop already; without it
      // (pcm-no-sync-stop) nothing here waits for a callback still running.
      if (k.bug('pcm-no-sync-stop')) d.timer.tryToCancel(k);
      else yield* d.timer.cancel(k, [`${name}_pcm_close`, 'snd_pcm_release_substream']);
      return 0;
    },
    *hw_params() {
      return 0;
    },
    *hw_free() {
      return 0;
    },
    *prepare(k, s) {
      const d = timerDma(s);
      yield* d.timer.cancel(k, [`${name}_hrtimer_sync`, `${name}_pcm_prepare`]);
      d.periodNs = periodNs(s);
      return 0;
    },
    trigger: timerDmaTrigger,
    pointer(k, s) {
      const d = timerDma(s);
      const rt = s.runtime!;
      const deltaUs = Math.floor((k.now - d.baseTime) / 1000);
      const rate = d.clock === 1 ? rt.rate : rt.rate * d.clock;
      const frames = Math.floor((deltaUs * rate + 999999) / 1e6);
      return frames % rt.buffer_size;
    },
    *sync_stop(k, s) {
      yield* timerDma(s).timer.cancel(k, [`${name}_pcm_sync_stop`, 'snd_pcm_sync_stop']);
    },
  };
}
