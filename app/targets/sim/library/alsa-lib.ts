// alsa-lib 1.2.8 as the libraries use it, down to the system calls it makes
// (src/control/cards.c, control_hw.c, pcm/pcm_hw.c, pcm.c, pcm_params.c,
// seq/seq_hw.c). Only what PortAudio and RtMidi call is here. The hardware
// parameter functions keep alsa-lib's rule for when a HW_REFINE goes to the
// kernel: a local narrowing that changes the space is refined by the kernel,
// one that changes nothing is not (params->rmask), so the number of
// HW_REFINE calls follows the device's constraints as it does in alsa-lib.
// native-bridge/applane/ALSA-CALLS.md records the measurements this follows,
// and what is left out.
import { ERRNO } from '../../../vocabulary/errno.js';
import type { KGen } from '../../../sim/kernel/task.js';
import type { SndCard } from '../../../sim/core/card.js';
import type { Interval } from '../../../events/op-data.js';
import type { PcmFormat } from '../../../vocabulary/ops.js';
import { INFO_SYNC_APPLPTR } from '../../../sim/pcm/pcm_types.js';
import type { RefineOut } from '../../../sim/pcm/pcm_native.js';
import type { Access } from '../../../sim/pcm/pcm_params.js';
import type { Fd, LibProcess } from './process.js';

const E = ERRNO;
export const SNDRV_CARDS = 32;
/** defaults.pcm.minperiodtime in Debian's alsa.conf (µs): snd_pcm_hw_params_choose() narrows the period time to it. */
const MIN_PERIOD_TIME = 5000;

// ---------- cards and controls ----------

/** snd_card_load2(): open the control file read-only, CARD_INFO, close. */
export function* cardLoad(p: LibProcess, n: number): KGen<boolean> {
  const o = yield* p.openCtl(n);
  if (!o.fd) return false;
  const r = yield* p.ioctl(o.fd, 'card_info');
  yield* p.close(o.fd);
  return r.ret >= 0;
}

/** snd_card_next(): the next card after `after`, probing each number up to 31. */
export function* snd_card_next(p: LibProcess, after: number): KGen<number> {
  for (let n = after + 1; n < SNDRV_CARDS; n++) if (yield* cardLoad(p, n)) return n;
  return -1;
}

/** snd_ctl_open("hw:N"): the configuration resolves the card (snd_card_load), then snd_ctl_hw_open: open, PVERSION. */
export function* snd_ctl_open_hw(p: LibProcess, n: number): KGen<Fd | undefined> {
  if (!(yield* cardLoad(p, n))) return undefined;
  const o = yield* p.openCtl(n);
  if (!o.fd) return undefined;
  yield* p.ioctl(o.fd, 'pversion');
  return o.fd;
}

// ---------- PCM: open, close, the simple ioctls ----------

/** An open alsa-lib PCM on a hw device. */
export interface AlsaPcm {
  fd: Fd;
  card: SndCard;
  device: number;
  stream: 'playback' | 'capture';
  /** The control page could not be mapped (SNDRV_PCM_INFO_SYNC_APPLPTR): appl_ptr travels by SYNC_PTR. */
  syncPtr: boolean;
  /** hw_params succeeded (pcm->setup): close drops and frees. */
  setup: boolean;
  /** What HW_PARAMS granted. */
  params?: { access: Access; format: PcmFormat; channels: number; rate: number; period_size: number; buffer_size: number };
}

/**
 * snd_pcm_open("hw:C,D") through snd_pcm_hw_open(): the card is resolved,
 * the control file asked for the preferred subdevice, the PCM opened, the
 * control closed; then INFO, PVERSION, USER_PVERSION, TTSTAMP and the
 * status/control page mappings (SYNC_PTR when the control page is refused).
 */
