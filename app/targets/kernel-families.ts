// The five race families on a real kernel: for each simulated bug profile,
// the historic-bug patch that re-opens the same bug in today's Debian 6.1
// sound code (presets/patches/), the preset variant that drives it in the
// virtual lab, the virtual hardware it needs, and where the finding carries
// the kernel's own words. Used by the families' CI test
// (families.vm.test.ts) and bench/kernel-families.js.
import type { Finding } from '../events/types.js';

export interface KernelFamily {
  /** The simulated kernel's bug switch and the patch's file name (presets/patches/<profile>.patch). */
  profile: string;
  seed: string;
  /** A preset name from the library, or a file relative to the project root. */
  preset: string;
  /** --hw for the guest: only what the preset uses, so the guest boots fast. */
  hw: string;
  /**
   * Budget for the CI test when the preset's own is too short for a loaded
   * host (measured: 1.5 s of seq-pool-resize and 3 s of the DPCM preset
   * missed the bug with the host's load average near 30).
   */
  ciDuration?: string;
  /**
   * The finding type the simulated profile reports (app/sim/profiles.ts; kept
   * apart from the simulator here, families.vm.test.ts checks they agree);
   * the patched kernel must report the same.
   */
  finding: string;
  /** The kernel's own text in such a finding: its log report, its stack, or its /proc readback. */
  kernelText(f: Finding): string[];
}

const klogText = (f: Finding): string[] => f.klog ?? [];

export const KERNEL_FAMILIES: KernelFamily[] = [
  {
    profile: 'seq-fifo-stale-cell',
    seed: '000',
    preset: 'seq-pool-resize',
    hw: 'seq-dummy',
    ciDuration: '5s',
    finding: 'hang',
    // /proc/<tid>/stack of the lane that never returns (snd_seq_pool_done)
    kernelText: (f) => ((f.evidence as { stack?: string[] } | undefined)?.stack ?? []),
  },
  {
    profile: 'dpcm-unlocked-be-list',
    seed: '001',
    preset: 'dpcm-route-change-stressdpcm',
    hw: 'dpcm',
    ciDuration: '6s',
    finding: 'use-after-free',
    kernelText: klogText,
  },
  {
    profile: 'pcm-unlocked-hw-params',
    seed: '002',
    preset: 'parallel-hw-params-vm',
    hw: 'dummy',
    finding: 'torn-hw-params',
    // what the kernel printed in /proc/asound/cardN/pcmDp/subS/hw_params, parsed
    kernelText: (f) => {
      const r = (f.evidence as { readback?: Record<string, unknown> } | undefined)?.readback;
      return r ? Object.entries(r).map(([k, v]) => `${k}: ${String(v)}`) : [];
    },
  },
  {
    profile: 'detach-without-drain',
    seed: '003',
    preset: 'detach-while-open-dummy',
    hw: 'dummy',
    finding: 'use-after-free',
    kernelText: klogText,
  },
  {
    profile: 'pcm-no-sync-stop',
    seed: '004',
    preset: 'stop-close-race-vm',
    hw: 'dummy',
    finding: 'null-deref',
    kernelText: klogText,
  },
];

/** presets/patches/<profile>.patch, relative to the project root. */
export function familyPatch(f: KernelFamily): string {
  return `presets/patches/${f.profile}.patch`;
}
