// Two or more runs side by side by what they measured: xruns (in total and
// per stream), operations and failures, findings, stream latency, period
// wake-up lateness, ioctl timings, hw_ptr rate accuracy, and the checks. The
// first run is the baseline; a later run's value is marked worse when it moved
// the wrong way by more than noise (counts: any increase; timings: more than
// 20 % and 1 µs; rate accuracy: further from the granted rate by more than
// 0.01 %, alsa_conformance_test's pass band). Used by `stresslab compare` and
// the app's comparison view, so both mark the same cells.
import type { RunSummary } from '../engine/run.js';
import { NOT_IOCTL, type HistogramSummary, type RunCounts } from '../api/tally.js';
import { formatNs } from '../api/series.js';
import { formatMetric, type Unit } from '../api/compare-format.js';
import type { HwPtrRate } from './metrics.js';

/** none: shown for context, never judged (a run stopped at its first finding does fewer operations). */
export type Better = 'lower' | 'higher' | 'closer-to-1' | 'none';
export type { Unit };

export interface MetricRow {
  group: string;
  name: string;
  unit: Unit;
  better: Better;
  /** One per run; null where the run did not measure it. */
  values: (number | null)[];
  /** One per run: worse than the baseline (always false for the baseline itself). */
  worse: boolean[];
  improved: boolean[];
}

export interface ComparedRun {
  id: string;
  preset: string;
  target: string;
  seed: number;
  profile: string[];
  verdict: string;
  kernel?: string;
  budget_ns: number;
  elapsed_ns: number;
}

export interface MetricsComparison {
  runs: ComparedRun[];
  rows: MetricRow[];
  /** Rows where some run is worse than the baseline. */
  worse: number;
  notes: string[];
}

const TIMING_REL = 0.2;
const TIMING_ABS_NS = 1000;
const RATE_BAND = 0.0001;

function judge(better: Better, unit: Unit, base: number | null, v: number | null): { worse: boolean; improved: boolean } {
  if (base === null || v === null || better === 'none') return { worse: false, improved: false };
  if (better === 'closer-to-1') {
    const d = Math.abs(v - 1) - Math.abs(base - 1);
    return { worse: d > RATE_BAND, improved: d < -RATE_BAND };
  }
  if (unit === 'count') return better === 'lower' ? { worse: v > base, improved: v < base } : { worse: v < base, improved: v > base };
  const up = v - base;
  const significant = Math.abs(up) > TIMING_ABS_NS && Math.abs(up) > TIMING_REL * Math.max(Math.abs(base), 1);
  if (unit === 'ops/s') return { worse: significant && up < 0, improved: significant && up > 0 };
  return better === 'lower' ? { worse: significant && up > 0, improved: significant && up < 0 } : { worse: significant && up < 0, improved: significant && up > 0 };
}

interface Metrics {
  ops_per_s?: number;
  ops?: Record<string, { count: number; dur_ns: HistogramSummary }>;
  delay_ns?: HistogramSummary;
  latency_ns?: HistogramSummary;
  wakeup_late_ns?: HistogramSummary;
  ioctl_ns?: HistogramSummary;
  midi_latency_ns?: HistogramSummary;
  hw_ptr_rate?: Record<string, HwPtrRate>;
}

/** A suite's metrics are per phase; the comparison reads a single run's, or each phase's under its name. */
function metricsOf(s: RunSummary): Record<string, Metrics> {
  const m = s.metrics as Record<string, unknown>;
  if (s.phases) return Object.fromEntries(s.phases.map((p) => [p.name, (m[p.name] ?? {}) as Metrics]));
  return { '': m as Metrics };
}

function countsOf(s: RunSummary): RunCounts | undefined {
  return s.counts;
}

