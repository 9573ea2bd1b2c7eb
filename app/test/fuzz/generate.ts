// Presets generated from the grammar (not mutated from existing ones): every
// op of the vocabulary with arguments drawn across their ranges — edges
// included, lists and {random: [a, b]} — on handles the preset opens (and
// now and then one it does not), lanes with replicas and iteration counts,
// setup and teardown, expectations, simulator options and journal bounds.
// Seeded: a seed names one preset, so a failure can be rerun.
import { OPS, isLibraryOp } from '../../vocabulary/ops.js';

export class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const TIMES = ['0ns', '1ns', '500ns', '3us', '40us', '250us', '1ms', '2.5ms'];
const CARDS: (number | string)[] = [0, 1, 2, 'Dummy', 'SimSoC', 'SimUSB', 5, 31, 'Nope'];
const FORMATS = ['S16_LE', 'U8', 'S32_LE', 'FLOAT_LE', 'S24_3LE'];
const ERRNOS = ['EAGAIN', 'EBADFD', 'EPIPE', 'EBUSY', 'EINVAL', 'ENODEV', 'EINTR', 'ENOSPC', 'ENOMEM', 'ESTRPIPE'];

interface Ctx {
  pcm: string[];
  seq: string[];
}

/** An integer argument: an edge, a middle value, a list (cycled) or a random range. */
function varyingInt(r: Rand, lo: number, hi: number, rangeOk = true): unknown {
  const one = () => r.pick([lo, hi, r.int(lo, hi), r.int(lo, Math.min(hi, lo + 64))]);
  const k = r.int(0, 9);
  if (k < 6) return one();
  if (k < 8) return Array.from({ length: r.int(1, 4) }, one);
  if (!rangeOk) return one();
  const a = one();
  const b = one();
  return { random: [Math.min(a, b), Math.max(a, b)] };
}

function handleOf(r: Rand, list: string[], kind: string): string {
  // Now and then a handle nobody opened: the validator must say so.
  return list.length && !r.chance(0.03) ? r.pick(list) : `${kind}_${r.int(0, 3)}`;
}

function hwArgs(r: Rand, h: string): Record<string, unknown> {
  const a: Record<string, unknown> = { handle: h };
  if (r.chance(0.7)) a.format = r.chance(0.8) ? r.pick(FORMATS) : FORMATS.slice(0, r.int(1, 3));
  if (r.chance(0.7)) a.channels = varyingInt(r, 1, 256);
  if (r.chance(0.7)) a.rate = varyingInt(r, 1000, 768000);
  if (r.chance(0.6)) a.period_size = varyingInt(r, 1, 1 << 24);
  if (r.chance(0.5)) a.periods = varyingInt(r, 1, 1 << 16);
  if (r.chance(0.2)) a.buffer_size = varyingInt(r, 1, 1 << 24);
  if (r.chance(0.2)) a.access = r.pick(['rw_interleaved', 'rw_noninterleaved', 'mmap_interleaved']);
  return a;
}

function seqAddr(r: Rand, c: Ctx): string {
  return r.pick(['subscribers', 'self:0', '14:0', '0:1', `${r.int(0, 255)}:${r.int(0, 255)}`, ...(c.seq.length ? [`${r.pick(c.seq)}:0`, r.pick(c.seq)] : [])]);
}

