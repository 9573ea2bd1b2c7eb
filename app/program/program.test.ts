// The resolved program pinned for presets: what each lane does, with every
// default written in, as plain data; and the TypeScript resolution the
// simulated kernel uses (the agent's is checked against it in
// app/targets/agent/program.test.ts).
import { describe, expect, it } from 'vitest';
import { library, scenario } from '../test/sim-harness.js';
import { Rng } from '../sim/kernel/rng.js';
import { compileProgram, CompileError } from './compile.js';
import { atPeriodFrame, resolveStep, swValue, transferFrames } from './resolve.js';
import type { Program } from './types.js';

const compiled = (name: string, seed = 1): Program => compileProgram(library.load(name).scenario, { seed });

describe('compileProgram', () => {
  it('parallel-hw-params: handles, barriers with parties, lanes with streams and iterations, every default written in', () => {
    const p = compiled('parallel-hw-params', 7);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    expect(p).toMatchObject({ format: 1, name: 'parallel-hw-params', seed: 7, duration: 5e9, hangTimeout: 2e9 });
    expect(p.handles).toEqual([{ name: 'pcm', kind: 'pcm' }]);
    expect(p.barriers).toEqual([
      { name: 'go', parties: 3 },
      { name: 'set', parties: 3 },
      { name: 'checked', parties: 3 },
    ]);
    expect(p.setup).toMatchObject({ name: 'setup', role: 'setup', iterations: 1, fixedIteration: -1, rngStream: 1000 });
    expect(p.setup.steps[0]).toEqual({
      op: 'pcm.open',
      handle: 0,
      timeout: 2e9,
      args: { card: { fixed: 'Dummy' }, device: { fixed: 0 }, subdevice: { fixed: -1 }, stream: { fixed: 'playback' }, nonblock: { fixed: false } },
      recordArgs: false,
      at: 'setup[0]',
    });
    expect(p.lanes.map((l) => [l.name, l.role, l.iterations, l.rngStream])).toEqual([
      ['small', 'lane', 3000, 0],
      ['middle', 'lane', 3000, 1],
      ['large', 'lane', 3000, 2],
    ]);
    expect(p.lanes[0]!.steps[1]!.args).toEqual({
      format: { fixed: 'S16_LE' },
      channels: { fixed: 2 },
      rate: { fixed: 48000 },
      period_size: { fixed: 64 },
      periods: { fixed: 256 },
      access: { fixed: 'rw_interleaved' },
      prefer: { fixed: {} },
    });
    expect(p.lanes[0]!.steps[0]).toMatchObject({ op: 'barrier', handle: -1, args: { name: { fixed: 'go' } }, recordArgs: true });
    expect(p.teardown).toMatchObject({ role: 'teardown', iterations: 1, fixedIteration: -2, rngStream: 1001 });
  });

  it('seq-pool-resize: replicas get their own streams; sends, reads and jitter with their sizes and ranges', () => {
    const p = compiled('seq-pool-resize');
    expect(p.handles.map((h) => `${h.name}:${h.kind}`)).toEqual(['app:seq', 'ext:seq', 'ext2:seq']);
    expect(p.lanes.map((l) => [l.name, l.rngStream, l.iterations])).toEqual([
      ['app', 0, null],
      ['sender.0', 1, null],
      ['sender.1', 2, null],
      ['sender-b', 3, null],
    ]);
    const [read, nb, pool] = p.lanes[0]!.steps;
    expect(read!.args).toEqual({ bytes: { fixed: 16 * 28 }, block: { fixed: true }, fault: { fixed: false }, hold: { fixed: -1 }, edge: { fixed: -1 } });
    expect(nb!.args.block).toEqual({ fixed: false });
    expect(pool!.args).toEqual({ input_pool: { list: [64, 16, 200, 32, 128, 8] }, output_pool: { fixed: 0 }, output_room: { fixed: 0 } });
    expect(pool!.recordArgs).toBe(true);
    const [send, jitter] = p.lanes[1]!.steps;
    expect(send!.args).toEqual({ to: { fixed: { kind: 'handle', handle: 0, port: 0 } }, count: { range: [1, 8], int: true }, type: { fixed: 'controller' }, size: { fixed: 12 }, port: { fixed: 0 }, hold: { fixed: -1 }, edge: { fixed: -1 } });
    expect(jitter!.args).toEqual({ for: { range: [20000, 200000], int: true } });
    expect(p.lanes[3]!.steps[0]!.args.type).toEqual({ fixed: 'controller' });
    expect(p.setup.steps[0]!.args).toEqual({ name: { fixed: 'stresslab-app' }, nonblock: { fixed: false } });
    expect(p.setup.steps[1]!.args).toEqual({ name: { fixed: 'in' }, port: { fixed: -1 } });
  });

  it('stop-close-race: transfers in periods carry their fallback, at_period its range', () => {
    const p = compiled('stop-close-race');
    const lane = p.lanes[0]!;
    // a race preset turns xrun recovery off (recover: false)
    expect(lane.steps[2]!.args).toEqual({ periods: { fixed: 4 }, fallback: { fixed: 1024 }, pattern: { fixed: 'silence' }, recover: { fixed: false }, hold: { fixed: -1 }, edge: { fixed: -1 } });
    expect(lane.steps[3]!.args).toEqual({ percent: { range: [96, 100], int: true } });
    expect(lane.steps[3]!.expect).toEqual(['EBADFD']);
    expect(lane.steps[4]!.args).toEqual({ for: { range: [0, 3000], int: true } });
  });

  it('writes in the defaults a preset leaves open', () => {
    const sc = scenario({
      iterations: 5,
      setup: [{ 'pcm.open': 'p' }, { 'seq.open': 'q' }],
      lanes: [
        {
          name: 'x',
          iterations: 9,
          loop: [
            { 'pcm.hw_params': { handle: 'p', rate: 44100 } },
            { 'pcm.hw_params': { handle: 'p', buffer_size: 4096 } },
            { 'pcm.sw_params': 'p' },
            { 'pcm.read': 'p' },
            { 'pcm.write': { handle: 'p', frames: { random: [1, 9] } } },
            { 'pcm.pause': 'p' },
            { 'seq.send': { handle: 'q', to: 'self:1', type: 'sysex', size: 40 } },
            { 'seq.subscribe': { handle: 'q', sender: '14:0', dest: 'subscribers' } },
            { 'ctl.write': { name: 'Master', value: true } },
            { jitter: '2us' },
          ],
        },
        { name: 'y', loop: [{ sleep: '1ms' }] },
      ],
    });
    const p = compileProgram(sc, { seed: 3, duration: 1e9 });
    const a = p.lanes[0]!.steps.map((s) => s.args);
    expect(a[0]!.prefer).toEqual({ fixed: { format: 'S16_LE', channels: 2, period_size: 1024, periods: 4 } });
    // the buffer size implies the periods
    expect(a[1]!.prefer).toEqual({ fixed: { format: 'S16_LE', channels: 2, rate: 48000, period_size: 1024 } });
    expect(a[2]).toEqual({ avail_min: { fixed: 'period' }, start_threshold: { fixed: 1 }, stop_threshold: { fixed: 'buffer' } });
    // transfers recover from xruns unless the preset says otherwise
    expect(a[3]).toEqual({ periods: { fixed: 1 }, fallback: { fixed: 1024 }, recover: { fixed: true }, hold: { fixed: -1 }, edge: { fixed: -1 } });
    expect(a[4]).toEqual({ frames: { range: [1, 9], int: true }, pattern: { fixed: 'silence' }, recover: { fixed: true }, hold: { fixed: -1 }, edge: { fixed: -1 } });
    expect(a[5]).toEqual({ on: { fixed: true } });
    expect(a[6]).toEqual({ to: { fixed: { kind: 'self', port: 1 } }, count: { fixed: 1 }, type: { fixed: 'sysex' }, size: { fixed: 40 }, port: { fixed: 0 }, hold: { fixed: -1 }, edge: { fixed: -1 } });
    expect(a[7]).toEqual({ sender: { fixed: { kind: 'client', client: 14, port: 0 } }, dest: { fixed: { kind: 'subscribers' } } });
    expect(a[8]).toEqual({ card: { fixed: 0 }, name: { fixed: 'Master' }, index: { fixed: 0 }, value: { fixed: true } });
    expect(a[9]).toEqual({ for: { range: [0, 2000], int: true } });
    // a lane's own iteration count wins; the preset's is every other lane's
    expect(p.lanes.map((l) => l.iterations)).toEqual([9, 5]);
    expect(p.duration).toBe(1e9);
  });

  it('refuses a suite (each of its presets compiles on its own)', () => {
    expect(() => compileProgram(library.load('demo').scenario, { seed: 1 })).toThrow(CompileError);
  });
});