export function compareMetrics(summaries: { id: string; summary: RunSummary }[]): MetricsComparison {
  const rows: MetricRow[] = [];
  const notes: string[] = [];
  const add = (group: string, name: string, unit: Unit, better: Better, values: (number | null)[]) => {
    if (values.every((v) => v === null)) return;
    const worse: boolean[] = [];
    const improved: boolean[] = [];
    values.forEach((v, i) => {
      const j = i === 0 ? { worse: false, improved: false } : judge(better, unit, values[0] ?? null, v);
      worse.push(j.worse);
      improved.push(j.improved);
    });
    rows.push({ group, name, unit, better, values, worse, improved });
  };
  const col = <T>(f: (s: RunSummary, i: number) => T | undefined | null): (T | null)[] => summaries.map((x, i) => f(x.summary, i) ?? null);

  const counts = summaries.map((x) => countsOf(x.summary));
  if (counts.some((c) => !c)) notes.push('runs recorded before counts were kept show only what their summary has');
  add('run', 'xruns', 'count', 'lower', counts.map((c) => c?.xruns ?? null));
  add('run', 'operations', 'count', 'none', counts.map((c) => c?.operations ?? null));
  add('run', 'failed operations', 'count', 'lower', counts.map((c) => c?.failed ?? null));
  // xrun recovery (rule "xrun recovery"): runs recorded before it have no such counts
  if (counts.some((c) => c?.recovered || c?.recover_failed)) {
    add('run', 'xruns recovered', 'count', 'none', counts.map((c) => c?.recovered ?? null));
    add('run', 'failed recoveries', 'count', 'lower', counts.map((c) => c?.recover_failed ?? null));
    add('run', 'time lost to xruns', 'ns', 'lower', counts.map((c) => c?.time_lost_ns ?? null));
  }
  // Glitches are summarised only where a tone glitched; beside such a run, another run's none is 0.
  const glitches = col((s) => (s.metrics as { glitches?: { total: number } }).glitches?.total);
  if (glitches.some((g) => g !== null)) add('run', 'glitches (application lane)', 'count', 'lower', glitches.map((g, i) => g ?? (summaries[i]!.summary.counts ? 0 : null)));
  add('run', 'findings', 'count', 'lower', col((s) => s.findings.length));
  for (const sev of ['critical', 'error', 'warning'] as const) add('findings', sev, 'count', 'lower', counts.map((c) => c?.findings_by_severity[sev] ?? null));
  const types = [...new Set(summaries.flatMap((x) => Object.keys(x.summary.finding_counts ?? {})))].sort();
  for (const t of types) add('findings', t, 'count', 'lower', col((s) => s.finding_counts?.[t] ?? 0));
  add('checks', 'checks failed', 'count', 'lower', col((s) => (s.checks ? s.checks.filter((c) => c.status === 'fail' || c.status === 'error').length : null)));
  add('checks', 'checks not evaluated', 'count', 'lower', col((s) => (s.checks ? s.checks.filter((c) => c.status === 'skip').length : null)));

  const streams = [...new Set(counts.flatMap((c) => c?.streams.map((r) => r.stream) ?? []))];
  for (const st of streams) {
    const r = counts.map((c) => c?.streams.find((x) => x.stream === st));
    add('streams', `${st} xruns`, 'count', 'lower', r.map((x) => x?.xruns ?? null));
    add('streams', `${st} failed operations`, 'count', 'lower', r.map((x) => x?.failed ?? null));
    add('streams', `${st} stream latency p99`, 'ns', 'lower', r.map((x) => x?.delay_p99_ns ?? null));
    add('streams', `${st} round-trip latency p99`, 'ns', 'lower', r.map((x) => x?.latency_p99_ns ?? null));
  }

  const metrics = summaries.map((x) => metricsOf(x.summary));
  const parts = [...new Set(metrics.flatMap((m) => Object.keys(m)))];
  for (const part of parts) {
    const g = (name: string) => (part ? `${part}: ${name}` : name);
    const ms = metrics.map((m) => m[part]);
    add(g('throughput'), 'operations per second', 'ops/s', 'higher', ms.map((m) => m?.ops_per_s ?? null));
    for (const [key, label] of [['delay_ns', 'stream latency'], ['latency_ns', 'round-trip latency'], ['wakeup_late_ns', 'period wake-up lateness'], ['ioctl_ns', 'ioctl duration'], ['midi_latency_ns', 'MIDI latency']] as const) {
      const hs = ms.map((m) => m?.[key]);
      if (hs.every((h) => !h?.count)) continue;
      for (const q of ['p50', 'p99', 'max'] as const) add(g(label), q, 'ns', 'lower', hs.map((h) => (h?.count ? h[q] : null)));
    }
    const ops = [...new Set(ms.flatMap((m) => Object.keys(m?.ops ?? {})))].filter((op) => !NOT_IOCTL.has(op)).sort();
    for (const op of ops) add(g('ioctl p99 by operation'), op, 'ns', 'lower', ms.map((m) => m?.ops?.[op]?.dur_ns.p99 ?? null));
    const rated = [...new Set(ms.flatMap((m) => Object.keys(m?.hw_ptr_rate ?? {})))].sort();
    for (const h of rated) add(g('rate accuracy (hw_ptr / granted rate)'), h, 'ratio', 'closer-to-1', ms.map((m) => m?.hw_ptr_rate?.[h]?.ratio ?? null));
    // a conformance sweep: configurations that passed and failed per PCM stream
    type Row = { device: string; stream: string; card_id?: string; passed: number; failed: number };
    const conf = ms.map((m) => (m as { conformance?: { streams: Row[] } } | undefined)?.conformance?.streams);
    const confKeys = [...new Set(conf.flatMap((rs) => rs?.map((r) => `${r.device} ${r.stream}${r.card_id ? ` (${r.card_id})` : ''}`) ?? []))].sort();
    for (const k of confKeys) {
      const pick = (rs: Row[] | undefined) => rs?.find((r) => `${r.device} ${r.stream}${r.card_id ? ` (${r.card_id})` : ''}` === k);
      add(g('conformance: configurations failed'), k, 'count', 'lower', conf.map((rs) => pick(rs)?.failed ?? null));
    }
  }

  const presets = new Set(summaries.map((x) => x.summary.preset));
  if (presets.size > 1) notes.push(`different presets (${[...presets].join(', ')}): rows compare what each measured`);
  const budgets = new Set(summaries.map((x) => x.summary.budget_ns));
  if (budgets.size > 1) notes.push('different budgets: counts grow with the run length');
  return {
    runs: summaries.map(({ id, summary: s }) => ({
      id,
      preset: s.preset,
      target: s.target,
      seed: s.seed,
      profile: s.profile,
      verdict: s.verdict,
      budget_ns: s.budget_ns,
      elapsed_ns: s.elapsed_ns,
      ...(s.context?.kernel ? { kernel: `${s.context.kernel.release}${s.context.machine ? ` (${s.context.machine.accel})` : ''}` } : {}),
    })),
    rows,
    worse: rows.filter((r) => r.worse.some(Boolean)).length,
    notes,
  };
}

