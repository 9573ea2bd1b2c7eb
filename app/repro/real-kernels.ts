// Where each race family's bug exists on a real kernel, for the header of a
// reproducer and for the virtual-lab test that runs reproducers in a guest
// (repro.vm.test.ts). `vm` says how the virtual lab boots a kernel with the
// bug: an old Debian kernel package that still has it, or today's kernel with
// the family's historic-bug module patch (presets/patches/) loaded as a
// module overlay; the vm test boots it, runs the family's reproducers and
// expects the finding, and expects nothing on the stock kernel.

import { familyPatch, KERNEL_FAMILIES } from '../targets/kernel-families.js';

/** The Debian kernel whose source the historic-bug patches are made against (presets/patches/*.patch, "Applies:"). */
export const PATCHED_KERNEL = '6.1.0-57';

type VmPlan = NonNullable<RealKernelBug['vm']>;

/** A family re-opened by its historic-bug patch: patch, preset and hardware as the families' table has them (app/targets/kernel-families.ts). */
function patched(profile: string, rest: Pick<VmPlan, 'seconds' | 'reproArgs' | 'skip' | 'alsoSeen' | 'attempts' | 'freshGuest' | 'simRunsVariant'>): VmPlan {
  const f = KERNEL_FAMILIES.find((x) => x.profile === profile);
  if (!f) throw new Error(`no kernel family for ${profile} (app/targets/kernel-families.ts)`);
  // the preset the guest runs: the family's own or its real-hardware variant (variant_of), by name in the library
  return { patch: familyPatch(f), kernel: PATCHED_KERNEL, hw: f.hw, preset: f.preset, ...rest };
}

export interface RealKernelBug {
  /** The simulated kernel's bug switch for the same bug. */
  profile: string;
  /** Where the bug is on real kernels, one sentence for the reproducer's header. */
  where: string;
  /**
   * How the virtual lab gets a kernel with the bug. `package`: a stock Debian
   * kernel image that still has it (booted by version through the virtual
   * lab's kernel cache). `patch`: a historic-bug module patch
   * (presets/patches/<profile>.patch) applied to `kernel`'s own Debian source
   * and loaded as a module overlay (app/vlab/overlay.ts); the stock kernel to
   * compare with is then `kernel` without it.
   */
  vm?: {
    package?: string;
    patch?: string;
    /** The Debian kernel (stresslab kernels) a patch applies to. */
    kernel?: string;
    /** Virtual sound hardware the guest needs (--hw), when not the default set. */
    hw?: string;
    /** The preset the agent runs in the guest, when the simulator's does not fit the guest's hardware (a path from the repository root). */
    preset?: string;
    /** Options for the reproducer in the guest: `-c SimCard=GuestCard` where the simulated card has another id there, `-u` for device.detach. */
    reproArgs?: string[];
    /** The reproducers' budget in the guest, seconds. */
    seconds: number;
    /** Runs of a reproducer on the kernel with the bug before it counts as not reproducing (a real race is a matter of chance). */
    attempts?: number;
    /** Each attempt in a newly booted guest: the race is hit early in a fresh guest or seldom at all. */
    freshGuest?: boolean;
    /**
     * The simulated run is of `preset` too (it addresses cards the simulator has),
     * where the simulator's own preset does not reproduce on the real kernel.
     */
    simRunsVariant?: boolean;
    /**
     * Other finding types the same race gives on the real kernel, depending on
     * who loses it (a freed runtime read as NULL or as slab poison).
     */
    alsoSeen?: string[];
    /** Set while the bug does not reproduce in the guest yet: why (the vm test is skipped with it). */
    skip?: string;
  };
  /** The finding the reproducer reports when it hits the bug. */
  expect: string;
}

