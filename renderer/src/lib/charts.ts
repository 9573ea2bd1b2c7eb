// Chart.js set up for a live lab: no animation, pre-parsed {x, y} points,
// at most MAX_BUCKETS points per series (the series are bucketed upstream),
// and one update per redraw tick, never per event.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartConfiguration,
  type Plugin,
} from 'chart.js';
import { binLower, formatNs, LEVEL_NAMES, levelColour, type KlogLine, type PhaseMark, type RunSeries } from '../../../app/api/series.js';

Chart.register(LineController, BarController, ScatterController, LineElement, BarElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Tooltip, Legend, Filler);

const INK = '#c9d1d9';
const MUTED = '#8b949e';
const GRID = 'rgba(240,246,252,0.08)';
Chart.defaults.color = MUTED;
Chart.defaults.borderColor = GRID;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
Chart.defaults.font.size = 11;
Chart.defaults.animation = false;
Chart.defaults.responsive = true;
Chart.defaults.maintainAspectRatio = false;

export const COLOURS = { ops: '#3e9ee8', xruns: '#e5484d', mean: '#3e9ee8', max: '#f76b15', latency: '#8e4ec6', ioctl: '#3e9ee8' };

const PHASE_ROWS = 3;
const PHASE_ROW_PX = 11;

/**
 * Vertical lines where suite phases begin, labelled with the phase name. The
 * labels sit in a band reserved above the plot, never over the data: phases
 * can start close together (a phase that finds its bug at once), so a label
 * goes on the first of three rows where it fits, right of its line or, at the
 * chart's right edge, left of it; a label that fits nowhere is left out.
 */
export function phasePlugin(get: () => PhaseMark[]): Plugin {
  return {
    id: 'phases',
    beforeLayout(chart) {
      const layout = (chart.options.layout ??= {}) as { padding?: unknown };
      const top = get().length ? PHASE_ROWS * PHASE_ROW_PX + 4 : 0;
      const p = layout.padding;
      layout.padding = typeof p === 'object' && p !== null ? { ...(p as object), top } : { top };
    },
    afterDatasetsDraw(chart) {
      const phases = get();
      const x = chart.scales.x;
      if (!phases.length || !x) return;
      const { ctx, chartArea } = chart;
      ctx.save();
      ctx.strokeStyle = 'rgba(226,163,54,0.55)';
      ctx.fillStyle = 'rgba(226,163,54,0.9)';
      ctx.setLineDash([3, 3]);
      ctx.font = '10px system-ui, sans-serif';
      // The band is the padding at the very top of the canvas, above a legend if there is one.
      const band = 2;
      const rowEnd = Array.from({ length: PHASE_ROWS }, () => -Infinity);
      for (const p of phases) {
        const px = x.getPixelForValue(p.t / 1e9);
        if (px < chartArea.left - 1 || px > chartArea.right + 1) continue;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        const w = ctx.measureText(p.name).width;
        const start = px + 3 + w <= chartArea.right ? px + 3 : px - 3 - w;
        const row = rowEnd.findIndex((end) => start > end + 4);
        if (row >= 0 && start >= chartArea.left) {
          ctx.fillText(p.name, start, band + 9 + PHASE_ROW_PX * row);
          rowEnd[row] = start + w;
        }
      }
      ctx.restore();
    },
  };
}

function timeAxis(label: string) {
  return {
    type: 'linear' as const,
    min: 0,
    title: { display: true, text: label, color: MUTED },
    // Few ticks with room between them: "200.00 ms400.00 ms" is not a scale.
    ticks: { maxTicksLimit: 5, autoSkip: true, autoSkipPadding: 12, maxRotation: 0, callback: (v: string | number) => formatNs(Number(v) * 1e9) },
    grid: { color: GRID },
  };
}

/** A log axis labels its powers of ten only: "10.0 5.0 1.0" stacked three pixels apart reads as noise. */
const decades = (v: string | number) => {
  const n = Number(v);
  const l = Math.log10(n);
  return n > 0 && Math.abs(l - Math.round(l)) < 1e-9 ? n.toLocaleString('en-US', { maximumFractionDigits: 3 }) : '';
};

