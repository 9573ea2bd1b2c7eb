import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bySignature, faultingFunction, signatureOf, topFrames, traceFrames } from './signature.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'klog', name), 'utf8').split('\n');

describe('finding signatures', () => {
  it('a symbolised KASAN report: the faulting function and its callers, inlined frames included, reporting frames left out', () => {
    const lines = fixture('real-kasan-syzbot-usbmidi.txt');
    expect(faultingFunction(lines)).toBe('snd_usbmidi_error_timer');
    expect(signatureOf({ type: 'use-after-free', klog: lines, message: '' })).toBe('use-after-free:snd_usbmidi_error_timer<-call_timer_fn<-expire_timers');
  });

  it('a hung task: the code that waits, not the scheduler, and no "?" frames', () => {
    const lines = fixture('real-hung-task-rmmod-5.15.txt');
    expect(signatureOf({ type: 'hung-task', klog: lines, message: '' })).toBe('hung-task:snd_card_disconnect_sync<-soc_cleanup_card_resources<-snd_soc_unbind_card');
  });

  it('an oops without a trace is named by its RIP', () => {
    expect(signatureOf({ type: 'null-deref', klog: fixture('real-null-deref-soc-pcm-pointer-4.20.txt'), message: '' })).toBe('null-deref:soc_pcm_pointer');
  });

  it('the same hang on a real kernel (/proc/<tid>/stack) and on the simulated one (bare names) has one signature', () => {
    const real = ['[<0>] snd_seq_pool_done+0x48/0xb0 [snd_seq]', '[<0>] snd_seq_pool_delete+0x3c/0x50 [snd_seq]', '[<0>] snd_seq_fifo_resize+0xec/0x120 [snd_seq]', '[<0>] snd_seq_ioctl_set_client_pool+0xc5/0xf0 [snd_seq]', '[<0>] snd_seq_ioctl+0xe6/0x1a0 [snd_seq]', '[<0>] __x64_sys_ioctl+0x90/0xd0', '[<0>] do_syscall_64+0x5d/0xb0', '[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8'];
    const sim = ['schedule_timeout_uninterruptible', 'snd_seq_pool_done', 'snd_seq_pool_delete', 'snd_seq_fifo_resize', 'snd_seq_ioctl_set_client_pool', 'snd_seq_ioctl'];
    const a = signatureOf({ type: 'hang', evidence: { stack: real, wchan: 'snd_seq_pool_done' }, message: '' });
    const b = signatureOf({ type: 'hang', evidence: { stack: sim, wchan: 'schedule_timeout_uninterruptible' }, message: '' });
    expect(a).toBe('hang:snd_seq_pool_done<-snd_seq_pool_delete<-snd_seq_fifo_resize');
    expect(b).toBe(a);
  });

  it('offsets and build suffixes never split a signature; different callers do', () => {
    const report = (off: string, caller: string) => ['BUG: KASAN: slab-use-after-free in dpcm_be_dai_trigger+0x11d/0x451 [snd_soc_core]', 'Call Trace:', ' <IRQ>', ' dump_stack_lvl+0x5d/0x80', ' kasan_report+0xd8/0x110', ` dpcm_be_dai_trigger+${off}/0x451 [snd_soc_core]`, ` ${caller}+0x41/0x335 [snd_soc_core]`, ' snd_pcm_do_stop.isra.0+0x285/0x36e [snd_pcm]', ' </IRQ>'];
    const a = signatureOf({ type: 'use-after-free', klog: report('0x11d', 'dpcm_fe_dai_trigger'), message: '' });
    const b = signatureOf({ type: 'use-after-free', klog: report('0x2a0', 'dpcm_fe_dai_trigger'), message: '' });
    const c = signatureOf({ type: 'use-after-free', klog: report('0x11d', 'dpcm_set_fe_update_state'), message: '' });
    expect(a).toBe('use-after-free:dpcm_be_dai_trigger<-dpcm_fe_dai_trigger<-snd_pcm_do_stop');
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect([...bySignature([{ type: 'use-after-free', klog: report('0x11d', 'dpcm_fe_dai_trigger'), message: '' }, { type: 'use-after-free', klog: report('0x2a0', 'dpcm_fe_dai_trigger'), message: '' }]).keys()]).toEqual([a]);
  });

  it('an oops trace starts at the RIP function even when the trace lists only its callers', () => {
    const lines = ['BUG: kernel NULL pointer dereference, address: 00000000000000c0', 'RIP: 0010:snd_pcm_period_elapsed+0x9f/0xc6 [snd_pcm]', 'Call Trace:', ' <IRQ>', ' ? __die+0x23/0x70', ' ? page_fault_oops+0x171/0x4e0', ' ? asm_exc_page_fault+0x26/0x30', ' dummy_hrtimer_callback+0x5a/0x90 [snd_dummy]', ' __hrtimer_run_queues+0x1a2/0x2b0', ' hrtimer_interrupt+0x101/0x240', ' </IRQ>'];
    expect(traceFrames(lines)).toEqual(['dummy_hrtimer_callback', '__hrtimer_run_queues', 'hrtimer_interrupt']);
    expect(signatureOf({ type: 'null-deref', klog: lines, message: '' })).toBe('null-deref:snd_pcm_period_elapsed<-dummy_hrtimer_callback');
  });

  it('findings without a kernel stack are named by what failed', () => {
    expect(signatureOf({ type: 'unexpected-errno', op: 'pcm.write', evidence: { errno: 'EIO' }, message: '' })).toBe('unexpected-errno:pcm.write:EIO');
    expect(signatureOf({ type: 'torn-hw-params', op: 'pcm.readback', message: '' })).toBe('torn-hw-params:snd_pcm_hw_params');
    expect(signatureOf({ type: 'event-loss', message: '' })).toBe('event-loss');
    expect(topFrames(['__schedule', 'schedule', 'mutex_lock', 'snd_pcm_release', '__fput', 'task_work_run'])).toEqual(['snd_pcm_release', '__fput', 'task_work_run']);
  });
});
