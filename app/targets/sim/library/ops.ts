// The application lane's ops (pa.*, midi.*) on the simulated kernel: what
// the lane's handle process does with naudiodon and midi
// (app/applane/child/handle-host.ts) and what its coordinator decides around
// each call (child/main.ts: stream ids and numbers, the latency probe, the
// stuck-stream bound), executed against the models of the libraries
// (./portaudio.ts, ./rtmidi.ts). Each handle is a process of its own, as in
// the lane; every op's event carries the ALSA calls that process made since
// the op before it (`data.calls`), the libraries' own threads included.
import { ERRNO } from '../../../vocabulary/errno.js';
import type { KGen } from '../../../sim/kernel/task.js';
import { scheduleTimeout, waitEvent } from '../../../sim/kernel/sync.js';
import type { PaFormat } from '../../../vocabulary/ops.js';
import type { Json, ProgramStep } from '../../../program/types.js';
import { libraryFrames } from '../../../program/resolve.js';
import { encodeCalls } from '../../../events/alsa-calls.js';
import type { MetricEvent } from '../../../events/types.js';
import type { Kernel } from '../../../sim/kernel/kernel.js';
import { LibProcess } from './process.js';
import { PaError, type PaStream, Pa_Initialize, naudiodonCreate } from './portaudio.js';
import { RtMidiPort } from './rtmidi.js';

const E = ERRNO;

type Args = Record<string, Json>;

/**
 * User-space time the model charges (virtual ns). Timing is each back-end's
 * own; these keep the model's pace in the range of a real machine so the
 * libraries' threads and the kernel interleave as they would: one op is a
 * round trip from the lane to the handle's process (Node IPC, about 0.1 ms).
 */
export const LANE_CALL_NS = 100e3;

export interface LibResult {
  ret: number;
  data?: Record<string, unknown>;
  /** Metrics the lane reports with this op (xruns, MIDI latency and jitter). */
  metrics?: Omit<MetricEvent, 't'>[];
}

/** PortAudio's error texts as the errno a C program would have seen (handle-host.ts, paErrno). */
export function paErrno(msg: string): keyof typeof E {
  if (/Invalid sample rate|Invalid number of channels|exceeds maximum number of channels|Sample format not supported|Invalid sampleFormat|Incompatible host API specific stream info/i.test(msg)) return 'EINVAL';
  if (/Device unavailable/i.test(msg)) return 'EBUSY';
  if (/Invalid device|No default device/i.test(msg)) return 'ENODEV';
  if (/Insufficient memory/i.test(msg)) return 'ENOMEM';
  return 'EIO';
}

const fail = (errno: keyof typeof E, error: string): LibResult => ({ ret: -E[errno]!, data: { error } });

/** Everything the lane keeps across ops: a process per handle, its stream or port, the MIDI numbering. */
export class LibraryState {
  private readonly procs = new Map<number, LibProcess>();
  private probeProc?: LibProcess;
  readonly streams = new Map<number, PaStream>();
  readonly ports = new Map<number, RtMidiPort>();
  /** MIDI: stream ids in order of first send, next numbers, send times (lane rule "MIDI numbering"). */
  private readonly sids = new Map<string, number>();
  private readonly nextNumber = new Map<string, number>();
  private readonly sendTimes = new Map<string, Map<number, number>>();
  private readonly xruns = new Map<string, number>();
  /** The latency probe: one burst in flight (the simulator carries no samples, so it is never found). */
  private probe: { at: number } | null = null;

  constructor(readonly k: Kernel) {}

  proc(handle: number, name: string): LibProcess {
    let p = this.procs.get(handle);
    if (!p) this.procs.set(handle, (p = new LibProcess(this.k, name)));
    return p;
  }

  probeProcess(): LibProcess {
    return (this.probeProc ??= new LibProcess(this.k, '#probe'));
  }

  sid(src: string): number {
    let s = this.sids.get(src);
    if (s === undefined) this.sids.set(src, (s = this.sids.size));
    return s;
  }

  /** Process exit: every stream and port goes with its process. */
  *exit(): KGen<void> {
    for (const p of this.procs.values()) p.exited = true;
    for (const s of this.streams.values()) yield* s.exit();
    for (const m of this.ports.values()) yield* m.exit();
    this.streams.clear();
    this.ports.clear();
  }

