// The kernel-log classifier on genuine kernel reports (real-*.txt: published
// upstream reports; guest-*.txt: captured from the virtual lab's guests) and
// on the simulated kernel's own reports.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalysisContext } from './context.js';
import { KlogDetector } from './detectors/klog.js';
import { stripPrefix, matchHeader } from './klog.js';
import { scenario } from '../test/sim-harness.js';
import type { Finding, KlogEvent } from '../events/types.js';

const dir = join(import.meta.dirname, 'fixtures', 'klog');

function classify(text: string, ignore: string[] = []): Finding[] {
  const det = new KlogDetector(new AnalysisContext(scenario({ lanes: [{ name: 'a', loop: [{ sleep: '1ms' }] }] })), ignore);
  const out: Finding[] = [];
  let t = 0;
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    const { text: line, ktime, level } = stripPrefix(raw);
    const e: KlogEvent = { kind: 'klog', t: (t += 1000), level: level ?? 4, text: line, source: 'guest', ...(ktime !== undefined ? { ktime } : {}) };
    out.push(...(det.feed(e) ?? []));
  }
  out.push(...det.finish());
  return out;
}

function fixture(name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

describe('kernel log classifier on real kernel reports', () => {
  it('a syzbot KASAN use-after-free report is one use-after-free finding naming the function', () => {
    const f = classify(fixture('real-kasan-syzbot-usbmidi.txt'));
    expect(f).toHaveLength(1);
    expect(f[0]!.type).toBe('use-after-free');
    expect(f[0]!.message).toMatch(/snd_usbmidi_error_timer/);
    expect(f[0]!.klog!.length).toBeGreaterThan(40);
  });

  it('NULL pointer dereference oopses (old and new formats) are null-deref with the faulting function', () => {
    const old = classify(fixture('real-null-deref-soc-pcm-pointer-4.20.txt'));
    expect(old.map((x) => x.type)).toEqual(['null-deref']);
    expect(old[0]!.message).toMatch(/0000000000000088.*soc_pcm_pointer/);
    const modern = classify(fixture('real-null-deref-qemu-6.15.txt'));
    expect(modern.map((x) => x.type)).toEqual(['null-deref']);
  });

  it('a hung task report is hung-task naming the task', () => {
    const f = classify(fixture('real-hung-task-rmmod-5.15.txt'));
    expect(f.map((x) => x.type)).toEqual(['hung-task']);
    expect(f[0]!.message).toMatch(/rmmod:1517 blocked for more than 122 seconds/);
  });

  it('a WARNING is kernel-warning; BUG() is kernel-bug; a sysrq panic is a kernel crash', () => {
    expect(classify(fixture('real-warning-sof-5.4.txt')).map((x) => [x.type, x.evidence?.function])).toEqual([['kernel-warning', '__handle_irq_event_percpu+0x165/0x170']]);
    const bug = classify(fixture('real-kernel-bug-mmap-fault-5.8.txt'));
    expect(bug.map((x) => x.type)).toEqual(['kernel-bug']);
    expect(bug[0]!.message).toMatch(/include\/linux\/mm.h:1137/);
    const panic = classify(fixture('real-sysrq-crash-6.11.txt'));
    expect(panic.map((x) => x.type)).toEqual(['kernel-oops']);
    expect(panic[0]!.message).toMatch(/sysrq triggered crash/);
  });

  it('every guest-captured report in the fixtures is found', () => {
    const guest = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('guest-') && f.endsWith('.txt')) : [];
    for (const g of guest) {
      const text = fixture(g);
      if (!matchHeader(text.split('\n').map((l) => stripPrefix(l).text).find((l) => matchHeader(l)) ?? '')) continue;
      expect(classify(text).length, g).toBeGreaterThan(0);
    }
  });

  it('the ignore list silences a known-benign report, and ordinary lines are not findings', () => {
    expect(classify(fixture('real-warning-sof-5.4.txt'), ['hda_dsp|__handle_irq_event_percpu'])).toEqual([]);
    expect(classify('[ 1.0] usb 1-1: USB disconnect, device number 2\n[ 2.0] snd_hda_intel 0000:00:1b.0: azx_get_response timeout\n')).toEqual([]);
  });

  it('a fault at a LIST_POISON address is the use of a deleted list entry (use-after-free class)', () => {
    const f = classify('Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP KASAN NOPTI\nRIP: 0010:dpcm_be_dai_trigger+0x1d/0x2c0 [snd_soc_core]\n---[ end trace 0000000000000000 ]---\n');
    expect(f.map((x) => x.type)).toEqual(['use-after-free']);
    expect(f[0]!.message).toMatch(/deleted list entry.*dpcm_be_dai_trigger/);
    expect(classify('Unable to handle kernel paging request at virtual address dead0000000000e0\n').map((x) => x.type)).toEqual(['use-after-free']);
    expect(classify('BUG: unable to handle page fault for address: ffffc90000a13000\n').map((x) => x.type)).toEqual(['kernel-oops']);
  });

  it('two reports back to back are two findings', () => {
    const text = fixture('real-warning-sof-5.4.txt') + '\n' + fixture('real-hung-task-rmmod-5.15.txt');
    expect(classify(text).map((x) => x.type)).toEqual(['kernel-warning', 'hung-task']);
  });
});
