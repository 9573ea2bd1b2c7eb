// Checking every message that crosses a process boundary (IPC, WebSocket,
// HTTP) before anything acts on it. A bad message gets an ApiError naming
// the field and what was expected; it never reaches the lab core.
import type { ApiErrorBody, ErrorCode, Method, Params, PushMessage, RequestMessage, ResponseMessage } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return { code: this.code, message: this.message };
  }
}

type Check<T> = (v: unknown, path: string) => T;

function bad(path: string, expected: string, v: unknown): never {
  throw new ApiError('bad-request', `${path}: expected ${expected}, got ${describe(v)}`);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export const MAX_TEXT = 1 << 20;
/** Run ids are directory names under runs/: no separators, so never a path. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$/;
export const PRESET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const TARGET_ID = /^[a-z][a-z0-9-]{0,31}$/;
const PROFILE_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const SUB_ID = /^s[0-9]{1,12}$/;
const FILE_LABEL = /^[^\u0000-\u001f]{1,200}$/;
const FINDING_ID = /^[a-z-]{1,40}#[0-9]{1,9}$/;

const str =
  (pattern: RegExp | null, expected: string, max = MAX_TEXT): Check<string> =>
  (v, path) => {
    if (typeof v !== 'string') return bad(path, expected, v);
    if (v.length > max) throw new ApiError('bad-request', `${path}: longer than ${max} characters`);
    if (pattern && !pattern.test(v)) return bad(path, expected, v);
    return v;
  };

const int =
  (min: number, max: number): Check<number> =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return bad(path, `an integer from ${min} to ${max}`, v);
    return v;
  };

const bool: Check<boolean> = (v, path) => (typeof v === 'boolean' ? v : bad(path, 'true or false', v));

const list =
  <T>(item: Check<T>, max: number): Check<T[]> =>
  (v, path) => {
    if (!Array.isArray(v)) return bad(path, `a list (at most ${max})`, v);
    if (v.length > max) throw new ApiError('bad-request', `${path}: more than ${max} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/** An object with exactly these keys; keys in `optional` may be absent. Unknown keys are refused (a typo never goes unnoticed). */
function obj<R extends Shape, O extends Shape = Record<never, never>>(required: R, optional?: O): Check<Out<R> & Partial<Out<O>>> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(path, 'an object', v);
    const rec = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(rec)) if (!(k in required) && !(optional && k in optional)) throw new ApiError('bad-request', `${path}: unknown field "${k}"`);
    for (const [k, c] of Object.entries(required)) {
      if (!(k in rec)) throw new ApiError('bad-request', `${path}.${k}: missing`);
      out[k] = c(rec[k], `${path}.${k}`);
    }
    for (const [k, c] of Object.entries(optional ?? {})) if (rec[k] !== undefined) out[k] = c(rec[k], `${path}.${k}`);
    return out as Out<R> & Partial<Out<O>>;
  };
}

const runId = str(RUN_ID, 'a run id (a directory name under runs/)', 160);
const presetName = str(PRESET_NAME, 'a preset name (letters, digits, _ and -, at most 64)', 64);
const target = str(TARGET_ID, 'a target id such as "sim"', 32);
const none = obj({});

/** Thresholds as typed: the values are checked by the preset schema in the service, with the preset's words. */
const thresholdValue: Check<string | number | null> = (v, path) => (v === null || typeof v === 'number' ? v : str(null, 'a threshold value such as "50ms" or 0', 64)(v, path));
const thresholdValues = obj({}, { xruns: thresholdValue, latency_p99: thresholdValue, ioctl_p99: thresholdValue, wakeup_late_p99: thresholdValue, glitches: thresholdValue, midi_latency_p99: thresholdValue, xrun_time_lost: thresholdValue });
const ns: Check<number> = int(0, Number.MAX_SAFE_INTEGER);
const thresholdNumbers = obj({}, { xruns: ns, latency_p99: ns, ioctl_p99: ns, wakeup_late_p99: ns, glitches: ns, midi_latency_p99: ns, xrun_time_lost: ns });

/** Kernel names and ranges as stresslab kernels lists them (6.1.0-54, 6.12.117+deb12, A,B, A..B). */
const KERNEL_SPEC = /^[A-Za-z0-9][A-Za-z0-9.+~:_-]*(?:(?:,|\.\.)[A-Za-z0-9][A-Za-z0-9.+~:_-]*)*$/;
/** An absolute path on the lab's machine without control characters. */
const HOST_PATH = /^\/[^\u0000-\u001f]{0,4095}$/;
const SOUND_DIR = /^sound(?:\/[A-Za-z0-9_-]+)+$/;
const HW_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const MATRIX_ID = RUN_ID;

const vmSettings = obj(
  {},
  {
    kernelVersion: str(KERNEL_SPEC, 'a kernel version such as "6.1.0-54" (or A,B / A..B)', 400),
    patches: list(str(HOST_PATH, 'an absolute path to a patch file', 4096), 16),
    rebuild: list(str(SOUND_DIR, 'a directory under sound/ such as "sound/core/seq"', 200), 16),
    memoryDebug: bool,
    hw: list(str(HW_NAME, 'a virtual hardware name such as "dummy"', 32), 16),
  },
);

