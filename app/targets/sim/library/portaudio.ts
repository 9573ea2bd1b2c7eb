// PortAudio V19.6's ALSA host API (src/hostapi/alsa/pa_linux_alsa.c) with
// naudiodon 2.3.6 on top (src/PaContext.cc, Chunks.h), as the simulated
// kernel sees them: the system calls each of their functions makes through
// alsa-lib (./alsa-lib.ts), their threads as simulated tasks. What naudiodon
// does in the application lane's handle process (app/applane/child/
// handle-host.ts), this does on the simulated machine:
//
//   getDevices()        Pa_Initialize (the device probe) + Pa_Terminate
//   create(options)     Pa_Initialize, Pa_IsFormatSupported, Pa_OpenStream
//   start()             Pa_StartStream: the callback thread prepares, silences, starts
//   write()/read()      naudiodon's chunk queue, which the callback thread drains or fills
//   quit(how)           the queue quits, Pa_Stop/AbortStream (DROP), Pa_CloseStream (DROP, HW_FREE, close)
//
// The transfers go through the mapped buffer, so a period costs no system
// call: the callback thread polls (logged as poll), reads hw_ptr from the
// status page and moves appl_ptr through the control page
// (snd_pcm_mmap_commit in ./alsa-lib.ts), the way a mapped stream drives
// the kernel. Samples are not carried (the simulator has none).
// Left out: alsa-lib's configuration PCMs (default, sysdefault, dmix…),
// which Pa_Initialize also probes (native-bridge/applane/ALSA-CALLS.md).
import { ERRNO } from '../../../vocabulary/errno.js';
import type { KGen, Task } from '../../../sim/kernel/task.js';
import { WakeReason } from '../../../sim/kernel/task.js';
import { WaitQueue, scheduleTimeout, waitEvent } from '../../../sim/kernel/sync.js';
import type { SndCard } from '../../../sim/core/card.js';
import type { PcmFormat, PaFormat } from '../../../vocabulary/ops.js';
import { PcmState } from '../../../sim/pcm/pcm_types.js';
import {
  type AlsaPcm,
  HwParams,
  runtimeOf,
  snd_card_next,
  snd_ctl_open_hw,
  snd_pcm_avail_update,
  snd_pcm_close,
  snd_pcm_drop,
  snd_pcm_mmap_commit,
  snd_pcm_open_hw,
  snd_pcm_prepare,
  snd_pcm_start,
  snd_pcm_status,
  snd_pcm_sw_params,
} from './alsa-lib.js';
import type { LibProcess } from './process.js';

const E = ERRNO;
/** numPeriods_ in pa_linux_alsa.c. */
const NUM_PERIODS = 4;
/** busyRetries_: how often AlsaOpen retries a busy device, 10 ms apart. */
const BUSY_RETRIES = 100;
/** RATE_MAX_DEVIATE_RATIO: a rate more than 1 % off the request is paInvalidSampleRate. */
const RATE_MAX_DEVIATE_RATIO = 100;

/** One entry of PortAudio's device list (PaAlsaDeviceInfo), hardware devices only. */
export interface PaDevice {
  index: number;
  /** "<card name>: <pcm name> (hw:C,D)", as PortAudio builds it. */
  name: string;
  card: SndCard;
  device: number;
  maxInputChannels: number;
  maxOutputChannels: number;
  minInputChannels: number;
  minOutputChannels: number;
  defaultSampleRate: number;
  defaultLowInputLatency: number;
  defaultLowOutputLatency: number;
}

/** A PortAudio error as naudiodon throws it (its text; app/applane maps it to an errno). */
export class PaError extends Error {}

// ---------- Pa_Initialize: BuildDeviceList, FillInDevInfo, GropeDevice ----------

/** SkipCardDetailsInName(): the PCM's name without a leading copy of the card's. */
export function skipCardDetails(info: string, card: string): string {
  if (info === card) return '-';
  if (info.startsWith(`${card} `)) {
    const rest = info.slice(card.length).replace(/^ +/, '');
    return rest.replace(/^[-:] /, '') || '-';
  }
  return info;
}

