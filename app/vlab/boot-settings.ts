// The virtual lab's boot options as the app sends them (plain data, checked
// by app/api/validate.ts), and as BootOptions. The CLI's flags map to the same
// fields (app/cli/commands/vm.ts), so both faces boot the same guest.
import type { BootOptions } from './boot.js';

export interface VmSettings {
  /** A Debian kernel by name (kernels.list); "A,B,C" or "A..B" runs the preset once per kernel (a kernel matrix). */
  kernelVersion?: string;
  /** Unified diffs (paths on the lab's machine) rebuilt into a module overlay (--kernel-patch). */
  patches?: string[];
  /** Sound directories to rebuild into the overlay (--rebuild). */
  rebuild?: string[];
  /** Memory-debugging boot options (slub_debug, init_on_free, KFENCE); default on (--no-mem-debug turns them off). */
  memoryDebug?: boolean;
  /** Virtual hardware (--hw); default all. */
  hw?: string[];
}

/** Settings for one kernel (a matrix is expanded before this) as boot options. */
export function bootOptionsFrom(vm: VmSettings | undefined): BootOptions {
  if (!vm) return {};
  const overlay = {
    ...(vm.patches?.length ? { patches: vm.patches } : {}),
    ...(vm.rebuild?.length ? { dirs: vm.rebuild } : {}),
  };
  return {
    ...(vm.kernelVersion ? { kernelVersion: vm.kernelVersion } : {}),
    ...(Object.keys(overlay).length ? { overlay } : {}),
    ...(vm.memoryDebug === false ? { memoryDebug: false } : {}),
    // names are checked when the guest boots (an unknown one is a VlabInputError)
    ...(vm.hw?.length ? { hw: vm.hw.join(',') } : {}),
  };
}
