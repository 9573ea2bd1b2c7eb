import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type KernelTrouble, splitTimestamp, TroubleCollector, troubleStart } from './crash.js';

function collect(text: string, closeAtEnd = true): KernelTrouble[] {
  const out: KernelTrouble[] = [];
  const c = new TroubleCollector((t) => out.push(t));
  for (const line of text.split('\n')) {
    const { text: t, ktimeUs } = splitTimestamp(line);
    c.line(t, ktimeUs);
  }
  if (closeAtEnd) c.close();
  return out;
}

describe('kernel trouble reports', () => {
  it('cuts the sysrq panic captured from a real guest console', () => {
    const text = readFileSync(new URL('../analysis/fixtures/klog/sysrq-crash.txt', import.meta.url), 'utf8');
    const [r, ...rest] = collect(text);
    expect(rest).toEqual([]);
    expect(r!.kind).toBe('panic');
    expect(r!.title).toBe('Kernel panic - not syncing: sysrq triggered crash');
    expect(r!.panic).toBe('sysrq triggered crash');
    expect(r!.ktimeUs).toBe(13865912);
    expect(r!.text).toContain('sysrq_handle_crash');
    expect(r!.text).not.toContain('sysrq: Trigger a crash'); // the line before the report is context, not report
  });

  it('keeps an oops and the panic it leads to as one report', () => {
    const out = collect(
      [
        'BUG: kernel NULL pointer dereference, address: 0000000000000010',
        '#PF: supervisor read access in kernel mode',
        'Oops: 0000 [#1] PREEMPT SMP NOPTI',
        'RIP: 0010:snd_pcm_period_elapsed+0x1c/0x80 [snd_pcm]',
        '---[ end trace 0000000000000000 ]---',
        'Kernel panic - not syncing: Fatal exception in interrupt',
        'Kernel Offset: disabled',
      ].join('\n'),
    );
    expect(out.map((t) => t.kind)).toEqual(['oops', 'panic']);
    expect(out[1]!.title).toMatch(/^BUG: kernel NULL pointer dereference/);
    expect(out[1]!.panic).toBe('Fatal exception in interrupt');
    expect(out[1]!.text).toContain('snd_pcm_period_elapsed');
  });

  it('ends a warning at its end-of-trace marker and a hung-task report when closed', () => {
    const out = collect(
      [
        'WARNING: CPU: 1 PID: 312 at sound/core/pcm_native.c:1234 snd_pcm_hw_params+0x50/0x400 [snd_pcm]',
        'Call Trace:',
        '---[ end trace 0000000000000000 ]---',
        'some unrelated line',
        'INFO: task aplay:321 blocked for more than 20 seconds.',
        '      Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2',
        'task:aplay           state:D stack:0     pid:321',
      ].join('\n'),
      false,
    );
    expect(out.map((t) => t.kind)).toEqual(['warning']);
    expect(out[0]!.text).not.toContain('unrelated');
    const all = collect('INFO: task aplay:321 blocked for more than 20 seconds.\ntask:aplay state:D\n');
    expect(all.map((t) => t.kind)).toEqual(['hung-task']);
  });

  it('knows the report kinds by their first line', () => {
    expect(troubleStart('BUG: KASAN: use-after-free in snd_seq_fifo_resize+0x1/0x2')).toBe('kasan');
    expect(troubleStart('kernel BUG at sound/core/seq/seq_fifo.c:42!')).toBe('bug');
    expect(troubleStart('watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [aplay:99]')).toBe('soft-lockup');
    expect(troubleStart('rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:')).toBe('rcu-stall');
    expect(troubleStart('usb 1-1: USB disconnect, device number 2')).toBeUndefined();
  });

  it('finds nothing in the log of a USB unplug', () => {
    const text = readFileSync(new URL('../analysis/fixtures/klog/usb-disconnect.txt', import.meta.url), 'utf8');
    expect(collect(text)).toEqual([]);
  });

  it('an oops in interrupt context and the panic it causes are one crash, told from its first line, registers printed again in between', () => {
    const text = readFileSync(new URL('../analysis/fixtures/klog/guest-null-irq-6.1.0-57-amd64.txt', import.meta.url), 'utf8');
    const r = collect(text);
    const panics = r.filter((t) => t.kind === 'panic');
    expect(panics).toHaveLength(1);
    expect(panics[0]!.title).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000000');
    expect(panics[0]!.panic).toBe('Fatal exception in interrupt');
    expect(panics[0]!.text).toMatch(/RIP: 0010:lab_period_elapsed[\s\S]*lab_timer_fn/);
  });
});