export type TimeKind = 'ops' | 'xruns' | 'ioctl';

export function timeChartConfig(kind: TimeKind, xLabel: string, phases: () => PhaseMark[]): ChartConfiguration<'line'> {
  const datasets =
    kind === 'ops'
      ? [{ label: 'operations/s', data: [], borderColor: COLOURS.ops, backgroundColor: 'rgba(62,158,232,0.15)', fill: true }]
      : kind === 'xruns'
        ? [{ label: 'xruns per interval', data: [], borderColor: COLOURS.xruns, backgroundColor: 'rgba(229,72,77,0.25)', fill: true, stepped: true as const }]
        : [
            { label: 'max', data: [], borderColor: COLOURS.max, backgroundColor: COLOURS.max },
            { label: 'mean', data: [], borderColor: COLOURS.mean, backgroundColor: COLOURS.mean },
          ];
  return {
    type: 'line',
    data: { datasets: datasets.map((d) => ({ ...d, borderWidth: 1.5, pointRadius: 0, spanGaps: false, tension: 0 })) },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: timeAxis(xLabel),
        y:
          kind === 'ioctl'
            ? { type: 'logarithmic', title: { display: true, text: 'µs (log)', color: MUTED }, grid: { color: GRID }, ticks: { callback: decades } }
            : { type: 'linear', beginAtZero: true, title: { display: true, text: kind === 'ops' ? 'ops/s' : 'xruns', color: MUTED }, grid: { color: GRID }, ticks: { precision: 0 } },
      },
      plugins: {
        legend: { display: kind === 'ioctl', labels: { color: INK, boxWidth: 10 } },
        tooltip: { callbacks: { title: (items) => (items[0] ? `t = ${formatNs(items[0].parsed.x! * 1e9)}` : '') } },
      },
    },
    plugins: [phasePlugin(phases)],
  };
}

/**
 * Writes points into an existing array, reusing its objects: a redraw then
 * allocates nothing, which keeps the garbage collector out of the frames.
 * Missing values (no ioctl in a bucket) become gaps.
 */
function fill(out: { x: number; y: number }[], xs: number[], ys: (number | null)[], positiveOnly: boolean): { x: number; y: number }[] {
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    const y = v === null || v === undefined || (positiveOnly && v <= 0) ? NaN : v;
    const p = out[n];
    if (p) {
      p.x = xs[i]!;
      p.y = y;
    } else out.push({ x: xs[i]!, y });
    n++;
  }
  out.length = n;
  return out;
}

/** Copies the series' buckets into the charts' datasets. */
export function updateTimeChart(chart: Chart<'line'>, kind: TimeKind, s: RunSeries, xMax: number, xLabel: string): void {
  const tl = s.timeline();
  const ds = chart.data.datasets as unknown as { data: { x: number; y: number }[] }[];
  if (kind === 'ops') fill(ds[0]!.data, tl.x, tl.opsPerS, false);
  else if (kind === 'xruns') fill(ds[0]!.data, tl.x, tl.xruns, false);
  else {
    fill(ds[0]!.data, tl.x, tl.ioctlMaxUs, true);
    fill(ds[1]!.data, tl.x, tl.ioctlMeanUs, true);
  }
  setX(chart, xMax, xLabel);
  chart.update('none');
}

function setX(chart: Chart<'line'> | Chart<'scatter', KlogPoint[]>, xMax: number, xLabel: string): void {
  const x = chart.options.scales!.x as { max?: number; title?: { text?: string } };
  x.max = xMax;
  if (x.title) x.title.text = xLabel;
}

