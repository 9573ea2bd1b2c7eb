// One program, two interpreters: every built-in preset (suites expanded, the
// virtual lab's variants included) runs on the simulated kernel and on the
// agent in a real guest, and for every (lane, iteration, step) both executed,
// the request each issued must be the same: resolved arguments with their
// defaults, the frames of a transfer, the preferences HW_PARAMS kept, the
// sw_params values, the at_period frame, the first sequencer number.
//
// What a request cannot share is what depends on a device one side lacks:
// the simulator has no AC97 or USB audio card (and the guest no SimSoC or
// SimUSB), so steps on a handle that one side never managed to open are
// compared only up to what both can run, and are counted apart. A sequencer
// send's first number depends on how many of that stream's earlier events the
// kernel accepted; it is compared while both kernels accepted the same.
// Where a device comes and goes during the run (an unplug racing the lanes),
// a reopen may fail on one side and succeed on the other, depending only on
// when the unplug landed; the next steps on that handle then find it closed
// on that side, which answers EBADF before any run-time rule decides
// anything. Such steps are compared on their resolved arguments only (the
// rules' facts are left out of both) and counted apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionEvent, ConformanceEvent, RunEvent } from '../events/types.js';
import { bootGuest, type Guest } from '../vlab/index.js';
import { compileProgram } from '../program/compile.js';
import { canonical } from '../analysis/oracle.js';
import { builtinScenarios } from '../test/builtin-presets.js';
import type { Scenario } from '../vocabulary/scenario.js';
import type { Target } from './target.js';
import { SimTarget } from './sim/sim-target.js';
import { VmTarget } from './vm.js';

let guest: Guest;
let vm: VmTarget;

beforeAll(async () => {
  guest = await bootGuest({ log: (l) => process.stderr.write(l + '\n') });
  vm = new VmTarget({ guest });
});

afterAll(async () => {
  await guest?.shutdown();
});

/** Wall clock on the guest, virtual time on the simulator: long enough for many iterations of every lane. */
const BUDGET = 1.5e9;
const MISSING = new Set(['ENOENT', 'ENODEV', 'ENXIO']);

async function acts(target: Target, sc: Scenario, all?: RunEvent[]): Promise<ActionEvent[]> {
  const program = compileProgram(sc, { seed: 1, duration: Math.min(BUDGET, sc.duration) });
  const events: RunEvent[] = [];
  const t = target.forPreset?.(sc) ?? target;
  const out = await t.run({ program, reportRequests: true, signal: new AbortController().signal, emit: (e) => events.push(e) });
  expect(out.status, `${sc.name} on ${target.id}: ${out.reason ?? ''}`).not.toBe('crashed');
  // a loop, not push(...events): a long run has more events than the stack has room for arguments
  if (all) for (const e of events) all.push(e);
  return events.filter((e): e is ActionEvent => e.kind === 'act');
}

/** What the run-time rules add to a request (RequestFacts in app/program/resolve.ts). */
const FACT_KEYS = ['frames', 'preferred', 'avail_min', 'start_threshold', 'stop_threshold', 'frame', 'first'] as const;

/** A step that found its handle closed on exactly one side (see the header). */
const closedOnOneSide = (s: ActionEvent, a: ActionEvent) => (s.errno === 'EBADF') !== (a.errno === 'EBADF');

const key = (e: ActionEvent) => `${e.lane}\u0000${e.iter}\u0000${e.step}`;

/** Handles a side never opened while the other did: a device only one of them has. */
function oneSided(a: ActionEvent[], b: ActionEvent[]): Set<string> {
  const opened = (xs: ActionEvent[]) => new Set(xs.filter((e) => (e.op === 'pcm.open' || e.op === 'seq.open') && e.ret >= 0).map((e) => e.handle!));
  const failedMissing = (xs: ActionEvent[]) => new Set(xs.filter((e) => (e.op === 'pcm.open' || e.op === 'seq.open') && e.errno && MISSING.has(e.errno)).map((e) => e.handle!));
  const oa = opened(a);
  const ob = opened(b);
  const out = new Set<string>();
  for (const h of failedMissing(a)) if (!oa.has(h) && ob.has(h)) out.add(h);
  for (const h of failedMissing(b)) if (!ob.has(h) && oa.has(h)) out.add(h);
  return out;
}

