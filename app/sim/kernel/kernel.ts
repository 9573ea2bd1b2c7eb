// The simulated kernel instance: clock and scheduler, printk, memory checks,
// crash handling, and the kernel configuration (which historic bugs are in).
import type { InterleavingStep } from '../../events/types.js';
import { KObject } from './memory.js';
import { type HungTaskInfo, type ReportCtx, hungTaskReport, kasanReport, oopsReport, warningReport } from './reports.js';
import { KernelCrash, Scheduler } from './scheduler.js';
import type { Rng } from './rng.js';
import type { Strategy } from './strategy.js';
import type { Task } from './task.js';
import type { SyncHost, WaitQueue } from './sync.js';
import type { BugSwitch } from '../profiles.js';
import type { SndCore } from '../core/sndcore.js';

/** A kernel call stack, innermost first; a function when building it costs something and it is rarely needed. */
export type Stack = readonly string[] | (() => readonly string[]);

function resolveStack(s: Stack): readonly string[] {
  return typeof s === 'function' ? s() : s;
}

export const HZ = 250;
export const JIFFY = 1e9 / HZ;

export interface KlogSink {
  (line: { t: number; level: number; text: string; ktime: number; trace?: InterleavingStep[]; involved?: string[] }): void;
}

/** Steps of each task a report is about that its interleaving keeps, at most. */
const INVOLVED_STEPS = 24;
/** Most recent steps of any task kept for context. */
const CONTEXT_STEPS = 16;
/** Longest interleaving attached to a report. */
const MAX_INTERLEAVING = 64;

export interface KernelOptions {
  bugs: ReadonlySet<BugSwitch>;
  strategy: Strategy;
  env: Rng;
  /** Width of the simultaneity window, ns. */
  quantum: number;
  stepCost: [number, number];
  klog: KlogSink;
  /** Kernel uptime at virtual time 0, ns (log timestamps start here). */
  bootOffset?: number;
  hungTaskTimeoutSecs?: number;
}

export class Kernel implements SyncHost {
  readonly sched: Scheduler;
  readonly env: Rng;
  readonly bugs: ReadonlySet<BugSwitch>;
  private readonly klog: KlogSink;
  readonly bootOffset: number;
  readonly hungTaskTimeout: number;
  tainted = '';
  private dieCount = 0;
  private kasanReported = false;
  /** Number of KASAN reports suppressed after the first (kasan_multi_shot off). */
  kasanSuppressed = 0;
  /** The sound core (cards, sequencer); set when the machine is built. */
  snd!: SndCore;

  constructor(o: KernelOptions) {
    this.env = o.env;
    this.bugs = o.bugs;
    this.klog = o.klog;
    this.bootOffset = o.bootOffset ?? 5e9;
    this.hungTaskTimeout = (o.hungTaskTimeoutSecs ?? 120) * 1e9;
    this.sched = new Scheduler(o.strategy, o.env, o.quantum, o.stepCost[0], o.stepCost[1]);
  }

  get now(): number {
    return this.sched.clock;
  }

  get current(): Task {
    return this.sched.current;
  }

  get jiffies(): number {
    return Math.floor((this.bootOffset + this.now) / JIFFY);
  }

  bug(name: BugSwitch): boolean {
    return this.bugs.has(name);
  }

  wakeUp(wq: WaitQueue): void {
    this.sched.wakeUp(wq);
  }

  printk(level: number, text: string, trace?: InterleavingStep[], involved?: string[]): void {
    this.klog({ t: this.now, level, text, ktime: Math.floor((this.bootOffset + this.now) / 1000), ...(trace ? { trace } : {}), ...(involved ? { involved } : {}) });
  }

  /**
   * The current task enters kernel functions (outermost first) on a path that
   * can reach code with several possible callers; returns the mark to leave
   * them with (Kernel.leave, in a finally).
   */
  enter(...fns: string[]): number {
    const f = this.current.frames;
    const mark = f.length;
    f.push(...fns);
    return mark;
  }

  leave(mark: number, task: Task = this.current): void {
    task.frames.length = mark;
  }

  /** The current task's call chain as entered (Kernel.enter), innermost first, below `fn`. */
  callers(fallback: readonly string[] = []): string[] {
    const f = this.current.frames;
    return f.length ? [...f].reverse() : [...fallback];
  }

  /** Record where an object was allocated (kmalloc/kzalloc). */
  alloc<T extends KObject>(obj: T, stack: readonly string[]): T {
    const t = this.current;
    obj.kmem.alloc = { pid: t.pid, comm: t.comm, task: t.name, stack };
    return obj;
  }

  kfree(obj: KObject, stack: readonly string[]): void {
    const t = this.current;
    if (obj.freed) {
      if (this.kasanReported) this.kasanSuppressed++;
      else {
        this.kasanReported = true;
        this.reportBug('double-free', obj, stack);
        this.taint('B');
      }
      return;
    }
    obj.kmem.freed = true;
    obj.kmem.free = { pid: t.pid, comm: t.comm, task: t.name, stack };
  }

