// The chart model: bounded memory however long the run, the same totals
// whatever the bucket width, and increments (not running counts) for xruns.
import { describe, expect, it } from 'vitest';
import { MAX_BUCKETS, MAX_KLOG_LINES, NOT_IOCTL, RunSeries, TIMING_OPS } from './series.js';
import { OPS } from '../vocabulary/ops.js';
import type { RunEvent } from './types.js';

const act = (t: number, dur: number, op = 'pcm.hw_params', ret = 0): RunEvent => ({ kind: 'act', t, dur, lane: 'a', iter: 0, step: 0, op, ret });

describe('RunSeries', () => {
  it('keeps at most MAX_BUCKETS buckets and loses no operation as the run grows', () => {
    const s = new RunSeries();
    const n = 200_000;
    const events: RunEvent[] = [];
    for (let i = 0; i < n; i++) events.push(act(i * 50_000, 1_000 + (i % 7) * 100));
    s.feed(events);
    const tl = s.timeline();
    expect(tl.x.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(tl.x.length).toBeGreaterThan(MAX_BUCKETS / 2 - 1);
    const total = tl.opsPerS.reduce((a, v) => a + (v * tl.bucketS), 0);
    expect(Math.round(total)).toBe(n);
    expect(s.actions).toBe(n);
    expect(Math.max(...tl.ioctlMaxUs.map((v) => v ?? 0))).toBeCloseTo(1.6, 5);
  });

  it('turns running xrun counts into increments per stream', () => {
    const s = new RunSeries();
    s.feed([
      { kind: 'metric', t: 0, name: 'xruns', value: 0, handle: 'a' },
      { kind: 'metric', t: 10, name: 'xruns', value: 2, handle: 'a' },
      { kind: 'metric', t: 20, name: 'xruns', value: 1, handle: 'b' },
      { kind: 'metric', t: 3000, name: 'xruns', value: 2, handle: 'a' },
      { kind: 'metric', t: 4000, name: 'xruns', value: 5, handle: 'a' },
    ]);
    expect(s.xrunsTotal).toBe(6);
    expect(s.timeline().xruns.reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('charts the application lane: glitches per interval, round trips and MIDI latency/jitter as means, kept across widening', () => {
    const s = new RunSeries();
    expect([s.hasAudio(), s.hasMidi()]).toEqual([false, false]);
    const ev: RunEvent[] = [];
    for (let i = 0; i < 3; i++) ev.push({ kind: 'metric', t: 1_000_000 * (i + 1), name: 'glitch', value: 12, handle: 'rec' });
    ev.push({ kind: 'metric', t: 500, name: 'latency', value: 4e6, handle: 'in', confidence: 1 }, { kind: 'metric', t: 600, name: 'latency', value: 6e6, handle: 'in', confidence: 1 });
    ev.push({ kind: 'metric', t: 700, name: 'midi_latency', value: 2e6, handle: 'rx' }, { kind: 'metric', t: 800, name: 'midi_latency', value: 8e6, handle: 'rx' }, { kind: 'metric', t: 800, name: 'midi_jitter', value: 1e6, handle: 'rx' });
    // a late event widens the buckets many times: sums, counts and maxima must survive
    ev.push(act(1e12, 10));
    s.feed(ev);
    const tl = s.timeline();
    expect([s.hasAudio(), s.hasMidi(), s.glitchesTotal]).toEqual([true, true, 3]);
    expect(tl.glitches.reduce((a, b) => a + b, 0)).toBe(3);
    expect(tl.streamLatMs[0]).toBeCloseTo(5, 9);
    expect([tl.midiLatMs[0], tl.midiLatMaxMs[0], tl.midiJitterMs[0]]).toEqual([5, 8, 1]);
    expect(tl.streamLatMs.slice(1).every((v) => v === null)).toBe(true);
  });

  it('counts a stream once whichever lane reported its running count (the agent reports from the lane that saw the xrun)', () => {
    const s = new RunSeries();
    s.feed([
      { kind: 'metric', t: 0, name: 'xruns', value: 3, handle: 'music', lane: 'music' },
      { kind: 'metric', t: 10, name: 'xruns', value: 3, handle: 'music', lane: 'monitor' },
      { kind: 'metric', t: 20, name: 'xruns', value: 4, handle: 'music', lane: 'monitor' },
      { kind: 'metric', t: 30, name: 'xruns', value: 4, handle: 'music', lane: 'music' },
    ]);
    expect(s.xrunsTotal).toBe(4);
    expect(s.timeline().xruns.reduce((a, b) => a + b, 0)).toBe(4);
    expect(s.tally.counts().streams).toMatchObject([{ stream: 'music', xruns: 4 }]);
  });

  it('skips events it has already seen when a resubscription overlaps', () => {
    const s = new RunSeries();
    const ev = Array.from({ length: 10 }, (_, i) => act(i * 1000, 10));
    s.feed(ev.slice(0, 6), 0);
    s.feed(ev.slice(4), 4);
    expect(s.actions).toBe(10);
    expect(s.events).toBe(10);
  });

  it('groups the lines of one kernel report and bounds the log it keeps', () => {
    const s = new RunSeries();
    const lines: RunEvent[] = [];
    for (let i = 0; i < MAX_KLOG_LINES + 500; i++) lines.push({ kind: 'klog', t: Math.floor(i / 10), level: i % 2 ? 6 : 3, text: `line ${i}`, source: 'sim' });
    s.feed(lines);
    expect(s.klog[1]!.group).toBe(0);
    expect(s.klog[10]!.group).toBe(10);
    expect(s.klog.length).toBeLessThan(MAX_KLOG_LINES + 500);
    expect(s.klog.length + s.klogDropped).toBe(MAX_KLOG_LINES + 500);
    // Past the cap only warnings and worse are kept.
    expect(s.klog.slice(MAX_KLOG_LINES).every((l) => l.level <= 4)).toBe(true);
  });

  it('counts as ioctl latency exactly the ops that are not waits by design', () => {
    const timing = OPS.filter((o) => o.family === 'timing').map((o) => o.name).sort();
    expect(timing).toEqual([...TIMING_OPS].sort());
    for (const op of timing) expect(NOT_IOCTL.has(op)).toBe(true);
    for (const op of NOT_IOCTL) expect(OPS.some((o) => o.name === op)).toBe(true);
  });

  it('histograms latencies on a log scale with sane quantiles', () => {
    const s = new RunSeries();
    const ev: RunEvent[] = [];
    // stream latency is the delay of the streams
    for (let i = 1; i <= 1000; i++) ev.push({ kind: 'metric', t: i, name: 'delay', value: i * 1000 });
    s.feed(ev);
    const p50 = s.latency.quantile(0.5);
    expect(p50).toBeGreaterThan(450_000);
    expect(p50).toBeLessThan(650_000);
    expect(s.latency.quantile(1)).toBe(1_000_000);
    expect(s.latency.points().reduce((a, p) => a + p.n, 0)).toBe(1000);
  });
});
