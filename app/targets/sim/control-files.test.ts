// Rule "control files" on the simulated kernel: a mixer that names an
// unplugged card lets go of the card's control file, so nothing of the old
// card is still open when the device comes back (on today's real kernel a
// kept file makes an unbind wait for it forever: seed 003's stock hang in the
// virtual lab). Without the rule, the first control write after every
// re-plug lands on the old card's file and answers ENODEV.
import { describe, expect, it } from 'vitest';
import type { ActionEvent } from '../../events/types.js';
import { scenario, simulate } from '../../test/sim-harness.js';

const mixerUnderUnplug = scenario({
  duration: '2s',
  lanes: [
    { name: 'mixer', loop: [{ 'ctl.write': { card: 'SimUSB', name: 'PCM Playback Volume', value: 90 } }, { sleep: '1ms' }] },
    {
      name: 'hotplug',
      iterations: 40,
      loop: [{ sleep: '5ms' }, { 'device.detach': 'SimUSB' }, { sleep: '10ms' }, { 'device.attach': 'SimUSB' }],
    },
  ],
  expect: { errnos: { 'ctl.write': ['ENODEV'] } },
});

describe('control files (simulated kernel)', () => {
  it('a control step on an unplugged card closes the gone card\'s file: the first write after each re-plug reaches the new card', async () => {
    const r = await simulate(mixerUnderUnplug);
    const acts = r.events.filter((e): e is ActionEvent => e.kind === 'act').sort((a, b) => a.t - b.t);
    let replugged = 0;
    let pending = false;
    const firstAfter: (string | undefined)[] = [];
    for (const e of acts) {
      if (e.op === 'device.attach' && e.ret === 0) {
        replugged++;
        pending = true;
      } else if (e.op === 'ctl.write' && pending) {
        firstAfter.push(e.errno);
        pending = false;
      }
    }
    expect(replugged).toBe(40);
    // not vacuous: the mixer did find the card gone between unplug and re-plug
    expect(acts.filter((e) => e.op === 'ctl.write' && e.errno === 'ENODEV').length).toBeGreaterThan(40);
    expect(firstAfter.length).toBeGreaterThan(30);
    expect(firstAfter.filter((x) => x !== undefined)).toEqual([]);
  });
});
