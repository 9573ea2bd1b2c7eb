// One handle's process. The application lane gives every PortAudio stream and
// every RtMidi port a Node process of its own (forked by the lane's
// coordinator, child/main.ts), because:
// - Pa_OpenStream, Pa_StartStream and every RtMidi call run on the calling
//   thread and can block in the kernel; here they block only this process,
//   and the coordinator still answers the lab, times the call and reports the
//   blocked task's state and wait channel from /proc;
// - `midi` is a NAN addon that is not context-aware and delivers input on the
//   default libuv loop: it can only live on a process's main thread;
// - RtMidi throws C++ exceptions the binding does not catch and PortAudio's
//   callback thread can crash under a disconnect: such a crash ends this
//   process, which the lane reports as the handle's death, and the run goes on.
// Messages come over Node's IPC channel; each answer carries the call's own
// start time and duration (CLOCK_MONOTONIC, the coordinator's clock too).
import { tmpdir } from 'node:os';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { PaFormat } from '../../vocabulary/ops.js';
import { GlitchAnalyzer } from '../../analysis/audio/glitch.js';
import { BurstScanner } from '../../analysis/audio/correlate.js';
import { BURST_FRAMES, mlsBurst } from '../../analysis/audio/mls.js';
import { DEFAULT_SINE_PERIOD, SineGenerator } from '../../analysis/audio/sine.js';
import { loadMidi, loadPortAudio, registerSegfaultHandler, type MidiAddon, type MidiInput, type MidiOutput, type PaStreamAddon, type PortAudioAddon } from './addons.js';
import { PA_SAMPLE_FORMAT, decodeChannel0, encodeFrames } from './samples.js';
import { decodeMessage, encodeMessage, type MidiKind } from './midi-codec.js';

export interface HostRequest {
  id: number;
  op: string;
  args: Record<string, unknown>;
  /** pa.write with pattern impulse: this write carries the latency burst. */
  probe?: boolean;
  /** pa.read: a burst is in flight; look for it. */
  scan?: boolean;
  /** midi.send: the stream id that goes into each message. */
  sid?: number;
  /** Text written to stderr after the call, so the coordinator knows which library messages belong to it. */
  marker?: string;
}

export interface HostReply {
  id: number;
  ret: number;
  errno?: string;
  data?: Record<string, unknown>;
  /** Call start, CLOCK_MONOTONIC ns, and its duration. */
  t: number;
  dur: number;
  /** Glitches found in what this read returned: frame offsets from the read's start. */
  glitches?: { at: number; length: number; depth: number }[];
  /** The burst found in this read: its first frame's offset in the read, and the correlation. */
  burst?: { at: number; confidence: number };
  /** midi.send: when each message was handed to RtMidi (ns). */
  sendTimes?: number[];
  /** midi.receive: [sid, number (low 14 bits unless sysex), wrapped, arrival ns]. */
  received?: [number, number, boolean, number][];
  foreign?: number;
  /** naudiodon reported a PortAudio status (an underflow or overflow) with this call. */
  xrun?: boolean;
}

const now = () => Number(process.hrtime.bigint());

const ERRNO: Record<string, number> = { EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EBUSY: 16, ENODEV: 19, EINVAL: 22, ETIMEDOUT: 110, EBADFD: 77, EPIPE: 32 };

class OpError extends Error {
  constructor(
    readonly errno: keyof typeof ERRNO,
    message: string,
  ) {
    super(message);
  }
}

/** PortAudio's error texts (Pa_GetErrorText) as the errno a C program would have seen underneath. */
function paErrno(msg: string): keyof typeof ERRNO {
  if (/Invalid sample rate|Invalid number of channels|exceeds maximum number of channels|Sample format not supported|Invalid sampleFormat|Incompatible host API specific stream info/i.test(msg)) return 'EINVAL';
  if (/Device unavailable/i.test(msg)) return 'EBUSY';
  if (/Invalid device|No default device/i.test(msg)) return 'ENODEV';
  if (/Insufficient memory/i.test(msg)) return 'ENOMEM';
  return 'EIO';
}