/**
 * GropeDevice(): the probe of one direction of one device. `dirGarbage`:
 * PortAudio passes an uninitialised `dir` to its first
 * snd_pcm_hw_params_set_period_size_near, which makes alsa-lib compare both
 * ends of the range (one HW_REFINE more, as measured).
 */
function* grope(p: LibProcess, pcm: AlsaPcm, dev: PaDevice, input: boolean): KGen<boolean> {
  const hw = new HwParams(p, pcm);
  if ((yield* hw.any()) < 0) return false;
  let sr = dev.defaultSampleRate;
  if (sr >= 0) {
    const r = yield* hw.setNear('rate', sr);
    if (r.err < 0 || Math.abs(r.value - sr) * RATE_MAX_DEVIATE_RATIO > sr) {
      sr = -1;
      yield* hw.any();
    }
  }
  if (sr < 0) {
    yield* hw.setRateResample();
    const r = yield* hw.setNear('rate', 44100);
    if (r.err < 0) return false;
    sr = r.value;
  }
  const minCh = hw.space.channels.min;
  const maxCh = hw.space.channels.max;
  const b1 = yield* hw.setNear('buffer_size', 512);
  const p1 = yield* hw.setNear('period_size', 128, true);
  if (b1.err < 0 || p1.err < 0) return false;
  const low = (b1.value - p1.value) / sr;
  yield* hw.any();
  yield* hw.setNear('rate', sr);
  yield* hw.setNear('buffer_size', 2048);
  yield* hw.setNear('period_size', 512);
  if (input) {
    dev.minInputChannels = minCh;
    dev.maxInputChannels = maxCh;
    dev.defaultLowInputLatency = low;
  } else {
    dev.minOutputChannels = minCh;
    dev.maxOutputChannels = maxCh;
    dev.defaultLowOutputLatency = low;
  }
  dev.defaultSampleRate = sr;
  return true;
}

/** User space time of Pa_Initialize besides its system calls: alsa-lib reading its configuration and trying its plugin PCMs (modelled, ns). */
export const PA_INIT_USER_NS = 20e6;

/** Pa_Initialize() on ALSA: the card walk, then every hardware device probed for capture and playback. */
export function* Pa_Initialize(p: LibProcess): KGen<PaDevice[]> {
  yield p.k.current.spend(PA_INIT_USER_NS, 'snd_config_update: reading alsa.conf');
  const found: { card: SndCard; device: number; name: string; capture: boolean; playback: boolean }[] = [];
  for (let n = yield* snd_card_next(p, -1); n >= 0; n = yield* snd_card_next(p, n)) {
    const ctl = yield* snd_ctl_open_hw(p, n);
    if (!ctl) continue;
    const info = yield* p.ioctl(ctl, 'card_info');
    const card = p.k.snd.cards[n];
    const cardName = (info.out.name as string | undefined) ?? card?.shortname ?? `card${n}`;
    let dev = -1;
    for (;;) {
      const nd = yield* p.ioctl(ctl, 'pcm_next_device', dev);
      dev = nd.ret < 0 ? -1 : (nd.out.device as number);
      if (dev < 0 || !card) break;
      const c = yield* p.ioctl(ctl, 'pcm_info', { device: dev, stream: 'capture', subdevice: 0 });
      const pl = yield* p.ioctl(ctl, 'pcm_info', { device: dev, stream: 'playback', subdevice: 0 });
      if (c.ret < 0 && pl.ret < 0) continue;
      const pcmName = ((pl.ret >= 0 ? pl.out.name : c.out.name) as string | undefined) ?? '';
      found.push({ card, device: dev, name: `${cardName}: ${skipCardDetails(pcmName, cardName)} (hw:${n},${dev})`, capture: c.ret >= 0, playback: pl.ret >= 0 });
    }
    yield* p.close(ctl);
  }
  const devices: PaDevice[] = [];
  for (const f of found) {
    const d: PaDevice = { index: devices.length, name: f.name, card: f.card, device: f.device, maxInputChannels: 0, maxOutputChannels: 0, minInputChannels: 0, minOutputChannels: 0, defaultSampleRate: -1, defaultLowInputLatency: -1, defaultLowOutputLatency: -1 };
    for (const [dir, has] of [['capture', f.capture], ['playback', f.playback]] as const) {
      if (!has) continue;
      // OpenPcm(..., SND_PCM_NONBLOCK, no retry): a busy device simply drops out of the list
      const o = yield* snd_pcm_open_hw(p, f.card, f.device, dir, true);
      if (!o.pcm) continue;
      const ok = yield* grope(p, o.pcm, d, dir === 'capture');
      yield* snd_pcm_close(p, o.pcm);
      if (!ok) break;
    }
    if (d.maxInputChannels > 0 || d.maxOutputChannels > 0) devices.push(d);
  }
  return devices;
}

