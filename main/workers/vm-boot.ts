// A worker's virtual-lab boot options from the app's settings, checked
// without downloading or building anything (an unknown kernel name, a patch
// outside sound/, no source or headers for an overlay): such bad input is the
// request's fault (bad-request), not the lab's. The kernel is fetched and the
// overlay built later, inside the run or the device listing, where a stop or
// an abort ends them (app/targets/vm.ts).
import type { VmSettings } from '../../app/api/types.js';
import { bootOptionsFrom } from '../../app/vlab/boot-settings.js';
import { type BootOptions, checkBoot, VlabInputError } from '../../app/vlab/index.js';

export async function checkVm(vm: VmSettings | undefined, signal?: AbortSignal): Promise<BootOptions> {
  const boot = bootOptionsFrom(vm);
  try {
    await checkBoot({ ...boot, ...(signal ? { signal } : {}) });
    return boot;
  } catch (e) {
    if (e instanceof VlabInputError) throw Object.assign(new Error(e.message), { code: 'bad-request' });
    throw e;
  }
}
