// A scenario: setup steps, lanes (threads) that loop over steps, teardown, and
// what the run must or must not see. This module turns an already-parsed
// document into a validated, normalized Scenario; preset-file.ts adds file
// positions to the errors.
import { type Issue, type Path, bool, describe, int, list, map, num, obj, oneOf, str, closest, transform } from './schema.js';
import { duration } from './duration.js';
import { OPS, OP_NAMES, type HandleKind, type OpSpec, checkExclusive, opSpec } from './ops.js';
import { checkLanePlacement } from './placement.js';
import { ERRNO_NAMES } from './errno.js';
import { ANCHOR_CRITERIA, type ConformanceCriteria } from '../api/conformance.js';

export const RACE_FAMILIES = ['seq-pool-resize', 'dpcm-route-change', 'parallel-hw-params', 'detach-while-open', 'stop-close-race'] as const;
export type RaceFamily = (typeof RACE_FAMILIES)[number];

export interface Step {
  op: string;
  args: Record<string, unknown>;
  /** errno names tolerated for this step, or 'any'. */
  expect?: string[] | 'any';
  timeout?: number;
  label?: string;
  /** Where the step was written, as a path inside the preset ("lanes[0].loop[2]"). */
  at: string;
}

export interface Lane {
  name: string;
  steps: Step[];
  iterations?: number;
}

export interface Thresholds {
  xruns?: number;
  latency_p99?: number;
  ioctl_p99?: number;
  wakeup_late_p99?: number;
  /** Application lane: glitches allowed in a looped-back sine. */
  glitches?: number;
  /** Application lane: MIDI send-to-receive latency bound (p99 of the per-receive medians). */
  midi_latency_p99?: number;
  /** Time the streams spent stopped by xruns before recovery made them ready again, summed, ns. */
  xrun_time_lost?: number;
}

/** What a conformance sweep (pcm.sweep) must show for a configuration to pass (app/api/conformance.ts). */
export { type ConformanceCriteria, ANCHOR_CRITERIA as DEFAULT_CONFORMANCE };

export type StopOn = 'first' | 'critical' | 'never';

export interface Expectations {
  errnos: Record<string, string[]>;
  hangTimeout: number;
  thresholds: Thresholds;
  stopOn: StopOn;
  /** Kernel log lines matching these regular expressions are not findings. */
  klogIgnore: string[];
  conformance: ConformanceCriteria;
}

export interface SimOptions {
  /** Kernel profile that shows this scenario's historic bug (used by demo and the UI's "bug on" switch). */
  bugProfile?: string[];
  strategy?: 'pct' | 'random';
  depth?: number;
  quantum?: number;
}

export interface SuiteEntry {
  preset: string;
  profile?: string[];
  duration?: number;
}

export interface Scenario {
  name: string;
  description: string;
  family?: RaceFamily;
  duration: number;
  iterations?: number;
  /**
   * Transfers recover from xruns and suspends as alsa-lib's snd_pcm_recover()
   * does (app/program/README.md, rule "xrun recovery"); a step may say
   * otherwise with its own `recover`. Default true: what a real application
   * does. The race presets turn it off: their schedules are the point.
   */
  recover: boolean;
  setup: Step[];
  lanes: Lane[];
  teardown: Step[];
  expect: Expectations;
  sim: SimOptions;
  /** A suite runs other presets one after another (the demo). */
  suite?: SuiteEntry[];
  /** Barrier name -> number of parties. */
  barriers: Record<string, number>;
}

export const DEFAULT_HANG_TIMEOUT = 5e9;

const anyValue = { expected: 'a value', check: (v: unknown) => v };
const stepList = list(anyValue, {});

const topLevel = obj(
  { name: str({ pattern: /^[a-z0-9][a-z0-9-]{0,63}$/, expected: 'a preset name (lowercase letters, digits, -)' }) },
  {
    description: str({ maxLength: 4000 }),
    family: oneOf(RACE_FAMILIES, 'a race family, one of'),
    duration: duration({ min: 1e6, max: 7 * 24 * 3600e9 }),
    iterations: int({ min: 1, max: 1e9 }),
    recover: bool,
    setup: stepList,
    lanes: list(anyValue, { min: 1, max: 64 }),
    teardown: stepList,
    expect: anyValue,
    sim: obj({}, {
      bug_profile: list(str({ pattern: /^[a-z0-9-]+$/, expected: 'a profile name' }), { min: 1 }),
      strategy: oneOf(['pct', 'random'] as const),
      depth: int({ min: 1, max: 10 }),
      quantum: duration({ min: 1, max: 1e9 }),
    }),
    suite: list(obj({ preset: str({ pattern: /^[a-z0-9][a-z0-9-]*$/, expected: 'a preset name' }) }, {
      profile: list(str({ pattern: /^[a-z0-9-]+$/, expected: 'a profile name' }), { min: 1 }),
      duration: duration({ min: 1e6 }),
    }), { min: 1, max: 32 }),
  },
  'a preset',
);

