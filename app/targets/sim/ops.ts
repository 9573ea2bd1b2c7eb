// How each vocabulary op runs on the simulated kernel: the same system calls
// the agent makes on a real one (open, ioctl, read, write, close), decoded.
import { ERRNO } from '../../vocabulary/errno.js';
import type { HwParams } from '../../events/op-data.js';
import type { Kernel } from '../../sim/kernel/kernel.js';
import { type KGen, WakeReason } from '../../sim/kernel/task.js';
import { scheduleTimeout } from '../../sim/kernel/sync.js';
import { type Req, fget, fput, sysClose, sysIoctl, sysRead, sysWrite } from '../../sim/core/file.js';
import { snd_ctl_open } from '../../sim/core/control.js';
import { snd_pcm_open, snd_pcm_proc_hw_params_read } from '../../sim/pcm/pcm_file.js';
import { PcmState, Stream, pcmRunning } from '../../sim/pcm/pcm_types.js';
import { SUBSCRIBERS, snd_seq_open } from '../../sim/seq/seq_clientmgr.js';
import type { SeqEvent } from '../../sim/seq/seq_memory.js';
import { simUsbAttach, simUsbDisconnect, simUsbPlugged } from '../../sim/drivers/simusb.js';
import type { Handle, PcmHandle, SeqHandle } from './handles.js';

const E = ERRNO;

export interface OpResult {
  ret: number;
  data?: Record<string, unknown>;
}

/** What an op implementation can reach: the kernel and the run's lab-side state. */
export interface OpContext {
  k: Kernel;
  lane: string;
  handles: Map<string, Handle>;
  /** Next event number per sending stream. */
  seqNumbers: Map<string, number>;
  barrier(name: string): KGen<OpResult>;
  rngInt(min: number, max: number): number;
}

type Impl = (c: OpContext, a: Record<string, unknown>) => KGen<OpResult>;

function pcm(c: OpContext, a: Record<string, unknown>): PcmHandle | undefined {
  const h = c.handles.get(a.handle as string);
  return h?.kind === 'pcm' ? h : undefined;
}

function seq(c: OpContext, a: Record<string, unknown>): SeqHandle | undefined {
  const h = c.handles.get(a.handle as string);
  return h?.kind === 'seq' ? h : undefined;
}

const EBADF: OpResult = { ret: -E.EBADF };

function* pcmIoctl(c: OpContext, a: Record<string, unknown>, cmd: string, arg?: unknown): KGen<OpResult & { h?: PcmHandle; out?: Record<string, unknown> }> {
  const h = pcm(c, a);
  if (!h) return EBADF;
  const r: Req = { cmd, arg, out: {} };
  // sysIoctl(), inlined: this is the path every PCM op takes.
  fget(h.file);
  const ret = yield* h.file.fop.ioctl(c.k, h.file, r);
  yield* fput(c.k, h.file);
  return { ret, h, out: r.out! };
}

function framesOf(h: PcmHandle, a: Record<string, unknown>): number | undefined {
  if (a.frames !== undefined) return a.frames as number;
  const periods = (a.periods as number | undefined) ?? 1;
  return h.params ? Math.max(1, Math.round(periods * h.params.period_size)) : undefined;
}

function* xfer(c: OpContext, a: Record<string, unknown>, cmd: 'writei' | 'readi'): KGen<OpResult> {
  const h = pcm(c, a);
  if (!h) return EBADF;
  const frames = framesOf(h, a);
  if (frames === undefined) return { ret: -E.EINVAL, data: { requested: 0, why: 'periods given but this handle has no hw_params yet' } };
  fget(h.file);
  const ret = yield* h.file.fop.ioctl(c.k, h.file, { cmd, arg: frames });
  yield* fput(c.k, h.file);
  return { ret, data: { requested: frames } };
}

function cardOf(c: OpContext, ref: unknown) {
  return c.k.snd.byRef((ref ?? 0) as number | string);
}

