// snd_use_lock_t (seq_lock.h): a use counter; snd_use_lock_sync() polls it
// every jiffy in uninterruptible sleep and warns once after 5 s.
import type { Kernel } from '../kernel/kernel.js';
import { JIFFY } from '../kernel/kernel.js';
import { scheduleTimeout } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';

export class UseLock {
  count = 0;
  constructor(readonly name: string) {}
}

export function snd_use_lock_use(l: UseLock): void {
  l.count++;
}

export function snd_use_lock_free(l: UseLock): void {
  l.count--;
}

export function* snd_use_lock_sync(k: Kernel, l: UseLock, file: string, line: number, stack: readonly string[]): KGen {
  let warn = 5 * 250;
  while (l.count > 0) {
    if (warn-- === 0) k.printk(4, `ALSA: seq_lock: waiting [${l.count} left] in ${file}:${line}`);
    yield* scheduleTimeout(k, JIFFY, 'D', `snd_use_lock_sync_helper: waiting for ${l.name} users (${l.count} left)`, ['schedule_timeout', 'snd_use_lock_sync_helper', ...stack]);
  }
}
