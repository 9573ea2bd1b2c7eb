// The PCM character device: open (snd_pcm_open), the ioctl entry gate
// (snd_pcm_common_ioctl), release, and the /proc hw_params file that the
// lab reads back to see what the runtime really holds.
import type { UserBuffer } from '../kernel/uaccess.js';
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { mutexLock, mutexUnlock, waitEvent } from '../kernel/sync.js';
import { type KGen, WakeReason, returns } from '../kernel/task.js';
import { type FileOps, type Req, SimFile } from '../core/file.js';
import { snd_card_file_add, snd_card_file_remove } from '../core/card.js';
import type { HwParams } from '../../events/op-data.js';
import { PcmState, type SndPcm, type SndPcmSubstream, Stream } from './pcm_types.js';
import {
  runtimeOf,
  snd_pcm_drain,
  snd_pcm_drop,
  snd_pcm_hw_free,
  snd_pcm_hw_params,
  snd_pcm_hw_refine,
  snd_pcm_open_substream,
  snd_pcm_pause,
  snd_pcm_prepare,
  snd_pcm_release_substream,
  snd_pcm_resume,
  snd_pcm_start_lock_irq,
  snd_pcm_status,
  snd_pcm_sw_params,
  snd_pcm_channel_info,
  snd_pcm_sync_ptr,
} from './pcm_native.js';
import { snd_pcm_lib_xfer } from './pcm_lib.js';
import type { ParamRequest } from './pcm_params.js';

const E = ERRNO;
/** SNDRV_PCM_VERSION of Linux 6.1 (2.0.15). */
const SNDRV_PCM_VERSION = (2 << 16) | (0 << 8) | 15;

interface PcmFilePriv {
  substream: SndPcmSubstream;
}

function substreamOf(f: SimFile): SndPcmSubstream {
  return (f.priv as PcmFilePriv).substream;
}

/**
 * snd_pcm_common_ioctl(). A plain function returning the handler's generator
 * (nothing happens after the handler), so a blocked call is one generator
 * frame shallower: this path runs for every PCM op.
 */
function snd_pcm_common_ioctl(k: Kernel, f: SimFile, r: Req): KGen<number> {
  const s = substreamOf(f);
  const rt = runtimeOf(k, s, 'snd_pcm_common_ioctl', ['snd_pcm_ioctl']);
  if (!rt) return returns(-E.ENXIO);
  if (rt.state === PcmState.DISCONNECTED) return returns(-E.EBADFD);
  if (s.pcm.card.shutdown) return returns(-E.ENODEV); // snd_power_wait()
  const out = (r.out ??= {});
  switch (r.cmd) {
    case 'hw_refine':
      return snd_pcm_hw_refine(k, s, r.arg as ParamRequest, out as { ranges?: never });
    case 'hw_params':
      return snd_pcm_hw_params(k, s, r.arg as ParamRequest, out as { params?: HwParams });
    case 'hw_free':
      return snd_pcm_hw_free(k, s);
    case 'sw_params':
      return snd_pcm_sw_params(k, s, r.arg as never, out);
    case 'prepare':
      return snd_pcm_prepare(k, s);
    case 'start':
      return snd_pcm_start_lock_irq(k, s);
    case 'drop':
      return snd_pcm_drop(k, s);
    case 'drain':
      return snd_pcm_drain(k, s, f.nonblock);
    case 'pause':
      return snd_pcm_pause(k, s, r.arg as boolean);
    case 'status':
      return snd_pcm_status(k, s, out);
    // what alsa-lib's snd_pcm_hw_open and its mmap setup ask (pcm_native.c)
    case 'pversion':
      out.version = SNDRV_PCM_VERSION;
      return returns(0);
    case 'user_pversion':
    case 'ttstamp':
      return returns(0);
    case 'info':
      Object.assign(out, { card: s.pcm.card.number, device: s.pcm.device, subdevice: s.number, stream: s.stream === Stream.PLAYBACK ? 'playback' : 'capture', id: s.pcm.id, name: s.pcm.name });
      return returns(0);
    case 'channel_info':
      return snd_pcm_channel_info(k, s, r.arg as number, out);
    case 'status_ext':
      return snd_pcm_status(k, s, out);
    case 'sync_ptr':
      return snd_pcm_sync_ptr(k, s, r.arg as { appl_ptr?: number } | undefined, out);
    case 'resume':
      return snd_pcm_resume(k, s);
    case 'writei':
    case 'readi':
      if ((r.cmd === 'writei') !== (s.stream === Stream.PLAYBACK)) return returns(-E.EINVAL);
      // arg: frames, or { frames, buf } when the lab lays out the user buffer (uaccess.ts)
      return typeof r.arg === 'number' ? snd_pcm_lib_xfer(k, s, r.arg, f.nonblock) : snd_pcm_lib_xfer(k, s, (r.arg as XferArg).frames, f.nonblock, (r.arg as XferArg).buf);
    default:
      return returns(-E.ENOTTY);
  }
}