function parseAddr(c: OpContext, text: string, self: SeqHandle): { client: number; port: number } | undefined {
  if (text === 'subscribers') return { client: SUBSCRIBERS, port: 0 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  const port = m[2] ? Number(m[2]) : 0;
  if (/^\d+$/.test(m[1]!)) return { client: Number(m[1]), port };
  if (m[1] === 'self') return { client: self.client, port };
  const h = c.handles.get(m[1]!);
  return h?.kind === 'seq' ? { client: h.client, port } : undefined;
}

export const OP_IMPLS: Record<string, Impl> = {
  *'pcm.open'(c, a) {
    const card = cardOf(c, a.card);
    const device = (a.device as number | undefined) ?? 0;
    const stream = (a.stream as 'playback' | 'capture' | undefined) ?? 'playback';
    const p = card?.pcms.find((x) => x.device === device);
    if (!card || !p) return { ret: -E.ENOENT };
    const sub = (a.subdevice as number | undefined) ?? -1;
    const path = `/dev/snd/pcmC${card.number}D${device}${stream === 'playback' ? 'p' : 'c'}`;
    const r = yield* snd_pcm_open(c.k, p, stream === 'playback' ? Stream.PLAYBACK : Stream.CAPTURE, sub, Boolean(a.nonblock), path);
    if (!r.file) return { ret: r.err };
    const s = (r.file.priv as { substream: import('../../sim/pcm/pcm_types.js').SndPcmSubstream }).substream;
    c.handles.set(a.handle as string, { kind: 'pcm', file: r.file, substream: s, card: card.number, device, stream, params: null, xrunsSeen: 0 });
    return { ret: 0, data: { card: card.number, device, subdevice: s.number, stream } };
  },
  *'pcm.hw_refine'(c, a) {
    const r = yield* pcmIoctl(c, a, 'hw_refine', hwReq(a));
    return { ret: r.ret, ...(r.ret === 0 ? { data: r.out!.ranges as Record<string, unknown> } : {}) };
  },
  *'pcm.hw_params'(c, a) {
    const r = yield* pcmIoctl(c, a, 'hw_params', hwReq(a));
    if (r.ret === 0 && r.h) r.h.params = r.out!.params as HwParams;
    return { ret: r.ret, ...(r.ret === 0 ? { data: { params: r.out!.params } } : {}) };
  },
  *'pcm.sw_params'(c, a) {
    const r = yield* pcmIoctl(c, a, 'sw_params', { avail_min: a.avail_min, start_threshold: a.start_threshold, stop_threshold: a.stop_threshold });
    return { ret: r.ret, ...(r.ret === 0 ? { data: r.out } : {}) };
  },
  *'pcm.prepare'(c, a) {
    return yield* pcmIoctl(c, a, 'prepare');
  },
  *'pcm.start'(c, a) {
    return yield* pcmIoctl(c, a, 'start');
  },
  *'pcm.drop'(c, a) {
    return yield* pcmIoctl(c, a, 'drop');
  },
  *'pcm.drain'(c, a) {
    return yield* pcmIoctl(c, a, 'drain');
  },
  *'pcm.pause'(c, a) {
    return yield* pcmIoctl(c, a, 'pause', (a.on as boolean | undefined) ?? true);
  },
  *'pcm.hw_free'(c, a) {
    return yield* pcmIoctl(c, a, 'hw_free');
  },
  *'pcm.status'(c, a) {
    const r = yield* pcmIoctl(c, a, 'status');
    return { ret: r.ret, ...(r.ret === 0 ? { data: r.out } : {}) };
  },
  'pcm.write': (c, a) => xfer(c, a, 'writei'),
  'pcm.read': (c, a) => xfer(c, a, 'readi'),
  *'pcm.readback'(c, a) {
    const h = pcm(c, a);
    if (!h) return EBADF;
    const params = yield* snd_pcm_proc_hw_params_read(c.k, h.substream);
    return { ret: 0, data: { params } };
  },
  *'pcm.close'(c, a) {
    const h = pcm(c, a);
    if (!h) return EBADF;
    c.handles.delete(a.handle as string);
    return { ret: yield* sysClose(c.k, h.file) };
  },

  *'seq.open'(c, a) {
    const r = yield* snd_seq_open(c.k, c.k.snd.seq!, (a.name as string | undefined) ?? `stresslab-${a.handle as string}`, Boolean(a.nonblock));
    if (!r.file) return { ret: r.err };
    c.handles.set(a.handle as string, { kind: 'seq', file: r.file, client: r.client!.number });
    return { ret: 0, data: { client: r.client!.number } };
  },
  *'seq.create_port'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    const r: Req = { cmd: 'create_port', arg: { name: (a.name as string | undefined) ?? `port-${a.port ?? 0}`, port: a.port }, out: {} };
    const ret = yield* sysIoctl(c.k, h.file, r);
    return { ret, ...(ret === 0 ? { data: { port: r.out!.port } } : {}) };
  },
  *'seq.subscribe'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    const sender = parseAddr(c, a.sender as string, h);
    const dest = parseAddr(c, a.dest as string, h);
    if (!sender || !dest) return { ret: -E.EINVAL };
    return { ret: yield* sysIoctl(c.k, h.file, { cmd: 'subscribe', arg: { sender, dest } }) };
  },
  *'seq.set_client_pool'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    const arg = { input_pool: a.input_pool, output_pool: a.output_pool, output_room: a.output_room };
    const r: Req = { cmd: 'set_client_pool', arg, out: {} };
    const ret = yield* sysIoctl(c.k, h.file, r);
    return { ret, data: Object.fromEntries(Object.entries(arg).filter(([, v]) => v !== undefined)) };
  },
  *'seq.get_client_pool'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    const r: Req = { cmd: 'get_client_pool', out: {} };
    const ret = yield* sysIoctl(c.k, h.file, r);
    return { ret, ...(ret === 0 ? { data: r.out } : {}) };
  },
  *'seq.send'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    const dest = parseAddr(c, a.to as string, h);
    if (!dest) return { ret: -E.EINVAL };
    const src = `${c.lane}/${a.handle as string}`;
    const first = c.seqNumbers.get(src) ?? 0;
    const count = (a.count as number | undefined) ?? 1;
    const type = (a.type as SeqEvent['type'] | undefined) ?? 'note';
    const port = (a.port as number | undefined) ?? 0;
    const events: SeqEvent[] = [];
    for (let i = 0; i < count; i++)
      events.push({ type, source: { client: h.client, port }, dest: { ...dest }, tag: src, n: first + i, extLen: type === 'sysex' ? ((a.size as number | undefined) ?? 64) : 0 });
    const ret = yield* sysWrite(c.k, h.file, { cmd: 'write', arg: { events } });
    const sent = ret >= 0 ? ret : 0;
    const refused = sent < count && (ret < 0 || sent < count) ? first + sent : undefined;
    c.seqNumbers.set(src, first + sent + (ret < 0 ? 1 : 0));
    return { ret, data: { src, first, sent, ...(ret < 0 && refused !== undefined ? { refused } : {}), dest: `${dest.client}:${dest.port}` } };
  },
  *'seq.read'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    const r: Req = { cmd: 'read', arg: { max: (a.max as number | undefined) ?? 1, fault: Boolean(a.fault), nonblock: a.block === false }, out: {} };
    const ret = yield* sysRead(c.k, h.file, r);
    return { ret, data: { events: (r.out!.events as [string, number][]) ?? [], foreign: (r.out!.foreign as number) ?? 0 } };
  },
  *'seq.close'(c, a) {
    const h = seq(c, a);
    if (!h) return EBADF;
    c.handles.delete(a.handle as string);
    return { ret: yield* sysClose(c.k, h.file) };
  },

  *'ctl.write'(c, a) {
    const card = cardOf(c, a.card);
    if (!card) return { ret: -E.ENOENT };
    const o = yield* snd_ctl_open(c.k, card, `/dev/snd/controlC${card.number}`);
    if (!o.file) return { ret: o.err };
    const r: Req = { cmd: 'elem_write', arg: { name: a.name, index: (a.index as number | undefined) ?? 0, value: a.value }, out: {} };
    const ret = yield* sysIoctl(c.k, o.file, r);
    yield* sysClose(c.k, o.file);
    return { ret, ...(ret === 0 ? { data: { value: a.value as number, changed: Boolean(r.out!.changed) } } : {}) };
  },
  *'ctl.read'(c, a) {
    const card = cardOf(c, a.card);
    if (!card) return { ret: -E.ENOENT };
    const o = yield* snd_ctl_open(c.k, card, `/dev/snd/controlC${card.number}`);
    if (!o.file) return { ret: o.err };
    const r: Req = { cmd: 'elem_read', arg: { name: a.name, index: (a.index as number | undefined) ?? 0 }, out: {} };
    const ret = yield* sysIoctl(c.k, o.file, r);
    yield* sysClose(c.k, o.file);
    return { ret, ...(ret === 0 ? { data: { value: r.out!.value } } : {}) };
  },

  *'device.detach'(c, a) {
    const card = cardOf(c, a.card);
    if (!card) return { ret: -E.ENODEV };
    if (!card.hotplug) return { ret: -E.EOPNOTSUPP, data: { card: card.number, why: `card ${card.id} cannot be unplugged (only hot-pluggable cards can)` } };
    const ret = yield* simUsbDisconnect(c.k, card);
    return { ret, data: { card: card.number } };
  },
  *'device.attach'(c, a) {
    // The machine has one hot-pluggable device: attach plugs it back in. A card
    // that is there already (the one named, or the device while plugged) is busy.
    const existing = cardOf(c, a.card);
    if (existing && !existing.shutdown) return { ret: -E.EBUSY, data: { card: existing.number, why: `card ${existing.id} is present` } };
    const plugged = simUsbPlugged(c.k);
    if (plugged) return { ret: -E.EBUSY, data: { card: plugged.number, why: `the USB device is plugged in as card ${plugged.number}` } };
    yield 'hub_event: new device';
    const card = simUsbAttach(c.k);
    if (typeof card === 'number') return { ret: card, data: { why: 'no free sound card slot: the cards of earlier plug-ins are still held open' } };
    return { ret: 0, data: { card: card.number } };
  },

  *sleep(c, a) {
    const r = yield* scheduleTimeout(c.k, a.for as number, 'S', 'clock_nanosleep', ['hrtimer_nanosleep', 'common_nsleep']);
    return { ret: r === WakeReason.Signal ? -E.EINTR : 0 };
  },
  *jitter(c, a) {
    const min = (a.min as number | undefined) ?? 0;
    const max = a.max as number;
    const ns = max > min ? c.rngInt(min, max) : min;
    const r = yield* scheduleTimeout(c.k, ns, 'S', 'clock_nanosleep', ['hrtimer_nanosleep', 'common_nsleep']);
    return { ret: r === WakeReason.Signal ? -E.EINTR : 0, data: { slept: ns } };
  },
  barrier(c, a) {
    return c.barrier(a.name as string);
  },
  *at_period(c, a) {
    const h = pcm(c, a);
    if (!h) return EBADF;
    const s = h.substream;
    const rt = s.runtime;
    const target = a.percent as number;
    if (!rt || !pcmRunning(s, rt) || rt.state === PcmState.DISCONNECTED) return { ret: -E.EBADFD, data: { target, actual: -1 } };
    const pos = s.ops.pointer(c.k, s);
    const inPeriod = pos % rt.period_size;
    const want = Math.floor((target / 100) * rt.period_size);
    const frames = want > inPeriod ? want - inPeriod : rt.period_size - inPeriod + want;
    const ns = Math.round((frames * 1e9) / rt.rate);
    const r = yield* scheduleTimeout(c.k, ns, 'S', 'at_period: polling SYNC_PTR', ['snd_pcm_sync_ptr']);
    if (r === WakeReason.Signal) return { ret: -E.EINTR, data: { target, actual: -1 } };
    const now = s.runtime && pcmRunning(s, s.runtime) ? s.ops.pointer(c.k, s) : pos;
    return { ret: 0, data: { target, actual: Math.round((((now % rt.period_size) / rt.period_size) * 100) * 10) / 10 } };
  },
};

function hwReq(a: Record<string, unknown>) {
  return { access: a.access ?? 'rw_interleaved', format: a.format, channels: a.channels, rate: a.rate, period_size: a.period_size, periods: a.periods, buffer_size: a.buffer_size };
}
