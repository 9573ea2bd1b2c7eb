// Sizes are written as "200MB", "64KiB" or "1.5GB" in presets and on the
// command line, and held as integer bytes. KB/MB/GB/TB are powers of 1000,
// KiB/MiB/GiB/TiB powers of 1024, as the SI and IEC say.
import { type Schema, describe } from './schema.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const RE = /^\s*(\d{1,15}(?:\.\d{1,6})?)\s*([kKmMgGtT]i?[bB]|[bB])\s*$/;

export function parseSize(text: string): number | undefined {
  const m = RE.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(Math.round(v)) ? Math.round(v) : undefined;
}

export function formatSize(bytes: number): string {
  for (const [u, f] of [['GB', 1e9], ['MB', 1e6], ['kB', 1e3]] as const) if (bytes >= f) return `${+(bytes / f).toFixed(1)} ${u}`;
  return `${bytes} B`;
}

export function size(opts: { min?: number; max?: number } = {}): Schema<number> {
  const lim = [opts.min !== undefined ? `at least ${formatSize(opts.min)}` : '', opts.max !== undefined ? `at most ${formatSize(opts.max)}` : ''].filter(Boolean).join(' and ');
  const expected = `a size like "200MB", "64KiB" or "2GB"${lim ? ` (${lim})` : ''}`;
  return {
    expected,
    check(v, path, issues) {
      const n = typeof v === 'string' ? parseSize(v) : undefined;
      if (n === undefined || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        issues.push({ path, message: `expected ${expected}, got ${describe(v)}` });
        return undefined;
      }
      return n;
    },
    encode: (n) => `${n}B`,
  };
}
