// The local target end to end through the engine, on whatever machine runs the
// tests: timing ops need no sound card, and the kernel log is this machine's
// /dev/kmsg from a checkpoint.
import { accessSync, constants, openSync, closeSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KlogEvent, RunEvent } from '../events/types.js';
import { startRun } from '../engine/run.js';
import { parsePreset } from '../vocabulary/preset-file.js';
import { LocalTarget } from './local.js';

function canReadWriteKmsg(): boolean {
  try {
    accessSync('/dev/kmsg', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const scenario = parsePreset(
  `
name: local-timing
duration: 2s
lanes:
  - name: a
    iterations: 40
    loop:
      - sleep: 10ms
  - name: b
    iterations: 40
    loop:
      - jitter: { min: 1ms, max: 5ms }
`,
  'local.yaml',
).scenario;

describe('local target', () => {
  it('runs a scenario through the engine with the native agent', async () => {
    const h = startRun({ scenario, target: new LocalTarget(), seed: 3 });
    const events: RunEvent[] = [];
    h.subscribe((e) => events.push(e));
    const s = await h.done;
    expect(s.status).toBe('completed');
    expect(s.verdict).toBe('pass');
    expect((s.metrics as { actions: number }).actions).toBe(80);
    expect(events.some((e) => e.kind === 'note' && /native agent/.test(e.text))).toBe(true);
  });

  it.runIf(canReadWriteKmsg())("reads this machine's kernel log from a checkpoint, on the run clock", async () => {
    const marker = `stresslab-test: marker ${process.pid}-${Date.now()}`;
    // a line logged before the run must not be reported: the reader starts at a checkpoint
    const fd = openSync('/dev/kmsg', 'w');
    writeSync(fd, `<4>${marker} before\n`);
    const h = startRun({ scenario, target: new LocalTarget(), seed: 3 });
    const events: RunEvent[] = [];
    h.subscribe((e) => {
      events.push(e);
      // log a line while the lanes run
      if (e.kind === 'act' && e.lane === 'a' && e.iter === 10) writeSync(fd, `<4>${marker} during\n`);
    });
    await h.done;
    closeSync(fd);
    const klog = events.filter((e): e is KlogEvent => e.kind === 'klog');
    expect(klog.filter((k) => k.text.startsWith(marker)).map((k) => k.text)).toEqual([`${marker} during`]);
    const k = klog.find((x) => x.text === `${marker} during`)!;
    expect(k).toMatchObject({ level: 4, source: 'host' });
    // it was written after lane a's 11th action started, and before the run ended
    const a10 = events.find((e) => e.kind === 'act' && e.lane === 'a' && e.iter === 10)!;
    expect(k.t).toBeGreaterThan(a10.t);
    expect(k.t).toBeLessThan(events.filter((e) => e.kind === 'act').reduce((m, e) => Math.max(m, e.t), 0) + 1e9);
    // the agent's clock lines are consumed, not reported
    expect(klog.some((x) => /stresslab-agent: clock sync/.test(x.text))).toBe(false);
  });
});