/** Per sending stream (lane/handle), the outcomes of its sends before each one: equal histories must give equal numbers. */
function sendHistory(xs: ActionEvent[]): Map<string, string> {
  const byStream = new Map<string, ActionEvent[]>();
  for (const e of xs) if (e.op === 'seq.send') (byStream.get(`${e.lane}/${e.handle}`) ?? byStream.set(`${e.lane}/${e.handle}`, []).get(`${e.lane}/${e.handle}`)!).push(e);
  const out = new Map<string, string>();
  for (const list of byStream.values()) {
    list.sort((p, q) => p.iter - q.iter || p.step - q.step);
    let h = '';
    for (const e of list) {
      out.set(key(e), h);
      h += `${e.ret}:${String(e.data?.sent)};`;
    }
  }
  return out;
}

describe('one program, two interpreters: the simulator and the agent issue the same requests', { timeout: 600_000 }, () => {
  const scenarios = builtinScenarios();

  it('covers every built-in preset', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(9);
  });

  for (const sc of scenarios)
    it(sc.name, async () => {
      const simAll: RunEvent[] = [];
      const agentAll: RunEvent[] = [];
      const sim = await acts(new SimTarget({ profile: ['fixed'] }), sc, simAll);
      const agent = await acts(vm, sc, agentAll);
      const skip = oneSided(sim, agent);
      const simBy = new Map(sim.map((e) => [key(e), e]));
      const hs = sendHistory(sim);
      const ha = sendHistory(agent);
      let compared = 0;
      let apart = 0;
      let closed = 0;
      const differ: string[] = [];
      for (const a of agent) {
        const s = simBy.get(key(a));
        if (!s) continue;
        expect(s.op).toBe(a.op);
        if (a.handle && skip.has(a.handle)) {
          apart++;
          continue;
        }
        const sr = { ...s.req };
        const ar = { ...a.req };
        if (a.op === 'seq.send' && hs.get(key(a)) !== ha.get(key(a))) {
          delete sr.first;
          delete ar.first;
        }
        if (closedOnOneSide(s, a)) {
          for (const k of FACT_KEYS) {
            delete sr[k];
            delete ar[k];
          }
          closed++;
        }
        compared++;
        if (canonical(sr) !== canonical(ar)) differ.push(`${a.lane} iteration ${a.iter} step ${a.step} ${a.op}: sim ${canonical(sr)} agent ${canonical(ar)}`);
      }
      process.stderr.write(`${sc.name}: ${compared} steps compared, ${apart} on a device only one side has, ${closed} on a handle closed on one side; sim ${sim.length} actions, agent ${agent.length}\n`);
      expect(differ.slice(0, 10)).toEqual([]);
      // not vacuous: both ran, and most of what both ran was compared
      expect(agent.every((e) => e.req !== undefined)).toBe(true);
      if (sc.lanes.some((l) => l.steps.some((s) => s.op === 'pcm.sweep'))) {
        // rule "conformance sweep": on a card both have (snd-dummy and the model's Dummy) both plan
        // the same configurations in the same order, as far as both got within the budget
        const plan = (ev: RunEvent[]) =>
          ev.filter((e): e is ConformanceEvent => e.kind === 'conformance' && e.card_id === 'Dummy').map((e) => `${e.stream} ${e.vary} ${e.format} ${e.channels}ch ${e.rate} Hz ${e.period_size}`);
        const [p, q] = [plan(simAll), plan(agentAll)];
        const n = Math.min(p.length, q.length);
        expect(n).toBeGreaterThanOrEqual(2);
        expect(q.slice(0, n)).toEqual(p.slice(0, n));
        return;
      }
      expect(compared).toBeGreaterThan(5);
      // and the closed-handle allowance did not swallow it: steps compared with their facts too
      expect(compared - closed).toBeGreaterThan(5);
    });
});