export function histogramConfig(): ChartConfiguration<'bar'> {
  return {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'stream latency', data: [], backgroundColor: COLOURS.latency, borderWidth: 0, barPercentage: 1, categoryPercentage: 0.9 },
        { label: 'ioctl duration', data: [], backgroundColor: COLOURS.ioctl, borderWidth: 0, barPercentage: 1, categoryPercentage: 0.9 },
      ],
    },
    options: {
      scales: {
        x: { title: { display: true, text: 'latency (log bins)', color: MUTED }, grid: { display: false }, ticks: { maxTicksLimit: 10, maxRotation: 0 } },
        y: { type: 'logarithmic', title: { display: true, text: 'samples (log)', color: MUTED }, grid: { color: GRID }, ticks: { callback: decades } },
      },
      plugins: { legend: { labels: { color: INK, boxWidth: 10 } } },
    },
  };
}

export function updateHistogram(chart: Chart<'bar'>, s: RunSeries): void {
  const a = s.latency.bins;
  const b = s.ioctl.bins;
  let first = -1;
  let last = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] || b[i]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  const labels: string[] = [];
  const da: (number | null)[] = [];
  const db: (number | null)[] = [];
  if (first >= 0) {
    for (let i = first; i <= last; i++) {
      labels.push(i === 0 ? '<100ns' : formatNs(binLower(i)).replace(' ', ''));
      da.push(a[i] || null);
      db.push(b[i] || null);
    }
  }
  chart.data.labels = labels;
  chart.data.datasets[0]!.data = da;
  chart.data.datasets[0]!.label = `stream latency (${s.latency.count})`;
  chart.data.datasets[1]!.data = db;
  chart.data.datasets[1]!.label = `ioctl duration (${s.ioctl.count})`;
  chart.update('none');
}

export interface KlogPoint {
  x: number;
  y: number;
  /** The kernel-log line this dot stands for (first in its cell). */
  line: KlogLine;
}

/**
 * Decimated for drawing: one dot per (pixel column, level) cell, so a flood of
 * log lines draws as fast as a few.
 */
export function klogPoints(lines: readonly KlogLine[], xMaxS: number, columns = 600): KlogPoint[] {
  const seen = new Set<number>();
  const out: KlogPoint[] = [];
  const w = xMaxS > 0 ? xMaxS / columns : 1;
  for (const l of lines) {
    if (l.group !== l.i && l.level >= 4) continue;
    const cell = Math.floor(l.t / 1e9 / w) * 8 + l.level;
    if (seen.has(cell)) continue;
    seen.add(cell);
    out.push({ x: l.t / 1e9, y: l.level, line: l });
  }
  return out;
}

export function klogConfig(xLabel: string, onPick: (l: KlogLine) => void, phases: () => PhaseMark[]): ChartConfiguration<'scatter', KlogPoint[]> {
  return {
    type: 'scatter',
    data: { datasets: [{ label: 'kernel log', data: [], pointRadius: 4, pointHoverRadius: 6, pointBackgroundColor: [], pointBorderWidth: 0 }] },
    options: {
      parsing: false,
      scales: {
        x: timeAxis(xLabel),
        y: { type: 'linear', min: -0.5, max: 7.5, reverse: true, grid: { color: GRID }, ticks: { stepSize: 1, callback: (v) => LEVEL_NAMES[Number(v)] ?? '' } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => (items[0] ? `t = ${formatNs(items[0].parsed.x! * 1e9)}` : ''),
            label: (item) => (item.raw as KlogPoint).line.text.slice(0, 120),
          },
        },
      },
      onClick: (_e, elements, chart) => {
        const el = elements[0];
        if (!el) return;
        const p = chart.data.datasets[0]!.data[el.index] as KlogPoint | undefined;
        if (p) onPick(p.line);
      },
    },
    plugins: [phasePlugin(phases)],
  };
}

export function updateKlogChart(chart: Chart<'scatter', KlogPoint[]>, s: RunSeries, xMax: number, xLabel: string): void {
  const pts = klogPoints(s.klog, xMax);
  const ds = chart.data.datasets[0]!;
  ds.data = pts;
  ds.pointBackgroundColor = pts.map((p) => levelColour(p.y));
  setX(chart, xMax, xLabel);
  chart.update('none');
}
