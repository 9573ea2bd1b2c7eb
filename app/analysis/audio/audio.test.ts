import { describe, expect, it } from 'vitest';
import { GlitchAnalyzer } from './glitch.js';
import { SineGenerator } from './sine.js';
import { BurstScanner, findBurst } from './correlate.js';
import { latencyFromContent } from './latency.js';
import { BURST_FRAMES, mlsBurst } from './mls.js';

/** A seeded generator, so "noise" is the same noise every run. */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32 - 0.5;
  };
}

/** 16-bit quantisation, as a real S16 loopback hands the tone back. */
const s16 = (xs: Float32Array) => xs.map((x) => Math.round(x * 32767) / 32767);

function tone(frames: number, period = 48): Float32Array {
  return s16(new SineGenerator(period).next(frames));
}

function analyze(x: Float32Array, period = 48, chunk = 480): GlitchAnalyzer {
  const a = new GlitchAnalyzer({ period });
  for (let i = 0; i < x.length; i += chunk) a.push(x.subarray(i, Math.min(x.length, i + chunk)));
  a.finish();
  return a;
}

describe('glitch analyzer', () => {
  it('finds no glitch in a clean tone (after silence, as a loopback starts)', () => {
    const x = new Float32Array(48000 + 1000);
    x.set(tone(48000), 1000);
    const a = analyze(x);
    expect(a.everLocked).toBe(true);
    expect(a.glitches).toEqual([]);
    expect(a.framesChecked).toBeGreaterThan(40000);
  });

  it('finds no glitch in a clean tone with a little noise and a gain', () => {
    const r = noise(7);
    const x = tone(48000).map((v) => v * 0.3 + r() * 0.002);
    const a = analyze(x);
    expect(a.everLocked).toBe(true);
    expect(a.glitches).toEqual([]);
  });

  it('reports zeroed frames at the frames where they were zeroed', () => {
    const x = tone(48000);
    const at = [10_000, 25_003, 40_017];
    for (const f of at) x.fill(0, f, f + 20);
    const a = analyze(x);
    expect(a.glitches.map((g) => g.frame).length).toBe(3);
    a.glitches.forEach((g, i) => {
      expect(Math.abs(g.frame - at[i]!)).toBeLessThanOrEqual(3);
      expect(g.length).toBeGreaterThanOrEqual(15);
      expect(g.length).toBeLessThanOrEqual(25);
    });
  });

  it('reports dropped frames (a phase jump forward) at the right frame', () => {
    const src = tone(60000);
    const drops = [12_000, 30_000];
    const x = new Float32Array([...src.subarray(0, drops[0]), ...src.subarray(drops[0]! + 7, drops[1]), ...src.subarray(drops[1]! + 13)]);
    const a = analyze(x);
    expect(a.glitches.length).toBe(2);
    expect(Math.abs(a.glitches[0]!.frame - drops[0]!)).toBeLessThanOrEqual(12);
    expect(Math.abs(a.glitches[1]!.frame - (drops[1]! - 7))).toBeLessThanOrEqual(12);
  });

  it('reports inserted frames (a repeated block) at the right frame', () => {
    const src = tone(48000);
    const at = 20_000;
    const x = new Float32Array([...src.subarray(0, at), ...src.subarray(at - 5, at), ...src.subarray(at)]);
    const a = analyze(x);
    expect(a.glitches.length).toBe(1);
    expect(Math.abs(a.glitches[0]!.frame - at)).toBeLessThanOrEqual(12);
  });

  it('never locks onto noise, so it cannot claim a clean signal', () => {
    const r = noise(3);
    const x = new Float32Array(48000).map(() => r() * 0.5);
    const a = analyze(x);
    expect(a.everLocked).toBe(false);
  });

  it('refuses a period that is not a whole number of frames', () => {
    expect(() => new GlitchAnalyzer({ period: 47.5 })).toThrow(/whole number/);
  });
});

describe('latency by correlation', () => {
  it('the burst is the agent\'s MLS: ±0.5, balanced to within one', () => {
    const b = mlsBurst();
    expect(b.length).toBe(BURST_FRAMES);
    expect(new Set(b)).toEqual(new Set([0.5, -0.5]));
    const sum = b.reduce((s, v) => s + v, 0);
    expect(Math.abs(sum)).toBeLessThanOrEqual(8);
  });

  it.each([0, 1, 37, 480, 4100])('measures a latency of %i frames with full confidence', (lag) => {
    const rec = new Float32Array(lag + 2000);
    rec.set(s16(mlsBurst().map((v) => v * 0.7)), lag + 100);
    const e = latencyFromContent(rec, 100);
    expect(e.found).toBe(true);
    expect(e.lagFrames).toBe(lag);
    expect(e.confidence).toBeGreaterThan(0.99);
  });

  it('measures through noise with a lower but accepted confidence', () => {
    const r = noise(11);
    const rec = new Float32Array(6000).map(() => r() * 0.4);
    const b = mlsBurst();
    for (let i = 0; i < b.length; i++) rec[3000 + i]! += b[i]! * 0.8;
    const e = latencyFromContent(rec, 1000);
    expect(e.found).toBe(true);
    expect(e.lagFrames).toBe(2000);
    expect(e.confidence).toBeLessThan(0.99);
  });

  it('gives low confidence on noise alone and on a sine', () => {
    const r = noise(5);
    const n = latencyFromContent(new Float32Array(8000).map(() => r()), 0);
    expect(n.found).toBe(false);
    expect(n.confidence).toBeLessThan(0.4);
    const s = latencyFromContent(tone(8000), 0);
    expect(s.found).toBe(false);
  });

  it('finds nothing in silence', () => {
    expect(findBurst(new Float32Array(4000)).offset).toBe(-1);
  });

  it('a streaming scanner finds a burst split across two reads, once', () => {
    const rec = new Float32Array(3000);
    rec.set(mlsBurst(), 900);
    const sc = new BurstScanner();
    expect(sc.push(rec.subarray(0, 1000))).toBeUndefined();
    const m = sc.push(rec.subarray(1000, 2000));
    expect(m).toEqual({ offset: 900, confidence: expect.closeTo(1, 6) });
    expect(sc.push(rec.subarray(2000))).toBeUndefined();
  });
});