export function* snd_pcm_open_hw(p: LibProcess, card: SndCard, device: number, stream: 'playback' | 'capture', nonblock: boolean): KGen<{ pcm?: AlsaPcm; err: number }> {
  if (!(yield* cardLoad(p, card.number))) return { err: -E.ENODEV };
  const ctl = yield* p.openCtl(card.number);
  if (!ctl.fd) return { err: ctl.err };
  yield* p.ioctl(ctl.fd, 'pversion');
  yield* p.ioctl(ctl.fd, 'pcm_prefer_subdevice', -1);
  const o = yield* p.openPcm(card, device, stream, nonblock);
  yield* p.close(ctl.fd);
  if (!o.fd) return { err: o.err };
  const fd = o.fd;
  const info = yield* p.ioctl(fd, 'info');
  if (info.ret < 0) {
    yield* p.close(fd);
    return { err: info.ret };
  }
  yield* p.ioctl(fd, 'pversion');
  yield* p.ioctl(fd, 'user_pversion');
  yield* p.ioctl(fd, 'ttstamp');
  const pcm: AlsaPcm = { fd, card, device, stream, syncPtr: false, setup: false };
  const hwInfo = substreamOf(pcm)?.runtime?.hw.info ?? 0;
  pcm.syncPtr = (hwInfo & INFO_SYNC_APPLPTR) !== 0;
  // snd_pcm_hw_mmap_control() fails on such a driver: alsa-lib syncs once and keeps using SYNC_PTR
  if (pcm.syncPtr) yield* p.ioctl(fd, 'sync_ptr');
  return { pcm, err: 0 };
}

/** snd_pcm_close(): a PCM with a setup is dropped and freed first. */
export function* snd_pcm_close(p: LibProcess, pcm: AlsaPcm): KGen<number> {
  if (pcm.setup) {
    yield* p.ioctl(pcm.fd, 'drop');
    yield* p.ioctl(pcm.fd, 'hw_free');
    pcm.setup = false;
  }
  return yield* p.close(pcm.fd);
}

export function* snd_pcm_prepare(p: LibProcess, pcm: AlsaPcm): KGen<number> {
  const r = yield* p.ioctl(pcm.fd, 'prepare');
  if (r.ret >= 0 && pcm.syncPtr) yield* p.ioctl(pcm.fd, 'sync_ptr');
  return r.ret;
}

export function* snd_pcm_start(p: LibProcess, pcm: AlsaPcm): KGen<number> {
  return (yield* p.ioctl(pcm.fd, 'start')).ret;
}

export function* snd_pcm_drop(p: LibProcess, pcm: AlsaPcm): KGen<number> {
  return (yield* p.ioctl(pcm.fd, 'drop')).ret;
}

/** snd_pcm_status() (alsa-lib 1.2.8 asks with STATUS_EXT). */
export function* snd_pcm_status(p: LibProcess, pcm: AlsaPcm): KGen<{ ret: number; state?: string }> {
  const r = yield* p.ioctl(pcm.fd, 'status_ext');
  return { ret: r.ret, ...(r.ret >= 0 ? { state: r.out.state as string } : {}) };
}

/**
 * snd_pcm_avail_update(): the mapped status page's hw_ptr (no system call),
 * or SYNC_PTR for a driver whose pointers travel that way. -EPIPE in XRUN,
 * -ENODEV once the card is gone.
 */
export function* snd_pcm_avail_update(p: LibProcess, pcm: AlsaPcm): KGen<number> {
  const sub = substreamOf(pcm);
  if (pcm.syncPtr) {
    const r = yield* p.ioctl(pcm.fd, 'sync_ptr');
    if (r.ret < 0) return r.ret;
  }
  if (pcm.card.shutdown) return -E.ENODEV;
  const rt = sub?.runtime;
  if (!rt) return -E.EBADFD;
  if (rt.state === 4 /* XRUN */) return -E.EPIPE;
  if (rt.state === 8 /* DISCONNECTED */) return -E.ENODEV;
  const avail = pcm.stream === 'playback' ? rt.hw_ptr + rt.buffer_size - rt.appl_ptr : rt.hw_ptr - rt.appl_ptr;
  return avail < 0 ? avail + rt.boundary : avail >= rt.boundary ? avail - rt.boundary : avail;
}

/**
 * snd_pcm_mmap_commit(): moves appl_ptr by `frames`. With the control page
 * mapped this is a store into memory the kernel shares, no system call; a
 * SYNC_APPLPTR driver is told with SYNC_PTR.
 */
