// The real agent binary, driven through the real session, on whatever machine
// runs the tests (usually one without sound cards: the device ops then fail
// with the kernel's own errors, which is itself checked). Real sound drivers
// are exercised by the *.vm.test.ts files in the virtual lab.
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionEvent, LaneEvent, RunEvent } from '../../events/types.js';
import { Rng } from '../../sim/kernel/rng.js';
import { parsePreset } from '../../vocabulary/preset-file.js';
import { ensureAgent } from './binary.js';
import { spawnAgent, type SpawnedAgent } from './process.js';
import { compileProgram } from '../../program/compile.js';
import type { Scenario } from '../../vocabulary/scenario.js';
import { encodeProgram } from './program.js';
import { simulate } from '../../test/sim-harness.js';
import { E, MSG, encodeFrame } from './protocol.js';
import { AgentError, AgentSession, type AgentChannel } from './session.js';

let bin: string;
const w0 = (a: ActionEvent[]) => a[0]!;
const live: SpawnedAgent[] = [];

beforeAll(() => {
  bin = ensureAgent();
});

afterEach(async () => {
  for (const a of live.splice(0)) {
    a.kill();
    await a.exited;
  }
});

function start(): { agent: SpawnedAgent; s: AgentSession } {
  const agent = spawnAgent(bin);
  live.push(agent);
  return { agent, s: new AgentSession(agent) };
}

/** Waits for a condition the agent brings about; fails only if it never happens. */
async function until(cond: () => boolean, limitMs = 20000): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > limitMs) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function scenario(yaml: string) {
  return parsePreset(yaml, 'test.yaml').scenario;
}

function encode(sc: Scenario, o: { seed: number; duration: number }) {
  return encodeProgram(compileProgram(sc, o), { flags: 0 });
}

async function run(yaml: string, opts: { seed?: number; duration?: number; abortAfter?: (e: RunEvent) => boolean } = {}) {
  const { s } = start();
  await s.start();
  const sc = scenario(yaml);
  const prog = encode(sc, { seed: opts.seed ?? 1, duration: opts.duration ?? 30e9 });
  const events: RunEvent[] = [];
  const ac = new AbortController();
  const res = await s.run(prog, {
    signal: ac.signal,
    emit: (e) => {
      events.push(e);
      if (opts.abortAfter?.(e)) ac.abort();
    },
  });
  return { res, events, acts: events.filter((e): e is ActionEvent => e.kind === 'act'), lanes: events.filter((e): e is LaneEvent => e.kind === 'lane'), s };
}

