// A finding's signature: its type and the top frames of the code that
// failed, offsets stripped, e.g.
//   use-after-free:dpcm_be_dai_trigger<-dpcm_fe_dai_trigger<-snd_pcm_do_stop
//   hang:snd_seq_pool_done<-snd_seq_pool_delete<-snd_seq_fifo_resize
// The same bug gives the same signature on the simulated kernel and on a real
// one, across seeds, runs and kernel builds (offsets differ between builds,
// names do not), so findings are de-duplicated by it. Findings with no kernel
// stack (torn parameters, sequencer accounting, errnos) are named by the op
// and what went wrong instead.
import type { Finding } from '../events/types.js';
import { stripPrefix } from './klog.js';

/** How many frames a signature keeps. Three tell the path apart without tying it to one caller's caller. */
export const SIGNATURE_FRAMES = 3;

/**
 * Frames that belong to reporting or to the fault itself, never to the code
 * that went wrong (mm/kasan/report.c, arch/x86/mm/fault.c, lib/dump_stack.c,
 * kernel/panic.c, lib/bug.c, the KASAN/KCSAN/UBSAN instrumentation).
 */
const REPORTING = /^(dump_stack\w*|show_stack|print_report|print_address_description\w*|kasan_\w+|__kasan_\w+|__asan_\w+|check_region_inline|check_memory_region\w*|instrument_\w+|kcsan_\w+|ubsan_\w+|__ubsan_\w+|__die\w*|die|oops_\w+|page_fault_oops|kernelmode_fixup_or_oops|__bad_area\w*|bad_area\w*|do_user_addr_fault|do_kern_addr_fault|handle_page_fault|exc_page_fault|asm_exc_\w+|exc_\w+|do_trap|do_error_trap|handle_bug|report_bug|__warn|warn_slowpath\w*|__report_bug|panic|__list_\w+_valid\w*|__list_del_entry_valid\w*|__list_add_valid\w*)$/;

/** Where a blocked task waits: the scheduler and the sleeping primitives, not the code that waits. */
const BLOCKING = /^(__schedule|schedule\w*|preempt_schedule\w*|io_schedule\w*|__mutex_lock\w*|mutex_lock\w*|__down\w*|down\w*|rwsem_down_\w+|__rwsem_\w+|msleep\w*|usleep_range\w*|do_nanosleep|hrtimer_nanosleep|common_nsleep|__wait_for_common|wait_for_common\w*|wait_for_completion\w*|__wait_event\w*|wait_woken|finish_wait|prepare_to_wait\w*|__flush_work|flush_work|synchronize_\w+|__synchronize_\w+|rcu_barrier\w*|__sched_text_start)$/;

/** Below the code: system call and interrupt entry. A stack that reaches them has no more frames of interest. */
const ENTRY = /^(__x64_sys_\w+|__ia32_sys_\w+|__se_sys_\w+|__do_sys_\w+|x64_sys_call|do_syscall_64|do_syscall_x64|entry_SYSCALL\w*|ret_from_fork\w*|kthread|worker_thread|process_one_work|__hrtimer_run_queues|hrtimer_interrupt|__sysvec_\w+|sysvec_\w+|asm_sysvec_\w+|handle_softirqs|__do_softirq|irq_exit_rcu|__irq_exit_rcu|cpu_startup_entry|do_idle)$/;

/**
 * One frame of a call trace line, as the kernel prints it (`func+0x1d/0x40 [mod]`,
 * `? func+0x..`, `[<0>] func+0x..` from /proc/<tid>/stack, `func file.c:12 [inline]`
 * in symbolised reports), or a bare function name (the simulated kernel's task stacks).
 */
const FRAME = /^\s*(?:\[<[0-9a-fx]+>\]\s*)?(\?\s+)?([A-Za-z_][\w.]*)(\+0x[0-9a-f]+\/0x[0-9a-f]+|\s+\S+:-?\d+\s+\[inline\])?(?:\s.*)?$/;
const MARKER = /^\s*<\/?(IRQ|TASK|NMI|SOFTIRQ)>\s*$/;

export interface Frame {
  fn: string;
  /** A "?" frame: the unwinder found it on the stack but it may not be a real caller. */
  unreliable: boolean;
}

/** A frame from one line of a trace, or nothing when the line is no frame. `bare` accepts names without offsets. */
export function parseFrame(line: string, bare = false): Frame | undefined {
  const m = FRAME.exec(line);
  if (!m) return undefined;
  if (!m[3] && !bare) return undefined;
  return { fn: cleanName(m[2]!), unreliable: Boolean(m[1]) };
}

/** `snd_pcm_period_elapsed.cold`, `foo.isra.0` and `foo.constprop.3` are the same function for a reader. */
function cleanName(fn: string): string {
  return fn.replace(/\.(cold|isra|constprop|part|llvm)(\.\d+)?$/g, '').replace(/\.(cold|isra|constprop|part|llvm)(\.\d+)?/g, '');
}

/** The function part of "func+0x1d/0x40 [mod]" (offsets and module stripped). */
export function functionName(symbol: string): string {
  return cleanName(symbol.trim().replace(/^\?\s+/, '').split(/[+\s]/)[0]!);
}