  /**
   * An access to `obj->field` by the current task. NULL oopses (a fatal
   * panic in interrupt context); a freed object gets a KASAN report.
   */
  /**
   * `others`: for a NULL dereference, the tasks that left the pointer NULL
   * (the kernel cannot know them from the access; the caller may).
   */
  use<T extends KObject>(obj: T | null | undefined, fn: string, offset: number, size: number, write: boolean, stack: Stack, others?: () => (string | undefined)[]): T {
    if (!obj) this.oops({ address: offset, write, fn }, resolveStack(stack), others?.());
    if (obj.kmem.freed) {
      if (this.kasanReported) this.kasanSuppressed++;
      else {
        this.kasanReported = true;
        const lines = kasanReport({ kind: 'slab-use-after-free', fn, write, size, obj, offset }, this.reportCtx(resolveStack(stack)));
        // the faulting task first, then whoever freed the object and whoever allocated it
        this.emitReport(lines, lines.map(() => 3), [this.current.name, obj.kmem.free?.task, obj.kmem.alloc?.task]);
        this.taint('B');
      }
    }
    return obj;
  }

  /** A fault at a non-canonical address, e.g. following a poisoned list pointer. */
  gpf(fn: string, address: number, stack: readonly string[]): never {
    return this.oops({ address, write: false, fn, gpf: true }, stack);
  }

  oops(info: { address: number; write: boolean; fn: string; gpf?: boolean }, stack: readonly string[], others: (string | undefined)[] = []): never {
    const ctx = this.reportCtx(stack);
    const { lines, levels } = oopsReport({ ...info, die: ++this.dieCount }, ctx);
    this.emitReport(lines, levels, [this.current.name, ...others]);
    this.taint('D');
    throw new KernelCrash(lines[0]!, ctx.inIrq);
  }

  warn(file: string, line: number, fn: string, stack: readonly string[], message?: string): void {
    const lines = warningReport(file, line, fn, this.reportCtx(stack), message);
    this.emitReport(lines, lines.map(() => 4), [this.current.name]);
    this.taint('W');
  }

  hungTask(t: Task, seconds: number): void {
    const info: HungTaskInfo = { comm: t.comm, pid: t.pid, tgid: t.ctx === 'user' ? 1000 : t.pid, ppid: t.ctx === 'user' ? 1 : 2, seconds, stack: t.stack, tainted: this.tainted };
    const { lines, levels } = hungTaskReport(info);
    this.emitReport(lines, levels, [t.name]);
  }

  private reportBug(kind: string, obj: KObject, stack: readonly string[]): void {
    const lines = [`BUG: KASAN: ${kind} in ${stack[0] ?? 'kfree'}`, `Free of addr ffff8880${obj.kmem.addr.toString(16).padStart(8, '0')} by task ${this.current.comm}/${this.current.pid}`];
    this.emitReport(lines, lines.map(() => 3), [this.current.name, obj.kmem.free?.task]);
  }

  private taint(flag: string): void {
    if (!this.tainted.includes(flag)) this.tainted = [...(this.tainted.replace(/ /g, '') + flag)].sort().join('');
  }

  /**
   * The steps that led here, attached to the first line of a report: the
   * latest steps of every task the report is about (the faulting one's own
   * path above all, however long ago another task's churn pushed it back),
   * and the most recent steps of anyone, in time order.
   */
  interleaving(involved: readonly string[]): InterleavingStep[] {
    const all = this.sched.recentSteps(512);
    const keep = new Set<number>();
    const counts = new Map<string, number>();
    for (let i = all.length - 1; i >= 0; i--) {
      const name = all[i]!.task.name;
      if (!involved.includes(name)) continue;
      const c = counts.get(name) ?? 0;
      if (c >= INVOLVED_STEPS) continue;
      counts.set(name, c + 1);
      keep.add(i);
    }
    const ofInvolved = keep.size;
    for (let i = all.length - 1; i >= 0 && keep.size < Math.min(MAX_INTERLEAVING, ofInvolved + CONTEXT_STEPS); i--) keep.add(i);
    return [...keep]
      .sort((a, b) => a - b)
      .slice(-MAX_INTERLEAVING)
      .map((i) => all[i]!)
      .map((s) => ({ t: s.t, task: s.task.name, ctx: s.task.ctx, at: s.at }));
  }

  private emitReport(lines: string[], levels: number[], about: (string | undefined)[]): void {
    const involved = [...new Set(about.filter((x): x is string => !!x))];
    const trace = this.interleaving(involved);
    lines.forEach((l, i) => this.printk(levels[i] ?? 4, l, i === 0 ? trace : undefined, i === 0 ? involved : undefined));
  }

  private reportCtx(stack: readonly string[]): ReportCtx {
    const t = this.current;
    return {
      comm: t.ctx === 'irq' ? (t.pid === 0 ? 'swapper/0' : t.comm) : t.comm,
      pid: t.ctx === 'irq' ? 0 : t.pid,
      cpu: t.ctx === 'irq' ? 0 : 1 + (t.id % 3),
      inIrq: t.ctx === 'irq',
      tainted: this.tainted,
      stack,
      syscall: t.ctx === 'user',
    };
  }
}