describe('native agent (no sound hardware needed)', () => {
  it('says hello and lists devices the way this machine has them', async () => {
    const { s } = start();
    const hello = await s.start();
    expect(hello.proto).toBe(2);
    expect(hello.pid).toBeGreaterThan(0);
    const list = await s.listDevices('local');
    if (existsSync('/dev/snd')) expect(list.cards.length).toBeGreaterThan(0);
    else {
      expect(list.cards).toEqual([]);
      expect(list.notes.join('\n')).toMatch(/no \/dev\/snd/);
    }
  });

  it('draws varying arguments from the recorded seed exactly as the host predicts', async () => {
    const seed = 1234;
    const { res, acts } = await run(
      `
name: draws
iterations: 6
setup:
  - pcm.open: { handle: p, card: 31 }
lanes:
  - name: a
    loop:
      - pcm.write: { handle: p, frames: { random: [1, 1000] } }
      - jitter: { min: 10us, max: 200us }
      - sleep: { for: [1ms, 2ms, 3ms] }
  - name: b
    loop:
      - pcm.write: { handle: p, frames: { random: [5, 6] } }
`,
      { seed },
    );
    expect(res.status).toBe('completed');
    const ra = new Rng(seed, 0);
    const rb = new Rng(seed, 1);
    const a = acts.filter((e) => e.lane === 'a');
    const b = acts.filter((e) => e.lane === 'b');
    expect(a.length).toBe(18);
    expect(b.length).toBe(6);
    for (let i = 0; i < 6; i++) {
      const [w, j, sl] = a.slice(i * 3, i * 3 + 3) as [ActionEvent, ActionEvent, ActionEvent];
      expect(w.iter).toBe(i);
      expect(w.args!.frames).toBe(ra.int(1, 1000));
      expect(j.ret).toBe(0);
      expect(j.data).toEqual({ slept: ra.int(10000, 200000) });
      expect(sl.args!.for).toBe([1e6, 2e6, 3e6][i % 3]);
      expect(b[i]!.args!.frames).toBe(rb.int(5, 6));
    }
    // card 31 does not exist: open fails with the kernel's errno, later ops on the handle with EBADF
    const open = acts.find((e) => e.op === 'pcm.open')!;
    expect(open.lane).toBe('setup');
    expect(open.iter).toBe(-1);
    expect(open.ret).toBeLessThan(0);
    expect(['ENOENT', 'ENODEV']).toContain(open.errno);
    // a handle that is not open answers EBADF before anything else (no request made)
    expect(a[0]!.errno).toBe('EBADF');
    expect(a[0]!.data).toBeUndefined();
    // like the simulator, events carry arguments only when they vary (and for timing ops)
    expect(open.args).toBeUndefined();
    expect(w0(a).args).toEqual({ frames: a[0]!.args!.frames, pattern: 'silence', hold: -1, edge: -1, recover: true });
  });

  it('issues the same requests as the simulator for the same program (steps no kernel answer changes)', async () => {
    const yaml = `
name: same-requests
iterations: 5
setup:
  - pcm.open: { handle: p, card: 31 }
lanes:
  - name: a
    loop:
      - jitter: { min: 1us, max: 50us }
      - sleep: { for: [10us, 20us] }
      - pcm.write: { handle: p, periods: [1, 2.5] }
      - at_period: { handle: p, percent: { random: [10, 90] } }
      - ctl.write: { card: 31, name: Master, value: [1, 2, 3] }
  - name: b
    loop:
      - pcm.sw_params: { handle: p, avail_min: { random: [1, 9] } }
      - jitter: { min: 1us, max: 2us }
`;
    const sc = scenario(yaml);
    const { s } = start();
    await s.start();
    const events: RunEvent[] = [];
    const res = await s.run(encode(sc, { seed: 77, duration: 30e9 }), { signal: new AbortController().signal, emit: (e) => events.push(e), reportRequests: true });
    expect(res.status).toBe('completed');
    const sim = await simulate(sc, { seed: 77, reportRequests: true });
    const key = (e: ActionEvent) => `${e.lane}/${e.iter}/${e.step}`;
    const agentReq = new Map(events.filter((e): e is ActionEvent => e.kind === 'act').map((e) => [key(e), e.req]));
    const simReq = new Map(sim.acts.map((e) => [key(e), e.req]));
    expect(agentReq.size).toBe(1 + 5 * 5 + 5 * 2);
    expect([...agentReq.keys()].sort()).toEqual([...simReq.keys()].sort());
    for (const [k, r] of agentReq) expect(r, k).toEqual(simReq.get(k));
    // the draws are really there: a jitter's sleep differs between iterations
    expect(new Set(sim.acts.filter((e) => e.op === 'jitter' && e.lane === 'a').map((e) => e.req!.for)).size).toBeGreaterThan(1);
  });

  it('streams actions in causal order across lanes (what one lane finished before another began comes first)', async () => {
    // Barriers make "before" certain: x(i) ends before the lanes meet at b1, y(i) runs
    // after it and ends before they meet at b2, x(i+1) runs after that.
    const { res, acts } = await run(`
name: order
iterations: 400
lanes:
  - name: a
    loop:
      - jitter: 1us
      - barrier: b1
      - barrier: b2
  - name: b
    loop:
      - barrier: b1
      - jitter: 1us
      - barrier: b2
`);
    expect(res.status).toBe('completed');
    const seq = acts.filter((e) => e.op === 'jitter').map((e) => `${e.lane}${e.iter}`);
    const want: string[] = [];
    for (let i = 0; i < 400; i++) want.push(`a${i}`, `b${i}`);
    expect(seq).toEqual(want);
  });

  it('reports a lane stuck in one operation past its bound, naming the action, and stays quiet otherwise', async () => {
    const { lanes, res } = await run(`
name: stuck
iterations: 1
lanes:
  - name: sleeper
    loop:
      - sleep: { for: 1500ms, timeout: 100ms }
  - name: quick
    loop:
      - sleep: { for: 5ms, timeout: 2s }
`);
    expect(res.status).toBe('completed');
    const hung = lanes.filter((l) => l.state === 'hung');
    expect(hung.map((l) => l.lane)).toEqual(['sleeper']);
    expect(hung[0]!.detail).toMatch(/^sleep \(iteration 0, lanes\[0\]\.loop\[0\]\) has not returned after/);
    // the kernel's own view of the blocked thread: interruptible sleep in a timer wait
    expect(hung[0]!.taskState).toMatch(/^S/);
    expect(res.hung).toBe(1);
    expect(lanes.filter((l) => l.state === 'end').map((l) => l.lane).sort()).toEqual(['quick', 'sleeper']);
  });

  it('stops on request: blocked lanes are interrupted and the run ends as stopped', async () => {
    let seen = 0;
    const { res, lanes, acts } = await run(
      `
name: long
lanes:
  - name: s
    loop:
      - sleep: 10s
  - name: t
    loop:
      - jitter: 1ms
`,
      { duration: 600e9, abortAfter: (e) => e.kind === 'act' && ++seen === 20 },
    );
    expect(res.status).toBe('stopped');
    expect(lanes.filter((l) => l.state === 'end').length).toBe(2);
    const cut = acts.find((e) => e.lane === 's');
    expect(cut?.errno).toBe('EINTR');
  });

  it('keeps serving after garbage and truncated frames, reporting each', async () => {
    const { s } = start();
    await s.start();
    const rng = new Rng(99);
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = rng.int(0, 255);
    s.sendRaw(junk);
    // a RUN cut short with nothing after it: the agent waits, then gives up on it
    s.sendRaw(encodeFrame(MSG.RUN, Buffer.alloc(64, 1)).subarray(0, 30));
    await until(() => s.agentErrors.some((e) => e.code === E.TRUNCATED));
    s.sendRaw(encodeFrame(0x6e)); // an unknown message type
    s.sendRaw(encodeFrame(MSG.RUN, Buffer.from([9, 9, 9]))); // a RUN that is not a program
    await s.ping(10000);
    const codes = new Set(s.agentErrors.map((e) => e.code));
    expect(codes.has(E.BAD_FRAME)).toBe(true);
    expect(codes.has(E.TRUNCATED)).toBe(true);
    expect(codes.has(E.UNKNOWN_TYPE)).toBe(true);
    expect(codes.has(E.BAD_PROGRAM)).toBe(true);
    // and it still runs scenarios
    const prog = encode(scenario('name: after\niterations: 2\nlanes:\n  - name: x\n    loop:\n      - sleep: 1ms\n'), { seed: 1, duration: 10e9 });
    const events: RunEvent[] = [];
    const res = await s.run(prog, { signal: new AbortController().signal, emit: (e) => events.push(e) });
    expect(res.status).toBe('completed');
    expect(events.filter((e) => e.kind === 'act').length).toBe(2);
  });

  it('refuses a malformed program with a reason', async () => {
    const { s } = start();
    await s.start();
    const prog = encode(scenario('name: ok\nlanes:\n  - name: x\n    loop:\n      - sleep: 1ms\n'), { seed: 1, duration: 1e9 });
    const broken = { ...prog, payload: prog.payload.subarray(0, prog.payload.length - 3) };
    await expect(s.run(broken, { signal: new AbortController().signal, emit: () => {} })).rejects.toThrow(/refused the run/);
  });

  it('reports a crash when the agent dies mid-run', async () => {
    const { agent, s } = start();
    await s.start();
    const prog = encode(scenario('name: k\nlanes:\n  - name: x\n    loop:\n      - sleep: 1ms\n'), { seed: 1, duration: 60e9 });
    let n = 0;
    const res = await s.run(prog, {
      signal: new AbortController().signal,
      emit: (e) => {
        if (e.kind === 'act' && ++n === 5) agent.kill();
      },
    });
    expect(res.status).toBe('crashed');
    expect(res.reason).toMatch(/SIGKILL/);
  });
});

