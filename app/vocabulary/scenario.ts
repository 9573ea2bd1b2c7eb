// A scenario: setup steps, lanes (threads) that loop over steps, teardown, and
// what the run must or must not see. This module turns an already-parsed
// document into a validated, normalized Scenario; preset-file.ts adds file
// positions to the errors.
import { type Issue, type Path, bool, describe, encodeWith, int, list, map, num, obj, oneOf, str, closest, transform } from './schema.js';
import { duration } from './duration.js';
import { OPS, OP_NAMES, type HandleKind, type OpSpec, checkExclusive, opSpec } from './ops.js';
import { checkLanePlacement } from './placement.js';
import { ERRNO_NAMES } from './errno.js';
import { type HardwareNeeds, REQUIRES_EXPECTED, checkRequires, checkRequiresAgainstSteps } from './hardware.js';
import { compilePattern } from './safe-pattern.js';
import { size } from './size.js';
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
  /**
   * Stand-ins: a card id the preset names (written for the virtual lab or a
   * machine) → the simulated machine's card that plays its part ("Audio" →
   * "SimUSB"). Only the simulator reads it.
   */
  cards?: Record<string, string>;
}

/** Bounded journal (the preset's `journal:`): see app/journal/README.md. */
export interface JournalLimits {
  /** The journal file never grows past this many bytes. */
  maxBytes: number;
  /** From this size on, repetitive events are sampled (default half of maxBytes). */
  sampleAfter: number;
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
  /** Barrier name -> number of parties (only own entries count: a barrier may be called "constructor"). */
  barriers: Record<string, number>;
  /** The hardware the preset needs (`requires:`); targets map it or refuse (app/targets/hardware.ts). */
  requires?: HardwareNeeds;
  /** The preset this one adapts to other hardware (`variant_of:`): listed under it, offered when it cannot run. */
  variantOf?: string;
  journal?: JournalLimits;
}

export const DEFAULT_HANG_TIMEOUT = 5e9;
/**
 * Lanes a scenario may have once replicas are expanded. What the simulated
 * kernel runs comfortably within a budget (64 busy lanes: ~0.5 s of wall time
 * per 5 ms of virtual time); real targets run one thread per lane.
 */
export const MAX_LANES = 64;
/** The longest budget a preset or a suite entry may ask for (a week). */
export const MAX_DURATION = 7 * 24 * 3600e9;
const MAX_STEPS = 1024;

const anyValue = { expected: 'a value', check: (v: unknown) => v };
const stepList = list(anyValue, { max: 1024 });