// ---------- PortAudio ----------

interface PaState {
  stream: PaStreamAddon;
  direction: 'playback' | 'capture';
  format: PaFormat;
  channels: number;
  rate: number;
  framesPerBuffer: number;
  maxQueue: number;
  device: { index: number; name: string } | null;
  state: 'open' | 'running' | 'closed' | 'stuck';
  sine: SineGenerator;
  glitch?: GlitchAnalyzer;
  scanner: BurstScanner;
  framesIn: number;
  pendingQuit?: Promise<void>;
}

let pa: PortAudioAddon | undefined;
let paStream: PaState | undefined;

function portAudio(): PortAudioAddon {
  if (pa) return pa;
  const l = loadPortAudio();
  if (!l.addon) throw new OpError('ENOENT', l.status.why ?? 'naudiodon is not available');
  return (pa = l.addon);
}

/** "hw:Loopback,0" → "(hw:1,0)" through /proc/asound, as PortAudio names hardware devices. */
function alsaHwName(spec: string): string | undefined {
  const m = /^hw:([^,]+),(\d+)$/.exec(spec);
  if (!m) return undefined;
  let card = m[1]!;
  if (!/^\d+$/.test(card)) {
    const link = `/proc/asound/${card}`;
    if (!existsSync(link)) return `(hw:${card},${m[2]})`;
    try {
      card = readlinkSync(link).replace(/^card/, '');
    } catch {
      return undefined;
    }
  }
  return `(hw:${card},${m[2]})`;
}

function resolveDevice(ref: unknown, direction: 'playback' | 'capture'): { index: number; name: string } | null {
  if (ref === undefined) return null;
  const devices = portAudio().getDevices();
  const usable = (d: (typeof devices)[number]) => (direction === 'playback' ? d.maxOutputChannels : d.maxInputChannels) > 0;
  const names = devices.map((d) => `${d.id}: ${d.name}`).join('; ') || 'none';
  if (typeof ref === 'number') {
    const d = devices[ref];
    if (!d) throw new OpError('ENODEV', `PortAudio has no device ${ref} (it lists ${devices.length}: ${names})`);
    if (!usable(d)) throw new OpError('ENODEV', `PortAudio device ${ref} (${d.name}) has no ${direction} channels`);
    return { index: d.id, name: d.name };
  }
  const text = String(ref);
  const hw = alsaHwName(text);
  const key = (hw ?? text).toLowerCase();
  const exact = devices.filter((d) => d.name.toLowerCase() === key && usable(d));
  const part = exact.length ? exact : devices.filter((d) => d.name.toLowerCase().includes(key) && usable(d));
  if (part.length === 1) return { index: part[0]!.id, name: part[0]!.name };
  if (!part.length) throw new OpError('ENODEV', `no PortAudio ${direction} device named "${text}"${hw ? ` (looked for ${hw})` : ''}; devices: ${names}`);
  throw new OpError('ENODEV', `"${text}" names ${part.length} PortAudio devices (${part.map((d) => d.name).join('; ')}); give more of the name or the index`);
}

function need(): PaState {
  if (!paStream || paStream.state === 'closed') throw new OpError('EBADF', 'the stream is not open');
  return paStream;
}

/**
 * naudiodon's write resolves when its chunk queue takes the chunk; its
 * callback thread drains the queue. When that thread has ended (the device
 * vanished, the PCM failed) nothing drains it and the write never resolves:
 * a real application would hang. The lane waits as long as the queued audio
 * takes to play, twice, plus half a second, then reports ETIMEDOUT and the
 * stream as stuck (pa.close/abort releases it).
 */
