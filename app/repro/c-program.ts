// A resolved program as C: one function per lane, its loop unrolled into
// named calls of the runtime (native-bridge/repro/runtime.c), the way a
// kernel developer would write the reproducer by hand. Every argument comes
// from the program: fixed values as literals, lists as arrays indexed by the
// iteration, ranges as draws from the lane's generator in the program's order.
import type { Arg, Json, Program, ProgramLane, ProgramStep, SeqAddress } from '../program/types.js';
import { SEQ_EVENT_BYTES } from '../program/ops.js';
import { barrierMembers, programSteps } from '../program/resolve.js';
import { isLibraryOp } from '../vocabulary/ops.js';

export class ReproError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReproError';
  }
}

/** A C identifier from a name ("sender-b.0" → "sender_b_0"). */
export function cIdent(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export function cString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/** ns as C: "7 * MS", "200 * US", or plain. */
export function cNs(ns: number): string {
  if (ns !== 0 && ns % 1e6 === 0) return `${ns / 1e6} * MS`;
  if (ns !== 0 && ns % 1e3 === 0) return `${ns / 1e3} * US`;
  return `${ns}LL`;
}

function cNum(v: number): string {
  return Number.isInteger(v) ? String(v) : String(v);
}

/** Unique C names for a list of program names. */
function names(list: string[], prefix: string, upper: boolean): string[] {
  const used = new Set<string>();
  return list.map((n, i) => {
    let id = prefix + (upper ? cIdent(n).toUpperCase() : cIdent(n));
    if (used.has(id)) id = `${id}_${i}`;
    used.add(id);
    return id;
  });
}

interface LaneCtx {
  handles: string[];
  barriers: string[];
  program: Program;
  /** Setup and teardown run once: lists are their item 0, and nothing is indexed by the iteration. */
  once: boolean;
  /** Static data the lane function declares before its loop. */
  statics: string[];
  fn: string;
}

/**
 * How one argument reads in C. `conv` turns a JSON value into a C literal;
 * lists become a static array in the lane function; ranges a draw (or the
 * local it was hoisted into).
 */
function argExpr(c: LaneCtx, step: number, key: string, a: Arg | undefined, conv: (v: Json) => string, elem = 'int', drawn?: Map<string, string>): string {
  if (!a) throw new ReproError(`step ${step} of ${c.fn}: argument ${key} missing from the program`);
  if ('fixed' in a) return conv(a.fixed);
  if ('list' in a) {
    if (c.once) return conv(a.list[0]!);
    const arr = `${key}_${step}`;
    c.statics.push(`static const ${elem} ${arr}[] = { ${a.list.map(conv).join(', ')} };`);
    return `${arr}[iter % ${a.list.length}]`;
  }
  const hoisted = drawn?.get(key);
  if (hoisted) return hoisted;
  return a.int ? `draw(L, ${conv(a.range[0])}, ${conv(a.range[1])})` : `draw_float(L, ${a.range[0]}, ${a.range[1]})`;
}

const int = (v: Json) => String(Math.trunc(v as number));
const num = (v: Json) => cNum(v as number);
const bool = (yes: string, no: string) => (v: Json) => (v ? yes : no);
const ns = (v: Json) => cNs(v as number);

function card(v: Json): string {
  return typeof v === 'string' ? `CARD_ID(${cString(v)})` : `CARD_NUM(${int(v)})`;
}

function address(c: LaneCtx, a: SeqAddress): string {
  switch (a.kind) {
    case 'client':
      return `TO_CLIENT(${a.client}, ${a.port})`;
    case 'handle':
      return `TO_HANDLE(${c.handles[a.handle]}, ${a.port})`;
    case 'self':
      return `TO_SELF(${a.port})`;
    case 'subscribers':
      return 'TO_SUBSCRIBERS';
  }
}

const HW_FIELDS = ['access', 'format', 'channels', 'rate', 'period_size', 'periods', 'buffer_size'] as const;

function hwField(key: string, v: Json): string {
  if (key === 'access') return `ACCESS(${String(v).toUpperCase()})`;
  if (key === 'format') return `FORMAT(${String(v)})`;
  return int(v);
}

function sw(v: Json): string {
  if (v === 'period') return 'SW_PERIOD';
  if (v === 'buffer') return 'SW_BUFFER';
  if (v === 'boundary') return 'SW_BOUNDARY';
  return int(v);
}

/** Range arguments of a step, in the program's (draw) order. */
function ranges(s: ProgramStep): string[] {
  return Object.entries(s.args)
    .filter(([, a]) => 'range' in a)
    .map(([k]) => k);
}

/** The statements of one step: `STEP(n) call;`, or a block when it draws more than once or builds a request. */
function stepCode(c: LaneCtx, s: ProgramStep, i: number): string[] {
  const h = s.handle >= 0 ? c.handles[s.handle]! : '-1';
  const a = s.args;
  const pre: string[] = [];
  const drawn = new Map<string, string>();
  const rs = ranges(s);
  // Two draws in one call would be made in an order C leaves unspecified: hoist them, in program order.
  if (rs.length > 1 && s.op !== 'pcm.hw_params' && s.op !== 'pcm.hw_refine') {
    for (const k of rs) {
      const r = a[k] as { range: [number, number]; int: boolean };
      const v = `${cIdent(k)}`;
      pre.push(r.int ? `int64_t ${v} = draw(L, ${r.range[0]}, ${r.range[1]});` : `double ${v} = draw_float(L, ${r.range[0]}, ${r.range[1]});`);
      drawn.set(k, v);
    }
  }
  const x = (key: string, conv: (v: Json) => string, elem = 'int') => argExpr(c, i, key, a[key], conv, elem, drawn);
  let call: string;
  switch (s.op) {
    case 'pcm.open':
      call = `pcm_open(L, ${h}, ${x('card', card, 'struct card')}, ${x('device', int)}, ${x('subdevice', int)}, ${x('stream', (v) => (v === 'capture' ? 'CAPTURE' : 'PLAYBACK'))}, ${x('nonblock', bool('NONBLOCKING', 'BLOCKING'))})`;
      break;
    case 'pcm.hw_refine':
    case 'pcm.hw_params': {
      // The request's fixed part is a static struct; varying fields are set on a copy, in draw order.
      const fixed = HW_FIELDS.filter((k) => a[k] && 'fixed' in a[k]!).map((k) => `.${k} = ${hwField(k, (a[k] as { fixed: Json }).fixed)}`);
      const req = `${cIdent(c.fn)}_${s.op === 'pcm.hw_params' ? 'hw' : 'refine'}_${i}`;
      c.statics.push(`static const struct hw_req ${req} = { ${fixed.join(', ')} };`);
      const varying = HW_FIELDS.filter((k) => a[k] && !('fixed' in a[k]!));
      let reqRef = `&${req}`;
      if (varying.length) {
        pre.push(`struct hw_req r = ${req};`);
        for (const k of Object.keys(a).filter((k) => (varying as readonly string[]).includes(k))) pre.push(`r.${k} = ${argExpr(c, i, k, a[k], (v) => hwField(k, v), 'long')};`);
        reqRef = '&r';
      }
      if (s.op === 'pcm.hw_refine') call = `pcm_hw_refine(L, ${h}, ${reqRef})`;
      else call = `pcm_hw_params(L, ${h}, ${reqRef}, ${preference(c, (a.prefer as { fixed: Json } | undefined)?.fixed ?? {})})`;
      break;
    }
    case 'pcm.sw_params':
      call = `pcm_sw_params(L, ${h}, ${x('avail_min', sw, 'int64_t')}, ${x('start_threshold', sw, 'int64_t')}, ${x('stop_threshold', sw, 'int64_t')})`;
      break;
    case 'pcm.prepare':
    case 'pcm.start':
    case 'pcm.drop':
    case 'pcm.drain':
    case 'pcm.hw_free':
    case 'pcm.status':
    case 'pcm.readback':
    case 'pcm.close':
      call = `pcm_${s.op.slice(4)}(L, ${h})`;
      break;
    case 'pcm.pause':
      call = `pcm_pause(L, ${h}, ${x('on', bool('1', '0'))})`;
      break;
    case 'pcm.write':
    case 'pcm.read': {
      const w = s.op === 'pcm.write';
      const pattern = w ? `, ${x('pattern', (v) => String(v).toUpperCase())}` : '';
      // rule "xrun recovery": a program older than it has no `recover` (it ran without)
      const recover = `, ${a.recover ? x('recover', bool('1', '0')) : '-1'}`;
      if (a.frames) call = `pcm_${w ? 'write' : 'read'}_frames(L, ${h}, ${x('frames', int, 'long')}${pattern}${recover})`;
      else call = `pcm_${w ? 'write' : 'read'}_periods(L, ${h}, ${x('periods', num, 'double')}, ${x('fallback', int, 'long')}${pattern}${recover})`;
      break;
    }
    case 'seq.open':
      call = `seq_open(L, ${h}, ${x('name', (v) => cString(String(v)), 'char *')}, ${x('nonblock', bool('NONBLOCKING', 'BLOCKING'))})`;
      break;
    case 'seq.create_port':
      call = `seq_create_port(L, ${h}, ${x('name', (v) => cString(String(v)), 'char *')}, ${x('port', int)})`;
      break;
    case 'seq.subscribe':
      call = `seq_subscribe(L, ${h}, ${address(c, (a.sender as { fixed: SeqAddress }).fixed)}, ${address(c, (a.dest as { fixed: SeqAddress }).fixed)})`;
      break;
    case 'seq.set_client_pool':
      call = `seq_set_client_pool(L, ${h}, ${x('input_pool', int)}, ${x('output_pool', int)}, ${x('output_room', int)})`;
      break;
    case 'seq.get_client_pool':
    case 'seq.close':
      call = `seq_${s.op.slice(4)}(L, ${h})`;
      break;
    case 'seq.send':
      call = `seq_send(L, ${h}, ${address(c, (a.to as { fixed: SeqAddress }).fixed)}, ${x('count', int)}, ${x('type', (v) => String(v).toUpperCase())}, ${x('size', int)}, ${x('port', int)})`;
      break;
    case 'seq.read': {
      const bytes = (v: Json) => ((v as number) % SEQ_EVENT_BYTES === 0 ? `${(v as number) / SEQ_EVENT_BYTES} * SEQ_EV_SIZE` : int(v));
      call = `seq_read(L, ${h}, ${x('bytes', bytes, 'size_t')}, ${x('block', bool('WAIT', 'NOWAIT'))}, ${x('fault', bool('FAULT', 'NO_FAULT'))})`;
      break;
    }
    case 'ctl.write': {
      const v = a.value!;
      const values = 'fixed' in v ? [v.fixed] : 'list' in v ? v.list : [];
      const head = `L, ${x('card', card, 'struct card')}, ${x('name', (n) => cString(String(n)), 'char *')}, ${x('index', int)}`;
      if (values.every((y) => typeof y === 'string')) call = `ctl_write_enum(${head}, ${x('value', (n) => cString(String(n)), 'char *')})`;
      else if (values.every((y) => typeof y === 'boolean')) call = `ctl_write_int(${head}, ${x('value', bool('1', '0'), 'long')}, 1)`;
      else if (values.every((y) => typeof y === 'number')) call = `ctl_write_int(${head}, ${x('value', int, 'long')}, 0)`;
      else throw new ReproError(`${s.at}: ctl.write values mix types (${values.map((y) => typeof y).join(', ')}); write one type per step`);
      break;
    }
    case 'ctl.read':
      call = `ctl_read(L, ${x('card', card, 'struct card')}, ${x('name', (n) => cString(String(n)), 'char *')}, ${x('index', int)})`;
      break;
    case 'device.detach':
    case 'device.attach':
      call = `device_${s.op.slice(7)}(L, ${x('card', card, 'struct card')})`;
      break;
    case 'sleep':
      call = `sleep_for(L, ${x('for', ns, 'int64_t')})`;
      break;
    case 'jitter':
      call = `jitter(L, ${x('for', ns, 'int64_t')})`;
      break;
    case 'barrier':
      call = `barrier(L, ${c.barriers[c.program.barriers.findIndex((b) => b.name === (a.name as { fixed: Json }).fixed)]})`;
      break;
    case 'at_period':
      call = `at_period(L, ${h}, ${x('percent', num, 'double')})`;
      break;
    case 'pcm.sweep':
      throw new ReproError(`${s.at}: pcm.sweep is a conformance measurement judged by the lab's analysis, not a race a reproducer replays; run the preset with the lab (--target local or vm)`);
    default:
      throw new ReproError(`${s.at}: ${s.op} has no raw-ioctl form in a C reproducer`);
  }
  const label = s.label ? ` /* ${s.label.replace(/\*\//g, '* /')} */` : '';
  const step = `STEP(${i}) ${layout(c, s)}`;
  if (!pre.length) return [`${step}${call};${label}`];
  return [`${step}{${label}`, ...pre.map((p) => `\t${p}`), `\t${call};`, '}'];
}

/**
 * The buffer layout of a copying op (app/program/README.md, "Buffers") as the
 * runtime's statement prefix: HOLD(barrier, from) or UNMAPPED_FROM(n); none for
 * ordinary memory.
 */
function layout(c: LaneCtx, s: ProgramStep): string {
  const hold = s.args.hold;
  const edge = s.args.edge;
  if (!hold || !edge) return '';
  if (!('fixed' in hold) || !('fixed' in edge)) throw new ReproError(`${s.at}: hold and edge vary; a reproducer lays a step's buffer out one way`);
  const b = hold.fixed as number;
  const n = edge.fixed as number;
  if (b >= 0) return `HOLD(${c.barriers[b]}, ${n}) `;
  return n >= 0 ? `UNMAPPED_FROM(${n}) ` : '';
}

const LAB_DEFAULTS = { format: 'S16_LE', channels: 2, rate: 48000, period_size: 1024, periods: 4 };

/** The hw_params preferences as a pointer to a struct: the runtime's two common ones by name. */
function preference(c: LaneCtx, prefer: Json): string {
  const p = (prefer ?? {}) as Record<string, Json>;
  const keys = Object.keys(p);
  if (!keys.length) return '&no_preference';
  if (keys.length === 5 && keys.every((k) => p[k] === LAB_DEFAULTS[k as keyof typeof LAB_DEFAULTS])) return '&lab_preference';
  const name = `${cIdent(c.fn)}_prefer_${c.statics.length}`;
  c.statics.push(`static const struct hw_req ${name} = { ${keys.map((k) => `.${k} = ${hwField(k, p[k]!)}`).join(', ')} };`);
  return `&${name}`;
}

function laneFunction(p: Program, lane: ProgramLane, fn: string, handles: string[], barriers: string[]): string[] {
  const once = lane.role !== 'lane';
  const c: LaneCtx = { handles, barriers, program: p, once, statics: [], fn };
  const body = lane.steps.flatMap((s, i) => stepCode(c, s, i));
  const out: string[] = [];
  const what = lane.role === 'lane' ? `lane "${lane.name}": ${lane.iterations ? `${lane.iterations} iterations` : 'until the budget ends'}` : `${lane.role}: runs once${lane.role === 'setup' ? ', before the lanes start' : ', after they end'}`;
  out.push(`/* ${what} */`, `static void ${fn}(struct lane *L)`, '{');
  for (const st of c.statics) out.push(`\t${st}`);
  if (once) {
    out.push(`\tconst long iter = ${lane.role === 'setup' ? -1 : -2};`, '\t(void)L;', '\t(void)iter;', '\tdo {');
    for (const l of body) out.push(`\t\t${l.replace(/\n/g, '\n\t\t')}`);
    out.push('\t} while (0);');
  } else {
    out.push('\tfor (long iter = 0; lane_more(L, iter); iter++) {');
    for (const l of body) out.push(`\t\t${l}`);
    out.push('\t}');
  }
  out.push('}', '');
  return out;
}

/** The generated part of a reproducer: handle and barrier tables, the lanes, the program table. */
export function cProgram(p: Program): string {
  const lib = [...p.setup.steps, ...p.lanes.flatMap((l) => l.steps), ...p.teardown.steps].find((s) => isLibraryOp(s.op));
  if (lib) throw new ReproError(`${p.name} drives PortAudio/RtMidi (${lib.op}): a C reproducer issues raw ioctls; run this preset with the lab (--target local or vm)`);
  if (p.handles.length > 64) throw new ReproError(`${p.name} has ${p.handles.length} handles; a reproducer takes at most 64`);
  if (p.lanes.length > 64) throw new ReproError(`${p.name} has ${p.lanes.length} lanes; a reproducer takes at most 64`);
  const handles = names(p.handles.map((h) => h.name), 'H_', true);
  const barriers = names(p.barriers.map((b) => b.name), 'B_', true);
  const out: string[] = [`/* ---- the program: ${p.name}, seed ${p.seed} ---- */`, ''];
  if (handles.length) {
    out.push(`/* handles: one open file each, shared by every lane */`, `enum { ${handles.join(', ')} };`);
    out.push(`static const struct handle_def handles[] = {`, ...p.handles.map((h) => `\t{ ${cString(h.name)}, ${h.kind.toUpperCase()} },`), '};', '');
  } else out.push('static const struct handle_def handles[] = { { "none", 0 } };', '');
  if (barriers.length) {
    out.push(`/* barriers: how many lanes meet at each */`, `enum { ${barriers.join(', ')} };`);
    // members: the lanes that meet each (bit = lane index), for a held buffer's fault handler
    const members = barrierMembers(p);
    out.push(`static const struct barrier_def barrier_defs[] = {`, ...p.barriers.map((b, i) => `\t{ ${cString(b.name)}, ${b.parties}, 0x${members[i]!.reduce((m, l) => m | (1n << BigInt(l)), 0n).toString(16)}ull },`), '};', '');
  } else out.push('static const struct barrier_def barrier_defs[] = { { "none", 0, 0 } };', '');

  out.push(...laneFunction(p, p.setup, 'setup', handles, barriers));
  // Replicas run the same steps: one function, several lane entries.
  const fnOf = new Map<string, string>();
  const laneFns = names(p.lanes.map((l) => l.name.replace(/\.\d+$/, '')), 'lane_', false);
  const fns: string[] = [];
  p.lanes.forEach((l, i) => {
    const key = JSON.stringify(l.steps.map((s) => ({ op: s.op, handle: s.handle, args: s.args, label: s.label })));
    let fn = fnOf.get(key);
    if (!fn) {
      fn = fns.includes(laneFns[i]!) ? `${laneFns[i]}_${i}` : laneFns[i]!;
      fnOf.set(key, fn);
      fns.push(fn);
      out.push(...laneFunction(p, l, fn, handles, barriers));
    }
    fns[i] = fn;
  });
  out.push(...laneFunction(p, p.teardown, 'teardown', handles, barriers));

  const timeouts = (l: ProgramLane, name: string): string => {
    if (l.steps.every((s) => s.timeout === p.hangTimeout)) return 'NULL';
    out.push(`static const int64_t ${name}[] = { ${l.steps.map((s) => cNs(s.timeout)).join(', ')} };`);
    return name;
  };
  const setupT = timeouts(p.setup, 'setup_timeouts');
  const teardownT = timeouts(p.teardown, 'teardown_timeouts');
  const laneT = p.lanes.map((l, i) => timeouts(l, `${cIdent(l.name)}_timeouts_${i}`));
  out.push('static const struct lane_def lane_defs[] = {');
  p.lanes.forEach((l, i) => out.push(`\t{ ${cString(l.name)}, ${fns[i]}, ${l.iterations ?? 0}, ${l.rngStream}, ${laneT[i]} },`));
  if (!p.lanes.length) out.push('\t{ "none", NULL, 0, 0, NULL },');
  out.push('};', '');
  out.push(
    'static const struct program program = {',
    `\t.name = ${cString(p.name)},`,
    `\t.seed = ${p.seed >>> 0}u,`,
    `\t.duration = ${cNs(p.duration)},`,
    `\t.hang_timeout = ${cNs(p.hangTimeout)},`,
    `\t.nhandles = ${p.handles.length},`,
    `\t.nbarriers = ${p.barriers.length},`,
    `\t.nlanes = ${p.lanes.length},`,
    '\t.handles = handles,',
    '\t.barriers = barrier_defs,',
    '\t.lanes = lane_defs,',
    `\t.setup = { "setup", setup, 1, ${p.setup.rngStream}, ${setupT} },`,
    `\t.teardown = { "teardown", teardown, 1, ${p.teardown.rngStream}, ${teardownT} },`,
    `\t.holds = ${programSteps(p).some((s) => s.args.hold && 'fixed' in s.args.hold && (s.args.hold.fixed as number) >= 0) ? 1 : 0},`,
    '};',
    '',
  );
  return out.join('\n');
}