const topLevel = obj(
  { name: str({ pattern: /^[a-z0-9][a-z0-9-]{0,63}$/, expected: 'a preset name (lowercase letters, digits, -)' }) },
  {
    description: str({ maxLength: 4000 }),
    family: oneOf(RACE_FAMILIES, 'a race family, one of'),
    duration: duration({ min: 1e6, max: MAX_DURATION }),
    iterations: int({ min: 1, max: 1e9 }),
    recover: bool,
    setup: stepList,
    lanes: list(anyValue, { min: 1, max: MAX_LANES }),
    teardown: stepList,
    expect: anyValue,
    sim: obj({}, {
      bug_profile: list(str({ pattern: /^[a-z0-9-]+$/, expected: 'a profile name' }), { min: 1 }),
      strategy: oneOf(['pct', 'random'] as const),
      depth: int({ min: 1, max: 10 }),
      quantum: duration({ min: 1, max: 1e9 }),
      cards: map(str({ pattern: /^[A-Za-z0-9_ -]{1,32}$/, expected: 'a card id of the simulated machine (Dummy, SimSoC, SimUSB, Loopback)' })),
    }),
    // checked with the steps (checkRequires), so its problems come in the same pass as theirs
    requires: { expected: REQUIRES_EXPECTED, check: (v: unknown) => v },
    variant_of: str({ pattern: /^[a-z0-9][a-z0-9-]{0,63}$/, expected: 'the name of the preset this one is a variant of' }),
    suite: list(obj({ preset: str({ pattern: /^[a-z0-9][a-z0-9-]*$/, expected: 'a preset name' }) }, {
      profile: list(str({ pattern: /^[a-z0-9-]+$/, expected: 'a profile name' }), { min: 1 }),
      duration: duration({ min: 1e6, max: MAX_DURATION }),
    }), { min: 1, max: 32 }),
    journal: obj({ max_size: size({ min: 1e6, max: 2 ** 40 }) }, { sample_after: size({ min: 0, max: 2 ** 40 }) }, 'journal limits'),
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
  xruns: int({ min: 0, max: 1e12 }),
  latency_p99: duration({ max: 3600e9 }),
  ioctl_p99: duration({ max: 3600e9 }),
  wakeup_late_p99: duration({ max: 3600e9 }),
  glitches: int({ min: 0, max: 1e12 }),
  midi_latency_p99: duration({ max: 3600e9 }),
  xrun_time_lost: duration({ max: 3600e9 }),
});
const expectSchema = obj({}, {
  errnos: map(list(errnoNameS)),
  hang_timeout: duration({ min: 1e6, max: 3600e9 }),
  thresholds: thresholdsSchema,
  stop_on: oneOf(['first', 'critical', 'never'] as const),
  conformance: obj({}, {
    rate_tolerance: num({ min: 0, max: 100, unit: 'percent' }),
    rate_error: num({ min: 0, max: 1e9, unit: 'frames' }),
    jitter: duration({ max: 3600e9 }),
  }),
  // Matched in linear time (safe-pattern.ts): a pattern can never stall a run.
  klog_ignore: list(transform(str({ maxLength: 200 }), (p, path, issues) => {
    try {
      compilePattern(p);
      return p;
    } catch (e) {
      issues.push({ path, message: (e as Error).message });
      return undefined;
    }
  }, 'a regular expression'), { max: 32 }),
}, 'expectations');