// ---------- Pa_OpenStream ----------

export interface PaOpenOptions {
  direction: 'playback' | 'capture';
  /** naudiodon's deviceId; -1: the default device. */
  deviceId: number;
  channels: number;
  format: PaFormat;
  rate: number;
  framesPerBuffer: number;
  maxQueue: number;
}

/** PortAudio's sample formats in quality order (paFloat32 best), and the ALSA format each maps to. */
const PA_ORDER: PaFormat[] = ['FLOAT_LE', 'S32_LE', 'S24_3LE', 'S16_LE', 'S8'];

/** GetAvailableFormats() + PaUtil_SelectClosestAvailableFormat(): the requested format, else the nearest better, else worse. */
function selectFormat(available: readonly string[], want: PaFormat): PcmFormat | undefined {
  if (available.includes(want)) return want;
  const i = PA_ORDER.indexOf(want);
  for (let k = i - 1; k >= 0; k--) if (available.includes(PA_ORDER[k]!)) return PA_ORDER[k]!;
  for (let k = i + 1; k < PA_ORDER.length; k++) if (available.includes(PA_ORDER[k]!)) return PA_ORDER[k]!;
  return undefined;
}

/** AlsaOpen(): OpenPcm with SND_PCM_NONBLOCK, retrying a busy device, then blocking mode. */
function* alsaOpen(p: LibProcess, dev: PaDevice, dir: 'playback' | 'capture'): KGen<AlsaPcm> {
  let o = yield* snd_pcm_open_hw(p, dev.card, dev.device, dir, true);
  for (let t = 0; t < BUSY_RETRIES && o.err === -E.EBUSY; t++) {
    yield* scheduleTimeout(p.k, 10e6, 'S', 'Pa_Sleep: busy device', ['hrtimer_nanosleep']);
    o = yield* snd_pcm_open_hw(p, dev.card, dev.device, dir, true);
  }
  if (!o.pcm) throw new PaError(o.err === -E.EBUSY ? 'Device unavailable' : 'Illegal combination of I/O devices');
  return o.pcm;
}

function availableFormats(hw: HwParams): string[] {
  return PA_ORDER.filter((f) => hw.testMask('format', f) === 0);
}

/** TestParameters() for Pa_IsFormatSupported: a whole hw_params on its own open, then close. */
function* testParameters(p: LibProcess, dev: PaDevice, o: PaOpenOptions, hostChannels: number): KGen<void> {
  const pcm = yield* alsaOpen(p, dev, o.direction);
  try {
    const hw = new HwParams(p, pcm);
    yield* hw.any();
    const r = yield* hw.setNear('rate', o.rate);
    if (r.err < 0 || Math.abs(r.value - o.rate) * RATE_MAX_DEVIATE_RATIO > o.rate) throw new PaError('Invalid sample rate');
    if ((yield* hw.set('channels', hostChannels)) < 0) throw new PaError('Invalid number of channels');
    const formats = new HwParams(p, pcm);
    yield* formats.any();
    const host = selectFormat(availableFormats(formats), o.format);
    if (!host) throw new PaError('Sample format not supported');
    if ((yield* hw.setMask('format', host)) < 0) throw new PaError('Unanticipated host error');
    const err = yield* hw.install();
    if (err === -E.EINVAL) throw new PaError('Illegal combination of I/O devices');
    if (err === -E.EBUSY) throw new PaError('Device unavailable');
    if (err < 0) throw new PaError('Unanticipated host error');
  } finally {
    yield* snd_pcm_close(p, pcm);
  }
}