async function bounded<T>(s: PaState, p: Promise<T>, frames: number): Promise<T> {
  const ms = ((2 * (s.maxQueue + 1) * Math.max(frames, s.framesPerBuffer || 1024)) / s.rate) * 1000 + 500;
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ms)))]);
  clearTimeout(timer);
  if (r === 'timeout') {
    s.state = 'stuck';
    throw new OpError('ETIMEDOUT', `the stream stopped taking frames: naudiodon's queue did not move for ${Math.round(ms)} ms (its PortAudio callback thread has ended; the device may be gone)`);
  }
  return r as T;
}

async function paOp(r: HostRequest): Promise<Omit<HostReply, 'id' | 't' | 'dur'> & { t?: number; dur?: number }> {
  const a = r.args;
  switch (r.op) {
    case 'pa.devices': {
      const addon = portAudio();
      const devices = addon.getDevices();
      const apis = addon.getHostAPIs();
      return {
        ret: devices.length,
        data: {
          devices: devices.map((d) => ({ index: d.id, name: d.name, hostApi: d.hostAPIName, maxInputChannels: d.maxInputChannels, maxOutputChannels: d.maxOutputChannels, defaultSampleRate: d.defaultSampleRate })),
          hostApis: apis.HostAPIs.map((h) => ({ name: h.name, devices: h.deviceCount, defaultInput: h.defaultInput > 1e9 ? -1 : h.defaultInput, defaultOutput: h.defaultOutput > 1e9 ? -1 : h.defaultOutput })),
        },
      };
    }
    case 'pa.open': {
      if (paStream && paStream.state !== 'closed') await closeStream(paStream, 'ABORT');
      const direction = (a.direction as 'playback' | 'capture' | undefined) ?? 'playback';
      const format = (a.format as PaFormat | undefined) ?? 'S16_LE';
      const channels = (a.channels as number | undefined) ?? 2;
      const rate = (a.rate as number | undefined) ?? 48000;
      const framesPerBuffer = (a.frames_per_buffer as number | undefined) ?? 0;
      const maxQueue = (a.max_queue as number | undefined) ?? 2;
      const device = resolveDevice(a.device, direction);
      const opts: Record<string, unknown> = { channelCount: channels, sampleFormat: PA_SAMPLE_FORMAT[format].naudiodon, sampleRate: rate, framesPerBuffer, maxQueue, closeOnError: true };
      if (device) opts.deviceId = device.index;
      const t = now();
      let stream: PaStreamAddon;
      try {
        stream = portAudio().create(direction === 'playback' ? { outOptions: opts } : { inOptions: opts });
      } catch (e) {
        const msg = (e as Error).message;
        throw Object.assign(new OpError(paErrno(msg), msg), { t, dur: now() - t });
      }
      const dur = now() - t;
      paStream = { stream, direction, format, channels, rate, framesPerBuffer, maxQueue, device, state: 'open', sine: new SineGenerator(), scanner: new BurstScanner(), framesIn: 0 };
      return { ret: 0, t, dur, data: { device: device?.index ?? -1, name: device?.name ?? 'default', direction, format, channels, rate, frames_per_buffer: framesPerBuffer } };
    }
    case 'pa.start': {
      const s = need();
      const t = now();
      try {
        s.stream.start();
      } catch (e) {
        const msg = (e as Error).message;
        throw Object.assign(new OpError(paErrno(msg), msg), { t, dur: now() - t });
      }
      s.state = 'running';
      return { ret: 0, t, dur: now() - t };
    }
    case 'pa.write': {
      const s = need();
      if (s.direction !== 'playback') throw new OpError('EBADFD', 'pa.write on a capture stream');
      if (s.state === 'stuck') throw new OpError('ETIMEDOUT', 'the stream is stuck (an earlier write never completed)');
      const frames = framesOf(s, a);
      const pattern = (a.pattern as string | undefined) ?? 'sine';
      let mono: Float32Array;
      if (pattern === 'sine') mono = s.sine.next(frames);
      else {
        mono = new Float32Array(frames);
        if (pattern === 'impulse' && r.probe) mono.set(mlsBurst().subarray(0, Math.min(BURST_FRAMES, frames)));
      }
      const buf = encodeFrames(mono, s.channels, s.format);
      const t = now();
      const err = await bounded(s, s.stream.write(buf), frames);
      const dur = now() - t;
      return { ret: frames, t, dur, data: { requested: frames, pattern, ...(r.probe ? { probe: true } : {}), ...(err ? { status: err } : {}) }, ...(err ? { xrun: true } : {}) };
    }
    case 'pa.read': {
      const s = need();
      if (s.direction !== 'capture') throw new OpError('EBADFD', 'pa.read on a playback stream');
      if (s.state === 'stuck') throw new OpError('ETIMEDOUT', 'the stream is stuck (an earlier read never completed)');
      const frames = framesOf(s, a);
      const bytes = frames * s.channels * PA_SAMPLE_FORMAT[s.format].bytes;
      const t = now();
      const res = await bounded(s, s.stream.read(bytes), frames);
      const dur = now() - t;
      if (res.err) return { ret: 0, t, dur, data: { requested: frames, status: res.err }, xrun: true };
      const got = res.buf ? decodeChannel0(res.buf, s.channels, s.format) : new Float32Array(0);
      const out: Omit<HostReply, 'id' | 't' | 'dur'> & { t: number; dur: number } = { ret: got.length, t, dur, data: { requested: frames, ...(res.finished ? { finished: true } : {}) } };
      if (a.glitch) {
        s.glitch ??= new GlitchAnalyzer({ period: DEFAULT_SINE_PERIOD });
        const base = s.glitch.frame;
        const found = s.glitch.push(got);
        out.glitches = found.map((g) => ({ at: g.frame - base, length: g.length, depth: Math.round(g.depth * 1000) / 1000 }));
        out.data!.glitch_state = s.glitch.state;
      }
      if (r.scan) {
        const before = s.scanner.frames;
        const m = s.scanner.push(got);
        if (m) out.burst = { at: m.offset - before, confidence: m.confidence };
      }
      s.framesIn += got.length;
      return out;
    }
    case 'pa.stop':
    case 'pa.abort':
    case 'pa.close': {
      const s = paStream;
      if (!s || s.state === 'closed') throw new OpError('EBADF', 'the stream is not open');
      const t = now();
      await closeStream(s, r.op === 'pa.stop' ? 'WAIT' : 'ABORT');
      return { ret: 0, t, dur: now() - t };
    }
  }
  throw new OpError('EINVAL', `${r.op} is not a PortAudio op`);
}