  /** Runs one library op on its handle's process and attaches the calls it made. */
  *run(op: string, step: ProgramStep, handleName: string | undefined, lane: string, a: Args): KGen<LibResult> {
    const p = op === 'pa.devices' || op === 'midi.ports' ? this.probeProcess() : this.proc(step.handle, handleName ?? `#${step.handle}`);
    yield* scheduleTimeout(this.k, LANE_CALL_NS, 'S', 'application lane: the call to the handle process', ['ep_poll']);
    let r: LibResult;
    try {
      r = op.startsWith('pa.') ? yield* this.pa(op, step.handle, handleName, lane, a, p) : yield* this.midi(op, step.handle, lane, a, p);
    } catch (e) {
      if (!(e instanceof PaError)) throw e;
      r = fail(paErrno(e.message), e.message);
    }
    const calls = encodeCalls(p.take());
    r.data = { ...(r.data ?? {}), calls };
    return r;
  }

  // ---------- PortAudio ----------

  private *pa(op: string, h: number, handle: string | undefined, lane: string, a: Args, p: LibProcess): KGen<LibResult> {
    if (op === 'pa.devices') {
      // getDevices() and getHostAPIs(): each a Pa_Initialize of its own
      const devices = yield* Pa_Initialize(p);
      yield* Pa_Initialize(p);
      const defOut = devices.findIndex((d) => d.maxOutputChannels > 0);
      const defIn = devices.findIndex((d) => d.maxInputChannels > 0);
      return {
        ret: devices.length,
        data: {
          devices: devices.map((d) => ({ index: d.index, name: d.name, hostApi: 'ALSA', maxInputChannels: d.maxInputChannels, maxOutputChannels: d.maxOutputChannels, defaultSampleRate: d.defaultSampleRate })),
          hostApis: [{ name: 'ALSA', devices: devices.length, defaultInput: defIn, defaultOutput: defOut }],
        },
      };
    }
    const s = this.streams.get(h);
    const open = s && !s.closed ? s : undefined;
    switch (op) {
      case 'pa.open': {
        if (open) {
          yield* open.quit();
          this.streams.delete(h);
        }
        const direction = a.direction as 'playback' | 'capture';
        const dev = yield* this.resolveDevice(p, a.device ?? null, direction);
        if ('error' in dev) return fail('ENODEV', dev.error);
        const stream = yield* naudiodonCreate(p, { direction, deviceId: dev.index, channels: a.channels as number, format: a.format as PaFormat, rate: a.rate as number, framesPerBuffer: a.frames_per_buffer as number, maxQueue: a.max_queue as number });
        this.streams.set(h, stream);
        return { ret: 0, data: { device: dev.index, name: dev.name, direction, format: a.format, channels: a.channels, rate: a.rate, frames_per_buffer: a.frames_per_buffer } };
      }
      case 'pa.start':
        if (!open) return fail('EBADF', 'the stream is not open');
        yield* open.start();
        return { ret: 0 };
      case 'pa.write':
      case 'pa.read': {
        if (!open) return fail('EBADF', 'the stream is not open');
        const write = op === 'pa.write';
        if (write !== !open.input) return fail('EBADFD', `${op} on a ${open.input ? 'capture' : 'playback'} stream`);
        if (open.stuck) return fail('ETIMEDOUT', `the stream is stuck (an earlier ${write ? 'write' : 'read'} never completed)`);
        const fpb = open.o.framesPerBuffer;
        const frames = libraryFrames(a, fpb);
        // the lane's rule for a queue that never moves (handle-host.ts, bounded)
        const bound = ((2 * (open.o.maxQueue + 1) * Math.max(frames, fpb || 1024)) / open.o.rate) * 1e9 + 0.5e9;
        const r = write ? yield* open.write(frames, bound) : yield* open.read(frames, bound);
        if (r.ret === -E.ETIMEDOUT) return fail('ETIMEDOUT', `the stream stopped taking frames: naudiodon's queue did not move for ${Math.round(bound / 1e6)} ms (its PortAudio callback thread has ended; the device may be gone)`);
        if (r.ret === -E.EINTR) return { ret: -E.EINTR };
        const data: Record<string, unknown> = { requested: frames };
        if (write) {
          data.pattern = a.pattern;
          if (a.pattern === 'impulse' && (!this.probe || this.k.now - this.probe.at > 5e9 /* the lane's PROBE_RETRY_NS */)) {
            data.probe = true;
            this.probe = { at: this.k.now };
          }
        }
        const metrics: Omit<MetricEvent, 't'>[] = [];
        if (r.status) {
          data.status = r.status;
          const key = handle ?? `#${h}`;
          const n = (this.xruns.get(key) ?? 0) + 1;
          this.xruns.set(key, n);
          metrics.push({ kind: 'metric', name: 'xruns', value: n, handle: key, lane });
        }
        return { ret: r.ret, data, ...(metrics.length ? { metrics } : {}) };
      }
      case 'pa.stop':
      case 'pa.abort':
      case 'pa.close':
        if (!open) return fail('EBADF', 'the stream is not open');
        yield* open.quit();
        return { ret: 0 };
    }
    return fail('EINVAL', `${op} is not a PortAudio op`);
  }