const laneSchema = obj(
  { name: str({ pattern: /^[A-Za-z_][A-Za-z0-9_-]{0,31}$/, expected: 'a lane name' }), loop: list(anyValue, { min: 1, max: 256 }) },
  { replicas: int({ min: 1, max: 32 }), iterations: int({ min: 1, max: 1e9 }) },
  'a lane',
);

const errnoNameS = str({ pattern: /^E[A-Z0-9]+$/, expected: 'an errno name' });
export const THRESHOLD_NAMES = ['xruns', 'latency_p99', 'ioctl_p99', 'wakeup_late_p99', 'glitches', 'midi_latency_p99', 'xrun_time_lost'] as const;
const thresholdsSchema = obj({}, {
  xruns: int({ min: 0 }),
  latency_p99: duration({}),
  ioctl_p99: duration({}),
  wakeup_late_p99: duration({}),
  glitches: int({ min: 0 }),
  midi_latency_p99: duration({}),
  xrun_time_lost: duration({}),
});
const expectSchema = obj({}, {
  errnos: map(list(errnoNameS)),
  hang_timeout: duration({ min: 1e6, max: 3600e9 }),
  thresholds: thresholdsSchema,
  stop_on: oneOf(['first', 'critical', 'never'] as const),
  conformance: obj({}, {
    rate_tolerance: num({ min: 0, max: 100, unit: 'percent' }),
    rate_error: num({ min: 0, max: 1e9, unit: 'frames' }),
    jitter: duration({}),
  }),
  klog_ignore: list(transform(str({ maxLength: 200 }), (p, path, issues) => {
    try {
      new RegExp(p);
      return p;
    } catch (e) {
      issues.push({ path, message: `not a valid regular expression: ${(e as Error).message}` });
      return undefined;
    }
  }, 'a regular expression')),
}, 'expectations');

function checkErrnoList(names: string[], path: Path, issues: Issue[]): void {
  names.forEach((n, i) => {
    if (n !== 'any' && !(ERRNO_NAMES as string[]).includes(n)) {
      const near = closest(n, ERRNO_NAMES);
      issues.push({ path: [...path, i], message: `unknown errno "${n}"${near ? ` (did you mean "${near}"?)` : ''}` });
    }
  });
}

function parseStep(raw: unknown, path: Path, issues: Issue[]): Step | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path, message: `expected a step written as "op: arguments" (e.g. "pcm.prepare: pcm"), got ${describe(raw)}` });
    return undefined;
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    issues.push({ path, message: `expected exactly one op per step, got ${keys.length ? keys.join(', ') : 'none'}` });
    return undefined;
  }
  const op = keys[0]!;
  const s = opSpec(op);
  if (!s) {
    const near = closest(op, OP_NAMES);
    issues.push({ path: [...path, op], message: `unknown op "${op}"${near ? ` (did you mean "${near}"?)` : ''}; see \`stresslab ops\`` });
    return undefined;
  }
  let argv = (raw as Record<string, unknown>)[op];
  if (argv === null || argv === undefined) argv = {};
  if (typeof argv !== 'object' || Array.isArray(argv)) {
    if (!s.shorthand) {
      issues.push({ path: [...path, op], message: `expected the arguments of ${op} as a map, got ${describe(argv)}` });
      return undefined;
    }
    argv = { [s.shorthand]: argv };
  }
  const before = issues.length;
  const args = s.args.check(argv, [...path, op], issues);
  if (!args || issues.length !== before) return undefined;
  checkExclusive(s, args, [...path, op], issues);
  const { expect, timeout, label, ...opArgs } = args as Record<string, unknown> & { expect?: string[]; timeout?: number; label?: string };
  if (expect) checkErrnoList(expect, [...path, op, 'expect'], issues);
  return {
    op,
    args: opArgs,
    ...(expect ? { expect: expect.includes('any') ? ('any' as const) : expect } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(label !== undefined ? { label } : {}),
    at: pathText(path),
  };
}

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
}

function parseSteps(raw: unknown, path: Path, issues: Issue[]): Step[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.push({ path, message: `expected a list of steps, got ${describe(raw)}` });
    return [];
  }
  const out: Step[] = [];
  raw.forEach((r, i) => {
    const s = parseStep(r, [...path, i], issues);
    if (s) out.push(s);
  });
  return out;
}