/** One step of op `op`, arguments drawn for it. */
function step(r: Rand, op: string, c: Ctx, opening: boolean): Record<string, unknown> {
  const pcmH = () => handleOf(r, c.pcm, 'p');
  const seqH = () => handleOf(r, c.seq, 's');
  let a: Record<string, unknown> | string | number;
  switch (op) {
    case 'pcm.open': {
      const h = opening || !c.pcm.length ? `p${c.pcm.length}` : r.pick(c.pcm);
      if (!c.pcm.includes(h)) c.pcm.push(h);
      a = { handle: h, card: r.pick(CARDS), ...(r.chance(0.5) ? { device: r.int(0, 2) } : {}), ...(r.chance(0.5) ? { subdevice: r.int(-1, 9) } : {}), stream: r.pick(['playback', 'capture']), nonblock: r.chance(0.5) };
      break;
    }
    case 'seq.open': {
      const h = opening || !c.seq.length ? `s${c.seq.length}` : r.pick(c.seq);
      if (!c.seq.includes(h)) c.seq.push(h);
      a = { handle: h, nonblock: r.chance(0.3) };
      break;
    }
    case 'pcm.hw_refine':
    case 'pcm.hw_params':
      a = hwArgs(r, pcmH());
      break;
    case 'pcm.sw_params':
      a = { handle: pcmH(), ...(r.chance(0.5) ? { avail_min: varyingInt(r, 1, 1 << 24) } : {}), ...(r.chance(0.5) ? { start_threshold: r.chance(0.3) ? 'boundary' : r.int(0, 1 << 30) } : {}), ...(r.chance(0.3) ? { stop_threshold: r.chance(0.5) ? 'boundary' : r.int(0, 1 << 30) } : {}) };
      break;
    case 'pcm.write':
    case 'pcm.read':
      a = { handle: pcmH(), ...(r.chance(0.5) ? { frames: varyingInt(r, 1, 1 << 24) } : r.chance(0.5) ? { periods: r.pick([0.01, 0.5, 1, 4, 65536]) } : {}) };
      break;
    case 'pcm.pause':
      a = { handle: pcmH(), on: r.chance(0.5) };
      break;
    case 'at_period':
      a = { handle: pcmH(), percent: r.chance(0.5) ? r.pick([0, 50, 99.5, 100]) : { random: [r.int(0, 50), r.int(50, 100)] } };
      break;
    case 'seq.create_port':
      a = { handle: seqH(), ...(r.chance(0.5) ? { port: r.int(0, 253) } : {}) };
      break;
    case 'seq.subscribe':
      a = { handle: seqH(), sender: seqAddr(r, c), dest: seqAddr(r, c) };
      break;
    case 'seq.set_client_pool':
      a = { handle: seqH(), ...(r.chance(0.6) ? { input_pool: varyingInt(r, 1, 16384) } : {}), ...(r.chance(0.6) ? { output_pool: varyingInt(r, 1, 16384) } : {}), ...(r.chance(0.3) ? { output_room: varyingInt(r, 1, 16384) } : {}) };
      break;
    case 'seq.send':
      a = { handle: seqH(), to: seqAddr(r, c), ...(r.chance(0.6) ? { count: varyingInt(r, 1, 4096) } : {}), ...(r.chance(0.4) ? { type: r.pick(['note', 'controller', 'sysex']) } : {}), ...(r.chance(0.3) ? { size: r.int(1, 65536) } : {}) };
      break;
    case 'seq.read':
      a = { handle: seqH(), block: r.chance(0.3), ...(r.chance(0.5) ? { max: r.int(1, 4096) } : {}), ...(r.chance(0.2) ? { fault: r.chance(0.5) } : {}) };
      break;
    case 'ctl.write':
      a = { name: r.pick(['Master Playback Volume', 'Speaker Switch', 'Headphone Switch', 'PCM Playback Switch', 'No Such Control']), value: r.pick([0, 1, true, false, 100, -(2 ** 31), 2 ** 31 - 1, [0, 1]]), ...(r.chance(0.6) ? { card: r.pick(CARDS) } : {}) };
      break;
    case 'ctl.read':
      a = { name: r.pick(['Master Playback Volume', 'Speaker Switch', 'Headphone Switch', 'No Such Control']), ...(r.chance(0.6) ? { card: r.pick(CARDS) } : {}) };
      break;
    case 'pcm.sweep':
      // no handle: the sweep opens every stream itself; short configurations keep the fuzz runs bounded
      a = { ...(r.chance(0.7) ? { card: r.pick([...CARDS, 'all']) } : {}), ...(r.chance(0.3) ? { device: r.pick([0, 1, 'all']) } : {}), ...(r.chance(0.5) ? { stream: r.pick(['playback', 'capture', 'both']) } : {}), for: r.pick(['10ms', '20ms']), pairs: r.chance(0.1) };
      break;
    case 'device.detach':
    case 'device.attach':
      a = { card: r.pick(CARDS) };
      break;
    case 'sleep':
      a = { for: r.chance(0.8) ? r.pick(TIMES) : [r.pick(TIMES), r.pick(TIMES)] };
      break;
    case 'jitter':
      a = { max: r.pick(TIMES), ...(r.chance(0.5) ? { min: r.pick(TIMES.slice(0, 4)) } : {}) };
      break;
    case 'barrier':
      a = { name: r.pick(['go', 'set', 'constructor', '__proto__']), ...(r.chance(0.2) ? { parties: r.int(1, 3) } : {}) };
      break;
    default:
      // pcm.prepare/start/drop/drain/hw_free/status/readback/close, seq.get_client_pool, seq.close
      a = { handle: op.startsWith('seq.') ? seqH() : pcmH() };
  }
  if (typeof a === 'object' && !Array.isArray(a)) {
    if (r.chance(0.3)) a.expect = r.chance(0.3) ? 'any' : Array.from({ length: r.int(1, 3) }, () => r.pick(ERRNOS));
    if (r.chance(0.1)) a.timeout = r.pick(['1us', '1ms', '50ms', '2s']);
    if (r.chance(0.05)) a.label = `step ${r.int(0, 99)}`;
  }
  return { [op]: a };
}

