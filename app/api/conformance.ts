// A conformance sweep's verdicts (op pcm.sweep, events of kind
// "conformance"): each configuration judged by ChromiumOS
// alsa_conformance_test's criteria, and a table per PCM stream of what
// passed. The analysis (findings, summary.json), the live view and the HTML
// report all judge with this one function. Runs anywhere (no Node, no DOM).
import type { ConformanceEvent } from './types.js';
import { formatCount } from './tally.js';

/** As a preset writes them (expect.conformance); the defaults are the anchor's. */
export interface ConformanceCriteria {
  /** Percent of the granted rate the measured one may be off (alsa_conformance_test --rate-criteria-diff-pct, 0.01). */
  rateTolerancePct: number;
  /** RMS frames of hw_ptr off the fitted line (--rate-err-criteria, 10). */
  rateError: number;
  /** Largest wake-up deviation from the period time, ns; undefined: not judged. */
  jitter?: number;
}

export const ANCHOR_CRITERIA: ConformanceCriteria = { rateTolerancePct: 0.01, rateError: 10 };

/**
 * pass; fail; not-offered (HW_REFINE refused the combination: the device
 * never claimed it); busy (another opener had it); not-measured (it ran, but
 * too briefly for a rate).
 */
export type ConfigVerdict = 'pass' | 'fail' | 'not-offered' | 'busy' | 'not-measured';

export interface JudgedConfig {
  verdict: ConfigVerdict;
  /** Why it failed, or what was not judged. */
  why?: string;
  /** Measured rate against the granted one, percent (signed). */
  deviation_pct?: number;
}

/** How many standard errors a deviation must clear: a short run cannot tell 0.01 % apart from its own frame quantisation. */
export const RATE_CONFIDENCE_SIGMAS = 3;

export function judgeConfig(e: ConformanceEvent, c: ConformanceCriteria = ANCHOR_CRITERIA): JudgedConfig {
  if (e.stage === 'refine') return { verdict: 'not-offered', why: `HW_REFINE refused it (${e.errno ?? e.ret})` };
  if (e.stage === 'open' && e.errno === 'EBUSY') return { verdict: 'busy', why: 'the device was busy' };
  if (e.ret < 0) return { verdict: 'fail', why: `${e.stage ?? 'call'} failed with ${e.errno ?? e.ret}` };
  const g = e.granted;
  if (g && g.rate !== e.rate) return { verdict: 'fail', why: `asked for ${formatCount(e.rate)} Hz, granted ${formatCount(g.rate)} Hz` };
  if (g && (g.channels !== e.channels || g.format !== e.format)) return { verdict: 'fail', why: `asked for ${e.format} × ${e.channels}, granted ${g.format} × ${g.channels}` };
  if (e.measured_rate === undefined) return { verdict: 'not-measured', why: `too few pointer samples (${e.points ?? 0}) for a rate` };
  const nominal = g?.rate ?? e.rate;
  const diff = e.measured_rate - nominal;
  const deviation_pct = Math.round((diff / nominal) * 100 * 10000) / 10000;
  const tol = (nominal * c.rateTolerancePct) / 100;
  const se = e.rate_se ?? 0;
  if (Math.abs(diff) - RATE_CONFIDENCE_SIGMAS * se > tol)
    return { verdict: 'fail', deviation_pct, why: `measured ${formatHz(e.measured_rate)} at ${formatCount(nominal)} Hz: ${deviation_pct > 0 ? '+' : ''}${deviation_pct} % (tolerance ${c.rateTolerancePct} %, ±${formatHz(RATE_CONFIDENCE_SIGMAS * se)} measurement)` };
  if (e.rate_error !== undefined && e.rate_error > c.rateError) return { verdict: 'fail', deviation_pct, why: `hw_ptr strays ${e.rate_error} frames (RMS) from a steady rate, more than ${c.rateError}` };
  if (c.jitter !== undefined && e.jitter_max_ns !== undefined && e.jitter_max_ns > c.jitter)
    return { verdict: 'fail', deviation_pct, why: `a period wake-up was ${(e.jitter_max_ns / 1e6).toFixed(3)} ms off the period time, more than ${(c.jitter / 1e6).toFixed(3)} ms` };
  return { verdict: 'pass', deviation_pct };
}

