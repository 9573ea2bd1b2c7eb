// struct snd_pcm, snd_pcm_str, snd_pcm_substream and snd_pcm_runtime, with
// the fields the simulated paths touch. Names follow include/sound/pcm.h.
import { KObject } from '../kernel/memory.js';
import { Mutex, SpinLock, WaitQueue } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';
import type { Kernel } from '../kernel/kernel.js';
import type { SndCard } from '../core/card.js';
import type { PcmFormat } from '../../vocabulary/ops.js';
import type { HwParams } from '../../events/op-data.js';

export const enum PcmState {
  OPEN = 0,
  SETUP = 1,
  PREPARED = 2,
  RUNNING = 3,
  XRUN = 4,
  DRAINING = 5,
  PAUSED = 6,
  SUSPENDED = 7,
  DISCONNECTED = 8,
}

export const STATE_NAMES = ['OPEN', 'SETUP', 'PREPARED', 'RUNNING', 'XRUN', 'DRAINING', 'PAUSED', 'SUSPENDED', 'DISCONNECTED'] as const;

export const enum Stream {
  PLAYBACK = 0,
  CAPTURE = 1,
}

export const enum Trigger {
  STOP = 0,
  START = 1,
  PAUSE_PUSH = 3,
  PAUSE_RELEASE = 4,
}

export const INFO_MMAP = 0x1;
/** The driver wants every appl_ptr move reported (snd-usb-audio): the control page cannot be mapped, alsa-lib falls back to SYNC_PTR. */
export const INFO_SYNC_APPLPTR = 0x20;
export const INFO_INTERLEAVED = 0x100;
export const INFO_NONINTERLEAVED = 0x200;
export const INFO_PAUSE = 0x80000;
export const INFO_RESUME = 0x40000;

/** struct snd_pcm_hardware */
export interface SndPcmHardware {
  info: number;
  formats: readonly PcmFormat[];
  /** Continuous range; `rates` lists the discrete rates when not continuous. */
  rate_min: number;
  rate_max: number;
  rates?: readonly number[];
  channels_min: number;
  channels_max: number;
  buffer_bytes_max: number;
  period_bytes_min: number;
  period_bytes_max: number;
  periods_min: number;
  periods_max: number;
  /** The driver's open adds snd_pcm_hw_constraint_integer(PERIODS) (snd-aloop does; snd-dummy and snd-usb-audio do not). */
  integer_periods?: boolean;
}

/** struct snd_pcm_ops: what a driver provides. */
export interface SndPcmOps {
  open(k: Kernel, s: SndPcmSubstream): KGen<number>;
  close(k: Kernel, s: SndPcmSubstream): KGen<number>;
  hw_params?(k: Kernel, s: SndPcmSubstream, p: HwParams): KGen<number>;
  hw_free?(k: Kernel, s: SndPcmSubstream): KGen<number>;
  prepare(k: Kernel, s: SndPcmSubstream): KGen<number>;
  /** Atomic context: called with the stream lock held; must not sleep. */
  trigger(k: Kernel, s: SndPcmSubstream, cmd: Trigger): KGen<number>;
  pointer(k: Kernel, s: SndPcmSubstream): number;
  sync_stop?(k: Kernel, s: SndPcmSubstream): KGen<void>;
  /**
   * The driver's copy_user callback never touches user memory (snd-dummy's
   * default fake_buffer=1: dummy_pcm_copy does nothing), so a transfer's user
   * buffer is never faulted in.
   */
  fake_buffer?: boolean;
}

export class SndPcmRuntime extends KObject {
  state: PcmState = PcmState.OPEN;
  /** runtime->hw, installed by the driver's open callback. */
  hw!: SndPcmHardware;
  access: HwParams['access'] = 'rw_interleaved';
  format: PcmFormat = 'S16_LE';
  channels = 0;
  rate = 0;
  period_size = 0;
  periods = 0;
  buffer_size = 0;
  boundary = 0;
  frame_bits = 0;
  min_align = 1;
  info = 0;
  start_threshold = 1;
  stop_threshold = 0;
  avail_min = 1;
  silence_size = 0;
  /** control->appl_ptr and status->hw_ptr, frames modulo boundary. */
  appl_ptr = 0;
  hw_ptr = 0;
  hw_ptr_base = 0;
  hw_ptr_interrupt = 0;
  hw_ptr_jiffies = 0;
  hw_ptr_buffer_jiffies = 0;
  twake = 0;
  avail_max = 0;
  stop_operating = false;
  /** > 0: a read/write is copying; < 0: hw_params/hw_free/prepare holds the buffer. */
  buffer_accessing = 0;
  readonly buffer_mutex = new Mutex('runtime->buffer_mutex');
  readonly sleep = new WaitQueue('runtime->sleep');
  readonly tsleep = new WaitQueue('runtime->tsleep');
  trigger_master: SndPcmSubstream | null = null;
  dma_area = false;
  dma_bytes = 0;
  private_data: unknown = null;
  /** runtime->xruns: entries into XRUN since the runtime was created. */
  xruns = 0;
  /** runtime->trigger_tstamp: when the stream last started or stopped (snd_pcm_trigger_tstamp), ns. */
  trigger_tstamp = 0;