function framesOf(s: PaState, a: Record<string, unknown>): number {
  if (a.frames !== undefined) return a.frames as number;
  const per = s.framesPerBuffer || 1024;
  return Math.max(1, Math.round(((a.periods as number | undefined) ?? 1) * per));
}

/** naudiodon's quit(): drains or drops its queue, then Pa_StopStream/Pa_AbortStream, Pa_CloseStream, Pa_Terminate. */
async function closeStream(s: PaState, how: 'WAIT' | 'ABORT'): Promise<void> {
  s.pendingQuit ??= s.stream.quit(s.state === 'stuck' ? 'ABORT' : how);
  await s.pendingQuit;
  s.state = 'closed';
}

// ---------- RtMidi ----------

interface MidiState {
  port: MidiInput | MidiOutput;
  direction: 'input' | 'output';
  queue: { msg: number[]; t: number }[];
  waiter?: () => void;
}

let midi: MidiAddon | undefined;
/** The run is stopping: waits end now. */
let interrupted = false;
let midiPort: MidiState | undefined;

function midiAddon(): MidiAddon {
  if (midi) return midi;
  const l = loadMidi();
  if (!l.addon) throw new OpError('ENOENT', l.status.why ?? 'midi is not available');
  return (midi = l.addon);
}

/** RtMidi's ALSA back-end needs the sequencer device; without it the binding fails in ways that say nothing. */
function needSeq(): void {
  if (!existsSync('/dev/snd/seq')) throw new OpError('ENODEV', 'there is no ALSA sequencer (/dev/snd/seq): load snd-seq (the virtual lab\'s seq-dummy hardware does)');
}

