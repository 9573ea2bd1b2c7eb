// The agent's encoding of a program, checked without the agent: the RUN
// payload is parsed the way program.c parses it, each lane's arguments are
// resolved the way args.c resolves them (list index by iteration, ranges
// drawn from the lane's own xoshiro128** in payload order), and the values,
// mapped back the way records.ts maps them, must equal what the simulated
// kernel resolves from the same program (app/program/resolve.ts), for every
// built-in preset.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../sim/kernel/rng.js';
import { compileProgram } from '../../program/compile.js';
import { resolveStep } from '../../program/resolve.js';
import type { Json, Program } from '../../program/types.js';
import { builtinScenarios } from '../../test/builtin-presets.js';
import { ACCESS_BY_CODE, EVTYPE_CODES, FORMAT_BY_INDEX, PATTERN_CODES, encodeProgram, resolvedArg } from './program.js';
import { A, ADDR, ARG_KEYS, K, OP, Reader, SEC, SWV, type Value, numOf, scalarOf } from './protocol.js';

interface WireStep {
  op: number;
  handle: number;
  timeout: number;
  args: { key: number; v: Value }[];
}
interface WireLane {
  name: string;
  role: number;
  iterations: number;
  stream: number;
  steps: WireStep[];
}

/** program.c, in TypeScript: sections and fields, nothing checked beyond what this test needs. */
function parsePayload(b: Buffer): { seed: number; lanes: WireLane[]; setup: WireLane; teardown: WireLane } {
  const r = new Reader(b);
  let seed = 0;
  const lanes: WireLane[] = [];
  let setup: WireLane | undefined;
  let teardown: WireLane | undefined;
  let cur: WireLane | undefined;
  while (r.left) {
    const sec = r.u8();
    const len = r.u32();
    const f: { key: number; v: Value }[] = [];
    const sr = new Reader(b, r.off, r.off + len);
    while (sr.left) f.push({ key: sr.u8(), v: sr.value() });
    r.off += len;
    const get = (k: number) => f.find((x) => x.key === k)?.v;
    if (sec === SEC.CONFIG) seed = numOf(get(K.SEED))!;
    else if (sec === SEC.LANE) {
      cur = { name: String(scalarOf(get(K.NAME))), role: numOf(get(K.ROLE))!, iterations: numOf(get(K.ITERATIONS))!, stream: numOf(get(K.STREAM))!, steps: [] };
      if (cur.role === 1) setup = cur;
      else if (cur.role === 2) teardown = cur;
      else lanes.push(cur);
    } else if (sec === SEC.STEP) {
      cur!.steps.push({
        op: numOf(get(K.OP))!,
        handle: get(K.HANDLE) ? numOf(get(K.HANDLE))! : -1,
        timeout: numOf(get(K.TIMEOUT))!,
        args: f.filter((x) => x.key >= 16),
      });
    }
  }
  return { seed, lanes, setup: setup!, teardown: teardown! };
}

/** args.c, in TypeScript: what one execution resolves to, as records.ts gets it (list index or drawn value). */
function agentResolve(s: WireStep, iter: number, rng: Rng): Map<number, Value | number> {
  const out = new Map<number, Value | number>();
  for (const a of s.args) {
    if (a.v.t === 'list') out.set(a.key, iter < 0 ? 0 : iter % a.v.v.length);
    else if (a.v.t === 'range') {
      const [lo, hi] = a.v.v;
      out.set(a.key, lo.t === 'int' ? { t: 'int', v: rng.int(lo.v, hi.v as number) } : { t: 'float', v: (lo.v as number) + rng.float() * ((hi.v as number) - (lo.v as number)) });
    } else out.set(a.key, a.v);
  }
  return out;
}