  constructor() {
    super('kmalloc-1k', 1024);
  }
}

/** Offsets used in fault reports (x86-64 layout, approximate). */
export const RUNTIME_OFFSET = { state: 0xc0, hw_ptr: 0x48, appl_ptr: 0x50, private_data: 0x310, buffer_size: 0x88 } as const;

export class SndPcmSubstream {
  runtime: SndPcmRuntime | null = null;
  ref_count = 0;
  hw_opened = false;
  nonblock = false;
  mmap_count = 0;
  readonly lock: SpinLock;
  /** Driver-private per-substream state (the timer/DMA engine). */
  private_data: unknown = null;
  /** Userspace file that holds this substream open (for the card's file list). */
  file: unknown = null;
  /** The task that last detached the runtime (left `runtime` NULL): a report about a NULL runtime names it. */
  detachedBy: string | undefined = undefined;

  constructor(
    readonly pcm: SndPcm,
    readonly stream: Stream,
    readonly number: number,
  ) {
    this.lock = new SpinLock(`pcmC${pcm.card.number}D${pcm.device}${stream === Stream.PLAYBACK ? 'p' : 'c'}:${number} stream lock`);
  }

  get name(): string {
    return `subdevice #${this.number}`;
  }

  get ops(): SndPcmOps {
    return this.pcm.ops[this.stream]!;
  }

  /** pcmC0D0p:0, as snd_pcm_debug_name prints it. */
  get debugName(): string {
    return `pcmC${this.pcm.card.number}D${this.pcm.device}${this.stream === Stream.PLAYBACK ? 'p' : 'c'}:${this.number}`;
  }
}

export class SndPcm {
  readonly streams: [SndPcmSubstream[], SndPcmSubstream[]] = [[], []];
  readonly open_mutex = new Mutex('pcm->open_mutex');
  readonly open_wait = new WaitQueue('pcm->open_wait');
  disconnected = false;

  constructor(
    readonly card: SndCard,
    readonly device: number,
    readonly id: string,
    public name: string,
    playbackCount: number,
    captureCount: number,
    readonly ops: [SndPcmOps | undefined, SndPcmOps | undefined],
  ) {
    for (let i = 0; i < playbackCount; i++) this.streams[0].push(new SndPcmSubstream(this, Stream.PLAYBACK, i));
    for (let i = 0; i < captureCount; i++) this.streams[1].push(new SndPcmSubstream(this, Stream.CAPTURE, i));
  }
}

export function snd_pcm_running(s: SndPcmSubstream, rt: SndPcmRuntime): boolean {
  return rt.state === PcmState.RUNNING || (rt.state === PcmState.DRAINING && s.stream === Stream.PLAYBACK);
}

export function snd_pcm_playback_avail(rt: SndPcmRuntime): number {
  let avail = rt.hw_ptr + rt.buffer_size - rt.appl_ptr;
  if (avail < 0) avail += rt.boundary;
  else if (avail >= rt.boundary) avail -= rt.boundary;
  return avail;
}

export function snd_pcm_capture_avail(rt: SndPcmRuntime): number {
  let avail = rt.hw_ptr - rt.appl_ptr;
  if (avail < 0) avail += rt.boundary;
  return avail;
}

export function snd_pcm_avail(s: SndPcmSubstream, rt: SndPcmRuntime): number {
  return s.stream === Stream.PLAYBACK ? snd_pcm_playback_avail(rt) : snd_pcm_capture_avail(rt);
}

/** Frames queued (playback) or free (capture) in the hardware buffer. */
export function snd_pcm_hw_avail(s: SndPcmSubstream, rt: SndPcmRuntime): number {
  return rt.buffer_size - snd_pcm_avail(s, rt);
}
