// Turns the agent's binary event records into the one event stream every
// target produces (app/events/types.ts), with op data shaped exactly as
// app/events/op-data.ts documents.
import type { ActionEvent, ConformanceEvent, LaneEvent, MetricEvent, MetricName, NoteEvent, RecoverEvent } from '../../events/types.js';
import type { HwParams, PcmStateName } from '../../events/op-data.js';
import { errnoName } from '../../vocabulary/errno.js';
import type { Json } from '../../program/types.js';
import { HW_PREFER_ORDER } from '../../program/ops.js';
import { type RequestFacts, requestOf } from '../../program/resolve.js';
import { ACCESS_BY_CODE, FORMAT_BY_INDEX, type LaneInfo, type ProgramLayout, type StepInfo, resolvedArg } from './program.js';
import { ACT_FIXED, D, JSON_FIXED, L, LANE_SETUP, LANE_STATES, LANE_TEARDOWN, METRICS, REC, Reader, SWV, type Value, numOf, scalarOf, strOf } from './protocol.js';

const PCM_STATES: PcmStateName[] = ['OPEN', 'SETUP', 'PREPARED', 'RUNNING', 'XRUN', 'DRAINING', 'PAUSED', 'SUSPENDED', 'DISCONNECTED'];

export interface AgentStats {
  t: number;
  events: number;
  ops: number;
  rssKb: number;
  lanesAlive: number;
}

export interface LatencySample {
  t: number;
  value: number;
  confidence: number;
  lane?: string;
  handle?: string;
}

export interface DecodedBatch {
  events: (ActionEvent | LaneEvent | MetricEvent | NoteEvent | RecoverEvent | ConformanceEvent)[];
  stats?: AgentStats;
  latency: LatencySample[];
  errors: string[];
}

export class RecordDecoder {
  private pendingLatency?: MetricEvent;
  /** Events the agent sent, numbered by stream ids "lane<<8|handle"; names resolved once. */
  private readonly srcNames = new Map<number, string>();

  constructor(
    private readonly layout: ProgramLayout,
    /** Rebuild each step's request (ActionEvent.req) from the fields the agent reports. */
    private readonly requests = false,
  ) {}

  laneInfo(index: number): LaneInfo | undefined {
    if (index === LANE_SETUP) return this.layout.setup;
    if (index === LANE_TEARDOWN) return this.layout.teardown;
    return this.layout.lanes[index];
  }

  laneName(index: number): string {
    return this.laneInfo(index)?.name ?? `lane#${index}`;
  }

  srcName(id: number): string {
    let n = this.srcNames.get(id);
    if (!n) {
      const lane = id >> 8;
      const h = this.layout.handles[id & 0xff];
      n = `${this.laneName(lane)}/${h ?? `handle#${id & 0xff}`}`;
      this.srcNames.set(id, n);
    }
    return n;
  }

  /** Decodes one EVENTS payload. A malformed record is reported and skipped; the rest still count. */
  decode(payload: Buffer): DecodedBatch {
    const out: DecodedBatch = { events: [], latency: [], errors: [] };
    let off = 0;
    while (off < payload.length) {
      if (payload.length - off < 5) {
        out.errors.push(`trailing ${payload.length - off} bytes in an EVENTS frame`);
        break;
      }
      const len = payload.readUInt32LE(off);
      if (len < 5 || off + len > payload.length) {
        out.errors.push(`event record of length ${len} at offset ${off} runs past its frame`);
        break;
      }
      const kind = payload[off + 4]!;
      try {
        const r = new Reader(payload, off, off + len);
        switch (kind) {
          case REC.ACT:
            out.events.push(this.act(r));
            break;
          case REC.LANE:
            out.events.push(this.lane(r));
            break;
          case REC.METRIC: {
            const m = this.metric(r, out);
            if (m) out.events.push(m);
            break;
          }
          case REC.NOTE:
            out.events.push(this.note(r));
            break;
          case REC.STATS:
            out.stats = this.stats(r);
            break;
          case REC.JSON:
            out.events.push(this.json(payload, off, len));
            break;
          default:
            out.errors.push(`unknown event record kind ${kind}`);
        }
      } catch (e) {
        out.errors.push(`bad event record (kind ${kind}): ${(e as Error).message}`);
      }
      off += len;
    }
    return out;
  }