describe('resolution and the run-time rules', () => {
  it('lists cycle by iteration (item 0 outside loops), ranges draw from the lane generator in program order', () => {
    const p = compiled('seq-pool-resize', 11);
    const pool = p.lanes[0]!.steps[2]!;
    expect([0, 1, 5, 6, -1].map((i) => resolveStep(pool, i, new Rng(1)).input_pool)).toEqual([64, 16, 8, 64, 64]);
    const lane = p.lanes[1]!;
    const draws = new Rng(11, lane.rngStream);
    const mirror = new Rng(11, 1);
    for (let it = 0; it < 20; it++) {
      expect(resolveStep(lane.steps[0]!, it, draws).count).toBe(mirror.int(1, 8));
      expect(resolveStep(lane.steps[1]!, it, draws).for).toBe(mirror.int(20000, 200000));
    }
  });

  it('transfer frames: given, or periods x the granted period rounded half up, or the fallback', () => {
    const g = { period_size: 48, buffer_size: 192, rate: 48000 };
    expect(transferFrames({ frames: 7 }, g)).toBe(7);
    expect(transferFrames({ periods: 2.5, fallback: 1024 }, g)).toBe(120);
    expect(transferFrames({ periods: 0.01, fallback: 1024 }, g)).toBe(1);
    expect(transferFrames({ periods: 1 / 96, fallback: 1024 }, g)).toBe(1); // 0.5 rounds up
    expect(transferFrames({ periods: 4, fallback: 1024 }, null)).toBe(1024);
  });

  it('sw_params values and the at_period frame', () => {
    const g = { period_size: 48, buffer_size: 192, rate: 48000 };
    expect([swValue('period', g), swValue('buffer', g), swValue('boundary', g), swValue(5, g)]).toEqual([48, 192, 'boundary', 5]);
    expect([swValue('period', null), swValue('buffer', null)]).toEqual([1, 'boundary']);
    expect([96, 97, 98, 99, 100, 0].map((pct) => atPeriodFrame(pct, 48))).toEqual([46, 46, 47, 47, 48, 0]);
  });
});