/** The frames of the first call trace in a report (the context that faulted), reliable ones only. */
export function traceFrames(lines: readonly string[]): string[] {
  const out: string[] = [];
  let inTrace = false;
  for (const raw of lines) {
    const line = stripPrefix(raw).text;
    if (!inTrace) {
      if (/Call Trace:/.test(line)) inTrace = true;
      continue;
    }
    if (MARKER.test(line)) continue;
    // register dumps and the interrupted task's RIP inside a trace: not frames
    if (/^(RIP|RSP|RAX|RDX|RBP|R10|R13|Code):/.test(line.trim()) || /^\s*\.\.\./.test(line)) continue;
    const f = parseFrame(line);
    if (!f) {
      if (out.length) break;
      continue;
    }
    if (!f.unreliable) out.push(f.fn);
  }
  return out;
}

/** The function a report says failed: KASAN's "in X", the RIP, a WARNING's location. */
export function faultingFunction(lines: readonly string[]): string | undefined {
  let kasan: string | undefined;
  for (const raw of lines) {
    const line = stripPrefix(raw).text;
    // symbolised reports repeat the header once per inlined frame; the last names the function
    const k = /^BUG: KASAN: [\w-]+ in (\S+)/.exec(line);
    if (k) {
      kasan = functionName(k[1]!);
      continue;
    }
    if (kasan) return kasan;
    const w = /^WARNING: CPU: \d+ PID: \d+ at \S+ (\S+)/.exec(line) ?? /^WARNING: \S+:\d+ at (\S+), CPU#/.exec(line);
    if (w) return functionName(w[1]!);
    const rip = /^RIP: 00\d\d:([A-Za-z_][\w.]*)\+/.exec(line);
    if (rip) return functionName(rip[1]!);
  }
  return kasan;
}

/**
 * The top frames of a stack, innermost first: reporting and scheduler frames
 * dropped, starting at the faulting function when the stack contains it.
 */
export function topFrames(frames: readonly string[], faulting?: string, n = SIGNATURE_FRAMES): string[] {
  let fs = frames.filter((f) => !REPORTING.test(f) && !BLOCKING.test(f));
  const cut = fs.findIndex((f) => ENTRY.test(f));
  if (cut >= 0) fs = fs.slice(0, cut);
  if (faulting && !REPORTING.test(faulting)) {
    const i = fs.indexOf(faulting);
    // An oops trace starts at the faulting function's caller (the function itself is the RIP).
    fs = i >= 0 ? fs.slice(i) : [faulting, ...fs];
  }
  const out: string[] = [];
  for (const f of fs) if (out[out.length - 1] !== f) out.push(f);
  return out.slice(0, n);
}

function stackOf(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** The signature of a finding (see the head of this file). */
export function signatureOf(f: Pick<Finding, 'type' | 'klog' | 'evidence' | 'op' | 'message'>): string {
  const ev = f.evidence ?? {};
  // found by reading parameters back, caused by the call that sets them
  if (f.type === 'torn-hw-params') return `${f.type}:snd_pcm_hw_params`;
  if (f.klog && f.klog.length) {
    const frames = topFrames(traceFrames(f.klog), faultingFunction(f.klog));
    if (frames.length) return `${f.type}:${frames.join('<-')}`;
    const where = typeof ev.function === 'string' ? functionName(ev.function) : undefined;
    return where ? `${f.type}:${where}` : f.type;
  }
  const stack = stackOf(ev.stack);
  if (stack && stack.length) {
    const frames = topFrames(stack.map((l) => parseFrame(l, true)).filter((x): x is { fn: string; unreliable: boolean } => !!x && !x.unreliable).map((x) => x.fn));
    if (frames.length) return `${f.type}:${frames.join('<-')}`;
  }
  if (typeof ev.wchan === 'string' && ev.wchan && ev.wchan !== '0') return `${f.type}:${functionName(ev.wchan)}${f.op ? `(${f.op})` : ''}`;
  const errno = typeof ev.errno === 'string' ? ev.errno : /\b(E[A-Z]{2,})\b/.exec(f.message)?.[1];
  if (f.type === 'unexpected-errno' && f.op) return `${f.type}:${f.op}:${errno ?? '?'}`;
  if (f.op) return `${f.type}:${f.op}`;
  if (typeof ev.metric === 'string') return `${f.type}:${ev.metric}`;
  return f.type;
}

/** Findings grouped by signature, first seen first. */
export function bySignature<T extends Pick<Finding, 'type' | 'klog' | 'evidence' | 'op' | 'message'> & { signature?: string }>(fs: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const f of fs) {
    const s = f.signature ?? signatureOf(f);
    const list = out.get(s);
    if (list) list.push(f);
    else out.set(s, [f]);
  }
  return out;
}

/** The functions a signature names, innermost first ("use-after-free:a<-b<-c" → a, b, c); none for signatures without frames. */
export function signatureFrames(signature: string): string[] {
  const rest = signature.slice(signature.indexOf(':') + 1);
  if (!signature.includes(':') || !/^[A-Za-z_][\w.]*(<-[A-Za-z_][\w.]*)*$/.test(rest) || /^(pcm|seq|ctl|device)\./.test(rest)) return [];
  return rest.split('<-');
}
