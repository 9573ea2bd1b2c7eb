// A journal line is untrusted input: journals are copied between machines,
// cut by crashes and sometimes edited. Every reader checks each line's shape
// here before using it (a `null` line or a finding without a type must be an
// error message, not a TypeError deep inside a report), and the header's
// scenario is checked by the same validator as a preset.
import { FINDING_TYPES, type JournalLine, type RunEvent, type RunHeader, type RunTrailer } from '../events/types.js';
import { checkScenarioValue, MAX_DURATION } from '../vocabulary/scenario.js';
import { formatPath } from '../vocabulary/schema.js';
import { withKernelRecord } from '../api/kernel-record.js';

export class LineError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(what: string): never {
  throw new LineError(what);
}

function num(o: Obj, k: string, opt = false): void {
  const v = o[k];
  if (v === undefined && opt) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`"${k}" must be a number`);
}

function int(o: Obj, k: string, opt = false): void {
  const v = o[k];
  if (v === undefined && opt) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`"${k}" must be an integer`);
}

function str(o: Obj, k: string, opt = false, max = 1 << 20): void {
  const v = o[k];
  if (v === undefined && opt) return;
  if (typeof v !== 'string') fail(`"${k}" must be a string`);
  if (v.length > max) fail(`"${k}" is longer than ${max} characters`);
}

function strList(o: Obj, k: string, opt = false): void {
  const v = o[k];
  if (v === undefined && opt) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(`"${k}" must be a list of strings`);
}

function oneOf(o: Obj, k: string, values: readonly string[], opt = false): void {
  const v = o[k];
  if (v === undefined && opt) return;
  if (typeof v !== 'string' || !values.includes(v)) fail(`"${k}" must be one of ${values.join(', ')}`);
}

function objField(o: Obj, k: string, opt = true): void {
  const v = o[k];
  if (v === undefined && opt) return;
  if (!isObj(v)) fail(`"${k}" must be a map`);
}

function trace(o: Obj, k: string): void {
  const v = o[k];
  if (v === undefined) return;
  if (!Array.isArray(v)) fail(`"${k}" must be a list`);
  for (const s of v) {
    if (!isObj(s)) fail(`"${k}" must be a list of steps`);
    num(s, 't');
    str(s, 'task');
    str(s, 'at');
    oneOf(s, 'ctx', ['user', 'irq', 'kthread']);
  }
}

const T = 't';

function checkFinding(f: unknown): void {
  if (!isObj(f)) fail('"finding" must be a map');
  str(f, 'id');
  oneOf(f, 'type', FINDING_TYPES);
  oneOf(f, 'severity', ['critical', 'error', 'warning']);
  num(f, 't');
  str(f, 'message');
  str(f, 'lane', true);
  str(f, 'op', true);
  str(f, 'handle', true);
  objField(f, 'evidence');
  strList(f, 'klog', true);
  trace(f, 'interleaving');
  if (f.inflight !== undefined) {
    if (!Array.isArray(f.inflight)) fail('"inflight" must be a list');
    for (const a of f.inflight) {
      if (!isObj(a)) fail('"inflight" must be a list of actions');
      str(a, 'lane');
      str(a, 'op');
      num(a, 'since');
      str(a, 'handle', true);
    }
  }
}

/** Names of metrics and lane states grow with the lab: readers take any word and use the ones they know. */
function word(o: Obj, k: string): void {
  const v = o[k];
  if (typeof v !== 'string' || !/^[a-z][a-z0-9_-]{0,39}$/.test(v)) fail(`"${k}" must be a name`);
}

