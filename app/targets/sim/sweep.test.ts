// The conformance sweep (pcm.sweep, rule "conformance sweep") on the
// simulated kernel: a card whose sample clock is not the rate its driver
// reports is caught from hw_ptr alone, and honest cards pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConformanceEvent } from '../../events/types.js';
import { conformanceTable, judgeConfig } from '../../api/conformance.js';
import { runPreset, scenario, simulate } from '../../test/sim-harness.js';
import { fitRate, sweepPlan } from '../../program/sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sweep = (extra: Record<string, unknown> = {}) => scenario({ duration: '600s', lanes: [{ name: 's', iterations: 1, loop: [{ 'pcm.sweep': { for: '100ms', timeout: '20s', ...extra } }] }] });
const confs = (ev: { kind: string }[]) => ev.filter((e): e is ConformanceEvent => e.kind === 'conformance');

describe('pcm.sweep on the simulated kernel', () => {
  it('sweeps every PCM stream of every card through what HW_REFINE offers, each configuration once', async () => {
    const r = await simulate(sweep());
    const ev = confs(r.events);
    const rows = conformanceTable(ev);
    // every card's streams, in card and device order
    expect(rows.map((x) => `${x.card_id} ${x.device} ${x.stream}`)).toEqual(['Dummy hw:0,0 capture', 'Dummy hw:0,0 playback', 'SimSoC hw:1,0 playback', 'SimUSB hw:2,0 capture', 'SimUSB hw:2,0 playback', 'Loopback hw:3,0 capture', 'Loopback hw:3,0 playback', 'Loopback hw:3,1 capture', 'Loopback hw:3,1 playback']);
    const keys = ev.map((e) => `${e.card}/${e.device}/${e.stream}/${e.format}/${e.channels}/${e.rate}/${e.period_size}`);
    expect(new Set(keys).size).toBe(keys.length);
    // the dimensions varied: more than one of each where the card offers it (Dummy: formats, channels, rates, periods)
    const dummy = rows.find((x) => x.card_id === 'Dummy' && x.stream === 'playback')!;
    expect(dummy.formats.length).toBeGreaterThan(1);
    expect(dummy.channels.length).toBeGreaterThan(1);
    expect(dummy.rates.length).toBeGreaterThan(1);
    expect(dummy.period_sizes.length).toBeGreaterThan(1);
    // the op's return is the number of configurations run
    const act = r.op('pcm.sweep')[0]!;
    expect(act.ret).toBe(ev.length);
  });

  it('a card misreporting its rate (usb-clock-fast: 48,024 Hz while it says 48,000) is caught; the honest cards pass', async () => {
    const bad = await runPreset('conformance', ['usb-clock-fast'], 1, { outDir: join(dir, 'bad') });
    expect(bad.verdict).toBe('fail');
    const f = bad.findings.filter((x) => x.type === 'conformance');
    expect(f.length).toBeGreaterThan(0);
    // only SimUSB, and for its rate
    for (const x of f) expect(x.message).toMatch(/^hw:2,0 \(SimUSB\) (playback|capture): .*measured 48,0[12]\d\.\d Hz at 48,000 Hz: \+0\.0[45]\d*/);
    expect(bad.checks?.find((c) => c.id === 'detector.conformance')?.status).toBe('fail');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const table = (bad.metrics as any).conformance.streams as ReturnType<typeof conformanceTable>;
    expect(table.filter((r) => r.failed).map((r) => r.card_id)).toEqual(['SimUSB', 'SimUSB']);
    expect(table.filter((r) => r.card_id !== 'SimUSB').every((r) => r.passed === r.configurations)).toBe(true);

    const good = await runPreset('conformance', ['fixed'], 1, { outDir: join(dir, 'good') });
    expect(good.findings).toEqual([]);
    expect(good.verdict).toBe('pass');
    expect(good.checks?.find((c) => c.id === 'detector.conformance')?.status).toBe('pass');
  });

  it('one card, one direction: only those streams; a card id that names no card answers ENODEV', async () => {
    const r = await simulate(sweep({ card: 'SimUSB', stream: 'capture' }));
    expect(new Set(confs(r.events).map((e) => `${e.card_id} ${e.stream}`))).toEqual(new Set(['SimUSB capture']));
    const none = await simulate(sweep({ card: 'NoSuchCard' }));
    expect(none.op('pcm.sweep')[0]!.errno).toBe('ENODEV');
  });

  it('judges by the measurement: a deviation inside its own standard error passes, a clear one fails, a refused one is not offered', () => {
    const base: ConformanceEvent = { kind: 'conformance', t: 0, lane: 's', card: 0, device: 0, stream: 'playback', vary: 'rate', format: 'S16_LE', channels: 2, rate: 48000, period_size: 512, ret: 0, granted: { rate: 48000, period_size: 512, buffer_size: 2048, channels: 2, format: 'S16_LE' }, points: 10 };
    expect(judgeConfig({ ...base, measured_rate: 48003, rate_se: 2, rate_error: 0.4 }).verdict).toBe('pass');
    expect(judgeConfig({ ...base, measured_rate: 48024, rate_se: 0.5, rate_error: 0.4 }).verdict).toBe('fail');
    expect(judgeConfig({ ...base, measured_rate: 48000, rate_se: 0.1, rate_error: 25 }).verdict).toBe('fail');
    expect(judgeConfig({ ...base, granted: { ...base.granted!, rate: 44100 }, measured_rate: 44100 }).verdict).toBe('fail');
    expect(judgeConfig({ ...base, ret: -22, errno: 'EINVAL', stage: 'refine' }).verdict).toBe('not-offered');
    expect(judgeConfig({ ...base }).verdict).toBe('not-measured');
  });

  it('fits the rate the way alsa_conformance_test does, and plans each value of each dimension once', () => {
    const pts = Array.from({ length: 20 }, (_, i) => [i * 10e6, Math.floor(i * 480.24)] as const);
    expect(fitRate(pts)!.rate).toBeCloseTo(48024, -1);
    expect(fitRate(pts.slice(0, 2))).toBeUndefined();
    const plan = sweepPlan({ formats: ['S16_LE', 'S32_LE'], channels: [1, 2], rates: [44100, 48000], periods: [256, 1024] }, 200e6, false);
    expect(plan.map((c) => `${c.vary} ${c.format} ${c.channels} ${c.rate} ${c.period_size}`)).toEqual([
      'default S16_LE 2 48000 1024',
      'format S32_LE 2 48000 1024',
      'channels S16_LE 1 48000 1024',
      'rate S16_LE 2 44100 1024',
      'period_size S16_LE 2 48000 256',
    ]);
  });
});