  /**
   * The lane's device lookup (rule "library devices"): null is the default
   * device; an index into PortAudio's list; "hw:CARD,DEV" through the card's
   * number; else a unique part of a device's name. Looking up asks PortAudio
   * for its list, which is a probe of its own.
   */
  private *resolveDevice(p: LibProcess, ref: Json, direction: 'playback' | 'capture'): KGen<{ index: number; name: string } | { error: string }> {
    if (ref === null || ref === undefined) return { index: -1, name: 'default' };
    const devices = yield* Pa_Initialize(p);
    const usable = (d: (typeof devices)[number]) => (direction === 'playback' ? d.maxOutputChannels : d.maxInputChannels) > 0;
    const names = devices.map((d) => `${d.index}: ${d.name}`).join('; ') || 'none';
    if (typeof ref === 'number') {
      const d = devices[ref];
      if (!d) return { error: `PortAudio has no device ${ref} (it lists ${devices.length}: ${names})` };
      if (!usable(d)) return { error: `PortAudio device ${ref} (${d.name}) has no ${direction} channels` };
      return { index: d.index, name: d.name };
    }
    const text = String(ref);
    const m = /^hw:([^,]+),(\d+)$/.exec(text);
    let key = text.toLowerCase();
    if (m) {
      const card = /^\d+$/.test(m[1]!) ? this.k.snd.cards[Number(m[1])] : this.k.snd.byRef(m[1]!);
      key = `(hw:${card ? card.number : m[1]},${m[2]})`.toLowerCase();
    }
    const exact = devices.filter((d) => d.name.toLowerCase() === key && usable(d));
    const part = exact.length ? exact : devices.filter((d) => d.name.toLowerCase().includes(key) && usable(d));
    if (part.length === 1) return { index: part[0]!.index, name: part[0]!.name };
    if (!part.length) return { error: `no PortAudio ${direction} device named "${text}"${m ? ` (looked for ${key})` : ''}; devices: ${names}` };
    return { error: `"${text}" names ${part.length} PortAudio devices (${part.map((d) => d.name).join('; ')}); give more of the name or the index` };
  }

  // ---------- RtMidi ----------