/** Checks an event line (anything after the header); throws LineError saying what is wrong. */
export function checkEvent(v: unknown): RunEvent | RunTrailer {
  if (!isObj(v)) fail(`expected an event (a map with "kind"), got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
  num(v, T);
  switch (v.kind) {
    case 'act':
      num(v, 'dur');
      str(v, 'lane', false, 256);
      int(v, 'iter');
      int(v, 'step');
      str(v, 'op', false, 64);
      int(v, 'ret');
      str(v, 'handle', true, 256);
      str(v, 'errno', true, 64);
      objField(v, 'args');
      objField(v, 'data');
      objField(v, 'req');
      int(v, 'tid', true);
      if (v.w !== undefined && (typeof v.w !== 'number' || !Number.isSafeInteger(v.w) || v.w < 1)) fail('"w" must be a count of at least 1');
      break;
    case 'klog':
      int(v, 'level');
      str(v, 'text');
      num(v, 'ktime', true);
      oneOf(v, 'source', ['sim', 'guest', 'host']);
      trace(v, 'trace');
      break;
    case 'metric':
      word(v, 'name');
      num(v, 'value');
      str(v, 'handle', true);
      str(v, 'lane', true);
      num(v, 'confidence', true);
      break;
    case 'lane':
      str(v, 'lane');
      word(v, 'state');
      str(v, 'detail', true);
      str(v, 'wchan', true);
      str(v, 'taskState', true);
      strList(v, 'stack', true);
      trace(v, 'trace');
      break;
    case 'note':
      oneOf(v, 'level', ['info', 'warn', 'error']);
      str(v, 'text');
      if (v.journal !== undefined) checkJournalNote(v.journal);
      break;
    case 'phase':
      str(v, 'name');
      strList(v, 'profile');
      break;
    case 'finding':
      checkFinding(v.finding);
      break;
    case 'sched':
      str(v, 'decisions', false, 1 << 26);
      break;
    case 'progress':
      str(v, 'stage', false, 64);
      str(v, 'text');
      num(v, 'wall_ms');
      break;
    case 'context':
      checkContext(v.context);
      break;
    case 'recover':
      str(v, 'lane', false, 256);
      str(v, 'handle', false, 256);
      int(v, 'iter');
      int(v, 'step');
      oneOf(v, 'cause', ['EPIPE', 'ESTRPIPE']);
      str(v, 'action', false, 128);
      int(v, 'ret');
      str(v, 'errno', true, 64);
      num(v, 'lost_ns');
      break;
    case 'conformance':
      str(v, 'lane', false, 256);
      int(v, 'card');
      str(v, 'card_id', true, 64);
      int(v, 'device');
      oneOf(v, 'stream', ['playback', 'capture']);
      str(v, 'vary', false, 32);
      str(v, 'format', false, 32);
      int(v, 'channels');
      num(v, 'rate');
      num(v, 'period_size');
      int(v, 'ret');
      str(v, 'errno', true, 64);
      objField(v, 'granted');
      break;
    case 'end':
      oneOf(v, 'verdict', ['pass', 'fail', 'error', 'aborted']);
      str(v, 'reason');
      break;
    case 'run':
      fail('a second run header');
      break;
    default:
      fail(`unknown kind ${JSON.stringify(v.kind)}`);
  }
  return v as unknown as RunEvent | RunTrailer;
}

/** The kernel record (events/types.ts KernelRecord): the report and the "repeat it" command read every part of it. */
function checkKernel(k: unknown, where: string): void {
  if (!isObj(k)) fail(`"${where}" must be a map`);
  str(k, 'release', false, 256);
  str(k, 'origin', false, 32);
  for (const f of ['version', 'package', 'source_version', 'upstream', 'image_path', 'modules_path']) str(k, f, true, 4096);
  if (k.memory_debug !== undefined) {
    if (!isObj(k.memory_debug)) fail(`"${where}.memory_debug" must be a map`);
    strList(k.memory_debug, 'on');
    strList(k.memory_debug, 'unavailable');
  }
  for (const t of ['taint_at_boot', 'taint_at_end']) {
    const v = k[t];
    if (v === undefined) continue;
    if (!isObj(v)) fail(`"${where}.${t}" must be a map`);
    int(v, 'value');
    str(v, 'letters', false, 64);
    if (!Array.isArray(v.flags) || v.flags.some((x) => !isObj(x) || typeof x.letter !== 'string' || typeof x.meaning !== 'string')) fail(`"${where}.${t}.flags" must be a list of letters and meanings`);
  }
  if (k.overlay !== undefined) {
    const o = k.overlay;
    if (!isObj(o)) fail(`"${where}.overlay" must be a map`);
    for (const f of ['key', 'source_version']) str(o, f, false, 4096);
    str(o, 'upstream', true, 4096);
    strList(o, 'rebuilt');
    strList(o, 'rebuild_asked', true);
    strList(o, 'modules');
    if (!Array.isArray(o.patches) || o.patches.some((x) => !isObj(x) || typeof x.name !== 'string' || typeof x.sha256 !== 'string' || (x.file !== undefined && typeof x.file !== 'string'))) fail(`"${where}.overlay.patches" must be a list of patches (name, sha256)`);
    if (!Array.isArray(o.extra_module_dirs) || o.extra_module_dirs.some((x) => !isObj(x) || typeof x.dir !== 'string' || typeof x.sha256 !== 'string' || (x.hardware !== undefined && typeof x.hardware !== 'string'))) fail(`"${where}.overlay.extra_module_dirs" must be a list of directories (dir, sha256)`);
  }
}

function checkContext(c: unknown): void {
  if (!isObj(c)) fail('"context" must be a map');
  checkKernel(c.kernel, 'context.kernel');
  if (!Array.isArray(c.cards)) fail('"context.cards" must be a list');
  for (const x of c.cards) {
    if (!isObj(x)) fail('"context.cards" must be a list of maps');
    int(x, 'index');
    str(x, 'id', false, 256);
    str(x, 'driver', false, 256);
    str(x, 'name', true, 1024);
    str(x, 'longname', true, 4096);
  }
  if (c.machine !== undefined) {
    if (!isObj(c.machine)) fail('"context.machine" must be a map');
    str(c.machine, 'accel', false, 16);
    num(c.machine, 'cpus');
    num(c.machine, 'memory_mb');
    strList(c.machine, 'hardware');
  }
  str(c, 'alsa_version', true, 1024);
}

function checkJournalNote(j: unknown): void {
  if (!isObj(j)) fail('"journal" must be a map');
  if (j.keep !== undefined && (typeof j.keep !== 'number' || !Number.isSafeInteger(j.keep) || j.keep < 1)) fail('"journal.keep" must be a count');
  if (j.skipped !== undefined) {
    if (!Array.isArray(j.skipped)) fail('"journal.skipped" must be a list');
    for (const x of j.skipped) {
      if (!isObj(x)) fail('"journal.skipped" must be a list of maps');
      str(x, 'lane');
      int(x, 'iter');
      int(x, 'step');
      str(x, 'op');
      str(x, 'handle', true);
      int(x, 'n');
    }
  }
}

/** Checks the first line: its fields, and its scenario as a preset would be checked. */
export function checkHeader(v: unknown): RunHeader {
  if (!isObj(v) || v.kind !== 'run') fail('does not start with a run header (is this a stresslab journal?)');
  if (v.format !== 1) fail(`journal format ${JSON.stringify(v.format)} is not one this version reads (1)`);
  str(v, 'preset', false, 64);
  oneOf(v, 'target', ['sim', 'local', 'vm']);
  strList(v, 'profile');
  int(v, 'seed');
  if ((v.seed as number) < 0 || (v.seed as number) > 2 ** 32 - 1) fail('"seed" is out of range');
  oneOf(v, 'strategy', ['pct', 'random', 'replay']);
  int(v, 'depth');
  if ((v.depth as number) < 1 || (v.depth as number) > 10) fail('"depth" must be between 1 and 10');
  num(v, 'duration');
  // 0: a suite whose entries carry their own budgets.
  if ((v.duration as number) < 0 || (v.duration as number) > MAX_DURATION) fail('"duration" is out of range');
  str(v, 'tool', false, 200);
  // The resolved-program format the run executed (absent in journals from before resolved programs).
  int(v, 'program', true);
  if (v.journal !== undefined) {
    if (!isObj(v.journal)) fail('"journal" must be a map');
    int(v.journal, 'maxBytes');
    int(v.journal, 'sampleAfter');
  }
  const r = checkScenarioValue(v.scenario);
  if (!r.scenario) fail(`its scenario does not validate: ${r.issues.slice(0, 3).map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`);
  if (r.scenario.name !== v.preset) fail(`its scenario is named "${r.scenario.name}" but the header says "${String(v.preset)}"`);
  return { ...(v as unknown as RunHeader), scenario: r.scenario };
}

export type { JournalLine };

/**
 * summary.json as untrusted input (copied, edited, cut by a full disk): its
 * fields readers use are checked; null when it cannot be trusted, with why.
 */
export function checkSummary(v: unknown): { summary: import('../engine/run.js').RunSummary } | { error: string } {
  try {
    if (!isObj(v)) fail('not a map');
    oneOf(v, 'verdict', ['pass', 'fail', 'error', 'aborted']);
    str(v, 'preset');
    str(v, 'target');
    strList(v, 'profile');
    num(v, 'seed');
    str(v, 'strategy');
    oneOf(v, 'status', ['completed', 'stopped', 'crashed', 'error']);
    str(v, 'reason', true);
    num(v, 'budget_ns');
    num(v, 'elapsed_ns');
    num(v, 'wall_ms');
    if (!Array.isArray(v.findings)) fail('"findings" must be a list');
    for (const f of v.findings) checkFinding(f);
    objField(v, 'finding_counts', false);
    objField(v, 'metrics', false);
    if (v.phases !== undefined) {
      if (!Array.isArray(v.phases)) fail('"phases" must be a list');
      for (const p of v.phases) {
        if (!isObj(p)) fail('"phases" must be a list of maps');
        str(p, 'name');
        strList(p, 'profile');
        str(p, 'status');
        num(p, 'elapsed');
        strList(p, 'findings');
      }
    }
    // the run's kernel record, and the part of it a summary from before there was one record kept beside the context
    if (v.context !== undefined) {
      if (!isObj(v.context)) fail('"context" must be a map');
      if (v.context.kernel !== undefined) checkKernel(v.context.kernel, 'context.kernel');
      if (v.context.machine !== undefined && (!isObj(v.context.machine) || !Array.isArray(v.context.machine.hardware) || v.context.machine.hardware.some((x) => typeof x !== 'string'))) fail('"context.machine.hardware" must be a list of strings');
    }
    if (v.kernel !== undefined && v.kernel !== null) checkKernel(v.kernel, 'kernel');
    if (v.oracle !== undefined) {
      const o = v.oracle;
      if (!isObj(o)) fail('"oracle" must be a map');
      str(o, 'against');
      num(o, 'compared');
      num(o, 'divergences');
      num(o, 'rare');
      strList(o, 'not_comparable');
      str(o, 'report');
      if (!Array.isArray(o.items) || o.items.some((x) => !isObj(x) || typeof x.kind !== 'string' || typeof x.message !== 'string' || typeof x.chance !== 'number' || typeof x.significant !== 'boolean')) fail('"oracle.items" must be a list of divergences');
    }
    // one kernel record for every reader, whenever the summary was written
    return { summary: withKernelRecord(v as unknown as import('../engine/run.js').RunSummary) };
  } catch (e) {
    if (e instanceof LineError) return { error: e.message };
    throw e;
  }
}
