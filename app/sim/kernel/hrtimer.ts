// A high-resolution timer whose callback runs in (soft)interrupt context on
// its own task, so it can overlap with syscalls on other CPUs. Cancel
// semantics follow hrtimer_try_to_cancel() (does not wait for a running
// callback) and hrtimer_cancel() (waits for it).
import type { Kernel } from './kernel.js';
import { WaitQueue, waitEvent } from './sync.js';
import type { KGen, Task } from './task.js';

const NO_STACK: readonly string[] = [];

export class SimHrtimer {
  armed = false;
  running = false;
  expires = 0;
  private gen = 0;
  private task: Task | null = null;
  private readonly wq: WaitQueue;
  readonly syncWq: WaitQueue;

  constructor(
    readonly name: string,
    /** Returns true to restart at `expires` (set via forward()). */
    private readonly fn: (k: Kernel) => KGen<boolean>,
  ) {
    this.wq = new WaitQueue(`${name} hrtimer`);
    this.syncWq = new WaitQueue(`${name} hrtimer sync`);
  }

  start(k: Kernel, expires: number): void {
    this.gen++;
    this.expires = expires;
    this.armed = true;
    if (!this.task || this.task.done) this.task = k.sched.spawn(`irq/${this.name}`, 'irq', this.loop(k));
    else k.wakeUp(this.wq);
  }

  forward(period: number, now: number): void {
    while (this.expires <= now) this.expires += period;
  }

  /** hrtimer_try_to_cancel(): disarm; a callback already running keeps running. */
  tryToCancel(k: Kernel): void {
    if (!this.armed) return;
    this.armed = false;
    this.gen++;
    k.wakeUp(this.wq);
  }

  /** hrtimer_cancel(): disarm and wait for a running callback to finish. */
  *cancel(k: Kernel, caller: readonly string[]): KGen {
    this.tryToCancel(k);
    if (this.running) yield* waitEvent(k, this.syncWq, () => !this.running, 'D', Infinity, `hrtimer_cancel: waiting for ${this.name} callback`, ['hrtimer_cancel_wait_running', 'hrtimer_cancel', ...caller]);
  }

  private *loop(k: Kernel): KGen<void> {
    for (;;) {
      if (!this.armed) {
        yield k.current.block(this.wq, 'S', Infinity, 'hrtimer: idle', NO_STACK);
        continue;
      }
      if (k.now < this.expires) {
        yield k.current.block(this.wq, 'S', this.expires, 'hrtimer: armed', NO_STACK);
        continue;
      }
      const gen = this.gen;
      this.armed = false;
      this.running = true;
      const restart = yield* this.fn(k);
      this.running = false;
      if (this.syncWq.waiters.length) k.wakeUp(this.syncWq);
      if (restart && this.gen === gen) this.armed = true;
    }
  }
}