/** The wire's codes back to the program's values, for fixed arguments. */
function fromWire(p: Program, op: string, name: string, v: Value): Json {
  const n = numOf(v)!;
  switch (name) {
    case 'access':
      return ACCESS_BY_CODE[n]!;
    case 'format':
      return FORMAT_BY_INDEX[n]!;
    case 'stream':
      return n ? 'capture' : 'playback';
    case 'pattern':
      return Object.entries(PATTERN_CODES).find(([, c]) => c === n)![0];
    case 'type':
      return Object.entries(EVTYPE_CODES).find(([, c]) => c === n)![0];
    case 'avail_min':
    case 'start_threshold':
    case 'stop_threshold':
      return n === SWV.BOUNDARY ? 'boundary' : n === SWV.PERIOD ? 'period' : n === SWV.BUFFER ? 'buffer' : n;
    case 'sender':
    case 'dest':
    case 'to': {
      const kind = Math.floor(n / 2 ** 24);
      const id = (n >> 8) & 0xffff;
      const port = n & 0xff;
      return kind === ADDR.SUBSCRIBERS ? { kind: 'subscribers' } : kind === ADDR.NUMERIC ? { kind: 'client', client: id, port } : kind === ADDR.SELF ? { kind: 'self', port } : { kind: 'handle', handle: id, port };
    }
    case 'name':
      return op === 'barrier' ? p.barriers[n]!.name : (scalarOf(v) as string);
  }
  return scalarOf(v) as Json;
}

const keyName = (op: string, key: number): string => {
  if (key === A.xfer_periods) return 'periods';
  if (key === A.ev_type) return 'type';
  if (key === A.barrier && op === 'barrier') return 'name';
  return ARG_KEYS[key - 16]!;
};

describe('the agent encoding of every built-in preset', () => {
  const scenarios = builtinScenarios();

  it('covers the shipped presets and the virtual lab variants', () => {
    expect(scenarios.map((s) => s.name).sort()).toEqual(
      ['detach-while-open', 'detach-while-open-dummy', 'detach-while-open-usb', 'dpcm-route-change', 'dpcm-route-change-ac97', 'dpcm-route-change-stressdpcm', 'parallel-hw-params', 'parallel-hw-params-vm', 'qa-soak', 'seq-pool-resize', 'stop-close-race', 'stop-close-race-vm'].sort(),
    );
  });

  for (const sc of scenarios)
    it(`${sc.name}: the agent resolves what the simulator resolves, iteration by iteration`, () => {
      const p = compileProgram(sc, { seed: 4242 });
      const enc = encodeProgram(p, { flags: 0 });
      const wire = parsePayload(enc.payload);
      expect(wire.seed).toBe(4242);
      const pairs: [(typeof p.lanes)[number], WireLane, (typeof enc.layout.lanes)[number]][] = [
        [p.setup, wire.setup, enc.layout.setup],
        ...p.lanes.map((l, i) => [l, wire.lanes[i]!, enc.layout.lanes[i]!] as [(typeof p.lanes)[number], WireLane, (typeof enc.layout.lanes)[number]]),
        [p.teardown, wire.teardown, enc.layout.teardown],
      ];
      for (const [lane, w, info] of pairs) {
        expect(w.name).toBe(lane.name);
        expect(w.stream).toBe(lane.rngStream);
        expect(w.iterations).toBe(lane.iterations ?? 0);
        expect(w.steps.map((s) => s.op)).toEqual(lane.steps.map((s) => OP[s.op]));
        const sim = new Rng(p.seed, lane.rngStream);
        const agent = new Rng(wire.seed, w.stream);
        const iters = lane.fixedIteration !== null ? [lane.fixedIteration] : Array.from({ length: 40 }, (_, i) => i);
        for (const it of iters)
          lane.steps.forEach((step, si) => {
            const want = resolveStep(step, it, sim);
            const got = agentResolve(w.steps[si]!, it, agent);
            const st = info.steps[si]!;
            expect(w.steps[si]!.handle).toBe(step.handle);
            expect(w.steps[si]!.timeout).toBe(step.timeout);
            // varying arguments come back through records.ts's mapping
            for (const v of st.varying) {
              const rep = got.get(v.key)!;
              expect(resolvedArg(v, typeof rep === 'number' ? rep : (scalarOf(rep) as number)), `${lane.name} ${step.at} ${v.name}`).toEqual(want[v.name]);
            }
            // fixed ones through the codes they travel as
            for (const [key, val] of got) {
              const name = keyName(step.op, key);
              if (st.varying.some((v) => v.key === key)) continue;
              if (name.startsWith('pref_')) expect(fromWire(p, step.op, name.slice(5), val as Value)).toEqual((want.prefer as Record<string, Json>)[name.slice(5)]);
              else expect(fromWire(p, step.op, name, val as Value), `${lane.name} ${step.at} ${name}`).toEqual(want[name]);
            }
          });
      }
    });
});