function closeMidi(): void {
  if (!midiPort) return;
  const p = midiPort;
  midiPort = undefined;
  try {
    p.port.closePort();
  } catch {
    /* already closed */
  }
  if (p.direction === 'input') (p.port as MidiInput).removeAllListeners();
  // The binding closes its sequencer client only when the object is collected (RtMidi's destructor).
  (globalThis as { gc?: () => void }).gc?.();
}

function portIndex(api: MidiInput | MidiOutput, ref: unknown): number {
  const n = api.getPortCount();
  const names = Array.from({ length: n }, (_, i) => api.getPortName(i));
  if (ref === undefined) {
    if (!n) throw new OpError('ENODEV', 'RtMidi lists no ports to connect to');
    return 0;
  }
  if (typeof ref === 'number') {
    if (ref >= n) throw new OpError('ENODEV', `RtMidi has no port ${ref} (it lists ${n}: ${names.join('; ') || 'none'})`);
    return ref;
  }
  const key = String(ref).toLowerCase();
  const hits = names.map((name, i) => ({ name, i })).filter((x) => x.name.toLowerCase().includes(key));
  if (hits.length === 1) return hits[0]!.i;
  if (!hits.length) throw new OpError('ENODEV', `no MIDI port named "${String(ref)}"; ports: ${names.join('; ') || 'none'}`);
  throw new OpError('ENODEV', `"${String(ref)}" names ${hits.length} MIDI ports (${hits.map((h) => h.name).join('; ')})`);
}

async function midiOp(r: HostRequest): Promise<Omit<HostReply, 'id' | 't' | 'dur'> & { t?: number; dur?: number }> {
  const a = r.args;
  switch (r.op) {
    case 'midi.ports': {
      needSeq();
      const m = midiAddon();
      const i = new m.Input();
      const o = new m.Output();
      const inputs = Array.from({ length: i.getPortCount() }, (_, k) => i.getPortName(k));
      const outputs = Array.from({ length: o.getPortCount() }, (_, k) => o.getPortName(k));
      (globalThis as { gc?: () => void }).gc?.();
      return { ret: inputs.length + outputs.length, data: { inputs, outputs } };
    }
    case 'midi.open':
    case 'midi.open_virtual': {
      needSeq();
      closeMidi();
      const m = midiAddon();
      const direction = (a.direction as 'input' | 'output' | undefined) ?? 'output';
      const t = now();
      const port = direction === 'input' ? new m.Input() : new m.Output();
      const st: MidiState = { port, direction, queue: [] };
      if (direction === 'input') {
        const inp = port as MidiInput;
        inp.ignoreTypes(false, false, false);
        inp.on('message', (_delta, msg) => {
          st.queue.push({ msg, t: now() });
          st.waiter?.();
        });
      }
      let name: string;
      if (r.op === 'midi.open') {
        const i = portIndex(port, a.port);
        name = port.getPortName(i);
        port.openPort(i);
      } else {
        name = (a.name as string | undefined) ?? 'stresslab';
        port.openVirtualPort(name);
      }
      midiPort = st;
      return { ret: 0, t, dur: now() - t, data: { direction, port: name } };
    }
    case 'midi.send': {
      const st = midiPort;
      if (!st) throw new OpError('EBADF', 'the port is not open');
      if (st.direction !== 'output') throw new OpError('EBADFD', 'midi.send on an input port');
      const count = (a.count as number | undefined) ?? 1;
      const kind = (a.type as MidiKind | undefined) ?? 'note';
      const first = a.first as number;
      const times: number[] = [];
      const t = now();
      const out = st.port as MidiOutput;
      for (let k = 0; k < count; k++) {
        out.sendMessage(encodeMessage(kind, r.sid ?? 0, first + k, a.size as number | undefined));
        times.push(now());
      }
      return { ret: count, t, dur: now() - t, sendTimes: times, data: { sent: count, type: kind } };
    }
    case 'midi.receive': {
      const st = midiPort;
      if (!st) throw new OpError('EBADF', 'the port is not open');
      if (st.direction !== 'input') throw new OpError('EBADFD', 'midi.receive on an output port');
      const want = a.count as number | undefined;
      const forNs = (a.for as number | undefined) ?? 0;
      const t = now();
      const deadline = t + forNs;
      while (!interrupted && (want === undefined || st.queue.length < want) && now() < deadline && midiPort === st) {
        await new Promise<void>((res) => {
          const timer = setTimeout(res, Math.max(1, Math.min(50, (deadline - now()) / 1e6)));
          st.waiter = () => {
            clearTimeout(timer);
            res();
          };
        });
        st.waiter = undefined;
      }
      const got = st.queue.splice(0, want ?? st.queue.length);
      const received: [number, number, boolean, number][] = [];
      let foreign = 0;
      for (const g of got) {
        const d = decodeMessage(g.msg);
        if (d) received.push([d.sid, d.n, d.wrapped, g.t]);
        else foreign++;
      }
      return { ret: received.length, t, dur: now() - t, received, foreign };
    }
    case 'midi.close': {
      if (!midiPort) throw new OpError('EBADF', 'the port is not open');
      const t = now();
      closeMidi();
      return { ret: 0, t, dur: now() - t };
    }
  }
  throw new OpError('EINVAL', `${r.op} is not a MIDI op`);
}

