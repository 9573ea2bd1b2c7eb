// Scenario -> Program. Everything user space decides is decided here, once,
// for every interpreter: defaults (ops.ts), handle and barrier indexes, lane
// roles and iteration limits, each lane's generator stream.
import { opSpec } from '../vocabulary/ops.js';
import type { Scenario, Step } from '../vocabulary/scenario.js';
import { CompileError, PROGRAM_OPS, showsArgs, writtenArgs } from './ops.js';
import { PROGRAM_FORMAT, type HandleKind, type Program, type ProgramLane, type ProgramStep, type LaneRole } from './types.js';

export { CompileError };

export interface CompileOptions {
  seed: number;
  /** Budget, ns; defaults to the scenario's. */
  duration?: number;
}

/** Generator streams of the two pseudo-lanes (lanes use their index). */
export const SETUP_STREAM = 1000;
export const TEARDOWN_STREAM = 1001;

export function compileProgram(sc: Scenario, o: CompileOptions): Program {
  if (sc.suite) throw new CompileError(`${sc.name} is a suite: each of its presets compiles on its own`);
  const handles: { name: string; kind: HandleKind }[] = [];
  const index = new Map<string, number>();
  const all = [...sc.setup, ...sc.lanes.flatMap((l) => l.steps), ...sc.teardown];
  // Numbered in order of first appearance; the kind is the one the opening op gives.
  for (const s of all) {
    const spec = opSpec(s.op);
    if (!spec) throw new CompileError(`${s.at}: unknown op ${s.op}`);
    const h = s.args.handle;
    if (typeof h !== 'string' || !(spec.opens || spec.uses)) continue;
    if (!index.has(h)) {
      index.set(h, handles.length);
      handles.push({ name: h, kind: (spec.opens ?? spec.uses)! });
    }
    if (spec.opens) handles[index.get(h)!]!.kind = spec.opens;
  }
  const barriers = Object.entries(sc.barriers).map(([name, parties]) => ({ name, parties }));
  const barrierIndex = new Map(barriers.map((b, i) => [b.name, i]));

  const step = (s: Step): ProgramStep => {
    const compile = PROGRAM_OPS[s.op];
    const handleName = typeof s.args.handle === 'string' ? s.args.handle : undefined;
    const args = compile
      ? compile(s.args, {
          recover: sc.recover,
          handle: (name) => {
            const i = index.get(name);
            if (i === undefined) throw new CompileError(`${s.at}: ${name} names no handle`);
            return i;
          },
          barrier: (name) => {
            const i = barrierIndex.get(name);
            if (i === undefined) throw new CompileError(`${s.at}: barrier ${name} has no party count`);
            return i;
          },
          handleName,
          at: s.at,
        })
      : writtenArgs(s.args);
    const varies = Object.values(args).some((a) => 'list' in a || 'range' in a);
    return {
      op: s.op,
      handle: handleName !== undefined && index.has(handleName) ? index.get(handleName)! : -1,
      timeout: s.timeout ?? sc.expect.hangTimeout,
      args,
      recordArgs: varies || showsArgs(s.op),
      ...(s.expect !== undefined ? { expect: s.expect } : {}),
      at: s.at,
      ...(s.label !== undefined ? { label: s.label } : {}),
    };
  };
  const lane = (name: string, role: LaneRole, steps: Step[], iterations: number | null, stream: number): ProgramLane => ({
    name,
    role,
    iterations,
    fixedIteration: role === 'setup' ? -1 : role === 'teardown' ? -2 : null,
    rngStream: stream,
    steps: steps.map(step),
  });
  return {
    format: PROGRAM_FORMAT,
    name: sc.name,
    seed: o.seed >>> 0,
    duration: o.duration ?? sc.duration,
    hangTimeout: sc.expect.hangTimeout,
    handles,
    barriers,
    setup: lane('setup', 'setup', sc.setup, 1, SETUP_STREAM),
    // A lane's own iteration count wins over the preset's, which is the default for every lane.
    lanes: sc.lanes.map((l, i) => lane(l.name, 'lane', l.steps, l.iterations ?? sc.iterations ?? null, i)),
    teardown: lane('teardown', 'teardown', sc.teardown, 1, TEARDOWN_STREAM),
  };
}