/** The stream's own configuration (PaAlsaStreamComponent_InitialConfigure, DetermineFramesPerBuffer, FinishConfigure). */
function* configure(p: LibProcess, pcm: AlsaPcm, dev: PaDevice, o: PaOpenOptions, hostChannels: number, host: PcmFormat, latency: number): KGen<{ period: number; buffer: number }> {
  const hw = new HwParams(p, pcm);
  const fail = (text: string): never => {
    throw new PaError(text);
  };
  if ((yield* hw.any()) < 0) fail('Unanticipated host error');
  yield* hw.setPeriodsInteger();
  if ((yield* hw.setMin('periods', 2)) < 0) fail('Unanticipated host error');
  const mmap = hw.testMask('access', 'mmap_interleaved') === 0;
  if ((yield* hw.setMask('access', mmap ? 'mmap_interleaved' : 'rw_interleaved')) < 0) fail('Unanticipated host error');
  if ((yield* hw.setMask('format', host)) < 0) fail('Unanticipated host error');
  const r = yield* hw.setNear('rate', o.rate);
  if (r.err < 0) fail('Unanticipated host error');
  if (Math.abs(r.value - o.rate) * RATE_MAX_DEVIATE_RATIO > o.rate) fail('Invalid sample rate');
  if ((yield* hw.set('channels', hostChannels)) < 0) fail('Invalid number of channels');
  // DetermineFramesPerBuffer
  const fpb = o.framesPerBuffer;
  const bufferSize = fpb + Math.max(fpb, Math.floor(latency * o.rate));
  const periods = Math.min(hw.space.periods.max, Math.max(hw.space.periods.min, NUM_PERIODS));
  let period = Math.floor(bufferSize / periods);
  if (fpb > 0) {
    period = Math.ceil(period / fpb) * fpb;
    if ((yield* hw.test('period_size', period)) < 0) {
      const up = period < fpb ? period * 2 : period + fpb;
      const down = period < fpb ? period / 2 : period - fpb;
      if ((yield* hw.test('period_size', up)) === 0) period = up;
      else if ((yield* hw.test('period_size', down)) === 0) period = down;
    }
  }
  const ps = hw.space.period_size;
  if (period < ps.min) period = ps.max - ps.min === 2 ? ps.min + 1 : ps.min;
  else if (period > ps.max) period = ps.max - ps.min === 2 ? ps.max - 1 : ps.max;
  const pn = yield* hw.setNear('period_size', period);
  if (pn.err < 0) fail('Unanticipated host error');
  // FinishConfigure
  const bn = yield* hw.setNear('buffer_size', Math.floor(latency * o.rate) + pn.value);
  if (bn.err < 0) fail('Unanticipated host error');
  const err = yield* hw.install();
  if (err < 0) fail(err === -E.EBUSY ? 'Device unavailable' : 'Unanticipated host error');
  const granted = pcm.params!;
  if ((yield* snd_pcm_sw_params(p, pcm, { avail_min: pn.value, start_threshold: pn.value, stop_threshold: granted.buffer_size })) < 0) fail('Unanticipated host error');
  return { period: granted.period_size, buffer: granted.buffer_size };
}

/**
 * naudiodon's create(): Pa_Initialize, its setParams (device, channel
 * check, latency), Pa_IsFormatSupported, Pa_OpenStream. Throws PaError with
 * naudiodon's message.
 */