export interface ValidationResult {
  scenario?: Scenario;
  issues: Issue[];
}

export function validateScenario(raw: unknown): ValidationResult {
  const issues: Issue[] = [];
  const top = topLevel.check(raw, [], issues);
  if (!top) return { issues };
  const rec = raw as Record<string, unknown>;

  if (top.suite) {
    for (const k of ['setup', 'lanes', 'teardown'] as const)
      if (rec[k] !== undefined) issues.push({ path: [k], message: `a suite preset runs other presets and cannot have "${k}"` });
    return issues.length
      ? { issues }
      : {
          issues,
          scenario: {
            name: top.name,
            description: top.description ?? '',
            duration: top.duration ?? 0,
            setup: [],
            lanes: [],
            teardown: [],
            recover: true,
            expect: { errnos: {}, hangTimeout: DEFAULT_HANG_TIMEOUT, thresholds: {}, stopOn: 'critical', klogIgnore: [], conformance: { ...ANCHOR_CRITERIA } },
            sim: {},
            suite: top.suite.map((e) => ({ preset: e.preset, ...(e.profile ? { profile: e.profile } : {}), ...(e.duration ? { duration: e.duration } : {}) })),
            barriers: {},
          },
        };
  }
  if (!top.lanes) {
    issues.push({ path: ['lanes'], message: 'missing required key "lanes" (a list of lanes), or "suite" for a suite preset' });
    return { issues };
  }

  const setup = parseSteps(rec.setup, ['setup'], issues);
  const teardown = parseSteps(rec.teardown, ['teardown'], issues);
  const lanes: Lane[] = [];
  const laneNames = new Set<string>();
  (rec.lanes as unknown[]).forEach((rl, i) => {
    const l = laneSchema.check(rl, ['lanes', i], issues);
    if (!l) return;
    const steps = parseSteps(l.loop, ['lanes', i, 'loop'], issues);
    const n = l.replicas ?? 1;
    for (let r = 0; r < n; r++) {
      const name = n > 1 ? `${l.name}.${r}` : l.name;
      if (laneNames.has(name)) issues.push({ path: ['lanes', i, 'name'], message: `duplicate lane name "${name}"` });
      laneNames.add(name);
      lanes.push({ name, steps, ...(l.iterations ? { iterations: l.iterations } : {}) });
    }
  });

  const ex = rec.expect === undefined ? {} : expectSchema.check(rec.expect, ['expect'], issues);
  if (ex?.errnos) {
    for (const [op, names] of Object.entries(ex.errnos)) {
      if (!opSpec(op)) issues.push({ path: ['expect', 'errnos', op], message: `unknown op "${op}"${closest(op, OP_NAMES) ? ` (did you mean "${closest(op, OP_NAMES)}"?)` : ''}` });
      checkErrnoList(names, ['expect', 'errnos', op], issues);
    }
  }

  // Cross-references: handles must be opened with the right kind before use,
  // and barriers may only appear in lanes (setup has nobody to meet).
  const handleKinds = new Map<string, HandleKind>();
  const all: Step[] = [...setup, ...lanes.flatMap((l) => l.steps), ...teardown];
  for (const s of all) {
    const sp = opSpec(s.op)!;
    if (sp.opens) {
      const h = s.args.handle as string;
      const prev = handleKinds.get(h);
      if (prev && prev !== sp.opens) issues.push({ path: stepPath(s), message: `handle "${h}" is opened as ${prev} elsewhere and as ${sp.opens} here` });
      handleKinds.set(h, sp.opens);
    }
  }
  for (const s of all) {
    const sp = opSpec(s.op)!;
    if (sp.uses && !sp.opens) {
      const h = s.args.handle as string;
      const kind = handleKinds.get(h);
      if (!kind) issues.push({ path: [...stepPath(s), s.op, 'handle'], message: `handle "${h}" is never opened (no ${sp.uses}.open with handle: ${h})` });
      else if (kind !== sp.uses) issues.push({ path: [...stepPath(s), s.op, 'handle'], message: `${s.op} needs a ${sp.uses} handle but "${h}" is a ${kind} handle` });
    }
    if (s.op === 'seq.subscribe' || s.op === 'seq.send') {
      for (const key of ['sender', 'dest', 'to'] as const) {
        const a = s.args[key];
        if (typeof a !== 'string') continue;
        const m = /^([A-Za-z_][A-Za-z0-9_-]*)(:\d+)?$/.exec(a);
        if (m && m[1] !== 'self' && m[1] !== 'subscribers' && handleKinds.get(m[1]!) !== 'seq')
          issues.push({ path: [...stepPath(s), s.op, key], message: `"${a}" names handle "${m[1]}", which is not an opened sequencer handle` });
      }
    }
  }
  checkLanePlacement(setup, lanes, teardown, issues);
  for (const s of [...setup, ...teardown]) {
    if (s.op === 'barrier') issues.push({ path: stepPath(s), message: 'barriers only make sense inside lanes' });
  }
  const barriers: Record<string, number> = {};
  const users = new Map<string, number>();
  for (const l of lanes) {
    const names = new Set(l.steps.filter((s) => s.op === 'barrier').map((s) => s.args.name as string));
    for (const n of names) users.set(n, (users.get(n) ?? 0) + 1);
  }
  for (const l of lanes)
    for (const s of l.steps)
      if (s.op === 'barrier') {
        const n = s.args.name as string;
        const explicit = s.args.parties as number | undefined;
        const p = explicit ?? users.get(n)!;
        if (barriers[n] !== undefined && barriers[n] !== p) issues.push({ path: stepPath(s), message: `barrier "${n}" is given ${p} parties here and ${barriers[n]} elsewhere` });
        if (p > lanes.length) issues.push({ path: stepPath(s), message: `barrier "${n}" waits for ${p} parties but the scenario has only ${lanes.length} lanes` });
        barriers[n] = p;
      }

  if (issues.length) return { issues };
  const sim = top.sim ?? {};
  return {
    issues,
    scenario: {
      name: top.name,
      description: top.description ?? '',
      ...(top.family ? { family: top.family } : {}),
      duration: top.duration ?? 10e9,
      ...(top.iterations ? { iterations: top.iterations } : {}),
      recover: top.recover ?? true,
      setup,
      lanes,
      teardown,
      expect: {
        errnos: ex?.errnos ?? {},
        hangTimeout: ex?.hang_timeout ?? DEFAULT_HANG_TIMEOUT,
        thresholds: (ex?.thresholds ?? {}) as Thresholds,
        stopOn: ex?.stop_on ?? 'critical',
        klogIgnore: ex?.klog_ignore ?? [],
        conformance: {
          rateTolerancePct: ex?.conformance?.rate_tolerance ?? ANCHOR_CRITERIA.rateTolerancePct,
          rateError: ex?.conformance?.rate_error ?? ANCHOR_CRITERIA.rateError,
          ...(ex?.conformance?.jitter !== undefined ? { jitter: ex.conformance.jitter } : {}),
        },
      },
      sim: {
        ...(sim.bug_profile ? { bugProfile: sim.bug_profile } : {}),
        ...(sim.strategy ? { strategy: sim.strategy } : {}),
        ...(sim.depth ? { depth: sim.depth } : {}),
        ...(sim.quantum ? { quantum: sim.quantum } : {}),
      },
      barriers,
    },
  };
}