/** The comparison as a table for a terminal: one column per run, worse values marked ▲ (red on a terminal). */
export function comparisonText(c: MetricsComparison, color = false): string {
  const head = ['', ...c.runs.map((r, i) => `${i === 0 ? 'baseline' : `run ${i + 1}`}`)];
  const lines: string[][] = [head];
  const info = (f: (r: ComparedRun) => string) => lines.push(['', ...c.runs.map(f)]);
  info((r) => r.id);
  info((r) => `${r.preset} on ${r.target}${r.kernel ? ` ${r.kernel}` : ''}`);
  info((r) => `seed ${r.seed}, ${formatNs(r.elapsed_ns)}, ${r.verdict.toUpperCase()}`);
  let group = '';
  const marks: boolean[][] = [[], [], [], []];
  for (const row of c.rows) {
    if (row.group !== group) {
      group = row.group;
      lines.push([`${group}:`]);
      marks.push([]);
    }
    lines.push([`  ${row.name}`, ...row.values.map((v, i) => `${formatMetric(row.unit, v)}${row.worse[i] ? ' ▲' : row.improved[i] ? ' ▼' : ''}`)]);
    marks.push([false, ...row.worse]);
  }
  const widths = head.map((_, k) => Math.min(48, Math.max(...lines.map((l) => (l[k] ?? '').length))));
  const out = lines.map((l, li) =>
    l
      .map((cell, k) => {
        const padded = k === 0 || l.length === 1 ? cell.padEnd(l.length === 1 ? 0 : widths[k]!) : cell.slice(0, 48).padStart(widths[k]!);
        return color && marks[li]?.[k] ? `\x1b[31m${padded}\x1b[0m` : padded;
      })
      .join('  ')
      .trimEnd(),
  );
  const summary = c.worse ? `${c.worse} metric(s) worse than the baseline (▲; ▼ better)` : 'nothing worse than the baseline';
  return [...out, '', summary, ...c.notes.map((n) => `note: ${n}`)].join('\n') + '\n';
}