function checkErrnoList(names: string[], path: Path, issues: Issue[]): void {
  names.forEach((n, i) => {
    // A name not even shaped like one has been reported by its schema.
    if (n !== 'any' && /^E[A-Z0-9]+$/.test(n) && !(ERRNO_NAMES as string[]).includes(n)) {
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

/**
 * Validates a parsed preset and reports every problem in one pass: a bad
 * top-level key does not hide a bad step, nor a bad lane key its loop.
 */
export function validateScenario(raw: unknown): ValidationResult {
  const issues: Issue[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path: [], message: `expected a preset (a map with keys name, lanes, ...), got ${describe(raw)}` });
    return { issues };
  }
  const top = topLevel.check(raw, [], issues);
  const rec = raw as Record<string, unknown>;

  if (rec.suite !== undefined && rec.suite !== null) {
    for (const k of ['setup', 'lanes', 'teardown', 'requires', 'variant_of'] as const)
      if (rec[k] !== undefined) issues.push({ path: [k], message: `a suite preset runs other presets and cannot have "${k}"` });
    if (!top?.suite || issues.length) return { issues };
    return {
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
        ...(top.journal ? { journal: journalLimits(top.journal) } : {}),
      },
    };
  }
  if (rec.lanes === undefined || rec.lanes === null) issues.push({ path: ['lanes'], message: 'missing required key "lanes" (a list of lanes), or "suite" for a suite preset' });

  // Step lists are parsed whatever the top level said (it has reported a list that is not one).
  const setup = Array.isArray(rec.setup) ? parseSteps(rec.setup.slice(0, MAX_STEPS), ['setup'], issues) : [];
  const teardown = Array.isArray(rec.teardown) ? parseSteps(rec.teardown.slice(0, MAX_STEPS), ['teardown'], issues) : [];
  const lanes: Lane[] = [];
  const laneNames = new Set<string>();
  let declared = 0;
  (Array.isArray(rec.lanes) ? rec.lanes.slice(0, MAX_LANES) : []).forEach((rl, i) => {
    const l = laneSchema.check(rl, ['lanes', i], issues);
    const r = typeof rl === 'object' && rl !== null && !Array.isArray(rl) ? (rl as Record<string, unknown>) : undefined;
    const steps = r && Array.isArray(r.loop) ? parseSteps(r.loop.slice(0, 256), ['lanes', i, 'loop'], issues) : [];
    const n = l?.replicas ?? (typeof r?.replicas === 'number' && Number.isInteger(r.replicas) && r.replicas > 0 ? r.replicas : 1);
    declared += n;
    if (!l) return;
    for (let k = 0; k < n && lanes.length < MAX_LANES; k++) {
      const name = n > 1 ? `${l.name}.${k}` : l.name;
      if (laneNames.has(name)) issues.push({ path: ['lanes', i, 'name'], message: `duplicate lane name "${name}"` });
      laneNames.add(name);
      lanes.push({ name, steps, ...(l.iterations ? { iterations: l.iterations } : {}) });
    }
  });
  if (declared > MAX_LANES) issues.push({ path: ['lanes'], message: `${declared} lanes once replicas are counted; at most ${MAX_LANES}` });

  const ex = rec.expect === undefined ? {} : expectSchema.check(rec.expect, ['expect'], issues);
  // Op names in expect.errnos are checked even when another expectation is wrong.
  const rawErrnos = typeof rec.expect === 'object' && rec.expect !== null ? (rec.expect as Record<string, unknown>).errnos : undefined;
  if (typeof rawErrnos === 'object' && rawErrnos !== null && !Array.isArray(rawErrnos)) {
    for (const [op, names] of Object.entries(rawErrnos)) {
      if (!opSpec(op)) issues.push({ path: ['expect', 'errnos', op], message: `unknown op "${op}"${closest(op, OP_NAMES) ? ` (did you mean "${closest(op, OP_NAMES)}"?)` : ''}` });
      if (Array.isArray(names) && names.every((x) => typeof x === 'string')) checkErrnoList(names, ['expect', 'errnos', op], issues);
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
  const reported = new Set<string>();
  const once = (i: Issue) => {
    const key = `${i.path.join('.')}\u0000${i.message}`;
    if (!reported.has(key)) issues.push(i);
    reported.add(key);
  };
  for (const s of all) {
    const sp = opSpec(s.op)!;
    if (sp.uses && !sp.opens) {
      const h = s.args.handle as string;
      const kind = handleKinds.get(h);
      if (!kind) once({ path: [...stepPath(s), s.op, 'handle'], message: `handle "${h}" is never opened (no ${sp.uses}.open with handle: ${h})` });
      else if (kind !== sp.uses) once({ path: [...stepPath(s), s.op, 'handle'], message: `${s.op} needs a ${sp.uses} handle but "${h}" is a ${kind} handle` });
    }
    if (s.op === 'seq.subscribe' || s.op === 'seq.send') {
      for (const key of ['sender', 'dest', 'to'] as const) {
        const a = s.args[key];
        if (typeof a !== 'string') continue;
        const m = /^([A-Za-z_][A-Za-z0-9_-]*)(:\d+)?$/.exec(a);
        if (m && m[1] !== 'self' && m[1] !== 'subscribers' && handleKinds.get(m[1]!) !== 'seq')
          once({ path: [...stepPath(s), s.op, key], message: `"${a}" names handle "${m[1]}", which is not an opened sequencer handle` });
      }
    }
  }
  checkLanePlacement(setup, lanes, teardown, issues);
  const requires = rec.requires === undefined ? undefined : checkRequires(rec.requires, ['requires'], issues);
  if (requires) checkRequiresAgainstSteps(requires, all, issues);
  if (top?.variant_of !== undefined && top.variant_of === top.name) issues.push({ path: ['variant_of'], message: 'a preset cannot be a variant of itself' });
  for (const s of [...setup, ...teardown]) {
    if (s.op === 'barrier') issues.push({ path: stepPath(s), message: 'barriers only make sense inside lanes' });
    if (s.args.hold !== undefined) issues.push({ path: [...stepPath(s), s.op, 'hold'], message: 'a held buffer waits at a barrier, and barriers only make sense inside lanes' });
  }
  // Name tables are keyed by what the preset says: only own entries count.
  const barriers: Record<string, number> = {};
  const users = new Map<string, number>();
  // A lane that holds a buffer on a barrier is one of its parties: its fault handler meets it.
  const metBy = (s: Step): string | undefined => (s.op === 'barrier' ? (s.args.name as string) : typeof s.args.hold === 'string' ? s.args.hold : undefined);
  for (const l of lanes) {
    const names = new Set(l.steps.map(metBy).filter((n): n is string => n !== undefined));
    for (const n of names) users.set(n, (users.get(n) ?? 0) + 1);
  }
  for (const l of lanes)
    for (const s of l.steps) {
      const n = typeof s.args.hold === 'string' ? s.args.hold : undefined;
      if (n === undefined) continue;
      if ((users.get(n) ?? 0) < 2) issues.push({ path: [...stepPath(s), s.op, 'hold'], message: `barrier "${n}" is met by no other lane: nothing would release the held buffer (add "barrier: ${n}" to the lane that races with it)` });
      else barriers[n] ??= users.get(n)!;
    }
  for (const l of lanes)
    for (const s of l.steps)
      if (s.op === 'barrier') {
        const n = s.args.name as string;
        const explicit = s.args.parties as number | undefined;
        const p = explicit ?? users.get(n)!;
        if (Object.hasOwn(barriers, n) && barriers[n] !== p) once({ path: stepPath(s), message: `barrier "${n}" is given ${p} parties here and ${barriers[n]} elsewhere` });
        if (p > lanes.length) once({ path: stepPath(s), message: `barrier "${n}" waits for ${p} parties but the scenario has only ${lanes.length} lanes` });
        Object.defineProperty(barriers, n, { value: p, enumerable: true, writable: true, configurable: true });
      }
  if (top?.journal && top.journal.sample_after !== undefined && top.journal.sample_after > top.journal.max_size)
    issues.push({ path: ['journal', 'sample_after'], message: 'sample_after is larger than max_size' });

  if (issues.length || !top) return { issues };
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
        ...(sim.cards ? { cards: sim.cards } : {}),
      },
      barriers,
      ...(requires ? { requires } : {}),
      ...(top.variant_of ? { variantOf: top.variant_of } : {}),
      ...(top.journal ? { journal: journalLimits(top.journal) } : {}),
    },
  };
}

