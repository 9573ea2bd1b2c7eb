// A tiny validation library. We need errors that name the exact path inside a
// preset and say what was expected, and we need the same schema to drive the
// docs and the agent protocol, so a general-purpose library would not save much.

export type PathPart = string | number;
export type Path = readonly PathPart[];

export interface Issue {
  path: Path;
  message: string;
}

export type Schema<T> = {
  /** Human description of what is accepted, used in error messages and docs. */
  readonly expected: string;
  check(value: unknown, path: Path, issues: Issue[]): T | undefined;
  /**
   * The inverse of check: a checked value back in the form a preset writes
   * it (absent: the value as it is). A journal carries a run's checked
   * scenario; encoding it lets the same validator that checks presets check it.
   */
  encode?(value: T): unknown;
  /** A map's keys (obj): what the generated reference (docs/vocabulary.md) lists. */
  readonly fields?: { required: Record<string, Schema<unknown>>; optional: Record<string, Schema<unknown>> };
  /** A list's items. */
  readonly item?: Schema<unknown>;
};

/** A schema's encode, or the identity. */
export function encodeWith<T>(s: Schema<T>, v: T): unknown {
  return s.encode ? s.encode(v) : v;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 37) + '...' : value);
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    return keys.length ? `a map with keys ${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', ...' : ''}` : 'an empty map';
  }
  return String(value);
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || '(top level)';
}

function fail(issues: Issue[], path: Path, expected: string, value: unknown): undefined {
  issues.push({ path, message: `expected ${expected}, got ${describe(value)}` });
  return undefined;
}

export function str(opts: { pattern?: RegExp; expected?: string; maxLength?: number } = {}): Schema<string> {
  const expected = opts.expected ?? 'a string';
  return {
    expected,
    check(v, path, issues) {
      if (typeof v !== 'string') return fail(issues, path, expected, v);
      if (opts.maxLength !== undefined && v.length > opts.maxLength) return fail(issues, path, `${expected} of at most ${opts.maxLength} characters`, v);
      if (opts.pattern && !opts.pattern.test(v)) return fail(issues, path, expected, v);
      return v;
    },
  };
}

export function int(opts: { min?: number; max?: number; unit?: string } = {}): Schema<number> {
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` between ${opts.min} and ${opts.max}`
      : opts.min !== undefined
        ? ` of at least ${opts.min}`
        : opts.max !== undefined
          ? ` of at most ${opts.max}`
          : '';
  const expected = `an integer${opts.unit ? ` (${opts.unit})` : ''}${range}`;
  return {
    expected,
    check(v, path, issues) {
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail(issues, path, expected, v);
      if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) return fail(issues, path, expected, v);
      return v;
    },
  };
}

export function num(opts: { min?: number; max?: number; unit?: string } = {}): Schema<number> {
  const range =
    opts.min !== undefined && opts.max !== undefined ? ` between ${opts.min} and ${opts.max}` : opts.min !== undefined ? ` of at least ${opts.min}` : '';
  const expected = `a number${opts.unit ? ` (${opts.unit})` : ''}${range}`;
  return {
    expected,
    check(v, path, issues) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(issues, path, expected, v);
      if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) return fail(issues, path, expected, v);
      return v;
    },
  };
}

export const bool: Schema<boolean> = {
  expected: 'true or false',
  check(v, path, issues) {
    return typeof v === 'boolean' ? v : fail(issues, path, 'true or false', v);
  },
};