  private act(r: Reader): ActionEvent {
    const start = r.off;
    r.off += 5;
    const laneIx = r.u8();
    const stepIx = r.u16();
    const iter = r.i64();
    const t = r.i64();
    const dur = r.i64();
    const ret = r.i64();
    const tid = r.u32();
    r.u32(); // flags, reserved
    if (r.off !== start + ACT_FIXED) throw new RangeError('ACT header layout mismatch');
    const lane = this.laneInfo(laneIx);
    const step: StepInfo | undefined = lane?.steps[stepIx];
    if (!lane || !step) throw new RangeError(`ACT for unknown lane ${laneIx} step ${stepIx}`);
    const f = r.fields();
    let args: Record<string, Json> = step.fixed;
    if (step.varying.length) {
      // in program order, as the simulator lists them
      const drawn: Record<string, Json | undefined> = {};
      for (const v of step.varying) drawn[v.name] = resolvedArg(v, scalarOf(f.get(v.key)));
      args = {};
      for (const k of step.order) args[k] = (k in drawn ? drawn[k] : step.fixed[k]) as Json;
    }
    const ev: ActionEvent = { kind: 'act', t, dur, lane: lane.name, iter, step: stepIx, op: step.op, ret, tid };
    if (step.handle !== undefined) ev.handle = step.handle;
    if (step.withArgs) ev.args = step.varying.length ? args : { ...args };
    if (ret < 0) ev.errno = errnoName(ret);
    const data = this.data(step.op, f, args, ret);
    if (data) ev.data = data;
    if (this.requests) ev.req = requestOf(args, this.facts(step.op, f));
    return ev;
  }

  /** What the agent's run-time rules decided for this step (app/program/README.md). */
  private facts(op: string, f: Map<number, Value>): RequestFacts | undefined {
    const n = (k: number) => numOf(f.get(k));
    const sw = (k: number) => (n(k) === SWV.BOUNDARY ? 'boundary' : n(k)!);
    switch (op) {
      case 'pcm.write':
      case 'pcm.read':
        return f.has(D.REQUESTED) ? { frames: n(D.REQUESTED)! } : undefined;
      case 'pcm.hw_params': {
        if (!f.has(D.PREFERRED)) return undefined;
        const mask = n(D.PREFERRED)!;
        return { preferred: HW_PREFER_ORDER.filter((_k, i) => (mask >> i) & 1) };
      }
      case 'pcm.sw_params':
        return f.has(D.REQ_AVAIL_MIN) ? { avail_min: sw(D.REQ_AVAIL_MIN), start_threshold: sw(D.REQ_START), stop_threshold: sw(D.REQ_STOP) } : undefined;
      case 'at_period':
        return f.has(D.FRAME) ? { frame: n(D.FRAME)! } : undefined;
      case 'seq.send':
        return f.has(D.FIRST) ? { first: n(D.FIRST)! } : undefined;
    }
    return undefined;
  }

  private params(f: Map<number, Value>): HwParams {
    return {
      access: ACCESS_BY_CODE[numOf(f.get(D.ACCESS)) ?? -1] ?? 'rw_interleaved',
      format: FORMAT_BY_INDEX[numOf(f.get(D.FORMAT)) ?? -1] ?? ('S16_LE' as const),
      channels: numOf(f.get(D.CHANNELS)) ?? 0,
      rate: numOf(f.get(D.RATE)) ?? 0,
      period_size: numOf(f.get(D.PERIOD_SIZE)) ?? 0,
      periods: numOf(f.get(D.PERIODS)) ?? 0,
      buffer_size: numOf(f.get(D.BUFFER_SIZE)) ?? 0,
    };
  }

  private data(op: string, f: Map<number, Value>, args: Record<string, Json>, ret: number): Record<string, unknown> | undefined {
    const d = this.opData(op, f, args, ret);
    // a held buffer (rule "held buffers"): whether the fault handler caught the kernel in its copy
    const held = f.get(D.HELD);
    return held && held.t === 'bool' ? { ...d, held: held.v } : d;
  }