export function* snd_pcm_mmap_commit(p: LibProcess, pcm: AlsaPcm, frames: number): KGen<number> {
  const rt = substreamOf(pcm)?.runtime;
  if (!rt || !rt.boundary) return -E.EBADFD;
  const appl = (rt.appl_ptr + frames) % rt.boundary;
  if (pcm.syncPtr) {
    const r = yield* p.ioctl(pcm.fd, 'sync_ptr', { appl_ptr: appl });
    return r.ret < 0 ? r.ret : frames;
  }
  rt.appl_ptr = appl;
  return frames;
}

function substreamOf(pcm: AlsaPcm) {
  const priv = pcm.fd.file.priv as { substream?: import('../../../sim/pcm/pcm_types.js').SndPcmSubstream } | null;
  return priv?.substream;
}

/** The runtime behind an open PCM (the status page's view), or undefined once it is gone. */
export function runtimeOf(pcm: AlsaPcm) {
  return substreamOf(pcm)?.runtime ?? undefined;
}

// ---------- hardware parameters ----------

type IntervalVar = 'channels' | 'rate' | 'period_size' | 'periods' | 'buffer_size';

interface Space {
  access: Access[];
  format: PcmFormat[];
  channels: Interval;
  rate: Interval;
  period_size: Interval;
  periods: Interval;
  buffer_size: Interval;
  /** Periods are integral (the driver's constraint, or set_periods_integer). */
  integerPeriods: boolean;
}

const FULL = (): Interval => ({ min: 0, max: Number.MAX_SAFE_INTEGER });
const single = (i: Interval) => i.min === i.max;
const copy = (s: Space): Space => ({ ...s, access: [...s.access], format: [...s.format], channels: { ...s.channels }, rate: { ...s.rate }, period_size: { ...s.period_size }, periods: { ...s.periods }, buffer_size: { ...s.buffer_size } });

/**
 * snd_pcm_hw_params_t and the functions that narrow it. Every method that
 * changes the space locally asks the kernel to refine it (one HW_REFINE), as
 * alsa-lib does; a change that is empty fails locally with -EINVAL, no
 * system call.
 */
export class HwParams {
  space: Space;

  constructor(
    private readonly p: LibProcess,
    private readonly pcm: AlsaPcm,
  ) {
    this.space = this.full();
  }

  private full(): Space {
    return { access: [], format: [], channels: FULL(), rate: FULL(), period_size: FULL(), periods: FULL(), buffer_size: FULL(), integerPeriods: false };
  }

  private hwIntegerPeriods(): boolean {
    return substreamOf(this.pcm)?.runtime?.hw.integer_periods === true;
  }

  /** One HW_REFINE of `s`; the kernel's answer replaces it. */
  private *refine(s: Space): KGen<number> {
    const req = {
      ...(s.access.length ? { access: s.access } : {}),
      ...(s.format.length ? { format: s.format } : {}),
      channels: s.channels,
      rate: s.rate,
      period_size: s.period_size,
      periods: s.periods,
      buffer_size: s.buffer_size,
    };
    const r = yield* this.p.ioctl(this.pcm.fd, 'hw_refine', req);
    if (r.ret < 0) return r.ret;
    const out = r.out.ranges as RefineOut;
    s.access = out.access as Access[];
    s.format = out.formats as PcmFormat[];
    s.channels = { ...out.channels };
    s.rate = { ...out.rate };
    s.period_size = { ...out.period_size };
    s.periods = { ...out.periods };
    s.buffer_size = { ...out.buffer_size };
    return 0;
  }

  /** snd_pcm_hw_params_any(): the whole space, refined (always one HW_REFINE). */
  *any(): KGen<number> {
    this.space = this.full();
    this.space.integerPeriods = this.hwIntegerPeriods();
    return yield* this.refine(this.space);
  }

  /** Narrow an interval locally: -EINVAL when empty, 0 unchanged, 1 changed. */
  private static narrow(s: Space, v: IntervalVar, min: number, max: number): number {
    const i = s[v];
    const lo = Math.max(i.min, min);
    const hi = Math.min(i.max, max);
    if (lo > hi) return -E.EINVAL;
    if (lo === i.min && hi === i.max) return 0;
    s[v] = { min: lo, max: hi };
    return 1;
  }

