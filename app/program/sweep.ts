// Rule "conformance sweep" (README.md): which configurations a pcm.sweep runs
// on one PCM stream, decided from what the kernel answers, and how each one's
// measurements are computed. The simulator calls these; the agent's sweep.c
// does the same in C (the sim-vs-agent comparison checks both list the same
// configurations for the same card).
//
// Modelled on ChromiumOS alsa_conformance_test.py: every value of one
// dimension with the others at their defaults (its test_params and
// test_rates), and with `pairs` every format x channels x rate (its
// test_all_pairs); period sizes are swept too, which the anchor leaves to
// its caller.
import { FORMAT_BITS, PCM_FORMATS, type PcmFormat } from '../vocabulary/ops.js';

/** The rates alsa_conformance_test tries (snd_pcm_hw_params_test_rate for each); a device offers those its HW_REFINE accepts. */
export const SWEEP_RATES = [5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 64000, 88200, 96000, 176400, 192000, 384000] as const;
/** Period sizes tried: the powers of two a device's period range holds. */
export const SWEEP_PERIODS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] as const;
/** Channel counts are tried one by one up to this many. */
export const SWEEP_MAX_CHANNELS = 32;
/** The period a configuration runs with when period size is not what it varies: at most this... */
export const SWEEP_DEFAULT_PERIOD_MAX = 1024;
/** ...and short enough that at least this many periods fit in the time a configuration runs. */
export const SWEEP_MIN_PERIODS_RUN = 8;
/** Periods requested per buffer, when the device allows it (else the kernel chooses). */
export const SWEEP_PERIODS_PER_BUFFER = 4;

/** Formats the lab can fill with silence, in SNDRV_PCM_FORMAT_* order (how a format mask lists them). */
export const SWEEP_FORMATS: PcmFormat[] = [...PCM_FORMATS].sort((a, b) => FORMAT_BITS[a].index - FORMAT_BITS[b].index);

/** What one stream offers, as HW_REFINE answered value by value. */
export interface SweepOffer {
  formats: PcmFormat[];
  channels: number[];
  rates: number[];
  /** Period sizes accepted with the default format, channels and rate. */
  periods: number[];
}

export interface SweepConfig {
  vary: 'default' | 'format' | 'channels' | 'rate' | 'period_size' | 'pairs';
  format: PcmFormat;
  channels: number;
  rate: number;
  period_size: number;
}

/** The defaults the one-dimension sweeps hold still: alsa_conformance_test's (S16_LE, 2 channels, 48 kHz), else the first offered. */
export function sweepDefaults(o: SweepOffer): { format: PcmFormat; channels: number; rate: number } {
  return {
    format: o.formats.includes('S16_LE') ? 'S16_LE' : o.formats[0]!,
    channels: o.channels.includes(2) ? 2 : o.channels[0]!,
    rate: o.rates.includes(48000) ? 48000 : o.rates[0]!,
  };
}

/**
 * The period a configuration at `rate` runs with when the period is not what
 * it varies: the largest offered one up to 1024 frames that still gives
 * eight periods in the time a configuration runs; else the smallest offered.
 */
export function sweepPeriodFor(rate: number, forNs: number, periods: readonly number[]): number {
  let best = 0;
  for (const p of periods) if (p <= SWEEP_DEFAULT_PERIOD_MAX && p * SWEEP_MIN_PERIODS_RUN * 1e9 <= rate * forNs && p > best) best = p;
  return best || Math.min(...periods);
}

/** Every configuration to run on one stream, in order, each once. */
export function sweepPlan(o: SweepOffer, forNs: number, pairs: boolean): SweepConfig[] {
  if (!o.formats.length || !o.channels.length || !o.rates.length || !o.periods.length) return [];
  const d = sweepDefaults(o);
  const out: SweepConfig[] = [];
  const seen = new Set<string>();
  const add = (vary: SweepConfig['vary'], format: PcmFormat, channels: number, rate: number, period_size: number) => {
    const key = `${format}/${channels}/${rate}/${period_size}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ vary, format, channels, rate, period_size });
  };
  const p0 = sweepPeriodFor(d.rate, forNs, o.periods);
  add('default', d.format, d.channels, d.rate, p0);
  for (const f of o.formats) add('format', f, d.channels, d.rate, p0);
  for (const c of o.channels) add('channels', d.format, c, d.rate, p0);
  for (const r of o.rates) add('rate', d.format, d.channels, r, sweepPeriodFor(r, forNs, o.periods));
  for (const p of o.periods) if (p * SWEEP_MIN_PERIODS_RUN * 1e9 <= d.rate * forNs) add('period_size', d.format, d.channels, d.rate, p);
  if (pairs) for (const c of o.channels) for (const f of o.formats) for (const r of o.rates) add('pairs', f, c, r, sweepPeriodFor(r, forNs, o.periods));
  return out;
}

/**
 * Least-squares fit of hw_ptr (frames) over time, as alsa_conformance_test's
 * recorder computes it: the slope is the rate the stream really ran at, the
 * RMS distance of the points from the line its "rate error". Also the
 * slope's standard error (Hz): how finely a short run can tell a rate at
 * all (hw_ptr moves in whole frames). Points are [ns, frames]; fewer than
 * three give nothing.
 */
export function fitRate(points: readonly (readonly [number, number])[]): { rate: number; error: number; se: number } | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  const t0 = points[0]![0];
  const f0 = points[0]![1];
  let st = 0;
  let sf = 0;
  for (const [t, f] of points) {
    st += (t - t0) / 1e9;
    sf += f - f0;
  }
  const mt = st / n;
  const mf = sf / n;
  let sxy = 0;
  let sxx = 0;
  for (const [t, f] of points) {
    const x = (t - t0) / 1e9 - mt;
    sxy += x * (f - f0 - mf);
    sxx += x * x;
  }
  if (!(sxx > 0)) return undefined;
  const rate = sxy / sxx;
  const a = mf - rate * mt;
  let ss = 0;
  for (const [t, f] of points) {
    const e = f - f0 - (a + rate * ((t - t0) / 1e9));
    ss += e * e;
  }
  return { rate, error: Math.sqrt(ss / n), se: Math.sqrt(ss / (n - 2) / sxx) };
}

/** Wake-up intervals against the period time: mean and largest absolute deviation, ns. */
export function wakeJitter(intervals: readonly number[], periodNs: number): { mean: number; max: number } | undefined {
  if (!intervals.length) return undefined;
  let sum = 0;
  let max = 0;
  for (const iv of intervals) {
    const d = Math.abs(iv - periodNs);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: Math.round(sum / intervals.length), max: Math.round(max) };
}