  private opData(op: string, f: Map<number, Value>, args: Record<string, Json>, ret: number): Record<string, unknown> | undefined {
    const n = (k: number) => numOf(f.get(k));
    const range = (k: number) => {
      const v = f.get(k);
      return v && v.t === 'range' ? { min: numOf(v.v[0])!, max: numOf(v.v[1])! } : { min: 0, max: 0 };
    };
    switch (op) {
      case 'pcm.open':
        if (ret < 0) return undefined;
        return { card: n(D.CARD), device: n(D.DEVICE), subdevice: n(D.SUBDEVICE), stream: n(D.STREAM) ? 'capture' : 'playback' };
      case 'pcm.hw_refine': {
        if (ret < 0) return undefined;
        const mask = BigInt(n(D.FORMATS) ?? 0);
        const formats = Object.entries(FORMAT_BY_INDEX)
          .filter(([i]) => (mask >> BigInt(i)) & 1n)
          .map(([, name]) => name);
        return { formats, channels: range(D.I_CHANNELS), rate: range(D.I_RATE), period_size: range(D.I_PERIOD_SIZE), periods: range(D.I_PERIODS), buffer_size: range(D.I_BUFFER_SIZE) };
      }
      case 'pcm.hw_params':
        return ret < 0 ? undefined : { params: this.params(f) };
      case 'pcm.readback':
        if (ret < 0) return undefined;
        return { params: f.get(D.PARAMS_NULL) ? null : this.params(f) };
      case 'pcm.sw_params':
        if (ret < 0) return undefined;
        return { avail_min: n(D.AVAIL_MIN), start_threshold: n(D.START_THRESHOLD), stop_threshold: n(D.STOP_THRESHOLD), boundary: n(D.BOUNDARY) };
      case 'pcm.status':
        if (ret < 0) return undefined;
        return { state: PCM_STATES[n(D.STATE) ?? 0] ?? 'OPEN', hw_ptr: n(D.HW_PTR), appl_ptr: n(D.APPL_PTR), avail: n(D.AVAIL), delay: n(D.DELAY) };
      case 'pcm.write':
      case 'pcm.read': {
        if (!f.has(D.REQUESTED)) return undefined;
        const recovered = strOf(f.get(D.RECOVERED));
        return recovered ? { requested: n(D.REQUESTED), recovered } : { requested: n(D.REQUESTED) };
      }
      case 'seq.open':
        return ret < 0 ? undefined : { client: n(D.CLIENT) };
      case 'seq.create_port':
        return ret < 0 ? undefined : { port: n(D.PORT) };
      case 'seq.set_client_pool': {
        const o: Record<string, unknown> = {};
        if (f.has(D.INPUT_POOL)) o.input_pool = n(D.INPUT_POOL);
        if (f.has(D.OUTPUT_POOL)) o.output_pool = n(D.OUTPUT_POOL);
        if (f.has(D.OUTPUT_ROOM)) o.output_room = n(D.OUTPUT_ROOM);
        return o;
      }
      case 'seq.get_client_pool':
        if (ret < 0) return undefined;
        return { input_pool: n(D.INPUT_POOL), input_free: n(D.INPUT_FREE), output_pool: n(D.OUTPUT_POOL), output_free: n(D.OUTPUT_FREE), output_room: n(D.OUTPUT_ROOM) };
      case 'seq.send': {
        if (!f.has(D.SRC)) return undefined;
        const dest = n(D.DEST) ?? 0;
        const o: Record<string, unknown> = { src: this.srcName(n(D.SRC)!), first: n(D.FIRST), sent: n(D.SENT) };
        if (f.has(D.REFUSED)) o.refused = n(D.REFUSED);
        o.dest = `${dest >> 8}:${dest & 0xff}`;
        return o;
      }
      case 'seq.read': {
        // EFAULT part way still brings the events copied before the fault
        if (ret < 0 && !f.has(D.EVENTS)) return undefined;
        const blob = f.get(D.EVENTS);
        const events: [string, number][] = [];
        if (blob && blob.t === 'blob') {
          const b = blob.v;
          for (let i = 0; i + 6 <= b.length; i += 6) events.push([this.srcName(b.readUInt16LE(i)), b.readUInt32LE(i + 2)]);
        }
        return { events, foreign: n(D.FOREIGN) ?? 0 };
      }
      case 'ctl.write':
        return ret < 0 ? undefined : { value: args.value as number | boolean | string, changed: f.get(D.CHANGED)?.t === 'bool' ? (f.get(D.CHANGED) as { v: boolean }).v : false };
      case 'ctl.read': {
        if (ret < 0) return undefined;
        const l = f.get(D.VALUES);
        return { value: l && l.t === 'list' ? l.v.map((x) => scalarOf(x)!) : [] };
      }
      case 'barrier':
        return f.has(D.GENERATION) ? { generation: n(D.GENERATION) } : undefined;
      case 'at_period':
        // one decimal, as the simulator reports it; -1 when the stream was not running
        return f.has(D.TARGET) ? { target: n(D.TARGET), actual: f.has(D.ACTUAL) ? Math.round(n(D.ACTUAL)! * 10) / 10 : -1 } : undefined;
      case 'jitter':
        return f.has(D.SLEPT) ? { slept: n(D.SLEPT) } : undefined;
      case 'device.detach':
      case 'device.attach':
        return f.has(D.DCARD) ? { card: n(D.DCARD) } : undefined;
    }
    return undefined;
  }

