// Rule "xrun recovery" on the simulated kernel: a transfer that fails with
// EPIPE re-prepares its stream (and starts it again when it captures), the
// xrun is counted once and the time the stream stood still is recorded; with
// recovery off the stream stays in XRUN and every later transfer fails.
import { describe, expect, it } from 'vitest';
import type { RecoverEvent } from '../../events/types.js';
import { RunTally } from '../../api/tally.js';
import { scenario, simulate } from '../../test/sim-harness.js';

// a writer and a reader that now and then stall for longer than the buffer (4 × 10 ms)
const stalls = (recover?: boolean) =>
  scenario({
    duration: '2s',
    ...(recover === undefined ? {} : { recover }),
    setup: [
      { 'pcm.open': { handle: 'p', card: 0, stream: 'playback' } },
      { 'pcm.hw_params': { handle: 'p', rate: 48000, channels: 2, period_size: 480, periods: 4 } },
      { 'pcm.prepare': 'p' },
      { 'pcm.open': { handle: 'c', card: 0, stream: 'capture' } },
      { 'pcm.hw_params': { handle: 'c', rate: 48000, channels: 2, period_size: 480, periods: 4 } },
      { 'pcm.prepare': 'c' },
    ],
    lanes: [
      { name: 'w', loop: [{ 'pcm.write': { handle: 'p', periods: 1 } }, { sleep: { for: ['1ms', '1ms', '1ms', '60ms'] } }] },
      { name: 'r', loop: [{ 'pcm.read': { handle: 'c', periods: 1 } }, { sleep: { for: ['1ms', '1ms', '1ms', '60ms'] } }] },
      { name: 'm', loop: [{ sleep: '100ms' }, { 'pcm.status': 'p' }] },
    ],
  });

function tallyOf(events: { kind: string }[]): RunTally {
  const t = new RunTally();
  for (const e of events) t.feed(e as never);
  return t;
}

describe('xrun recovery (simulated kernel)', () => {
  it('recovers each xrun once: PREPARE for playback, PREPARE + START for capture, with the time lost; later transfers succeed', async () => {
    const r = await simulate(stalls());
    const rec = r.events.filter((e): e is RecoverEvent => e.kind === 'recover');
    const byHandle = (h: string) => rec.filter((e) => e.handle === h);
    expect(byHandle('p').length).toBeGreaterThan(3);
    expect(byHandle('c').length).toBeGreaterThan(3);
    expect(new Set(byHandle('p').map((e) => e.action))).toEqual(new Set(['prepare']));
    expect(new Set(byHandle('c').map((e) => e.action))).toEqual(new Set(['prepare+start']));
    for (const e of rec) {
      expect(e.ret).toBe(0);
      expect(e.cause).toBe('EPIPE');
      expect(e.lost_ns).toBeGreaterThan(0);
    }
    // the transfer that hit the xrun is made once more and succeeds
    const recoveredActs = r.acts.filter((a) => a.data?.recovered === 'EPIPE');
    expect(recoveredActs.length).toBe(rec.length);
    expect(recoveredActs.every((a) => a.ret > 0)).toBe(true);
    const writes = r.op('pcm.write');
    expect(writes.filter((a) => a.ret < 0)).toEqual([]);
    // one xrun per recovery, counted by the one tally
    const t = tallyOf(r.events);
    expect(t.recovered).toBe(rec.length);
    // (a stream may end the run in an xrun no transfer came back to recover)
    expect(t.xruns - rec.length).toBeGreaterThanOrEqual(0);
    expect(t.xruns - rec.length).toBeLessThanOrEqual(2);
    expect(t.lostNs).toBe(rec.reduce((s, e) => s + e.lost_ns, 0));
    // stream latency: delay samples of the running streams
    expect(t.delay.count).toBeGreaterThan(10);
    expect(t.delay.max).toBeLessThanOrEqual(40e6 + 1);
  });

  it('with recover: false the stream stays in XRUN: every later transfer fails with EPIPE, counted as one xrun', async () => {
    const r = await simulate(stalls(false));
    expect(r.events.filter((e) => e.kind === 'recover')).toEqual([]);
    const writes = r.op('pcm.write');
    const firstFail = writes.findIndex((a) => a.errno === 'EPIPE');
    expect(firstFail).toBeGreaterThanOrEqual(0);
    expect(writes.slice(firstFail).every((a) => a.errno === 'EPIPE')).toBe(true);
    const t = tallyOf(r.events);
    expect(t.streams.get('p')!.xruns).toBe(1);
    expect(t.failed).toBeGreaterThan(10);
  });
});
