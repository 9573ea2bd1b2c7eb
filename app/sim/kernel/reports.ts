// Kernel report texts in the formats real kernels print (x86-64, KASAN build,
// 6.12-era), so the same kernel-log classifier reads simulated and real logs.
// Formats follow mm/kasan/report.c, arch/x86/mm/fault.c + dumpstack.c,
// kernel/hung_task.c + sched_show_task(), kernel/panic.c.
import { hexAddr, hex16, type KObject } from './memory.js';

export const KERNEL_RELEASE = '6.12.0-stresslab-sim';
export const HARDWARE = 'Hardware name: Audio Stress Lab simulated machine, BIOS none';
const SEPARATOR = '==================================================================';

/** Which module a function lives in, for " [module]" suffixes in traces. */
const MODULES: [RegExp, string][] = [
  [/^(snd_pcm_|__snd_pcm|pcm_|snd_pcm)/, 'snd_pcm'],
  [/^(snd_seq_|seq_)/, 'snd_seq'],
  [/^(dpcm_|soc_|snd_soc_)/, 'snd_soc_core'],
  [/^dummy_/, 'snd_dummy'],
  [/^simsoc_/, 'snd_soc_simsoc'],
  [/^simusb_/, 'snd_usb_audio'],
  [/^(snd_ctl_|snd_card_|snd_device_|snd_disconnect_|release_card_device|snd_power_)/, 'snd'],
];

function moduleOf(fn: string): string | undefined {
  for (const [re, m] of MODULES) if (re.test(fn)) return m;
  return undefined;
}

/** Stable fake "func+0xoff/0xsize" offsets derived from the names. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Where in a function a frame points. A function has one offset per place in
 * it: where it faults (the report's header, its RIP and its own frame in the
 * trace all say the same), or where it calls the next function in (a frame is
 * a return address), so one call chain prints one set of offsets in every
 * stack of a report, and only different callees give different offsets.
 */
export const FAULT_SITE = 'fault';
export function callSite(callee: string): string {
  return `call:${callee}`;
}

/** A stack's frames (innermost first) with their offsets; `innermostSite` is where the innermost function is. */
export function stackFrames(stack: readonly string[], innermostSite: string): string[] {
  return stack.map((f, i) => ` ${symbol(f, i === 0 ? innermostSite : callSite(stack[i - 1]!))}`);
}

export function symbol(fn: string, site = ''): string {
  const h = hash(fn);
  const size = 0x60 + (h % 0x400);
  const off = (hash(fn + '#' + site) % (size - 8)) + 4;
  const mod = moduleOf(fn);
  return `${fn}+0x${off.toString(16)}/0x${size.toString(16)}${mod ? ` [${mod}]` : ''}`;
}

export interface ReportCtx {
  comm: string;
  pid: number;
  cpu: number;
  inIrq: boolean;
  tainted: string;
  /** Innermost first. */
  stack: readonly string[];
  /** For user-context reports: the syscall entry frames below the stack. */
  syscall: boolean;
}

function callTrace(ctx: ReportCtx, prefixFrames: string[]): string[] {
  const out = ['Call Trace:'];
  const frames = [...prefixFrames, ...stackFrames(ctx.stack, FAULT_SITE)];
  if (ctx.inIrq) {
    out.push(' <IRQ>', ...frames, ' __hrtimer_run_queues+0x1a2/0x2b0', ' hrtimer_interrupt+0x101/0x240', ' __sysvec_apic_timer_interrupt+0x5e/0x130', ' sysvec_apic_timer_interrupt+0x6d/0x90', ' </IRQ>', ' <TASK>', ' asm_sysvec_apic_timer_interrupt+0x1a/0x20', ' </TASK>');
  } else {
    out.push(' <TASK>', ...frames);
    if (ctx.syscall) out.push(' __x64_sys_ioctl+0x94/0xd0', ' do_syscall_64+0x5d/0x170', ' entry_SYSCALL_64_after_hwframe+0x76/0x7e');
    out.push(' </TASK>');
  }
  return out;
}