export const REAL_KERNEL_BUGS: Record<string, RealKernelBug> = {
  'seq-pool-resize': {
    profile: 'seq-fifo-stale-cell',
    where:
      'stock kernels without "ALSA: seq: avoid stale FIFO cells during resize" (CVE-2026-74261): Debian 6.1 images older than source 6.1.192 (e.g. linux-image-6.1.0-54-amd64, 6.1.190-1) and 6.12 older than 6.12.115',
    vm: { package: 'linux-image-6.1.0-54-amd64', seconds: 60 },
    expect: 'hang',
  },
  'dpcm-route-change': {
    profile: 'dpcm-unlocked-be-list',
    where: 'ASoC DPCM before b7898396f4bb (2014 locking of the BE list); on today\'s kernels only with presets/patches/dpcm-unlocked-be-list.patch and an ASoC DPCM card (the StressDPCM test driver)',
    // the simulator's SimSoC and the StressDPCM test driver have the same front end and routing switches.
    // The simulator runs the variant written for the real card (its router writes on a jitter), bound to its
    // own cards. Measured in the patched guest 2026-12-03, 30-s runs of the C reproducer: the simulated
    // preset's 3 of 6, the variant's 2 of 4 and 0 of 10 (two builds, same program); when it hits, it hits in
    // the first seconds (0-8 s), and a run that has not hit by then seldom does. The agent running the variant,
    // a fresh guest per 3-s run, hit in 9 of 10 (bench/RESULTS.md). So: short runs, each in a fresh guest.
    vm: patched('dpcm-unlocked-be-list', { reproArgs: ['-c', 'SimSoC=StressDPCM'], seconds: 10, attempts: 5, freshGuest: true, simRunsVariant: true }),
    expect: 'use-after-free',
  },
  'parallel-hw-params': {
    profile: 'pcm-unlocked-hw-params',
    where: 'kernels before the CVE-2022-1048 fix (92ee3c60ec9f, 2022); on today\'s kernels only with presets/patches/pcm-unlocked-hw-params.patch in snd-pcm',
    // Measured: the simulator's three-lane preset ran 20 s (2,214 calls) in the patched guest without a torn
    // readback or an oops; the two-lane variant tears at once (its simulated run tears too).
    vm: patched('pcm-unlocked-hw-params', { seconds: 20, simRunsVariant: true }),
    expect: 'torn-hw-params',
  },
  'detach-while-open': {
    profile: 'detach-without-drain',
    where: 'drivers that free device state at disconnect instead of waiting for the last close (the NetBSD audio(4)/pad(4) shape); Linux with presets/patches/detach-without-drain.patch',
    // snd-dummy stands for SimUSB; device.detach unbinds its driver (-u), as the real-hardware variant does
    // A close on the freed card's control file may hit its freed list first: list_del corruption (kernel-bug), the same freed card.
    // A HW_PARAMS on the freed substream adds its latency request to the CPU's QoS list from freed memory:
    // an oops in plist_add <- pm_qos_update_target <- cpu_latency_qos_add_request (kernel-oops; seen 2026-12-03).
    vm: patched('detach-without-drain', {
      reproArgs: ['-u', '-c', 'SimUSB=Dummy'],
      seconds: 20,
      alsoSeen: ['kernel-bug', 'kernel-oops'],
    }),
    expect: 'use-after-free',
  },
  'stop-close-race': {
    profile: 'pcm-no-sync-stop',
    where: 'kernels before the 2019 sync_stop series, or drivers without .sync_stop whose interrupt outlives a stop; today\'s with presets/patches/pcm-no-sync-stop.patch',
    // close frees the runtime the period interrupt still uses: read as NULL (substream->runtime cleared) or as slab poison (freed first)
    vm: patched('pcm-no-sync-stop', { seconds: 20, attempts: 3, alsoSeen: ['use-after-free'] }),
    expect: 'null-deref',
  },
};

/** The family a bug switch belongs to. */
export function familyOfProfile(profile: string): string | undefined {
  return Object.entries(REAL_KERNEL_BUGS).find(([, b]) => b.profile === profile)?.[0];
}