export function oneOf<T extends string>(values: readonly T[], what = 'one of'): Schema<T> {
  const expected = `${what} ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    expected,
    check(v, path, issues) {
      if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
      const near = typeof v === 'string' ? closest(v, values) : undefined;
      issues.push({ path, message: `expected ${expected}, got ${describe(v)}${near ? ` (did you mean "${near}"?)` : ''}` });
      return undefined;
    },
  };
}

export function list<T>(item: Schema<T>, opts: { min?: number; max?: number } = {}): Schema<T[]> {
  const expected = `a list of ${item.expected}${opts.min ? ` (at least ${opts.min})` : ''}`;
  return {
    expected,
    item: item as Schema<unknown>,
    check(v, path, issues) {
      if (!Array.isArray(v)) return fail(issues, path, expected, v);
      if (opts.min !== undefined && v.length < opts.min) {
        issues.push({ path, message: `expected at least ${opts.min} item(s), got ${v.length}` });
        return undefined;
      }
      if (opts.max !== undefined && v.length > opts.max) {
        issues.push({ path, message: `expected at most ${opts.max} item(s), got ${v.length}` });
        return undefined;
      }
      const before = issues.length;
      const out = v.map((x, i) => item.check(x, [...path, i], issues));
      return issues.length === before ? (out as T[]) : undefined;
    },
    encode: (v) => v.map((x) => encodeWith(item, x)),
  };
}

/** A value or a list of values; a list is cycled through by iteration. */
export function oneOrList<T>(item: Schema<T>): Schema<T[]> {
  const l = list(item, { min: 1, max: 4096 });
  return {
    expected: `${item.expected}, or a list of them`,
    check(v, path, issues) {
      if (Array.isArray(v)) return l.check(v, path, issues);
      const x = item.check(v, path, issues);
      return x === undefined ? undefined : [x];
    },
    encode: (v) => v.map((x) => encodeWith(item, x)),
  };
}

type Shape = Record<string, Schema<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: S[K] extends Schema<infer T> ? T : never };

export function obj<R extends Shape, O extends Shape = Record<never, never>>(
  required: R,
  optional?: O,
  what = 'a map',
): Schema<Out<R> & Partial<Out<O>>> {
  const keys = [...Object.keys(required), ...Object.keys(optional ?? {})];
  const expected = `${what} with ${Object.keys(required).length ? `keys ${Object.keys(required).join(', ')}` : 'optional keys ' + keys.join(', ')}`;
  return {
    expected,
    fields: { required, optional: (optional ?? {}) as Shape },
    check(v, path, issues) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(issues, path, expected, v);
      const rec = v as Record<string, unknown>;
      const before = issues.length;
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(required)) {
        if (!(k in rec) || rec[k] === undefined || rec[k] === null) {
          issues.push({ path: [...path, k], message: `missing required key "${k}" (${s.expected})` });
          continue;
        }
        out[k] = s.check(rec[k], [...path, k], issues);
      }
      for (const [k, s] of Object.entries(optional ?? {})) {
        if (k in rec && rec[k] !== undefined && rec[k] !== null) out[k] = s.check(rec[k], [...path, k], issues);
      }
      for (const k of Object.keys(rec)) {
        if (!keys.includes(k)) {
          const near = closest(k, keys);
          issues.push({
            path: [...path, k],
            message: `unknown key "${k}"${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${keys.join(', ')}`,
          });
        }
      }
      return issues.length === before ? (out as Out<R> & Partial<Out<O>>) : undefined;
    },
    encode(v) {
      const out: Record<string, unknown> = {};
      const all: Shape = { ...required, ...(optional ?? {}) };
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const s = Object.hasOwn(all, k) ? all[k] : undefined;
        if (x !== undefined) out[k] = s ? encodeWith(s, x) : x;
      }
      return out;
    },
  };
}

export function map<T>(item: Schema<T>, key: Schema<string> = str()): Schema<Record<string, T>> {
  const expected = `a map of ${item.expected}`;
  return {
    expected,
    check(v, path, issues) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(issues, path, expected, v);
      const before = issues.length;
      const out: Record<string, T> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        key.check(k, [...path, k], issues);
        const r = item.check(x, [...path, k], issues);
        // An own entry even for "__proto__": assigning would replace the table's prototype instead.
        if (r !== undefined) Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
      }
      return issues.length === before ? out : undefined;
    },
    encode(v) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: encodeWith(item, x), enumerable: true, writable: true, configurable: true });
      return out;
    },
  };
}

export function union<T>(expected: string, pick: (v: unknown) => Schema<unknown> | undefined): Schema<T> {
  return {
    expected,
    check(v, path, issues) {
      const s = pick(v);
      if (!s) return fail(issues, path, expected, v);
      return s.check(v, path, issues) as T | undefined;
    },
  };
}

/** `unf` undoes `f` for encode (absent: f changed nothing but the type). */
export function transform<A, B>(s: Schema<A>, f: (a: A, path: Path, issues: Issue[]) => B | undefined, expected = s.expected, unf?: (b: B) => A): Schema<B> {
  return {
    expected,
    encode: (b) => encodeWith(s, unf ? unf(b) : (b as unknown as A)),
    check(v, path, issues) {
      const a = s.check(v, path, issues);
      return a === undefined ? undefined : f(a, path, issues);
    },
  };
}

/** Levenshtein-nearest candidate within distance 2, to suggest fixes for typos. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