export function* naudiodonCreate(p: LibProcess, o: PaOpenOptions): KGen<PaStream> {
  const devices = yield* Pa_Initialize(p);
  const input = o.direction === 'capture';
  const dev = o.deviceId >= 0 && o.deviceId < devices.length ? devices[o.deviceId] : devices.find((d) => (input ? d.maxInputChannels : d.maxOutputChannels) > 0);
  if (!dev) throw new PaError('No default device');
  if (o.channels > (input ? dev.maxInputChannels : dev.maxOutputChannels)) throw new PaError('Channel count exceeds maximum number of channels for device');
  const latency = input ? dev.defaultLowInputLatency : dev.defaultLowOutputLatency;
  const hostChannels = Math.max(o.channels, input ? dev.minInputChannels : dev.minOutputChannels);
  try {
    yield* testParameters(p, dev, o, hostChannels);
  } catch (e) {
    if (e instanceof PaError) throw new PaError(`Format not supported: ${e.message}`);
    throw e;
  }
  let pcm: AlsaPcm | undefined;
  try {
    pcm = yield* alsaOpen(p, dev, o.direction);
    const probe = new HwParams(p, pcm);
    yield* probe.any();
    const host = selectFormat(availableFormats(probe), o.format);
    if (!host) throw new PaError('Sample format not supported');
    const c = yield* configure(p, pcm, dev, o, hostChannels, host, latency);
    return new PaStream(p, pcm, dev, o, c.period, c.buffer);
  } catch (e) {
    if (pcm) yield* snd_pcm_close(p, pcm);
    if (e instanceof PaError) throw new PaError(`Could not open stream: ${e.message}`);
    throw e;
  }
}

// ---------- the stream: callback thread and naudiodon's queue ----------

/** A chunk in naudiodon's queue, in frames (samples are not carried). */
interface Chunks {
  queue: number[];
  /** The chunk the callback is consuming (playback) and how much of it is left. */
  current: number;
  active: boolean;
}

export class PaStream {
  readonly wq = new WaitQueue('naudiodon ChunkQueue cv');
  readonly chunks: Chunks = { queue: [], current: 0, active: true };
  thread: Task | null = null;
  threadState: 'none' | 'starting' | 'running' | 'ended' = 'none';
  /** Why the callback thread ended (an error from the kernel), if it did on its own. */
  threadError?: string;
  private stopFlag = false;
  /** naudiodon's mErrStr: the last PortAudio status flags, handed to the next write or read. */
  status: string | null = null;
  xruns = 0;
  closed = false;
  /** ETIMEDOUT once: a write or read that never completed (the lane's rule). */
  stuck = false;

  constructor(
    readonly p: LibProcess,
    readonly pcm: AlsaPcm,
    readonly device: PaDevice,
    readonly o: PaOpenOptions,
    /** Frames per host buffer (the ALSA period). */
    readonly period: number,
    readonly bufferSize: number,
  ) {}

  get input(): boolean {
    return this.o.direction === 'capture';
  }

  /** Pa_StartStream: the callback thread runs AlsaStart and tells this thread when the PCM runs. */
  *start(): KGen<void> {
    if (this.threadState === 'running' || this.threadState === 'starting') throw new PaError('Could not start stream: Stream is not stopped');
    this.stopFlag = false;
    this.threadState = 'starting';
    this.thread = this.p.k.sched.spawn(`${this.p.name}:pa-cb`, 'user', this.callbackThread());
    yield* waitEvent(this.p.k, this.wq, () => this.threadState !== 'starting', 'S', Infinity, 'PaUnixThread_New: waiting for the callback thread', ['futex_wait']);
    if ((this.threadState as PaStream['threadState']) === 'ended') throw new PaError(`Could not start stream: ${this.threadError ?? 'Unanticipated host error'}`);
  }

  /** AlsaStart(): PREPARE, silence the whole buffer (playback), START. */
  private *alsaStart(): KGen<number> {
    let err = yield* snd_pcm_prepare(this.p, this.pcm);
    if (err < 0) return err;
    if (!this.input) {
      const avail = yield* snd_pcm_avail_update(this.p, this.pcm);
      if (avail < 0) return avail;
      if (avail > 0) {
        err = yield* snd_pcm_mmap_commit(this.p, this.pcm, avail);
        if (err < 0) return err;
      }
    }
    return yield* snd_pcm_start(this.p, this.pcm);
  }