const source: Check<Params<'run.start'>['source']> = (v, path) => {
  if (typeof v === 'object' && v !== null && 'preset' in v) return obj({ preset: presetName })(v, path);
  if (typeof v === 'object' && v !== null && 'text' in v) return obj({ text: str(null, 'preset text'), name: presetName })(v, path);
  return bad(path, '{preset: name} or {text, name}', v);
};

const PARAMS: { [M in Method]: Check<Params<M>> } = {
  'lab.info': none,
  'targets.list': none,
  'devices.list': obj({ target }, { refresh: bool, vm: vmSettings }),
  'kernels.list': obj({}, { refresh: bool }),
  'matrix.get': obj({ id: str(MATRIX_ID, 'a matrix id', 160) }),
  'profiles.list': none,
  'presets.list': none,
  'presets.load': obj({ name: presetName }),
  'presets.validate': obj({ text: str(null, 'preset text') }, { file: str(FILE_LABEL, 'a file label', 200) }),
  'presets.save': obj({ name: presetName, text: str(null, 'preset text') }, { overwrite: bool }),
  'run.start': obj(
    { source, target, profile: list(str(PROFILE_NAME, 'a profile name ("fixed" or a bug switch)', 64), 16), seed: int(0, 2 ** 32 - 1) },
    { duration: int(1, 7 * 24 * 3600 * 1e9), oracle: bool, thresholds: thresholdValues, vm: vmSettings },
  ),
  'run.stop': obj({ runId }),
  'run.abort': obj({ runId }),
  'run.replay': obj({ runId, findingId: str(FINDING_ID, 'a finding id such as "use-after-free#1"', 50) }, { t: int(0, Number.MAX_SAFE_INTEGER) }),
  'runs.list': none,
  'runs.subscribe': obj({ runId }, { from: int(0, Number.MAX_SAFE_INTEGER) }),
  'runs.unsubscribe': obj({ sub: str(SUB_ID, 'a subscription id', 16) }),
  'runs.inflight': obj({ runId, t: int(0, Number.MAX_SAFE_INTEGER) }, { i: int(0, Number.MAX_SAFE_INTEGER) }),
  'report.export': obj({ runId }),
  'thresholds.check': obj({ values: thresholdValues }, { base: thresholdNumbers }),
  'runs.delete': obj({ runId }),
  'runs.note': obj({ runId, text: str(null, 'a note', 4000) }),
  'runs.compare': obj({ runIds: list(runId, 8) }),
  'repro.export': obj({ runId }, { findingId: str(/^[a-z-]+#\d+$/, 'a finding id like "hang#1"', 64), t: int(0, Number.MAX_SAFE_INTEGER) }),
};

export const METHODS = Object.keys(PARAMS) as Method[];

export function isMethod(m: unknown): m is Method {
  return typeof m === 'string' && Object.prototype.hasOwnProperty.call(PARAMS, m);
}

export function checkParams<M extends Method>(method: M, params: unknown): Params<M> {
  return PARAMS[method](params ?? {}, 'params');
}

/**
 * A request as it arrived (already JSON-decoded). Throws ApiError; `idOf`
 * recovers the id of a malformed request so the error can still be paired.
 */
export function checkRequest(raw: unknown): RequestMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('message', 'an object {id, method, params}', raw);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== 'id' && k !== 'method' && k !== 'params') throw new ApiError('bad-request', `message: unknown field "${k}"`);
  const id = int(1, Number.MAX_SAFE_INTEGER)(r.id, 'id');
  if (!isMethod(r.method)) throw new ApiError('bad-request', `method: unknown method ${describe(r.method)}; known: ${METHODS.join(', ')}`);
  return { id, method: r.method, params: checkParams(r.method, r.params) } as RequestMessage;
}

export function idOf(raw: unknown): number | null {
  if (typeof raw === 'object' && raw !== null && 'id' in raw) {
    const id = (raw as { id: unknown }).id;
    if (typeof id === 'number' && Number.isInteger(id) && id > 0) return id;
  }
  return null;
}

/**
 * What the client accepts from the server: the shape the dispatch relies on.
 * Event payloads come from the lab core and are not re-validated field by field.
 */
export function checkServerMessage(raw: unknown): ResponseMessage | PushMessage {
  if (typeof raw !== 'object' || raw === null) return bad('server message', 'an object', raw);
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'result':
      if (m.ok === true && typeof m.id === 'number') return m as ResponseMessage;
      if (m.ok === false && typeof m.error === 'object' && m.error !== null) return m as ResponseMessage;
      return bad('server message', 'a result with ok and id', raw);
    case 'events':
      if (typeof m.sub === 'string' && typeof m.from === 'number' && Array.isArray(m.events)) return m as PushMessage;
      return bad('server message', 'events with sub, from and events', raw);
    case 'end':
      if (typeof m.sub === 'string') return m as PushMessage;
      return bad('server message', 'end with sub', raw);
    case 'runs-changed':
      return m as PushMessage;
    default:
      return bad('server message type', 'result, events, end or runs-changed', m.type);
  }
}
