// The libraries' mirror on the simulated kernel: each op makes the ALSA calls
// the real library makes (compared with calls traced from naudiodon and midi
// in the virtual lab, fixtures/measured-calls.json), the libraries' threads
// drive the PCM and the sequencer, and bad input gets the lane's answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { once, scenario, simulate } from '../../../test/sim-harness.js';
import { shapeOf } from '../../../analysis/library-calls.js';
import type { ActionEvent } from '../../../events/types.js';
import { startRun } from '../../../engine/run.js';
import { SimTarget } from '../sim-target.js';

const measured = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'measured-calls.json'), 'utf8')) as { steps: Record<string, { calls: string[] }> };
const core = (e: ActionEvent) => shapeOf(e.op, e.data!.calls as string[], e.ret >= 0).core;
const calls = (e: ActionEvent) => e.data!.calls as string[];

describe('PortAudio through alsa-lib, mirrored', () => {
  it.each([
    ['s', 'hw:Loopback,0', 'playback', 256],
    ['c', 'hw:Loopback,1', 'capture', 256],
    ['d', 'hw:Dummy,0', 'playback', 256],
  ] as const)('opens, starts and closes a stream on %s with the calls PortAudio made in the virtual lab', async (h, device, direction, fpb) => {
    const sc = once([], [{ 'pa.open': { handle: h, device, direction, channels: 2, format: 'S16_LE', rate: 48000, frames_per_buffer: fpb } }, { 'pa.start': h }, { 'pa.close': h }]);
    const r = await simulate(sc);
    const [open, start, close] = r.acts;
    expect(open!.ret).toBe(0);
    expect(core(open!)).toEqual(measured.steps[`pa.open ${h}`]!.calls);
    if (measured.steps[`pa.start ${h}`]) expect(core(start!)).toEqual(measured.steps[`pa.start ${h}`]!.calls);
    expect(close!.ret).toBe(0);
    // a started stream's close: the callback thread's DROP, then snd_pcm_close's DROP, HW_FREE, close
    expect(core(close!)).toEqual([`pcm:${device.slice(3).replace(/,(\d)/, ',$1')}${direction === 'playback' ? 'p' : 'c'} DROP×2`, expect.stringMatching(/HW_FREE$/), expect.stringMatching(/ close$/)]);
  });

  it('a stream on the USB card (SimUSB standing in for "Audio") syncs appl_ptr with SYNC_PTR, as snd-usb-audio makes alsa-lib do', async () => {
    const sc = once([], [{ 'pa.open': { handle: 'u', device: 'hw:Audio,0', channels: 2, format: 'S16_LE', rate: 48000, frames_per_buffer: 480 } }, { 'pa.start': 'u' }, { 'pa.abort': 'u' }], { sim: { cards: { Audio: 'SimUSB' } } });
    const r = await simulate(sc);
    expect(core(r.acts[0]!)).toEqual(measured.steps['pa.open u']!.calls);
    expect(core(r.acts[1]!)).toEqual(measured.steps['pa.start u']!.calls);
    expect(core(r.acts[2]!)).toEqual(measured.steps['pa.abort u']!.calls);
  });

  it('every pa.open probes every card as Pa_Initialize does, twice when the device is looked up by name', async () => {
    const r = await simulate(once([], [{ 'pa.open': { handle: 's', device: 'hw:Loopback,0' } }, { 'pa.close': 's' }, { 'pa.open': 's' }, { 'pa.close': 's' }]));
    const [named, , byDefault] = r.acts;
    const walks = (e: ActionEvent) => calls(e).filter((c) => c === 'ctl:card31 open=ENOENT').length;
    expect(walks(named!)).toBe(2);
    expect(walks(byDefault!)).toBe(1);
    // a hardware device probe: open, INFO, PVERSION, USER_PVERSION, TTSTAMP, the refines of GropeDevice, close (no HW_PARAMS)
    expect(calls(named!)).toEqual(expect.arrayContaining(['pcm:Dummy,0c HW_REFINE×16', 'pcm:Dummy,0p HW_REFINE×15', 'pcm:Loopback,0c HW_REFINE×16', 'pcm:Loopback,0p HW_REFINE×15']));
    expect(byDefault!.data).toMatchObject({ device: -1, name: 'default' });
  });

  it('the callback thread plays the queue through the mapped buffer: polls, no read/write calls; a starved queue restarts the PCM (STATUS_EXT, DROP, PREPARE, START) and the next write reports the underflow', async () => {
    const sc = scenario({
      duration: '400ms',
      setup: [{ 'pa.open': { handle: 's', device: 'hw:Loopback,0', frames_per_buffer: 256 } }, { 'pa.start': 's' }],
      lanes: [{ name: 'w', iterations: 6, loop: [{ 'pa.write': { handle: 's', frames: 256 } }, { sleep: '40ms' }] }],
      teardown: [{ 'pa.close': 's' }],
    });
    const r = await simulate(sc);
    const writes = r.op('pa.write');
    expect(writes.every((w) => w.ret === 256)).toBe(true);
    const all = writes.flatMap(calls).join(' ');
    expect(all).toMatch(/pcm:Loopback,0p poll/);
    expect(all).toMatch(/STATUS_EXT.*DROP.*PREPARE.*START/);
    expect(all).not.toMatch(/ write| read/);
    expect(writes.some((w) => /output underflow/.test(String(w.data?.status)))).toBe(true);
    expect(r.events.filter((e) => e.kind === 'metric' && e.name === 'xruns').length).toBeGreaterThan(0);
  });

  it('a USB unplug under a running stream: the queue stops, the write reports ETIMEDOUT, the close still closes, a reopen fails until the card is back', async () => {
    const sc = scenario({
      duration: '3s',
      sim: { cards: { Audio: 'SimUSB' } },
      lanes: [
        { name: 'player', loop: [{ 'pa.open': { handle: 'u', device: 'hw:Audio,0', frames_per_buffer: 480 } }, { 'pa.start': 'u' }, ...Array.from({ length: 4 }, () => ({ 'pa.write': { handle: 'u', periods: 4 } })), { 'pa.close': 'u' }, { sleep: '50ms' }] },
        { name: 'hotplug', iterations: 1, loop: [{ sleep: '500ms' }, { 'device.detach': 'Audio' }, { sleep: '500ms' }, { 'device.attach': 'Audio' }] },
      ],
      expect: { errnos: { 'pa.open': ['ENODEV'], 'pa.start': ['EBADF'], 'pa.write': ['ETIMEDOUT', 'EBADF'], 'pa.close': ['EBADF'] } },
    });
    const r = await simulate(sc);
    const [detach] = r.op('device.detach');
    const [attach] = r.op('device.attach');
    expect(detach!.ret).toBe(0);
    expect(attach!.ret).toBe(0);
    // the stream running at the unplug sees it: a write the dead callback thread never takes (ETIMEDOUT), or
    // the kernel's ENODEV in the calls of whatever op was in flight; either way its close still succeeds
    const hit = [...r.op('pa.write'), ...r.op('pa.close')].filter((x) => x.t + x.dur > detach!.t && (x.errno === 'ETIMEDOUT' || calls(x).some((c) => c.endsWith('=ENODEV')))).sort((x, y) => x.t - y.t)[0]!;
    expect(hit).toBeDefined();
    if (hit.errno === 'ETIMEDOUT') expect(String(hit.data!.error)).toMatch(/callback thread has ended/);
    const closed = r.op('pa.close').find((c) => c.t >= hit.t)!;
    expect(closed.ret).toBe(0);
    const during = r.op('pa.open').filter((o) => o.t > detach!.t && o.t + o.dur < attach!.t);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((o) => o.errno === 'ENODEV')).toBe(true);
    expect(r.op('pa.open').filter((o) => o.t > attach!.t + attach!.dur).some((o) => o.ret === 0)).toBe(true);
  });

  it('bad input gets the lane\'s errnos with PortAudio\'s words: no such device, a rate or channel count the device refuses', async () => {
    const r = await simulate(
      once([], [
        { 'pa.open': { handle: 'a', device: 99 } },
        { 'pa.open': { handle: 'b', device: 'hw:Nonesuch,0' } },
        { 'pa.open': { handle: 'c', device: 'hw:Dummy,0', rate: 96000 } },
        { 'pa.open': { handle: 'd', device: 'hw:Dummy,0', channels: 8 } },
        { 'pa.write': { handle: 'a', frames: 64 } },
      ]),
    );
    const [a, b, c, d, w] = r.acts;
    expect([a!.errno, b!.errno, c!.errno, d!.errno, w!.errno]).toEqual(['ENODEV', 'ENODEV', 'EINVAL', 'EINVAL', 'EBADF']);
    expect(String(a!.data!.error)).toMatch(/PortAudio has no device 99 \(it lists \d+: 0: Dummy: PCM \(hw:0,0\)/);
    expect(String(b!.data!.error)).toMatch(/no PortAudio playback device named "hw:Nonesuch,0"/);
    expect(String(c!.data!.error)).toMatch(/Invalid sample rate/);
    expect(String(d!.data!.error)).toMatch(/Channel count exceeds maximum number of channels/);
  });
});