  private *midi(op: string, h: number, lane: string, a: Args, p: LibProcess): KGen<LibResult> {
    if (!this.k.snd.seq) return fail('ENODEV', 'there is no ALSA sequencer (/dev/snd/seq)');
    if (op === 'midi.ports') {
      const i = yield* RtMidiPort.create(p, 'input');
      const o = yield* RtMidiPort.create(p, 'output');
      const inputs: string[] = [];
      const outputs: string[] = [];
      const ni = yield* i.getPortCount();
      for (let k = 0; k < ni; k++) inputs.push(yield* i.getPortName(k));
      const no = yield* o.getPortCount();
      for (let k = 0; k < no; k++) outputs.push(yield* o.getPortName(k));
      // the binding's objects are collected at once (the lane runs with --expose-gc)
      yield* i.destroy();
      yield* o.destroy();
      return { ret: inputs.length + outputs.length, data: { inputs, outputs } };
    }
    const port = this.ports.get(h);
    switch (op) {
      case 'midi.open':
      case 'midi.open_virtual': {
        if (port) {
          this.ports.delete(h);
          yield* port.destroy();
        }
        const direction = a.direction as 'input' | 'output';
        const m = yield* RtMidiPort.create(p, direction);
        let name: string;
        if (op === 'midi.open') {
          const i = yield* this.portIndex(m, a.port ?? null);
          if (typeof i === 'string') {
            yield* m.destroy();
            return fail('ENODEV', i);
          }
          name = yield* m.getPortName(i);
          yield* m.openPort(i);
        } else {
          name = a.name as string;
          yield* m.openVirtualPort(name);
        }
        this.ports.set(h, m);
        return { ret: 0, data: { direction, port: name } };
      }
      case 'midi.send': {
        if (!port) return fail('EBADF', 'the port is not open');
        if (port.direction !== 'output') return fail('EBADFD', 'midi.send on an input port');
        const src = `${lane}/${this.handleName(h)}`;
        this.sid(src);
        const first = this.nextNumber.get(src) ?? 0;
        const count = a.count as number;
        const type = a.type as 'note' | 'controller' | 'sysex';
        let times = this.sendTimes.get(src);
        if (!times) this.sendTimes.set(src, (times = new Map()));
        let failed = 0;
        for (let k = 0; k < count; k++) {
          if (!(yield* port.sendMessage({ type, tag: src, n: first + k, size: a.size as number }))) failed++;
          times.set(first + k, this.k.now);
        }
        this.nextNumber.set(src, first + count);
        const data: Record<string, unknown> = { sent: count, type, src, first, dest: 'midi' };
        if (failed) {
          data.send_errors = failed;
          return { ret: -E.EAGAIN, data };
        }
        return { ret: count, data };
      }
      case 'midi.receive': {
        if (!port) return fail('EBADF', 'the port is not open');
        if (port.direction !== 'input') return fail('EBADFD', 'midi.receive on an output port');
        const want = a.count as number | null;
        const forNs = a.for as number;
        yield* waitEvent(this.k, port.wq, () => want !== null && port.inbox.length >= want, 'S', forNs, 'midi.receive: waiting for messages', ['futex_wait']);
        const got = port.inbox.splice(0, want ?? port.inbox.length);
        const events: [string, number][] = [];
        const lat: number[] = [];
        for (const g of got) {
          events.push([g.tag, g.n]);
          const sent = this.sendTimes.get(g.tag)?.get(g.n);
          if (sent !== undefined) {
            lat.push(g.t - sent);
            this.sendTimes.get(g.tag)!.delete(g.n);
          }
        }
        const data: Record<string, unknown> = { events, foreign: 0 };
        if (port.overruns) {
          data.overruns = port.overruns;
          port.overruns = 0;
        }
        const metrics: Omit<MetricEvent, 't'>[] = [];
        if (lat.length) {
          lat.sort((x, y) => x - y);
          const mean = lat.reduce((x, y) => x + y, 0) / lat.length;
          const sd = Math.sqrt(lat.reduce((x, y) => x + (y - mean) ** 2, 0) / lat.length);
          data.latency = { n: lat.length, p50: lat[lat.length >> 1], max: lat[lat.length - 1], jitter: Math.round(sd) };
          const key = this.handleName(h);
          metrics.push({ kind: 'metric', name: 'midi_latency', value: lat[lat.length >> 1]!, handle: key, lane }, { kind: 'metric', name: 'midi_jitter', value: Math.round(sd), handle: key, lane });
        }
        return { ret: events.length, data, ...(metrics.length ? { metrics } : {}) };
      }
      case 'midi.close':
        if (!port) return fail('EBADF', 'the port is not open');
        this.ports.delete(h);
        yield* port.destroy();
        return { ret: 0 };
    }
    return fail('EINVAL', `${op} is not a MIDI op`);
  }

  /** Handle names, for stream names and metrics (set by the run). */
  handleName: (h: number) => string = (h) => `#${h}`;

  /** The lane's port lookup (rule "MIDI ports"): null the first port, an index, or a unique part of a name. */
  private *portIndex(m: RtMidiPort, ref: Json): KGen<number | string> {
    const n = yield* m.getPortCount();
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(yield* m.getPortName(i));
    if (ref === null || ref === undefined) return n ? 0 : 'RtMidi lists no ports to connect to';
    if (typeof ref === 'number') return ref < n ? ref : `RtMidi has no port ${ref} (it lists ${n}: ${names.join('; ') || 'none'})`;
    const key = String(ref).toLowerCase();
    const hits = names.map((name, i) => ({ name, i })).filter((x) => x.name.toLowerCase().includes(key));
    if (hits.length === 1) return hits[0]!.i;
    if (!hits.length) return `no MIDI port named "${String(ref)}"; ports: ${names.join('; ') || 'none'}`;
    return `"${String(ref)}" names ${hits.length} MIDI ports (${hits.map((x) => x.name).join('; ')})`;
  }
}