  private *change(s: Space, v: IntervalVar, min: number, max: number): KGen<number> {
    const c = HwParams.narrow(s, v, min, max);
    if (c < 0) return c;
    if (c > 0) return yield* this.refine(s);
    return 0;
  }

  *setMin(v: IntervalVar, x: number): KGen<number> {
    return yield* this.change(this.space, v, x, Number.MAX_SAFE_INTEGER);
  }

  *setMax(v: IntervalVar, x: number): KGen<number> {
    return yield* this.change(this.space, v, 0, x);
  }

  *setFirst(v: IntervalVar): KGen<number> {
    return yield* this.change(this.space, v, 0, this.space[v].min);
  }

  *setLast(v: IntervalVar): KGen<number> {
    return yield* this.change(this.space, v, this.space[v].max, Number.MAX_SAFE_INTEGER);
  }

  /** snd_pcm_hw_param_set(SND_CHANGE). */
  *set(v: IntervalVar, x: number): KGen<number> {
    return yield* this.change(this.space, v, x, x);
  }

  /** snd_pcm_hw_param_set(SND_TEST) on an interval: a refine of a copy when it narrows anything. */
  *test(v: IntervalVar, x: number): KGen<number> {
    const c = HwParams.narrow(copy(this.space), v, x, x);
    if (c <= 0) return c;
    const s = copy(this.space);
    HwParams.narrow(s, v, x, x);
    return yield* this.refine(s);
  }

  /** A mask (access, format) set to one value: refined when that removed others. */
  *setMask(v: 'access' | 'format', x: string): KGen<number> {
    const have = this.space[v] as string[];
    if (!have.includes(x)) return -E.EINVAL;
    if (have.length === 1) return 0;
    (this.space[v] as string[]) = [x];
    return yield* this.refine(this.space);
  }

  /** A mask tested (SND_TEST): local, no system call. */
  testMask(v: 'access' | 'format', x: string): number {
    return (this.space[v] as string[]).includes(x) ? 0 : -E.EINVAL;
  }

  /** snd_pcm_hw_params_set_periods_integer(): a refine unless the driver already made periods integral. */
  *setPeriodsInteger(): KGen<number> {
    if (this.space.integerPeriods) return 0;
    this.space.integerPeriods = true;
    return yield* this.refine(this.space);
  }

  /** snd_pcm_hw_params_set_rate_resample(): a flag alsa-lib hands to the kernel with a refine. */
  *setRateResample(): KGen<number> {
    return yield* this.refine(this.space);
  }

  /**
   * snd_pcm_hw_param_set_near() (pcm_params.c): set_min towards the value;
   * done if that left one value; else compare with set_max on a copy and keep
   * the nearer end with set_first/set_last. `extraCompare` is PortAudio's
   * uninitialised `dir` in GropeDevice, which makes alsa-lib compare with the
   * other end even when set_min changed nothing (one more refine, measured).
   */
  *setNear(v: IntervalVar, x: number, extraCompare = false): KGen<{ err: number; value: number }> {
    const save = copy(this.space);
    let err = yield* this.setMin(v, x);
    const i = this.space[v];
    if (err >= 0 && single(i)) return { err: 0, value: i.min };
    let last = false;
    if (err >= 0) {
      // alsa-lib: "if (min == saved_min && mindir == valdir) goto _end"
      if (i.min !== x || extraCompare) {
        const other = copy(save);
        const c = HwParams.narrow(other, v, 0, x);
        let e2 = c;
        if (c > 0) e2 = yield* this.refine(other);
        // boundary_nearer(max, best, min): the lower end wins only when strictly nearer
        if (e2 >= 0 && x - other[v].max < this.space[v].min - x) {
          this.space = other;
          last = true;
        }
      }
    } else {
      this.space = save;
      err = yield* this.setMax(v, x);
      if (err < 0) return { err, value: x };
      last = true;
    }
    err = last ? yield* this.setLast(v) : yield* this.setFirst(v);
    return { err, value: this.space[v].min };
  }