export const pcmFops: FileOps = {
  name: 'snd_pcm_f_ops',
  ioctl: snd_pcm_common_ioctl,
  *read() {
    return -E.EINVAL;
  },
  *write() {
    return -E.EINVAL;
  },
  release: snd_pcm_release,
};

/** open("/dev/snd/pcmC%dD%d%c"). */
export function* snd_pcm_open(k: Kernel, pcm: SndPcm, stream: Stream, subdevice: number, nonblock: boolean, path: string): KGen<{ err: number; file?: SimFile }> {
  if (pcm.disconnected) return { err: -E.ENODEV };
  const file = new SimFile(pcmFops, null, nonblock, pcm.card, path);
  let err = yield* snd_card_file_add(k, pcm.card, file);
  if (err < 0) return { err };
  yield* mutexLock(k, pcm.open_mutex, 'snd_pcm_open: mutex_lock(&pcm->open_mutex)', ['snd_pcm_open']);
  for (;;) {
    const r = yield* snd_pcm_open_substream(k, pcm, stream, subdevice, file);
    err = r.err;
    if (r.s) {
      file.priv = { substream: r.s } satisfies PcmFilePriv;
      r.s.nonblock = nonblock;
      break;
    }
    if (err !== -E.EAGAIN) break;
    if (nonblock) {
      err = -E.EBUSY;
      break;
    }
    mutexUnlock(k, pcm.open_mutex);
    const why = yield* waitEvent(k, pcm.open_wait, () => false, 'S', Infinity, 'snd_pcm_open: waiting for a free substream', ['snd_pcm_open']);
    yield* mutexLock(k, pcm.open_mutex, 'snd_pcm_open: relock', ['snd_pcm_open']);
    if (pcm.card.shutdown) {
      err = -E.ENODEV;
      break;
    }
    if (why === WakeReason.Signal) {
      err = -E.ERESTARTSYS;
      break;
    }
  }
  mutexUnlock(k, pcm.open_mutex);
  if (err < 0) {
    yield* snd_card_file_remove(k, pcm.card, file);
    return { err };
  }
  return { err: 0, file };
}

function* snd_pcm_release(k: Kernel, f: SimFile): KGen<number> {
  const s = substreamOf(f);
  const pcm = s.pcm;
  yield* mutexLock(k, pcm.open_mutex, 'snd_pcm_release: mutex_lock(&pcm->open_mutex)', ['snd_pcm_release', '__fput']);
  yield* snd_pcm_release_substream(k, s);
  mutexUnlock(k, pcm.open_mutex);
  k.wakeUp(pcm.open_wait);
  if (f.card) yield* snd_card_file_remove(k, f.card, f);
  return 0;
}

/** /proc/asound/cardN/pcmDx/subS/hw_params, as parsed values (null: "closed" / "no setup"). */
export function* snd_pcm_proc_hw_params_read(k: Kernel, s: SndPcmSubstream): KGen<HwParams | null> {
  yield* mutexLock(k, s.pcm.open_mutex, 'snd_pcm_substream_proc_hw_params_read: open_mutex', ['snd_pcm_substream_proc_hw_params_read', 'snd_info_seq_show']);
  const raw = s.runtime;
  let out: HwParams | null = null;
  if (raw) {
    const rt = k.use(raw, 'snd_pcm_substream_proc_hw_params_read', 0x88, 8, false, ['snd_pcm_substream_proc_hw_params_read']);
    if (rt.state !== PcmState.OPEN)
      out = { access: rt.access, format: rt.format, channels: rt.channels, rate: rt.rate, period_size: rt.period_size, periods: rt.periods, buffer_size: rt.buffer_size };
  }
  mutexUnlock(k, s.pcm.open_mutex);
  return out;
}

export function substreamOfFile(f: SimFile): SndPcmSubstream | null {
  const p = f.priv as PcmFilePriv | null;
  return p ? p.substream : null;
}

export { snd_pcm_drop };

/** struct snd_xferi as the simulator passes it: the frame count and the user buffer's layout. */
export interface XferArg {
  frames: number;
  buf?: UserBuffer;
}