  private *callbackThread(): KGen<void> {
    const k = this.p.k;
    let err = yield* this.alsaStart();
    if (err < 0) {
      this.end(`ALSA error ${err}`);
      return;
    }
    this.threadState = 'running';
    k.wakeUp(this.wq);
    const pollNs = Math.ceil((1000 * this.period) / this.o.rate) * 1e6;
    while (!this.stopFlag && !this.p.exited) {
      // PaAlsaStream_WaitForFrames: poll until a period is ready or the PCM is in trouble
      const rt = runtimeOf(this.pcm);
      if (!rt) break;
      const ready = () => this.stopFlag || this.p.exited || rt.state !== PcmState.RUNNING || this.availNow() >= this.period;
      yield* waitEvent(k, rt.sleep, ready, 'S', pollNs, 'PaAlsaStream_WaitForFrames: poll', ['do_sys_poll', 'snd_pcm_poll']);
      this.p.polled(this.pcm.fd);
      if (this.stopFlag || this.p.exited) break;
      const avail = yield* snd_pcm_avail_update(this.p, this.pcm);
      if (avail === -E.EPIPE || rt.state === PcmState.XRUN) {
        err = yield* this.handleXrun();
        if (err < 0) return this.end(`ALSA error ${err}`);
        continue;
      }
      if (avail < 0) return this.end(`ALSA error ${avail}`);
      if (avail < this.period) continue;
      // the buffer processor hands the period to naudiodon's callback
      const done = this.input ? yield* this.pushCapture() : yield* this.fillPlayback();
      if (this.stopFlag || this.p.exited) break;
      err = yield* snd_pcm_mmap_commit(this.p, this.pcm, this.period);
      if (err < 0) return this.end(`ALSA error ${err}`);
      if (done) break;
      yield k.current.spend(2000, 'PaUtil_EndBufferProcessing');
    }
    // OnExit → AlsaStop: PortAudio 19.6 always drops
    yield* snd_pcm_drop(this.p, this.pcm);
    this.end();
  }

  private end(error?: string): void {
    if (error) this.threadError = error;
    this.threadState = 'ended';
    this.thread = null;
    this.p.k.wakeUp(this.wq);
  }

  private availNow(): number {
    const rt = runtimeOf(this.pcm);
    if (!rt || !rt.boundary) return 0;
    const a = this.input ? rt.hw_ptr - rt.appl_ptr : rt.hw_ptr + rt.buffer_size - rt.appl_ptr;
    return a < 0 ? a + rt.boundary : a >= rt.boundary ? a - rt.boundary : a;
  }

  /** PaAlsaStream_HandleXrun(): STATUS_EXT, and a mapped stream in XRUN is restarted (DROP, then AlsaStart). */
  private *handleXrun(): KGen<number> {
    const st = yield* snd_pcm_status(this.p, this.pcm);
    if (st.ret < 0) return st.ret;
    if (st.state !== 'XRUN') return 0;
    this.xruns++;
    this.status = this.input ? 'portAudio status - input overflow ' : 'portAudio status - output underflow ';
    const d = yield* snd_pcm_drop(this.p, this.pcm);
    if (d < 0) return d;
    return yield* this.alsaStart();
  }

  /** fillPaBuffer(): take a period's frames from the queue, waiting for the application; finished once the queue quit empty. */
  private *fillPlayback(): KGen<boolean> {
    let need = this.period;
    const c = this.chunks;
    while (need > 0) {
      if (c.current === 0) {
        yield* waitEvent(this.p.k, this.wq, () => c.queue.length > 0 || !c.active || this.stopFlag || this.p.exited, 'S', Infinity, 'naudiodon ChunkQueue::dequeue', ['futex_wait']);
        if (this.stopFlag || this.p.exited) return true;
        if (!c.queue.length) {
          this.p.k.wakeUp(this.wq);
          return true;
        }
        c.current = c.queue.shift()!;
        this.p.k.wakeUp(this.wq);
      }
      const n = Math.min(need, c.current);
      c.current -= n;
      need -= n;
      if (c.current === 0) this.p.k.wakeUp(this.wq);
    }
    return false;
  }

  /** readPaBuffer(): a period's frames into the queue, waiting while it is full. */
  private *pushCapture(): KGen<boolean> {
    const c = this.chunks;
    yield* waitEvent(this.p.k, this.wq, () => c.queue.length < this.o.maxQueue || !c.active || this.stopFlag || this.p.exited, 'S', Infinity, 'naudiodon ChunkQueue::enqueue', ['futex_wait']);
    if (!c.active || this.stopFlag || this.p.exited) return true;
    c.queue.push(this.period);
    this.p.k.wakeUp(this.wq);
    return false;
  }