  private lane(r: Reader): LaneEvent {
    r.off += 5;
    const laneIx = r.u8();
    const state = r.u8();
    r.u8();
    const step = r.i32();
    const iter = r.i64();
    const t = r.i64();
    const f = r.fields();
    const info = this.laneInfo(laneIx);
    const ev: LaneEvent = { kind: 'lane', t, lane: this.laneName(laneIx), state: LANE_STATES[state] ?? 'died' };
    const st = step >= 0 ? info?.steps[step] : undefined;
    const raw = strOf(f.get(L.DETAIL));
    if (st) {
      // name the action that hung the way a person reads it, not by step number
      const what = `${st.op}${st.handle ? ` on ${st.handle}` : ''} (iteration ${iter}, ${st.at})`;
      const m = raw ? /after ([\d.]+) s(.*)$/.exec(raw) : null;
      ev.detail = state === 2 ? `${what} has not returned after ${m ? m[1] : '?'} s${m?.[2] ?? ''}` : `${what}: ${raw ?? ''}`;
    } else if (raw) ev.detail = raw;
    const wchan = strOf(f.get(L.WCHAN));
    if (wchan) ev.wchan = wchan.trim();
    const ts = strOf(f.get(L.TASK_STATE));
    if (ts) ev.taskState = ts.trim();
    const stack = strOf(f.get(L.STACK));
    if (stack) ev.stack = stack.split('\n').map((s) => s.trim()).filter(Boolean);
    return ev;
  }

  private metric(r: Reader, out: DecodedBatch): MetricEvent | undefined {
    r.off += 5;
    const id = r.u8();
    const laneIx = r.u8();
    const handle = r.u8();
    const t = r.i64();
    const value = r.f64();
    const name = METRICS[id];
    if (!name) throw new RangeError(`unknown metric id ${id}`);
    const lane = this.laneName(laneIx);
    const h = handle === 255 ? undefined : this.layout.handles[handle];
    if (name === 'latency_confidence') {
      // travels right after its latency sample; the MetricEvent shape has no room for it
      const p = this.pendingLatency;
      if (p) {
        out.latency.push({ t: p.t, value: p.value, confidence: value, lane: p.lane, ...(p.handle ? { handle: p.handle } : {}) });
        // The agent writes the two records back to back: when they arrive in
        // one batch the sample has not been emitted yet and can carry it.
        if (out.events.includes(p)) p.confidence = value;
      }
      this.pendingLatency = undefined;
      return undefined;
    }
    const ev: MetricEvent = { kind: 'metric', t, name: name as MetricName, value, lane };
    if (h) ev.handle = h;
    if (name === 'latency') this.pendingLatency = ev;
    return ev;
  }

  /** R_JSON: a recover or conformance event the agent wrote as JSON; lane and handle names are added here. */
  private json(payload: Buffer, off: number, len: number): RecoverEvent | ConformanceEvent {
    if (len < JSON_FIXED) throw new RangeError('short JSON record');
    const laneIx = payload[off + 5]!;
    const handle = payload[off + 6]!;
    const t = Number(payload.readBigInt64LE(off + 8));
    const body = JSON.parse(payload.subarray(off + JSON_FIXED, off + len).toString('utf8')) as Record<string, unknown>;
    const lane = this.laneName(laneIx);
    if (body.kind === 'recover') {
      const h = handle === 255 ? undefined : this.layout.handles[handle];
      if (!h) throw new RangeError('recover event without a handle');
      return { ...(body as Omit<RecoverEvent, 't' | 'lane' | 'handle'>), kind: 'recover', t, lane, handle: h } as RecoverEvent;
    }
    if (body.kind === 'conformance') return { ...(body as Omit<ConformanceEvent, 't' | 'lane'>), kind: 'conformance', t, lane } as ConformanceEvent;
    throw new RangeError(`unknown JSON event kind ${String(body.kind)}`);
  }

  private note(r: Reader): NoteEvent {
    r.off += 5;
    const level = r.u8();
    const t = r.i64();
    const n = r.u16();
    const text = r.bytes(n).toString('utf8');
    return { kind: 'note', t, level: level === 2 ? 'error' : level === 1 ? 'warn' : 'info', text };
  }

  private stats(r: Reader): AgentStats {
    r.off += 8;
    return { t: r.i64(), events: r.i64(), ops: r.i64(), rssKb: r.u32(), lanesAlive: r.u32() };
  }
}

