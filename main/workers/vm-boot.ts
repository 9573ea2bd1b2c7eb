// A worker's virtual-lab boot options from the app's settings: the kernel
// fetched and the overlay built before the target is made, a bad kernel name
// or patch reported as the request's fault (bad-request), not the lab's.
import type { VmSettings } from '../../app/api/types.js';
import { bootOptionsFrom } from '../../app/vlab/boot-settings.js';
import { prepareBoot, type PreparedBoot, VlabInputError } from '../../app/vlab/index.js';

export async function prepareVm(vm: VmSettings | undefined): Promise<PreparedBoot> {
  try {
    return await prepareBoot(bootOptionsFrom(vm));
  } catch (e) {
    if (e instanceof VlabInputError) throw Object.assign(new Error(e.message), { code: 'bad-request' });
    throw e;
  }
}
