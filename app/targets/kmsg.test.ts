import { describe, expect, it } from 'vitest';
import { consoleAfter, KlogAligner, KmsgReader, parseConsoleLine, parseKmsgRecord, toKlogEvent } from './kmsg.js';

describe('kernel log records', () => {
  it('parses /dev/kmsg records, unescaping and dropping continuation lines', () => {
    const r = parseKmsgRecord('4,1052,12345678,-;snd_pcm: \\x5bwarn\\x5d buffer\n SUBSYSTEM=sound\n DEVICE=c116:2\n')!;
    expect(r).toEqual({ level: 4, seq: 1052, usec: 12345678, text: 'snd_pcm: [warn] buffer' });
    // the facility bits above the level are ignored
    expect(parseKmsgRecord('14,1,5,-;hello')!.level).toBe(6);
    expect(parseKmsgRecord('garbage')).toBeUndefined();
  });

  it('parses console lines with and without a level prefix', () => {
    expect(parseConsoleLine('[   12.345678] usb 1-1: USB disconnect, device number 2')).toEqual({ level: 6, usec: 12345678, text: 'usb 1-1: USB disconnect, device number 2' });
    expect(parseConsoleLine('<3>[    1.5] BUG: kernel NULL pointer dereference\r')).toEqual({ level: 3, usec: 1500000, text: 'BUG: kernel NULL pointer dereference' });
    expect(parseConsoleLine('no timestamp')).toBeUndefined();
  });

  it('puts kernel time on the run clock', () => {
    const e = toKlogEvent({ level: 4, usec: 2_000_000, text: 'x' }, 1_500_000_000, 'guest');
    expect(e).toEqual({ kind: 'klog', t: 500_000_000, level: 4, text: 'x', ktime: 2_000_000, source: 'guest' });
  });

  it("maps kernel time through the agent's clock lines, which it consumes", () => {
    const a = new KlogAligner('guest');
    a.start(5_000_000_000); // agent t0
    // before any clock line: held
    expect(a.push({ level: 6, usec: 100_000, text: 'early' })).toEqual([]);
    // kernel 0.2 s = agent 5.3 s: the kernel clock runs 5.1 s behind the agent's
    const first = a.push({ level: 6, usec: 200_000, text: 'stresslab-agent: clock sync 5300000000' });
    expect(first.map((e) => [e.text, e.t])).toEqual([['early', 200_000_000]]);
    expect(a.push({ level: 3, usec: 250_000, text: 'BUG: oops' })).toEqual([{ kind: 'klog', t: 350_000_000, level: 3, text: 'BUG: oops', ktime: 250_000, source: 'guest' }]);
    // a later line follows drift
    a.push({ level: 6, usec: 1_200_000, text: 'stresslab-agent: clock sync 6310000000' });
    expect(a.push({ level: 4, usec: 1_300_000, text: 'x' })[0]!.t).toBe(1_410_000_000);
  });

  it('without clock lines, records flush as if the clocks agreed', () => {
    const a = new KlogAligner('host');
    a.start(1_000_000_000);
    expect(a.push({ level: 6, usec: 2_000_000, text: 'y' })).toEqual([]);
    expect(a.flush().map((e) => e.t)).toEqual([1_000_000_000]);
    expect(a.push({ level: 6, usec: 3_000_000, text: 'z' }).map((e) => e.t)).toEqual([2_000_000_000]);
  });

  it("takes from a panic's console what the log did not deliver, though an oops stamps every line alike", () => {
    // measured on 6.1.0-57 (pcm-no-sync-stop.patch): the log channel had the first
    // lines of the oops, the console has all of them with one time stamp
    const console = [
      '[   12.500000] earlier, delivered',
      '[   12.565373] BUG: kernel NULL pointer dereference, address: 0000000000000000',
      '[   12.568779] #PF: supervisor read access in kernel mode',
      '[   12.568779] #PF: error_code(0x0000) - not-present page',
      '[   12.568779] Oops: 0000 [#1] PREEMPT SMP NOPTI',
      '[   12.568779] RIP: 0010:snd_pcm_period_elapsed+0x59/0xd0 [snd_pcm]',
      '[   12.568779] Kernel panic - not syncing: Fatal exception in interrupt',
      'no time stamp',
    ].join('\n');
    const seen = new Set(['#PF: supervisor read access in kernel mode']);
    expect(consoleAfter(console, 12_568_779, seen).map((r) => r.text)).toEqual([
      '#PF: error_code(0x0000) - not-present page',
      'Oops: 0000 [#1] PREEMPT SMP NOPTI',
      'RIP: 0010:snd_pcm_period_elapsed+0x59/0xd0 [snd_pcm]',
      'Kernel panic - not syncing: Fatal exception in interrupt',
    ]);
    expect(consoleAfter(console, 12_565_373, new Set(['BUG: kernel NULL pointer dereference, address: 0000000000000000']))).toHaveLength(5);
  });

  it('says clearly why the log cannot be read', () => {
    const r = KmsgReader.open('/nonexistent/kmsg');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).toMatch(/cannot read the kernel log \(\/nonexistent\/kmsg: ENOENT\)/);
  });
});
