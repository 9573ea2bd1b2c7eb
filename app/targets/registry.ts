// Which targets exist and how to make one. Real targets register here too.
import type { Target } from './target.js';
import { SimTarget } from './sim/sim-target.js';
import type { SimTargetOptions } from './sim/options.js';
import { LocalTarget } from './local.js';
import { type PrepareBoot, VmTarget } from './vm.js';
import type { BootOptions } from '../vlab/index.js';
import { SlowBootTarget } from './slow-boot.js';

export interface TargetOptions {
  /** Virtual lab: how to boot the guest (hardware, kernel, modules). */
  boot?: BootOptions;
  /** Real hardware: allow device.detach to unbind drivers. */
  allowDetach?: boolean;
  /** The simulator's settings (kernel profile, strategy, depth, replay); other targets have none. */
  sim?: SimTargetOptions;
  /**
   * The virtual lab: the kernel profile its overlay puts in (the historic-bug
   * patches of that name, app/targets/profiles.ts), recorded with the run.
   * The boot options carry the patches themselves.
   */
  profile?: string[];
  /** The virtual lab: how boot options not prepared yet are prepared inside the run (default prepareBoot; tests give a slow one). */
  prepare?: PrepareBoot;
}

export interface TargetFactory {
  id: string;
  label: string;
  create(o: TargetOptions): Target;
}

const factories: TargetFactory[] = [
  { id: 'sim', label: 'Simulated kernel', create: (o) => new SimTarget(o.sim ?? {}) },
  { id: 'local', label: "This machine's sound cards (native agent)", create: (o) => new LocalTarget({ ...(o.allowDetach ? { allowUnbind: true } : {}) }) },
  {
    id: 'vm',
    label: 'Virtual lab: a real kernel in QEMU (native agent)',
    create: (o) => new VmTarget({ ...(o.boot ? { boot: o.boot } : {}), ...(o.prepare ? { prepare: o.prepare } : {}), ...(o.profile ? { profile: o.profile } : {}) }),
  },
];

// UI tests of boot progress without QEMU (e2e/qa.spec.ts); read in every thread, as workers build their own targets.
const slowBootMs = Number(process.env.STRESSLAB_TEST_SLOW_BOOT_MS ?? '');
if (slowBootMs > 0) factories.push({ id: 'slow-boot', label: 'Simulated kernel behind a slow boot (tests)', create: () => new SlowBootTarget(slowBootMs) });

export function registerTarget(f: TargetFactory): void {
  const i = factories.findIndex((x) => x.id === f.id);
  if (i >= 0) factories[i] = f;
  else factories.push(f);
}

export function targetIds(): string[] {
  return factories.map((f) => f.id);
}

export function targetFactory(id: string): TargetFactory | undefined {
  return factories.find((f) => f.id === id);
}
