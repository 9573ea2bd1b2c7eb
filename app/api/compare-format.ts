// How a compared metric is written, the same in the terminal and the app.
import { formatNs } from './series.js';
import { formatCount } from './tally.js';

export type Unit = 'count' | 'ns' | 'ops/s' | 'ratio';

export function formatMetric(unit: Unit, v: number | null): string {
  if (v === null) return '—';
  if (unit === 'count') return formatCount(v);
  if (unit === 'ns') return formatNs(v);
  if (unit === 'ops/s') return `${formatCount(v)}/s`;
  return v.toFixed(4);
}
