// The virtual-lab guest a recorded run ran on, to run it again there
// (minimising a vm run): the same Debian kernel, the same module overlay
// (found in the overlay cache by the key its summary recorded: the patches
// are in it, by hash) and the same emulated sound hardware. Options the user
// gives win; without them a run found on a patched kernel is not retried on
// a stock one, where it cannot reproduce.
import { cachedOverlays, type BootOptions, type HwName } from '../vlab/index.js';
import type { RecordedRun } from './source.js';
import { ReproError } from './repro.js';
import { kernelOf } from '../api/kernel-record.js';

export function bootOfRun(run: RecordedRun, given: BootOptions): BootOptions {
  // the run's kernel record; a run without summary.json has it from its journal's context event
  const k = kernelOf(run.summary) ?? run.context?.kernel;
  const out: BootOptions = { ...given };
  const hw = run.context?.machine?.hardware;
  if (given.hw === undefined && hw?.length) out.hw = hw as HwName[];
  if (given.kernel || given.kernelVersion || given.overlay || !k || k.origin !== 'distro') return out;
  if (k.package) out.kernelVersion = k.package;
  const key = k.overlay?.key;
  if (key) {
    const ov = cachedOverlays(k.release).find((o) => o.key === key);
    const patches = (k.overlay?.patches ?? []).map((p) => p.name);
    if (!ov)
      throw new ReproError(
        `the run's module overlay ${key} (${patches.length ? `patches ${patches.join(', ')}` : 'no patches'}) is no longer in the overlay cache: give the same --kernel-patch FILE (and --extra-modules DIR) to rebuild it`,
      );
    out.overlay = ov;
  }
  return out;
}