function formatHz(hz: number): string {
  return `${hz.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })} Hz`;
}

/** One PCM stream's row: hw:CARD,DEV and direction. */
export interface ConformanceRow {
  device: string;
  card: number;
  card_id?: string;
  stream: 'playback' | 'capture';
  configurations: number;
  passed: number;
  failed: number;
  not_offered: number;
  busy: number;
  not_measured: number;
  /** What was swept: the values each dimension had. */
  formats: string[];
  rates: number[];
  channels: number[];
  period_sizes: number[];
  /** Largest |measured − granted| seen, percent. */
  worst_deviation_pct?: number;
  worst_jitter_ns?: number;
  xruns: number;
  /** The failed configurations, as "S16_LE 2ch 44,100 Hz 512: why" (the first 20). */
  failures: string[];
}

export function configLabel(e: ConformanceEvent): string {
  return e.channels ? `${e.format} ${e.channels}ch ${formatCount(e.rate)} Hz, period ${formatCount(e.period_size)}` : 'the device';
}

export function conformanceTable(events: readonly ConformanceEvent[], c: ConformanceCriteria = ANCHOR_CRITERIA): ConformanceRow[] {
  const rows = new Map<string, ConformanceRow>();
  for (const e of events) {
    const key = `hw:${e.card},${e.device} ${e.stream}`;
    let r = rows.get(key);
    if (!r) {
      r = { device: `hw:${e.card},${e.device}`, card: e.card, ...(e.card_id ? { card_id: e.card_id } : {}), stream: e.stream, configurations: 0, passed: 0, failed: 0, not_offered: 0, busy: 0, not_measured: 0, formats: [], rates: [], channels: [], period_sizes: [], xruns: 0, failures: [] };
      rows.set(key, r);
    }
    const j = judgeConfig(e, c);
    r.configurations++;
    if (j.verdict === 'pass') r.passed++;
    else if (j.verdict === 'fail') {
      r.failed++;
      if (r.failures.length < 20) r.failures.push(`${configLabel(e)}: ${j.why}`);
    } else if (j.verdict === 'not-offered') r.not_offered++;
    else if (j.verdict === 'busy') r.busy++;
    else r.not_measured++;
    if (e.channels && j.verdict !== 'not-offered') {
      if (!r.formats.includes(e.format)) r.formats.push(e.format);
      if (!r.rates.includes(e.rate)) r.rates.push(e.rate);
      if (!r.channels.includes(e.channels)) r.channels.push(e.channels);
      if (!r.period_sizes.includes(e.period_size)) r.period_sizes.push(e.period_size);
    }
    if (j.deviation_pct !== undefined && (r.worst_deviation_pct === undefined || Math.abs(j.deviation_pct) > Math.abs(r.worst_deviation_pct))) r.worst_deviation_pct = j.deviation_pct;
    if (e.jitter_max_ns !== undefined && (r.worst_jitter_ns === undefined || e.jitter_max_ns > r.worst_jitter_ns)) r.worst_jitter_ns = e.jitter_max_ns;
    r.xruns += e.xruns ?? 0;
  }
  for (const r of rows.values()) {
    r.rates.sort((a, b) => a - b);
    r.channels.sort((a, b) => a - b);
    r.period_sizes.sort((a, b) => a - b);
  }
  return [...rows.values()].sort((a, b) => a.card - b.card || a.device.localeCompare(b.device) || a.stream.localeCompare(b.stream));
}

/** A row's verdict in one word: pass (everything judged passed), fail, or skip (nothing could be judged). */
export function rowVerdict(r: ConformanceRow): 'pass' | 'fail' | 'skip' {
  return r.failed ? 'fail' : r.passed ? 'pass' : 'skip';
}
