// Durations are written as "250ms", "40us", "2s", "1.5m" in presets and held as
// integer nanoseconds everywhere else, so virtual and real clocks share one unit.
import { type Schema, describe } from './schema.js';

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  min: 60e9,
  h: 3600e9,
};

const RE = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|min|m|h)\s*$/;

export function parseDuration(text: string): number | undefined {
  const m = RE.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]) * UNITS[m[2]!]!;
  return Number.isFinite(v) ? Math.round(v) : undefined;
}

export function formatDuration(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 60e9 && a % 60e9 === 0) return `${ns / 60e9}m`;
  if (a >= 1e9) return `${+(ns / 1e9).toFixed(3)}s`;
  if (a >= 1e6) return `${+(ns / 1e6).toFixed(3)}ms`;
  if (a >= 1e3) return `${+(ns / 1e3).toFixed(3)}us`;
  return `${ns}ns`;
}

export function duration(opts: { min?: number; max?: number } = {}): Schema<number> {
  const lim = [opts.min !== undefined ? `at least ${formatDuration(opts.min)}` : '', opts.max !== undefined ? `at most ${formatDuration(opts.max)}` : '']
    .filter(Boolean)
    .join(' and ');
  const expected = `a duration like "250ms", "40us" or "2s"${lim ? ` (${lim})` : ''}`;
  return {
    expected,
    check(v, path, issues) {
      const ns = typeof v === 'string' ? parseDuration(v) : undefined;
      if (ns === undefined || (opts.min !== undefined && ns < opts.min) || (opts.max !== undefined && ns > opts.max)) {
        issues.push({ path, message: `expected ${expected}, got ${describe(v)}` });
        return undefined;
      }
      return ns;
    },
    encode: (ns) => `${ns}ns`,
  };
}