function cpuLine(ctx: ReportCtx): string {
  return `CPU: ${ctx.cpu} UID: 0 PID: ${ctx.pid} Comm: ${ctx.comm} ${ctx.tainted ? `Tainted: ${ctx.tainted}` : 'Not tainted'} ${KERNEL_RELEASE} #1 PREEMPT(voluntary)`;
}

export interface KasanInfo {
  kind: 'slab-use-after-free';
  fn: string;
  write: boolean;
  size: number;
  obj: KObject;
  offset: number;
}

/** A KASAN report, one string per printk line (all KERN_ERR). */
export function kasanReport(info: KasanInfo, ctx: ReportCtx): string[] {
  const m = info.obj.kmem;
  const addr = m.addr + info.offset;
  const lines = [
    SEPARATOR,
    `BUG: KASAN: ${info.kind} in ${symbol(info.fn, FAULT_SITE)}`,
    `${info.write ? 'Write' : 'Read'} of size ${info.size} at addr ${hexAddr(addr)} by task ${ctx.comm}/${ctx.pid}`,
    '',
    cpuLine(ctx),
    HARDWARE,
    ...callTrace(ctx, [' dump_stack_lvl+0x5d/0x80', ' print_report+0xce/0x660', ' kasan_report+0xd8/0x110']),
    '',
  ];
  if (m.alloc) {
    lines.push(`Allocated by task ${m.alloc.pid}:`, ' kasan_save_stack+0x30/0x50', ' kasan_save_track+0x14/0x30', ' __kasan_kmalloc+0x8f/0xa0');
    lines.push(...stackFrames(m.alloc.stack, callSite('__kmalloc')), '');
  }
  if (m.free) {
    lines.push(`Freed by task ${m.free.pid}:`, ' kasan_save_stack+0x30/0x50', ' kasan_save_track+0x14/0x30', ' kasan_save_free_info+0x3b/0x60', ' __kasan_slab_free+0x37/0x50', ' kfree+0x11f/0x3a0');
    lines.push(...stackFrames(m.free.stack, callSite('kfree')), '');
  }
  lines.push(
    `The buggy address belongs to the object at ${hexAddr(m.addr)}`,
    ` which belongs to the cache ${m.cache} of size ${m.size}`,
    `The buggy address is located ${info.offset} bytes inside of`,
    ` freed ${m.size}-byte region [${hexAddr(m.addr)}, ${hexAddr(m.addr + m.size)})`,
    '',
    'Memory state around the buggy address:',
    ...shadowRows(m.addr, info.offset),
    SEPARATOR,
    'Disabling lock debugging due to kernel taint',
  );
  return lines;
}

function shadowRows(base: number, offset: number): string[] {
  const row = (a: number, fill: string, mark: boolean) => `${mark ? '>' : ' '}${hexAddr(a)}: ${Array.from({ length: 16 }, (_, i) => (fill === 'obj' ? (i === 0 ? 'fa' : 'fb') : fill)).join(' ')}`;
  const start = base - 0x100;
  const out: string[] = [];
  for (let i = 0; i < 5; i++) {
    const a = start + i * 0x80;
    const isObj = a >= base && a < base + 0x80;
    out.push(row(a, isObj ? 'obj' : a < base ? 'fc' : '00', isObj));
    if (isObj) out.push(' '.repeat(19 + 3 * Math.min(15, offset >> 3)) + '^');
  }
  return out;
}

export interface OopsInfo {
  /** Faulting address (small for NULL derefs). */
  address: number;
  write: boolean;
  fn: string;
  die: number;
  /** Non-canonical address: a general protection fault rather than a page fault. */
  gpf?: boolean;
}

