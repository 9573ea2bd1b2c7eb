// Every built-in preset's reproducer compiles with -Wall -Wextra -Werror, and,
// run here (no sound cards: every call fails, which changes no argument),
// issues exactly the arguments the TypeScript resolution of the same program
// gives, lane by lane and iteration by iteration: defaults, lists cycled by
// iteration, and each lane's random draws in order. The kernel-side rules
// (preferences kept, frames from granted periods, at_period frames) are
// compared with the simulator in the virtual lab (repro.vm.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinScenarios } from '../test/builtin-presets.js';
import { GCC_MISSING, gcc, haveGcc } from '../test/gcc.js';
import { compileProgram } from '../program/compile.js';
import { requestOf, resolveStep, swValue, transferFrames } from '../program/resolve.js';
import type { Json, Program, ProgramLane } from '../program/types.js';
import { Rng } from '../sim/kernel/rng.js';
import { canonical } from '../analysis/oracle.js';
import { reproC, reproHeader } from './repro.js';
import { cProgram, ReproError } from './c-program.js';
import { parsePreset } from '../vocabulary/preset-file.js';
import { RULES_H, RUNTIME_C } from './c-sources.js';
import { readFileSync } from 'node:fs';
import { repoRoot } from '../targets/agent/binary.js';

const GCC = haveGcc();
const dir = mkdtempSync(join(tmpdir(), 'stresslab-repro-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TraceLine {
  lane: string;
  iter: number;
  step: number;
  op: string;
  ret: number;
  req: Record<string, Json>;
}

function laneOf(p: Program, name: string): ProgramLane {
  if (name === 'setup') return p.setup;
  if (name === 'teardown') return p.teardown;
  const l = p.lanes.find((x) => x.name === name);
  if (!l) throw new Error(`trace names lane ${name}, which the program does not have`);
  return l;
}

/** What the TypeScript side says each traced step asked for, with nothing granted (no device here). */
function expected(p: Program, lines: TraceLine[]): Map<TraceLine, Record<string, unknown>> {
  const rngs = new Map<string, Rng>();
  const last = new Map<string, [number, number]>();
  const out = new Map<TraceLine, Record<string, unknown>>();
  for (const t of lines) {
    const lane = laneOf(p, t.lane);
    const rng = rngs.get(t.lane) ?? new Rng(p.seed, lane.rngStream);
    rngs.set(t.lane, rng);
    // steps run in order: a lane's trace is its program, one step after the other
    const prev = last.get(t.lane);
    const next = !prev ? [lane.fixedIteration ?? 0, 0] : prev[1] + 1 < lane.steps.length ? [prev[0], prev[1] + 1] : [prev[0] + 1, 0];
    expect([t.iter, t.step], `${p.name}: ${t.lane} ran out of order`).toEqual(next);
    last.set(t.lane, [t.iter, t.step]);
    const step = lane.steps[t.step]!;
    expect(t.op).toBe(step.op);
    const values = resolveStep(step, t.iter, rng);
    const facts: Record<string, unknown> = {};
    if (step.op === 'pcm.write' || step.op === 'pcm.read') facts.frames = transferFrames(values, null);
    if (step.op === 'pcm.sw_params') for (const k of ['avail_min', 'start_threshold', 'stop_threshold']) facts[k] = swValue(values[k]!, null);
    out.set(t, requestOf(values, facts as never));
  }
  return out;
}

/** The C trace carries a few facts the TypeScript values do not (and period_event, which no interpreter acts on, is not sent). */
function comparable(req: Record<string, unknown>): Record<string, unknown> {
  const { first: _f, preferred: _p, frame: _fr, period_event: _pe, ...rest } = req;
  return rest;
}

describe('C reproducers of every built-in preset', () => {
  const scenarios = builtinScenarios();

  it('covers the built-in presets the agent runs', () => {
    expect(scenarios.map((s) => s.name)).toEqual(expect.arrayContaining(['seq-pool-resize', 'dpcm-route-change', 'parallel-hw-params', 'stop-close-race', 'detach-while-open']));
  });

  it('a conformance sweep has no reproducer, and says why', () => {
    const sc = scenarios.find((s) => s.name === 'conformance')!;
    expect(() => reproC({ program: compileProgram(sc, { seed: 7 }), description: sc.description, origin: { kind: 'preset', preset: sc.name } })).toThrow(/pcm\.sweep is a conformance measurement/);
  });

  for (const sc of scenarios.filter((s) => s.name !== 'conformance')) {
    it.skipIf(!GCC)(`${sc.name}: compiles with -Wall -Wextra -Werror and issues the program's requests${GCC ? '' : ` (skipped: ${GCC_MISSING})`}`, () => {
      const program = compileProgram(sc, { seed: 7 });
      const c = reproC({ program, family: sc.family, description: sc.description, origin: { kind: 'preset', preset: sc.name } });
      const src = join(dir, `${sc.name}.c`);
      const bin = join(dir, sc.name);
      writeFileSync(src, c);
      gcc(src, bin);
      const r = spawnSync(bin, ['-d', '2', '-i', '3', '-T'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as TraceLine);
      const want = expected(program, lines);
      const differ: string[] = [];
      for (const t of lines) {
        const a = comparable(t.req);
        const b = comparable(want.get(t)!);
        if (canonical(a) !== canonical(b)) differ.push(`${t.lane} iteration ${t.iter} step ${t.step} ${t.op}: C ${canonical(a)} TS ${canonical(b)}`);
      }
      expect(differ.slice(0, 5)).toEqual([]);
      // not vacuous: every lane ran, setup and teardown included
      for (const l of [program.setup, ...program.lanes, program.teardown]) if (l.steps.length) expect(lines.some((t) => t.lane === l.name), `${sc.name}: lane ${l.name} ran`).toBe(true);
      expect(lines.filter((t) => t.iter >= 0).length).toBeGreaterThan(program.lanes.length);
    });
  }
});

describe('reproducer text', () => {
  const sc = parsePreset(
    `name: r\nfamily: seq-pool-resize\nsetup:\n  - seq.open: { handle: a }\nlanes:\n  - name: x\n    replicas: 2\n    loop:\n      - seq.send: { handle: a, to: "a:0", count: { random: [1, 4] } }\n      - jitter: { min: 20us, max: 200us }\n      - pcm.open: { handle: p, card: 0, subdevice: 1 }\n      - seq.read: { handle: a, fault: [true, false] }\n      - pcm.hw_params: { handle: p, period_size: { random: [64, 256] }, periods: [2, 4] }\n`,
    'r.yaml',
  ).scenario;
  const program = compileProgram(sc, { seed: 3 });

  it('writes each lane as a function of named calls, replicas sharing one, draws in program order', () => {
    const text = cProgram(program);
    expect(text).toContain('static void lane_x(struct lane *L)');
    expect(text).toContain('{ "x.0", lane_x, 0, 0, NULL }');
    expect(text).toContain('{ "x.1", lane_x, 0, 1, NULL }');
    expect(text).toContain('STEP(0) seq_send(L, H_A, TO_HANDLE(H_A, 0), draw(L, 1, 4), CONTROLLER, 12, 0);');
    expect(text).toContain('STEP(1) jitter(L, draw(L, 20 * US, 200 * US));');
    expect(text).toContain('STEP(2) pcm_open(L, H_P, CARD_NUM(0), 0, 1, PLAYBACK, BLOCKING);');
    expect(text).toContain('STEP(3) seq_read(L, H_A, 64 * SEQ_EV_SIZE, WAIT, fault_3[iter % 2]);');
    expect(text).toContain('static const int fault_3[] = { FAULT, NO_FAULT };');
    // a request with varying fields is a copy of the fixed part, fields set in draw order
    expect(text).toMatch(/struct hw_req r = lane_x_hw_4;\n\t*r\.period_size = draw\(L, 64, 256\);\n\t*r\.periods = periods_4\[iter % 2\];/);
    expect(text).toMatch(/static const struct hw_req lane_x_prefer_\d+ = \{ \.format = FORMAT\(S16_LE\), \.channels = 2, \.rate = 48000 \};/);
  });

  it('says what it reproduces, where it was seen, and how to build it', () => {
    const h = reproHeader({
      program,
      family: 'seq-pool-resize',
      origin: { kind: 'run', journal: '/runs/x/journal.jsonl', target: 'vm', profile: ['fixed'] },
      finding: { id: 'hang#1', type: 'hang', message: 'lane app: seq.set_client_pool did not complete', signature: 'hang:snd_seq_pool_done<-snd_seq_pool_delete<-snd_seq_fifo_resize' },
      kernel: { release: '6.1.0-54-amd64', package: 'linux-image-6.1.0-54-amd64', source_version: '6.1.190-1' },
      file: 'r.c',
    });
    expect(h).toContain('signature: hang:snd_seq_pool_done<-snd_seq_pool_delete<-snd_seq_fifo_resize');
    expect(h).toContain('kernel:    snd_seq_pool_done(), called from snd_seq_pool_delete <- snd_seq_fifo_resize');
    expect(h).toContain('Linux 6.1.0-54-amd64 (linux-image-6.1.0-54-amd64, Debian source 6.1.190-1), in the virtual lab');
    expect(h).toContain('seed 3');
    expect(h).toContain('gcc -O2 -Wall -Werror -pthread r.c -o r');
    expect(h.trimEnd().endsWith('*/')).toBe(true);
    expect(h.slice(2, -3)).not.toContain('*/');
  });

  it('lays buffers out as the program says: HOLD on a barrier whose members it lists, UNMAPPED_FROM, nothing for ordinary memory', () => {
    const w = parsePreset(
      `name: w\nsetup:\n  - seq.open: { handle: a }\nlanes:\n  - name: r\n    loop:\n      - seq.read: { handle: a, bytes: 28, hold: go }\n      - seq.send: { handle: a, to: "a:0", type: sysex, size: 40, hold: go, hold_from: 56 }\n      - seq.read: { handle: a, max: 2, unmapped_from: 30 }\n      - seq.read: a\n  - name: z\n    loop:\n      - sleep: 1ms\n  - name: x\n    loop:\n      - barrier: go\n`,
      'w.yaml',
    ).scenario;
    const text = cProgram(compileProgram(w, { seed: 1 }));
    expect(text).toContain('STEP(0) HOLD(B_GO, 0) seq_read(L, H_A, 1 * SEQ_EV_SIZE, WAIT, NO_FAULT);');
    expect(text).toContain('STEP(1) HOLD(B_GO, 56) seq_send(L, H_A, TO_HANDLE(H_A, 0), 1, SYSEX, 40, 0);');
    expect(text).toContain('STEP(2) UNMAPPED_FROM(30) seq_read(L, H_A, 2 * SEQ_EV_SIZE, WAIT, NO_FAULT);');
    expect(text).toContain('STEP(3) seq_read(L, H_A, 64 * SEQ_EV_SIZE, WAIT, NO_FAULT);');
    // lanes 0 (the holder) and 2 meet "go"; the reproducer checks userfaultfd before it starts
    expect(text).toContain('{ "go", 2, 0x5ull },');
    expect(text).toContain('.holds = 1,');
    expect(cProgram(compileProgram(sc, { seed: 1 }))).toContain('.holds = 0,');
  });

  it('refuses what a raw-ioctl program cannot do, saying why', () => {
    const lib = parsePreset(`name: l\nlanes:\n  - name: x\n    loop:\n      - pa.open: { handle: s }\n`, 'l.yaml').scenario;
    expect(() => cProgram(compileProgram(lib, { seed: 1 }))).toThrow(ReproError);
    expect(() => cProgram(compileProgram(lib, { seed: 1 }))).toThrow(/PortAudio\/RtMidi/);
  });

  it('carries the agent\'s rules and the runtime as they are in native-bridge/ (run node scripts/gen-repro-sources.js after editing them)', () => {
    expect(RULES_H).toBe(readFileSync(join(repoRoot(), 'native-bridge', 'agent', 'rules.h'), 'utf8'));
    expect(RUNTIME_C).toBe(readFileSync(join(repoRoot(), 'native-bridge', 'repro', 'runtime.c'), 'utf8'));
  });
});