  /**
   * snd_pcm_hw_params(): refine, choose (snd_pcm_hw_params_choose: first
   * access, format, channels, rate; the minimum period time from alsa.conf;
   * last buffer size; first period size and period time), HW_PARAMS, the
   * default SW_PARAMS, CHANNEL_INFO per channel for the mmap setup, PREPARE.
   */
  *install(): KGen<number> {
    const s = this.space;
    let err = yield* this.refine(s);
    if (err < 0) return err;
    if (s.access.length > 1) {
      s.access = s.access.slice(0, 1);
      if ((err = yield* this.refine(s)) < 0) return err;
    }
    if (s.format.length > 1) {
      s.format = s.format.slice(0, 1);
      if ((err = yield* this.refine(s)) < 0) return err;
    }
    for (const v of ['channels', 'rate'] as const) if ((err = yield* this.setFirst(v)) < 0) return err;
    // defaults.pcm.minperiodtime: only while the period time can still go below it
    const rate = s.rate.min;
    if (!single(s.period_size) && (s.period_size.min * 1e6) / rate < MIN_PERIOD_TIME && (s.period_size.max * 1e6) / rate > MIN_PERIOD_TIME)
      if ((err = yield* this.setMin('period_size', Math.ceil((MIN_PERIOD_TIME * rate) / 1e6))) < 0) return err;
    if ((err = yield* this.setLast('buffer_size')) < 0) return err;
    if ((err = yield* this.setFirst('period_size')) < 0) return err;
    // the period time (µs) is an interval with open ends in alsa-lib: choosing it refines once more
    if ((err = yield* this.refine(s)) < 0) return err;
    const params = { access: s.access[0]!, format: s.format[0]!, channels: s.channels.min, rate: s.rate.min, period_size: s.period_size.min, periods: Math.max(1, Math.round(s.buffer_size.min / s.period_size.min)), buffer_size: s.buffer_size.min };
    const hp = yield* this.p.ioctl(this.pcm.fd, 'hw_params', params);
    if (hp.ret < 0) return hp.ret;
    this.pcm.setup = true;
    this.pcm.params = { access: params.access, format: params.format, channels: params.channels, rate: params.rate, period_size: params.period_size, buffer_size: params.buffer_size };
    // snd_pcm_sw_params_default(): start threshold 1, stop threshold the buffer, avail_min one period
    const sw = yield* this.p.ioctl(this.pcm.fd, 'sw_params', { avail_min: params.period_size, start_threshold: 1, stop_threshold: params.buffer_size });
    if (sw.ret < 0) return sw.ret;
    if (params.access.startsWith('mmap')) for (let ch = 0; ch < params.channels; ch++) yield* this.p.ioctl(this.pcm.fd, 'channel_info', ch);
    return yield* snd_pcm_prepare(this.p, this.pcm);
  }
}

/** snd_pcm_sw_params() with the values PortAudio sets (FinishConfigure). */
export function* snd_pcm_sw_params(p: LibProcess, pcm: AlsaPcm, v: { avail_min: number; start_threshold: number; stop_threshold: number }): KGen<number> {
  return (yield* p.ioctl(pcm.fd, 'sw_params', v)).ret;
}

// ---------- the sequencer ----------

/**
 * snd_seq_open("default") through snd_seq_hw_open(): open /dev/snd/seq,
 * PVERSION, CLIENT_ID, RUNNING_MODE.
 */
export function* snd_seq_open(p: LibProcess, nonblock: boolean): KGen<{ fd?: Fd; client: number; err: number }> {
  const o = yield* p.openSeq('Client-xxx', nonblock);
  if (!o.fd) return { client: -1, err: o.err };
  yield* p.ioctl(o.fd, 'pversion');
  yield* p.ioctl(o.fd, 'client_id');
  yield* p.ioctl(o.fd, 'running_mode');
  return { fd: o.fd, client: o.client!, err: 0 };
}

/** snd_seq_set_client_name(): GET_CLIENT_INFO of itself, SET_CLIENT_INFO. */
export function* snd_seq_set_client_name(p: LibProcess, fd: Fd, client: number, name: string): KGen<number> {
  yield* p.ioctl(fd, 'get_client_info', client);
  return (yield* p.ioctl(fd, 'set_client_info', { name })).ret;
}