/** A page-fault oops; in interrupt context it ends with a panic. */
export function oopsReport(info: OopsInfo, ctx: ReportCtx): { lines: string[]; levels: number[] } {
  const lines: string[] = [];
  const levels: number[] = [];
  const add = (lvl: number, ...ls: string[]) => {
    for (const l of ls) {
      lines.push(l);
      levels.push(lvl);
    }
  };
  if (info.gpf) {
    add(4, `Oops: general protection fault, probably for non-canonical address 0x${hex16(info.address).replace(/^0{8}/, 'dead0000')}: 0000 [#${info.die}] PREEMPT SMP KASAN NOPTI`);
  } else {
    add(1, `BUG: kernel NULL pointer dereference, address: ${hex16(info.address)}`);
    add(1, `#PF: supervisor ${info.write ? 'write' : 'read'} access in kernel mode`, `#PF: error_code(0x000${info.write ? 2 : 0}) - not-present page`);
    add(6, 'PGD 0 P4D 0 ');
    add(4, `Oops: Oops: 000${info.write ? 2 : 0} [#${info.die}] PREEMPT SMP KASAN NOPTI`);
  }
  add(4, cpuLine(ctx), HARDWARE, `RIP: 0010:${symbol(info.fn, FAULT_SITE)}`);
  add(4, 'Code: 48 89 fb 48 8b 87 c0 00 00 00 48 85 c0 74 3a 48 8b 40 18 <48> 8b 40 48 89 c2 e8 00 00 00 00 85 c0');
  add(4, 'RSP: 0018:ffffc90000003e58 EFLAGS: 00010046', `RAX: 0000000000000000 RBX: ${hexAddr(0x03c4a000)} RCX: 0000000000000000`);
  add(4, `CR2: ${hex16(info.address)}`);
  add(4, ...callTrace(ctx, [' ? __die+0x23/0x70', ' ? page_fault_oops+0x171/0x4e0', ' ? exc_page_fault+0x7f/0x180', ' ? asm_exc_page_fault+0x26/0x30']));
  add(4, 'Modules linked in: snd_soc_simsoc snd_soc_core snd_usb_audio snd_dummy snd_seq_dummy snd_seq snd_pcm snd_timer snd soundcore');
  add(4, `---[ end trace 0000000000000000 ]---`);
  add(4, `RIP: 0010:${symbol(info.fn, FAULT_SITE)}`);
  if (ctx.inIrq) {
    add(0, 'Kernel panic - not syncing: Fatal exception in interrupt', 'Kernel Offset: disabled', '---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---');
  }
  return { lines, levels };
}

export interface HungTaskInfo {
  comm: string;
  pid: number;
  tgid: number;
  ppid: number;
  seconds: number;
  stack: readonly string[];
  tainted: string;
}

export function hungTaskReport(h: HungTaskInfo): { lines: string[]; levels: number[] } {
  const lines = [
    `INFO: task ${h.comm}:${h.pid} blocked for more than ${h.seconds} seconds.`,
    `      ${h.tainted ? `Tainted: ${h.tainted}` : 'Not tainted'} ${KERNEL_RELEASE} #1`,
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    `task:${h.comm.padEnd(15).slice(0, 15)} state:D stack:0     pid:${String(h.pid).padEnd(5)} tgid:${String(h.tgid).padEnd(5)} ppid:${String(h.ppid).padEnd(6)} flags:0x00004002`,
    'Call Trace:',
    ' <TASK>',
    ' __schedule+0x3f0/0xb40',
    ' schedule+0x27/0xf0',
    ...stackFrames(h.stack, callSite('schedule')),
    ' __x64_sys_ioctl+0x94/0xd0',
    ' do_syscall_64+0x5d/0x170',
    ' entry_SYSCALL_64_after_hwframe+0x76/0x7e',
    ' </TASK>',
  ];
  return { lines, levels: lines.map((_, i) => (i < 3 ? 3 : 6)) };
}

export function warningReport(file: string, line: number, fn: string, ctx: ReportCtx, message?: string): string[] {
  return [
    '------------[ cut here ]------------',
    ...(message ? [message] : []),
    `WARNING: CPU: ${ctx.cpu} PID: ${ctx.pid} at ${file}:${line} ${symbol(fn, FAULT_SITE)}`,
    'Modules linked in: snd_soc_simsoc snd_soc_core snd_usb_audio snd_dummy snd_seq_dummy snd_seq snd_pcm snd_timer snd soundcore',
    cpuLine(ctx),
    HARDWARE,
    `RIP: 0010:${symbol(fn, FAULT_SITE)}`,
    ...callTrace(ctx, []),
    '---[ end trace 0000000000000000 ]---',
  ];
}