// ---------- the loop ----------

async function handle(r: HostRequest): Promise<HostReply> {
  const t0 = now();
  let reply: HostReply;
  try {
    const res = r.op.startsWith('pa.') ? await paOp(r) : await midiOp(r);
    const t = res.t ?? t0;
    reply = { id: r.id, ...res, t, dur: res.dur ?? now() - t };
  } catch (e) {
    const err = e as OpError & { t?: number; dur?: number };
    const name = err instanceof OpError ? err.errno : 'EIO';
    const t = err.t ?? t0;
    reply = { id: r.id, ret: -ERRNO[name]!, errno: name, t, dur: err.dur ?? now() - t, data: { error: err.message } };
  }
  if (r.marker) process.stderr.write(`\n${r.marker}\n`);
  return reply;
}

function main(): void {
  if (!process.send) {
    process.stderr.write('handle-host: start me through the application lane (child/main.js); I talk over an IPC channel\n');
    process.exit(2);
  }
  registerSegfaultHandler(join(process.env.STRESSLAB_APPLANE_TMP ?? tmpdir(), `applane-crash-${process.pid}.log`));
  // One request at a time per handle (calls on one stream are not thread-safe
  // in PortAudio either); an interrupt may arrive while one is pending.
  let chain = Promise.resolve();
  process.on('message', (m: HostRequest | { type: 'interrupt' } | { type: 'exit' }) => {
    if ('type' in m) {
      if (m.type === 'exit') {
        closeMidi();
        const s = paStream;
        if (s && s.state !== 'closed') void closeStream(s, 'ABORT').finally(() => process.exit(0));
        else process.exit(0);
        return;
      }
      // the run is stopping: a write or read waiting on naudiodon's queue is released by quitting the stream
      const s = paStream;
      if (s && s.state !== 'closed') void closeStream(s, 'ABORT');
      interrupted = true;
      if (midiPort?.waiter) midiPort.waiter();
      return;
    }
    chain = chain.then(async () => {
      const reply = await handle(m);
      process.send!(reply);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: process.pid });
}

main();