function journalLimits(j: { max_size: number; sample_after?: number }): JournalLimits {
  return { maxBytes: j.max_size, sampleAfter: j.sample_after ?? Math.floor(j.max_size / 2) };
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

/** A step back in the form a preset writes it. */
function stepOf(s: Step): Record<string, unknown> {
  const spec = opSpec(s.op);
  if (!spec) throw new Error(`unknown op "${s.op}"`);
  const args: Record<string, unknown> = { ...s.args };
  if (s.expect !== undefined) args.expect = s.expect === 'any' ? ['any'] : s.expect;
  if (s.timeout !== undefined) args.timeout = s.timeout;
  if (s.label !== undefined) args.label = s.label;
  return { [s.op]: encodeWith(spec.args, args) };
}

/**
 * A checked scenario back in preset form: what validateScenario turns into
 * this very scenario. Replicated lanes ("x.0", "x.1", ...) become one lane
 * with replicas again (a lane name cannot contain a dot, so only replicas do).
 */
export function presetOf(sc: Scenario): Record<string, unknown> {
  const out: Record<string, unknown> = { name: sc.name, description: sc.description };
  if (sc.family) out.family = sc.family;
  if (sc.suite) {
    if (sc.duration) out.duration = encodeWith(duration(), sc.duration);
    out.suite = sc.suite.map((e) => ({ preset: e.preset, ...(e.profile ? { profile: e.profile } : {}), ...(e.duration !== undefined ? { duration: encodeWith(duration(), e.duration) } : {}) }));
  } else {
    out.duration = encodeWith(duration(), sc.duration);
    if (sc.iterations !== undefined) out.iterations = sc.iterations;
    if (!sc.recover) out.recover = false;
    if (sc.setup.length) out.setup = sc.setup.map(stepOf);
    const lanes: Record<string, unknown>[] = [];
    for (let i = 0; i < sc.lanes.length; ) {
      const l = sc.lanes[i]!;
      const m = /^(.*)\.(\d+)$/.exec(l.name);
      let n = 1;
      if (m && m[2] === '0') while (i + n < sc.lanes.length && sc.lanes[i + n]!.name === `${m[1]}.${n}`) n++;
      lanes.push({ name: n > 1 || m ? m![1] : l.name, ...(n > 1 || m ? { replicas: n } : {}), ...(l.iterations !== undefined ? { iterations: l.iterations } : {}), loop: l.steps.map(stepOf) });
      i += n;
    }
    out.lanes = lanes;
    if (sc.teardown.length) out.teardown = sc.teardown.map(stepOf);
    const e = sc.expect;
    const c = e.conformance;
    const conformance = c && (c.rateTolerancePct !== ANCHOR_CRITERIA.rateTolerancePct || c.rateError !== ANCHOR_CRITERIA.rateError || c.jitter !== undefined)
      ? { conformance: { rate_tolerance: c.rateTolerancePct, rate_error: c.rateError, ...(c.jitter !== undefined ? { jitter: c.jitter } : {}) } }
      : {};
    out.expect = encodeWith(expectSchema, { errnos: e.errnos, hang_timeout: e.hangTimeout, thresholds: e.thresholds, stop_on: e.stopOn, klog_ignore: e.klogIgnore, ...conformance });
    const sim: Record<string, unknown> = {};
    if (sc.sim.bugProfile) sim.bug_profile = sc.sim.bugProfile;
    if (sc.sim.strategy) sim.strategy = sc.sim.strategy;
    if (sc.sim.depth !== undefined) sim.depth = sc.sim.depth;
    if (sc.sim.quantum !== undefined) sim.quantum = encodeWith(duration(), sc.sim.quantum);
    if (Object.keys(sim).length) out.sim = sim;
    if (sc.requires) {
      const r = sc.requires;
      out.requires = {
        cards: r.cards.map((c) => ({ card: c.card, kind: c.kind, ...(c.streams.length ? { streams: c.streams } : {}), ...(c.subdevices !== undefined ? { subdevices: c.subdevices } : {}), ...(c.controls.length ? { controls: c.controls } : {}) })),
        ...(r.sequencer ? { sequencer: r.sequencer.ports.length ? { ports: r.sequencer.ports } : true } : {}),
      };
    }
    if (sc.variantOf) out.variant_of = sc.variantOf;
  }
  if (sc.journal) out.journal = { max_size: `${sc.journal.maxBytes}B`, sample_after: `${sc.journal.sampleAfter}B` };
  return out;
}

/**
 * A scenario that did not come from a preset file (a journal's header, a
 * message from a worker) checked exactly as a preset is: put back in preset
 * form, validated, and required to come out as the very same scenario.
 * Returns the validated scenario, or the problems.
 */
export function checkScenarioValue(value: unknown): ValidationResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { issues: [{ path: [], message: `expected a scenario, got ${describe(value)}` }] };
  let raw: Record<string, unknown>;
  try {
    raw = presetOf(value as Scenario);
  } catch (e) {
    return { issues: [{ path: [], message: `not a scenario: ${(e as Error).message}` }] };
  }
  const r = validateScenario(raw);
  if (!r.scenario) return r;
  if (canonicalJson(r.scenario) !== canonicalJson(value)) return { issues: [{ path: [], message: 'the scenario is not one a preset validates to (fields were added, removed or changed)' }] };
  return r;
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

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
/** The preset file's schemas, for the generated reference (app/reference/vocabulary.ts). */
export const PRESET_SCHEMAS = { preset: topLevel, lane: laneSchema, expect: expectSchema } as const;