describe('session watchdog', () => {
  it('kills an agent that goes silent and reports the run as crashed', async () => {
    // A channel whose agent answers HELLO, accepts the run, then never speaks again:
    // the shape of an agent whose whole process is stuck (or a guest that froze).
    let killed = false;
    let onData: (b: Buffer) => void = () => {};
    const ch: AgentChannel = {
      write: () => {},
      onData: (cb) => {
        onData = cb;
      },
      onClose: () => {},
      kill: () => {
        killed = true;
      },
    };
    const s = new AgentSession(ch);
    onData(encodeFrame(MSG.A_HELLO));
    await s.start();
    const prog = encode(scenario('name: q\nlanes:\n  - name: x\n    loop:\n      - sleep: 1ms\n'), { seed: 1, duration: 1e9 });
    const events: RunEvent[] = [];
    const res = await s.run(prog, { signal: new AbortController().signal, emit: (e) => events.push(e), silenceMs: 300 });
    expect(res.status).toBe('crashed');
    expect(killed).toBe(true);
    expect(events.some((e) => e.kind === 'note' && /sent nothing/.test(e.text))).toBe(true);
  });

  it('a live agent is not mistaken for a silent one', async () => {
    const { res } = await run('name: alive\niterations: 1\nlanes:\n  - name: x\n    loop:\n      - sleep: 1200ms\n');
    // 1.2 s without any action event, but heartbeats keep coming
    expect(res.status).toBe('completed');
  });
});

describe('agent errors', () => {
  it('AgentError is what a dead channel produces', async () => {
    const { agent, s } = start();
    await s.start();
    agent.kill();
    await agent.exited;
    await expect(s.ping(1000)).rejects.toBeInstanceOf(AgentError);
  });
});