// The raw-ioctl vocabulary the simulated kernel runs (library ops, pa.* and midi.*, run in the application lane).
const OP_NAMES = OPS.map((o) => o.name).filter((n) => !isLibraryOp(n));
const NOT_IN_SETUP = new Set(['barrier']);

export function generatePreset(seed: number): Record<string, unknown> {
  const r = new Rand(seed);
  const c: Ctx = { pcm: [], seq: [] };
  const setup: unknown[] = [];
  // Mostly presets that open what they use (the validator refuses the rest: the run is what is fuzzed).
  for (let i = r.chance(0.05) ? 0 : r.int(1, 3); i > 0; i--) setup.push(step(r, 'pcm.open', c, true));
  for (let i = r.chance(0.05) ? 0 : r.int(1, 2); i > 0; i--) setup.push(step(r, 'seq.open', c, true));
  for (let i = r.int(0, 4); i > 0; i--) {
    const op = r.pick(OP_NAMES.filter((o) => !NOT_IN_SETUP.has(o)));
    setup.push(step(r, op, c, false));
  }
  const lanes: unknown[] = [];
  const nLanes = r.int(1, 6);
  for (let i = 0; i < nLanes; i++) {
    const loop = Array.from({ length: r.int(1, 8) }, () => step(r, r.pick(OP_NAMES), c, false));
    lanes.push({ name: r.chance(0.1) ? r.pick(['constructor', '__proto__', `l${i}`]) : `l${i}`, loop, ...(r.chance(0.2) ? { replicas: r.int(1, 8) } : {}), ...(r.chance(0.2) ? { iterations: r.int(1, 1000) } : {}) });
  }
  const teardown = Array.from({ length: r.int(0, 3) }, () => step(r, r.pick(['pcm.close', 'seq.close', 'pcm.drop', 'device.attach', 'sleep']), c, false));
  const expect: Record<string, unknown> = {};
  if (r.chance(0.4)) expect.stop_on = r.pick(['first', 'critical', 'never']);
  if (r.chance(0.4)) expect.hang_timeout = r.pick(['1ms', '20ms', '500ms', '5s']);
  if (r.chance(0.3)) expect.errnos = Object.fromEntries(Array.from({ length: r.int(1, 3) }, () => [r.pick(OP_NAMES), [r.pick(ERRNOS)]]));
  if (r.chance(0.2)) expect.klog_ignore = [r.pick(['^BUG: KASAN', '(a|aa)+$', '^(.+)+Z$', 'WARNING: .*snd_pcm', '\\bnull\\b'])];
  if (r.chance(0.2)) expect.thresholds = { ...(r.chance(0.5) ? { xruns: r.int(0, 10) } : {}), ...(r.chance(0.5) ? { latency_p99: r.pick(TIMES) } : {}) };
  const sim: Record<string, unknown> = {};
  if (r.chance(0.3)) sim.strategy = r.pick(['pct', 'random']);
  if (r.chance(0.3)) sim.depth = r.int(1, 10);
  if (r.chance(0.15)) sim.quantum = r.pick(['1ns', '100ns', '1us', '50us']);
  return {
    name: `fuzz-${seed}`,
    duration: r.pick(['1ms', '2ms', '5ms', '10ms']),
    ...(r.chance(0.2) ? { iterations: r.int(1, 100) } : {}),
    ...(setup.length ? { setup } : {}),
    lanes,
    ...(teardown.length ? { teardown } : {}),
    ...(Object.keys(expect).length ? { expect } : {}),
    ...(Object.keys(sim).length ? { sim } : {}),
    ...(r.chance(0.15) ? { journal: { max_size: '1MB', sample_after: r.pick(['0B', '100kB', '500kB']) } } : {}),
  };
}

/** A kernel profile to run a generated preset on: fixed or any mix of bug switches. */
export function profileFor(seed: number): string {
  const r = new Rand(seed * 7919 + 1);
  const all = ['seq-fifo-stale-cell', 'dpcm-unlocked-be-list', 'pcm-unlocked-hw-params', 'detach-without-drain', 'pcm-no-sync-stop'];
  return r.chance(0.4) ? 'fixed' : all.filter(() => r.chance(0.4)).join(',') || 'fixed';
}