/** Turn a step's "at" string back into a path for error positions. */
export function stepPath(s: Step): Path {
  const out: (string | number)[] = [];
  for (const m of s.at.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)) out.push(m[1] ?? Number(m[2]));
  return out;
}

export function allSteps(sc: Scenario): Step[] {
  return [...sc.setup, ...sc.lanes.flatMap((l) => l.steps), ...sc.teardown];
}

export { OPS, type OpSpec };

/** Thresholds that are counts; the others are durations. */
const COUNT_THRESHOLDS = new Set(['xruns', 'glitches']);

/**
 * Thresholds changed for one run (the app's run settings, `stresslab run
 * --threshold`), checked by the preset's own schema so a value is refused
 * with the words a preset file would get. Values are written as in a preset
 * ("50ms", 0); a number-like text is a number; null or "" removes the
 * threshold.
 */
export function overrideThresholds(base: Thresholds, raw: Record<string, string | number | null>): { thresholds?: Thresholds; issues: Issue[] } {
  const issues: Issue[] = [];
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) merged[k] = COUNT_THRESHOLDS.has(k) ? v : `${v}ns`;
  for (const [k, v] of Object.entries(raw)) {
    if (!(THRESHOLD_NAMES as readonly string[]).includes(k)) {
      issues.push({ path: ['expect', 'thresholds', k], message: `unknown threshold; known: ${THRESHOLD_NAMES.join(', ')}` });
      continue;
    }
    if (v === null || (typeof v === 'string' && !v.trim())) delete merged[k];
    else merged[k] = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) && COUNT_THRESHOLDS.has(k) ? Number(v) : typeof v === 'string' ? v.trim() : v;
  }
  if (issues.length) return { issues };
  const thresholds = thresholdsSchema.check(merged, ['expect', 'thresholds'], issues) as Thresholds | undefined;
  return issues.length || !thresholds ? { issues } : { thresholds, issues };
}
