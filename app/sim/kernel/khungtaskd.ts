// kernel/hung_task.c: a task that stayed in D state without being scheduled
// for hung_task_timeout_secs is reported. A task that polls with
// schedule_timeout_uninterruptible() is scheduled every jiffy and is never
// reported, exactly as in Linux (the seq pool_done wait is such a loop).
import type { Kernel } from './kernel.js';
import { scheduleTimeout } from './sync.js';
import type { KGen, Task } from './task.js';

export function* khungtaskd(k: Kernel): KGen<void> {
  const seen = new Map<Task, { switches: number; since: number }>();
  const reported = new Set<Task>();
  let warnings = 10;
  for (;;) {
    yield* scheduleTimeout(k, k.hungTaskTimeout, 'S', 'khungtaskd: sleeping', []);
    for (const t of k.sched.live()) {
      if (t.state !== 'D' || t.ctx === 'kthread') continue;
      const s = seen.get(t);
      if (!s || s.switches !== t.switches) {
        seen.set(t, { switches: t.switches, since: t.blockedSince });
        continue;
      }
      if (reported.has(t) || warnings <= 0) continue;
      const secs = Math.floor((k.now - s.since) / 1e9);
      if (secs * 1e9 < k.hungTaskTimeout) continue;
      reported.add(t);
      warnings--;
      k.hungTask(t, secs);
    }
    yield 'khungtaskd: check done';
  }
}
