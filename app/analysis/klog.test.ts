// The kernel-log classifier on genuine kernel reports (real-*.txt: published
// upstream reports; guest-*.txt: captured from the virtual lab's guests) and
// on the simulated kernel's own reports.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalysisContext } from './context.js';
import { KlogDetector } from './detectors/klog.js';
import { isSlabPoison, stripPrefix, matchHeader } from './klog.js';
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

// Captured from the virtual lab's guests: stock Debian kernels with the lab's
// memory-debugging boot options (slub_debug=FZPU on the kmalloc caches,
// init_on_free, KFENCE on 6.12), each fault committed by
// native-bridge/vlab/faults/lab_faults.ko (scripts/capture-klog-fixtures.js).
describe('kernel log classifier on what stock kernels print about memory errors', () => {
  const kernels = ['6.1.0-57-amd64', '6.12.117+deb12-amd64'];
  const one = (name: string) => {
    const f = classify(fixture(name));
    expect(f, name).toHaveLength(1);
    return f[0]!;
  };

  it('SLUB "Poison overwritten" (6.1) and "[Poison overwritten] … Object corrupt" (6.12) are a use-after-free naming who freed the object', () => {
    for (const k of kernels) {
      const f = one(`guest-uaf-write-${k}.txt`);
      expect(f.type).toBe('use-after-free');
      expect(f.message).toMatch(/SLUB: Poison overwritten in kmalloc-128 \(written after free\)/);
      expect(f.evidence?.function).toBe('lab_uaf_write');
      expect(f.klog!.join('\n')).toMatch(/First byte 0x34 instead of 0x6b/);
    }
  });

  it('SLUB "Object already free" is a use-after-free (double free); its follow-up reports are the same finding', () => {
    const followUp = classify(
      '=============================================================================\nBUG kmalloc-128 (Tainted: G    B   OE  ): Object already free\n---\nFIX kmalloc-128: Object at 0x1 not freed\n' +
        '=============================================================================\nBUG kmalloc-128 (Tainted: G    B   OE  ): Wrong object count. Counter is 13 but counted were 20\n' +
        '=============================================================================\nBUG kmalloc-64 (Tainted: G    B   OE  ): Redzone overwritten\n',
    );
    expect(followUp.map((x) => [x.type, x.message])).toEqual([
      ['use-after-free', 'SLUB: Object already free in kmalloc-128 (double free)'],
      ['kernel-bug', 'SLUB: Redzone overwritten in kmalloc-64 (out-of-bounds write)'],
    ]);
    expect(followUp[0]!.klog).toHaveLength(6);
    expect(followUp[1]!.klog![0]).toMatch(/^=+$/);
    for (const k of kernels) {
      const f = one(`guest-double-free-${k}.txt`);
      expect(f.type).toBe('use-after-free');
      expect(f.message).toMatch(/Object already free in kmalloc-128 \(double free\)/);
      expect(f.evidence?.function).toBe('lab_faults_init');
    }
    // 6.12 goes on to a WARNING in object_err() with the call trace: the same finding
    expect(one('guest-double-free-6.12.117+deb12-amd64.txt').klog!.join('\n')).toMatch(/WARNING: CPU: \d+ PID: \d+ at mm\/slub\.c/);
  });

  it('a general protection fault on the slab poison pattern (plus a field offset) is a use-after-free', () => {
    for (const k of kernels) {
      const f = one(`guest-uaf-read-${k}.txt`);
      expect(f.type).toBe('use-after-free');
      expect(f.message).toMatch(/0x6b6b6b6b6b6b6b7b \(slab poison/);
      expect(f.evidence?.function).toBe('lab_uaf_read');
    }
    expect(isSlabPoison('0x6b6b6b6b6b6b6b6b')).toBe(true);
    expect(isSlabPoison('6b6b6b6b6b6b6c0b')).toBe(true);
    expect(isSlabPoison('0x6b6b6b6b6b6b6b5b')).toBe(true);
    expect(isSlabPoison('0x6b6b6b6b6b7b6b6b')).toBe(false);
    expect(isSlabPoison('0xdead000000000100')).toBe(false);
    expect(classify('general protection fault, probably for non-canonical address 0x6b6b6b6b6b7b6b6b: 0000 [#1] SMP\n').map((x) => x.type)).toEqual(['kernel-oops']);
  });

  it('list_del / list_add corruption (and the BUG() it ends in) is one finding naming the caller, not the list check', () => {
    for (const k of kernels) {
      const twice = one(`guest-list-del-twice-${k}.txt`);
      expect([twice.type, twice.evidence?.function]).toEqual(['use-after-free', 'lab_list_del_twice']);
      expect(twice.message).toMatch(/list_del corruption: entry->next is LIST_POISON \(the entry was already deleted\)/);
      expect(twice.klog!.join('\n')).toMatch(/kernel BUG at lib\/list_debug\.c/);
      const freed = one(`guest-list-del-freed-${k}.txt`);
      expect([freed.type, freed.evidence?.function]).toEqual(['use-after-free', 'lab_list_del_freed']);
      expect(freed.message).toMatch(/next->prev was 6b6b6b6b6b6b6b6b \(slab poison/);
    }
    const add = one('guest-list-add-freed-6.1.0-57-amd64.txt');
    expect([add.type, add.message]).toEqual(['use-after-free', expect.stringMatching(/^list_add corruption: prev->next was 6b6b6b6b6b6b6b6b/)]);
    // a corruption whose pointer is neither poison nor LIST_POISON: a list changed under a walker, not provably a use after free
    expect(classify('list_del corruption. prev->next should be ffff888004870100, but was ffff888004870200. (prev=ffff888004870300)\n').map((x) => [x.type, x.message])).toEqual([
      ['kernel-bug', 'list_del corruption: prev->next was ffff888004870200 (concurrent list change?)'],
    ]);
  });

  it('KFENCE reports are use-after-free with the function the kernel names (a list helper is passed over for its caller)', () => {
    const f = one('guest-kfence-uaf-6.12.117+deb12-amd64.txt');
    expect([f.type, f.evidence?.function]).toEqual(['use-after-free', 'lab_kfence_uaf+0x70/0xa0']);
    expect(f.message).toBe('KFENCE: use-after-free read in lab_kfence_uaf+0x70/0xa0');
    const viaList = one('guest-list-add-freed-6.12.117+deb12-amd64.txt');
    expect([viaList.type, viaList.evidence?.function]).toEqual(['use-after-free', 'lab_list_add_freed']);
    expect(classify('BUG: KFENCE: out-of-bounds write in snd_pcm_hw_params+0x12/0x400 [snd_pcm]\n').map((x) => x.type)).toEqual(['kernel-bug']);
  });

  it("a NULL dereference in a period timer (seed 004's shape) is null-deref; the panic it causes is not a second finding", () => {
    for (const k of kernels) {
      const f = one(`guest-null-irq-${k}.txt`);
      expect([f.type, f.evidence?.function]).toEqual(['null-deref', 'lab_period_elapsed']);
      expect(f.klog!.join('\n')).toMatch(/<IRQ>[\s\S]*lab_timer_fn[\s\S]*hrtimer_run_softirq/);
    }
  });
});
