// The PCM state machine against Linux semantics (sound/core/pcm_native.c,
// pcm_lib.c as of 6.12): which states accept which ioctl, with which errno,
// and when an application that stops writing gets its xrun.
import { describe, expect, it } from 'vitest';
import { once, simulate } from '../../test/sim-harness.js';

const OPEN = { 'pcm.open': { handle: 'p', card: 'Dummy', device: 0, stream: 'playback' } };
const HWP = { 'pcm.hw_params': { handle: 'p', format: 'S16_LE', channels: 2, rate: 48000, period_size: 48, periods: 4 } };

async function states(steps: unknown[], setup: unknown[] = [OPEN]) {
  const r = await simulate(once(setup, [...steps, { 'pcm.status': 'p' }]));
  return r;
}

describe('PCM state machine (Linux semantics)', () => {
  it('HW_PARAMS while RUNNING fails with EBADFD and leaves the stream running', async () => {
    const r = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 4 } }, { ...HWP, 'pcm.hw_params': { ...HWP['pcm.hw_params'], expect: 'any' } }]);
    const hw = r.op('pcm.hw_params', 'app');
    expect(hw[0]!.ret).toBe(0);
    expect(hw[1]!.errno).toBe('EBADFD');
    expect(r.op('pcm.status')[0]!.data!.state).toBe('RUNNING');
  });

  it('DROP from RUNNING goes to SETUP; DROP in OPEN is EBADFD', async () => {
    const r = await states([{ 'pcm.drop': { handle: 'p', expect: 'any' } }, HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 2 } }, { 'pcm.status': 'p' }, { 'pcm.drop': 'p' }]);
    const drops = r.op('pcm.drop');
    expect(drops[0]!.errno).toBe('EBADFD');
    expect(drops[1]!.ret).toBe(0);
    const st = r.op('pcm.status');
    expect(st[0]!.data!.state).toBe('RUNNING');
    expect(st[1]!.data!.state).toBe('SETUP');
  });

  it('writes before PREPARE fail with EBADFD (OPEN and SETUP), and work once prepared', async () => {
    const r = await states([{ 'pcm.write': { handle: 'p', frames: 48, expect: 'any' } }, HWP, { 'pcm.write': { handle: 'p', frames: 48, expect: 'any' } }, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', frames: 48 } }]);
    const w = r.op('pcm.write');
    expect(w.map((x) => x.errno ?? x.ret)).toEqual(['EBADFD', 'EBADFD', 48]);
    // start_threshold defaults to 1: the first write starts the stream.
    expect(r.op('pcm.status')[0]!.data!.state).toBe('RUNNING');
  });

  it('an application that stops writing gets an xrun when the hardware pointer reaches the last frame written', async () => {
    // 4 periods of 48 frames at 48 kHz: the buffer runs dry 4 ms after start.
    const r = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 4 } }, { sleep: '3900us' }, { 'pcm.status': 'p' }, { sleep: '200us' }]);
    const [before, after] = r.op('pcm.status');
    expect(before!.data!.state).toBe('RUNNING');
    expect(after!.data!.state).toBe('XRUN');
    // The stop happened in the period interrupt at hw_ptr == appl_ptr == 192 frames.
    expect(after!.data!.hw_ptr).toBe(192);
    const start = r.op('pcm.write')[0]!.t;
    const xrunAt = (r.events.find((e) => e.kind === 'metric' && e.name === 'xruns' && e.value > 0)?.t ?? Infinity);
    expect(xrunAt - start).toBeGreaterThanOrEqual(4e6);
    // A write in XRUN fails with EPIPE (the kernel's answer: recover: false keeps
    // the lab's snd_pcm_recover() rule out of it); PREPARE recovers.
    const r2 = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 4 } }, { sleep: '5ms' }, { 'pcm.write': { handle: 'p', frames: 48, recover: false, expect: ['EPIPE'] } }, { 'pcm.prepare': 'p' }]);
    expect(r2.op('pcm.write')[1]!.errno).toBe('EPIPE');
    expect(r2.op('pcm.status')[0]!.data!.state).toBe('PREPARED');
  });

  it('PREPARE while RUNNING is EBUSY; START on an empty playback buffer is EPIPE; HW_FREE in OPEN is EBADFD', async () => {
    const r = await states([{ 'pcm.hw_free': { handle: 'p', expect: 'any' } }, HWP, { 'pcm.prepare': 'p' }, { 'pcm.start': { handle: 'p', expect: 'any' } }, { 'pcm.write': { handle: 'p', periods: 1 } }, { 'pcm.prepare': { handle: 'p', expect: 'any' } }]);
    expect(r.op('pcm.hw_free')[0]!.errno).toBe('EBADFD');
    expect(r.op('pcm.start')[0]!.errno).toBe('EPIPE');
    expect(r.op('pcm.prepare')[1]!.errno).toBe('EBUSY');
  });

  it('HW_FREE from SETUP returns to OPEN; a failed HW_PARAMS leaves OPEN', async () => {
    const r = await states([HWP, { 'pcm.hw_free': 'p' }, { 'pcm.status': 'p' }, { 'pcm.hw_params': { handle: 'p', rate: 96000, expect: 'any' } }]);
    expect(r.op('pcm.status')[0]!.data!.state).toBe('OPEN');
    expect(r.op('pcm.hw_params')[1]!.errno).toBe('EINVAL'); // snd-dummy stops at 48 kHz
    expect(r.op('pcm.status')[1]!.data!.state).toBe('OPEN');
  });

  it('PAUSE is ENOSYS on snd-dummy (no SNDRV_PCM_INFO_PAUSE) and works on a card that supports it', async () => {
    const r = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 2 } }, { 'pcm.pause': { handle: 'p', expect: 'any' } }]);
    expect(r.op('pcm.pause')[0]!.errno).toBe('ENOSYS');
    const open = { 'pcm.open': { handle: 'p', card: 'SimUSB', device: 0, stream: 'playback' } };
    const hw = { 'pcm.hw_params': { handle: 'p', format: 'S16_LE', channels: 2, rate: 48000, period_size: 96, periods: 4 } };
    const u = await states([hw, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 2 } }, { 'pcm.pause': { handle: 'p', on: true } }, { 'pcm.status': 'p' }, { 'pcm.pause': { handle: 'p', on: false } }], [open]);
    expect(u.op('pcm.pause').map((x) => x.ret)).toEqual([0, 0]);
    const st = u.op('pcm.status');
    expect(st[0]!.data!.state).toBe('PAUSED');
    expect(st[1]!.data!.state).toBe('RUNNING');
    // A paused stream must not xrun: pause for longer than the buffer lasts.
    const v = await states([hw, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 4 } }, { 'pcm.pause': { handle: 'p', on: true } }, { sleep: '20ms' }, { 'pcm.status': 'p' }], [open]);
    expect(v.op('pcm.status')[0]!.data!.state).toBe('PAUSED');
  });

  it('DRAIN blocks until the queued frames are played, then SETUP; nonblocking DRAIN is EAGAIN', async () => {
    const r = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 4 } }, { 'pcm.drain': 'p' }]);
    const d = r.op('pcm.drain')[0]!;
    expect(d.ret).toBe(0);
    expect(d.dur).toBeGreaterThan(3e6); // most of the 4 ms buffer was still queued
    expect(r.op('pcm.status')[0]!.data!.state).toBe('SETUP');
    const nb = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 2 } }, { 'pcm.drain': { handle: 'p', expect: 'any' } }], [{ 'pcm.open': { handle: 'p', card: 'Dummy', device: 0, stream: 'playback', nonblock: true } }]);
    expect(nb.op('pcm.drain')[0]!.errno).toBe('EAGAIN');
    expect(nb.op('pcm.status')[0]!.data!.state).toBe('DRAINING');
  });

  it('HW_REFINE reports snd-dummy\'s ranges; HW_PARAMS takes the lab\'s preferred period where the device allows it', async () => {
    const r = await states([{ 'pcm.hw_refine': { handle: 'p', format: 'S16_LE', channels: 2 } }, { 'pcm.hw_params': { handle: 'p', format: 'S16_LE', channels: 2, rate: 48000 } }]);
    const ranges = r.op('pcm.hw_refine')[0]!.data!;
    expect(ranges.rate).toEqual({ min: 5500, max: 48000 });
    expect(ranges.period_size).toEqual({ min: 16, max: 16384 }); // 64..65536 bytes of 4-byte frames
    const p = r.op('pcm.hw_params')[0]!.data!.params as Record<string, number>;
    // the program's preferences (1024-frame periods, 4 of them), each allowed after HW_REFINE
    expect(p).toMatchObject({ period_size: 1024, periods: 4, buffer_size: 4096 });
  });

  it('a preference the device does not allow is left to the kernel, which chooses like snd_pcm_hw_params_choose', async () => {
    const r = await simulate(once([OPEN], [{ 'pcm.hw_params': { handle: 'p', format: 'S16_LE', channels: 2, rate: 48000, buffer_size: 512 } }]), { reportRequests: true });
    const hw = r.op('pcm.hw_params')[0]!;
    // a 1024-frame period does not fit a 512-frame buffer; periods are implied by the buffer
    expect(hw.req).toMatchObject({ prefer: { period_size: 1024 }, preferred: [] });
    // min period time, then the largest buffer the request allows: 16-frame periods, 32 of them
    expect(hw.data!.params).toMatchObject({ period_size: 16, periods: 32, buffer_size: 512 });
  });

  it('close always succeeds, frees the substream for the next open, and the handle is gone', async () => {
    const r = await states([HWP, { 'pcm.prepare': 'p' }, { 'pcm.write': { handle: 'p', periods: 2 } }, { 'pcm.close': 'p' }, { 'pcm.drop': { handle: 'p', expect: 'any' } }, { 'pcm.open': { handle: 'p', card: 'Dummy', device: 0, subdevice: 0, stream: 'playback' } }], [{ 'pcm.open': { handle: 'p', card: 'Dummy', device: 0, subdevice: 0, stream: 'playback' } }]);
    expect(r.op('pcm.close')[0]!.ret).toBe(0);
    expect(r.op('pcm.drop')[0]!.errno).toBe('EBADF');
    expect(r.op('pcm.open').map((x) => x.ret)).toEqual([0, 0]);
  });

  it('a busy substream: a second open of the same subdevice gets EBUSY when nonblocking', async () => {
    const r = await states([{ 'pcm.open': { handle: 'q', card: 'Dummy', device: 0, subdevice: 0, stream: 'playback', nonblock: true, expect: 'any' } }], [{ 'pcm.open': { handle: 'p', card: 'Dummy', device: 0, subdevice: 0, stream: 'playback' } }]);
    expect(r.op('pcm.open')[1]!.errno).toBe('EBUSY');
  });
});