describe('bad input through the engine', () => {
  it('a missing device index or name, a refused rate and a vanished port are findings that name them, never a crash', async () => {
    const sc = once([], [
      { 'pa.open': { handle: 'a', device: 42 } },
      { 'pa.open': { handle: 'b', device: 'hw:Nonesuch,0' } },
      { 'pa.open': { handle: 'c', device: 'hw:Dummy,0', rate: 96000 } },
      { 'midi.open_virtual': { handle: 'v', direction: 'input', name: 'gone-soon' } },
      { 'midi.close': 'v' },
      { 'midi.open': { handle: 'o', direction: 'output', port: 'gone-soon' } },
    ]);
    const s = await startRun({ scenario: sc, target: new SimTarget({ profile: ['fixed'] }), seed: 1 }).done;
    expect(s.status).toBe('completed');
    const msgs = s.findings.filter((f) => f.type === 'unexpected-errno').map((f) => f.message);
    expect(msgs).toEqual([
      expect.stringMatching(/pa\.open on a failed with ENODEV .*: PortAudio has no device 42 \(it lists/),
      expect.stringMatching(/pa\.open on b failed with ENODEV .*: no PortAudio playback device named "hw:Nonesuch,0"/),
      expect.stringMatching(/pa\.open on c failed with EINVAL .*: Invalid sample rate/),
      expect.stringMatching(/midi\.open on o failed with ENODEV .*: no MIDI port named "gone-soon"/),
    ]);
  });
});

describe('RtMidi over the sequencer, mirrored', () => {
  it('opens an input and an output on Midi Through with the calls RtMidi made in the virtual lab; one write per message', async () => {
    const r = await simulate(
      once([], [
        { 'midi.open': { handle: 'rx', direction: 'input', port: 'Midi Through' } },
        { 'midi.open': { handle: 'tx', direction: 'output', port: 'Midi Through' } },
        { 'midi.send': { handle: 'tx', count: 3 } },
        { sleep: '5ms' },
        { 'midi.receive': { handle: 'rx', for: '5ms' } },
        { 'midi.close': 'tx' },
        { 'midi.close': 'rx' },
      ]),
    );
    const [rx, tx, send, , recv, ctx, crx] = r.acts;
    expect(core(rx!)).toEqual(measured.steps['midi.open rx']!.calls);
    expect(core(tx!)).toEqual(measured.steps['midi.open tx']!.calls);
    expect(core(send!)).toEqual(measured.steps['midi.send tx']!.calls);
    expect(recv!.ret).toBe(3);
    expect(recv!.data!.events).toEqual([['app/tx', 0], ['app/tx', 1], ['app/tx', 2]]);
    // the input thread: polls, reads until EAGAIN (how the events fall into reads is timing)
    expect(calls(recv!).every((c) => /^seq (poll|read)/.test(c))).toBe(true);
    expect(calls(recv!)).toContain('seq read=EAGAIN');
    expect(calls(ctx!)).toEqual(['seq UNSUBSCRIBE_PORT', 'seq DELETE_PORT', 'seq close']);
    expect(calls(crx!)).toEqual(['seq UNSUBSCRIBE_PORT', 'seq write', 'seq DELETE_PORT', 'seq DELETE_QUEUE', 'seq close']);
  });

  it('a port that is not there, or has vanished, is ENODEV naming the ports RtMidi lists', async () => {
    const r = await simulate(
      once([], [
        { 'midi.open_virtual': { handle: 'v', direction: 'input', name: 'gone-soon' } },
        { 'midi.open': { handle: 'o', direction: 'output', port: 'gone-soon' } },
        { 'midi.close': 'o' },
        { 'midi.close': 'v' },
        { 'midi.open': { handle: 'o', direction: 'output', port: 'gone-soon' } },
        { 'midi.open': { handle: 'p', direction: 'output', port: 7 } },
      ]),
    );
    const opens = r.op('midi.open');
    expect(opens.map((o) => o.errno ?? 'ok')).toEqual(['ok', 'ENODEV', 'ENODEV']);
    expect(String(opens[1]!.data!.error)).toMatch(/no MIDI port named "gone-soon"; ports: Midi Through:Midi Through Port-0 14:0/);
    expect(String(opens[2]!.data!.error)).toMatch(/RtMidi has no port 7 \(it lists 1/);
  });

  it('a flood the receiving client cannot hold: the kernel clears its FIFO, RtMidi reports only an overrun, and every message is accounted for as discarded by the overflow', async () => {
    const sc = scenario({
      duration: '300ms',
      setup: [{ 'midi.open': { handle: 'rx', direction: 'input', port: 'Midi Through' } }, { 'midi.open': { handle: 'tx', direction: 'output', port: 'Midi Through' } }],
      lanes: [
        { name: 'sender', iterations: 40, loop: [{ 'midi.send': { handle: 'tx', count: 16, type: 'sysex', size: 4096 } }] },
        { name: 'receiver', loop: [{ 'midi.receive': { handle: 'rx', for: '10ms' } }] },
      ],
      teardown: [{ sleep: '50ms' }, { 'midi.receive': { handle: 'rx', for: '20ms' } }],
    });
    const { summary } = await import('../../../test/sim-harness.js').then(async (h) => ({ summary: await runSummary(h, sc) }));
    const seq = summary.metrics.seq as Record<string, number>;
    expect(seq.discarded_by_overflow).toBeGreaterThan(0);
    expect(seq.lost).toBe(0);
    expect(seq.received + seq.discarded_by_overflow + seq.unread_at_end).toBe(seq.sent);
    expect(summary.findings.filter((f) => f.type === 'event-loss')).toEqual([]);
  });
});

async function runSummary(_h: unknown, sc: import('../../../vocabulary/scenario.js').Scenario) {
  const { startRun } = await import('../../../engine/run.js');
  const { SimTarget } = await import('../sim-target.js');
  return startRun({ scenario: sc, target: new SimTarget({ profile: ['fixed'] }), seed: 1, journalSync: false }).done;
}
