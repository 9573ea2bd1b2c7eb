// The virtual lab prepares a kernel (download, module overlay) inside the run
// when its boot options are not prepared yet: a stop reaches the preparation
// and ends the run at once, even were a preparation to ignore it. No guest
// boots here: the preparations never finish.
import { describe, expect, it } from 'vitest';
import { startRun } from '../engine/run.js';
import { PresetLibrary } from '../engine/presets.js';
import type { RunEvent } from '../events/types.js';
import { VmTarget, type PrepareBoot } from './vm.js';
import { compileProgram } from '../program/compile.js';

const scenario = new PresetLibrary().load('seq-pool-resize').scenario;

function run(prepare: PrepareBoot) {
  const target = new VmTarget({ boot: { hw: ['seq-dummy'], kernelVersion: '6.1.0-54', overlay: { patches: ['x.patch'] } }, prepare, agentPath: process.execPath });
  const events: RunEvent[] = [];
  const h = startRun({ scenario, target, seed: 1 });
  h.subscribe((e) => events.push(e));
  return { h, events, target };
}

describe('a virtual-lab kernel prepared inside the run', () => {
  it('gets the boot options and the stop signal, reports its progress, and a stop ends the run as stopped while the kernel was prepared', async () => {
    let seen: Parameters<PrepareBoot>[0] | undefined;
    const { h, events, target } = run((o) => {
      seen = o;
      o.log('vlab: downloading linux-source-6.1 6.1.190-1 (about 140 MB, once)');
      return new Promise((_, reject) => o.signal.addEventListener('abort', () => reject(o.signal.reason)));
    });
    while (!seen) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toMatchObject({ hw: ['seq-dummy'], kernelVersion: '6.1.0-54', overlay: { patches: ['x.patch'] } });
    h.abort('stopped by user');
    const s = await h.done;
    expect(seen.signal.aborted).toBe(true);
    expect(s).toMatchObject({ status: 'stopped', reason: 'stopped by user', verdict: 'aborted' });
    expect(events.filter((e) => e.kind === 'progress').map((e) => e.kind === 'progress' && e.text)).toEqual(['preparing the Debian kernel 6.1.0-54 and its module overlay', 'downloading linux-source-6.1 6.1.190-1 (about 140 MB, once)']);
    await target.dispose();
  });

  it('does not wait for a preparation that ignores the stop', async () => {
    let called = false;
    const { h } = run(() => {
      called = true;
      return new Promise(() => {}); // never settles, whatever happens
    });
    while (!called) await new Promise((r) => setTimeout(r, 5));
    h.abort('stopped by user');
    expect(await h.done).toMatchObject({ status: 'stopped', reason: 'stopped by user' });
  });

  it('says the run was stopped while the kernel was prepared when nobody asked for a reason', async () => {
    const target = new VmTarget({ boot: {}, prepare: (o) => new Promise((_, reject) => o.signal.addEventListener('abort', () => reject(o.signal.reason))), agentPath: process.execPath });
    const ac = new AbortController();
    const out = target.run({ program: compileProgram(scenario, { seed: 1, duration: scenario.duration }), signal: ac.signal, emit: () => {} });
    // the preparation begins within run(): nothing to wait for
    ac.abort();
    expect(await out).toEqual({ status: 'stopped', elapsed: 0, reason: 'stopped while the kernel was prepared (downloaded, or its module overlay built)' });
  });
});