  /**
   * naudiodon write(): the chunk goes into the queue, waiting while it is full.
   * Resolves with the last PortAudio status, if any. `boundNs`: the lane's
   * rule for a queue that never moves (ETIMEDOUT).
   */
  *write(frames: number, boundNs: number): KGen<{ ret: number; status?: string }> {
    const c = this.chunks;
    const r = yield* waitEvent(this.p.k, this.wq, () => c.queue.length < this.o.maxQueue || !c.active, 'S', boundNs, 'naudiodon ChunkQueue::enqueue', ['futex_wait']);
    if (r === WakeReason.Signal) return { ret: -E.EINTR };
    if (r === WakeReason.Timeout) {
      this.stuck = true;
      return { ret: -E.ETIMEDOUT };
    }
    c.queue.push(frames);
    this.p.k.wakeUp(this.wq);
    return { ret: frames, ...this.takeStatus() };
  }

  /** naudiodon read(): waits for `frames` captured frames; with a pending status it answers that instead (the lane returns 0 frames). */
  *read(frames: number, boundNs: number): KGen<{ ret: number; status?: string }> {
    const c = this.chunks;
    const have = () => c.queue.reduce((a, b) => a + b, 0) + c.current;
    const r = yield* waitEvent(this.p.k, this.wq, () => have() >= frames || !c.active, 'S', boundNs, 'naudiodon ChunkQueue::dequeue', ['futex_wait']);
    if (r === WakeReason.Signal) return { ret: -E.EINTR };
    if (r === WakeReason.Timeout) {
      this.stuck = true;
      return { ret: -E.ETIMEDOUT };
    }
    let need = Math.min(frames, have());
    const got = need;
    while (need > 0) {
      if (c.current === 0) c.current = c.queue.shift() ?? 0;
      const n = Math.min(need, c.current);
      c.current -= n;
      need -= n;
    }
    this.p.k.wakeUp(this.wq);
    const st = this.takeStatus();
    return st.status ? { ret: 0, ...st } : { ret: got };
  }

  private takeStatus(): { status?: string } {
    const s = this.status;
    this.status = null;
    return s ? { status: s } : {};
  }

  /**
   * naudiodon quit(): the queues quit (the callback drains what is queued),
   * 20 ms for the callback to run, then Pa_AbortStream/Pa_StopStream end the
   * callback thread (its AlsaStop drops), Pa_CloseStream closes the PCM
   * (DROP, HW_FREE, close) and Pa_Terminate frees the device list.
   */
  *quit(): KGen<void> {
    if (this.closed) return;
    const k = this.p.k;
    this.chunks.active = false;
    k.wakeUp(this.wq);
    // Chunks::waitDone: the chunk the callback holds must be used up (a thread that has ended never will)
    if (!this.input && this.threadState === 'running') yield* waitEvent(k, this.wq, () => this.chunks.current === 0 || this.threadState !== 'running', 'S', Infinity, 'naudiodon Chunks::waitDone', ['futex_wait']);
    yield* scheduleTimeout(k, 20e6, 'S', 'PaContext::quit: sleep_for(20ms)', ['hrtimer_nanosleep']);
    this.stopFlag = true;
    const rt = runtimeOf(this.pcm);
    if (rt) k.wakeUp(rt.sleep);
    k.wakeUp(this.wq);
    if (this.threadState === 'running' || this.threadState === 'starting')
      yield* waitEvent(k, this.wq, () => this.threadState === 'ended' || this.threadState === 'none', 'S', Infinity, 'PaUnixThread_Terminate: pthread_join', ['futex_wait']);
    yield* snd_pcm_close(this.p, this.pcm);
    this.closed = true;
  }

  /** Process exit: the threads die with it, the file is closed. */
  *exit(): KGen<void> {
    this.stopFlag = true;
    this.chunks.active = false;
    this.p.k.wakeUp(this.wq);
    if (!this.closed) {
      this.closed = true;
      yield* this.p.close(this.pcm.fd);
    }
  }
}
