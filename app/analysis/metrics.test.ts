import { describe, expect, it } from 'vitest';
import type { ActionEvent, MetricEvent } from '../events/types.js';
import { MetricsAggregator } from './metrics.js';

const hwParams = (t: number, handle: string, rate: number, ret = 0): ActionEvent => ({
  kind: 'act', t, dur: 1000, lane: 'a', iter: 0, step: 0, op: 'pcm.hw_params', handle, ret,
  ...(ret < 0 ? { errno: 'EBADFD' } : { data: { params: { access: 'rw_interleaved', format: 'S16_LE', channels: 2, rate, period_size: 48, periods: 4, buffer_size: 192 } } }),
});
const rate = (t: number, handle: string, value: number): MetricEvent => ({ kind: 'metric', t, name: 'hw_ptr_rate', value, handle });

describe('hw_ptr rate against the nominal rate', () => {
  it('averages the measured rate per stream and divides by the rate HW_PARAMS granted', () => {
    const m = new MetricsAggregator();
    m.feed(hwParams(0, 'out', 48000));
    m.feed(hwParams(0, 'in', 44100));
    for (const v of [47000, 47400, 47600]) m.feed(rate(1e6, 'out', v));
    m.feed(rate(2e6, 'in', 44100));
    const s = m.summary(1e9).hw_ptr_rate as Record<string, { hz: number; ratio?: number; nominal_hz?: number; samples: number; min_hz: number; max_hz: number }>;
    expect(s.out).toEqual({ hz: 47333.3, min_hz: 47000, max_hz: 47600, samples: 3, nominal_hz: 48000, ratio: 0.9861 });
    expect(s.in!.ratio).toBe(1);
  });

  it('keeps the rate of the last successful HW_PARAMS, and gives no ratio without one', () => {
    const m = new MetricsAggregator();
    m.feed(hwParams(0, 'out', 48000));
    m.feed(hwParams(1, 'out', 96000, -77));
    m.feed(rate(2, 'out', 24000));
    m.feed(rate(2, 'other', 1000));
    const s = m.summary(1e9).hw_ptr_rate as Record<string, { ratio?: number; nominal_hz?: number }>;
    expect(s.out!.nominal_hz).toBe(48000);
    expect(s.out!.ratio).toBe(0.5);
    expect(s.other!.ratio).toBeUndefined();
  });
});
