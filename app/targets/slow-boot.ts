// The simulated kernel behind a boot that takes its time, reporting the
// virtual lab's boot stages as it goes. Registered only when
// STRESSLAB_TEST_SLOW_BOOT_MS is set (app/targets/registry.ts): the UI's boot
// progress is tested in a browser (e2e/qa.spec.ts) without waiting for QEMU;
// the real stages are checked against a real guest in app/targets/progress.vm.test.ts.
import type { DeviceList } from '../devices/types.js';
import type { Finding, InterleavingStep } from '../events/types.js';
import { SimTarget } from './sim/sim-target.js';
import type { RunOutcome, RunRequest, Target } from './target.js';

const STAGES: [string, string][] = [
  ['kernel', 'finding the distribution kernel (test: simulated)'],
  ['tools', 'building guestd and choosing the accelerator (test)'],
  ['initramfs', 'building the initramfs (test)'],
  ['boot', 'booting the kernel (test)'],
  ['root', 'mounting the host root (test)'],
  ['drivers', 'loading the sound drivers (test)'],
  ['cards', 'waiting for the sound cards (test)'],
  ['ready', 'guest ready (test)'],
];

export class SlowBootTarget implements Target {
  readonly id = 'sim' as const;
  readonly label = 'Simulated kernel behind a slow boot (tests)';
  private readonly sim = new SimTarget();

  constructor(private readonly bootMs: number) {}

  available() {
    return this.sim.available();
  }

  listDevices(): Promise<DeviceList> {
    return this.sim.listDevices();
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    const t0 = Date.now();
    for (const [stage, text] of STAGES) {
      if (req.signal.aborted) return { status: 'stopped', elapsed: 0, reason: 'stopped while the guest booted' };
      req.emit({ kind: 'progress', t: 0, stage, text, wall_ms: Date.now() - t0 });
      await new Promise((r) => setTimeout(r, this.bootMs / STAGES.length));
    }
    return this.sim.run(req);
  }

  explain(f: Finding): InterleavingStep[] | undefined {
    return this.sim.explain(f);
  }
}
