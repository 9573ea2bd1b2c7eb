// Small display and input helpers.
export { formatNs } from '../../../app/api/series.js';

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9, h: 3600e9 };

/** "5s", "250ms", "2m", "1.5s" → ns; "" → undefined (the preset's own); anything else → 'invalid'. */
export function parseDurationText(text: string): number | undefined | 'invalid' {
  const t = text.trim();
  if (!t) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|min|h)?$/.exec(t);
  if (!m) return 'invalid';
  const ns = Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
  return ns >= 1e6 && ns <= 7 * 24 * 3600e9 ? ns : 'invalid';
}

export function formatWhen(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export { formatCount } from '../../../app/api/series.js';
