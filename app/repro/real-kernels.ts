// Where each race family's bug exists on a real kernel, for the header of a
// reproducer and for the virtual-lab test that runs reproducers in a guest
// (repro.vm.test.ts). THE HOOK for the other families: when a historic-bug
// module patch (presets/patches/, branch kpatch) or an old kernel package is
// available in the virtual lab, fill in `vm` for its family; the vm test then
// boots that kernel, runs the family's reproducer and expects the finding.

export interface RealKernelBug {
  /** The simulated kernel's bug switch for the same bug. */
  profile: string;
  /** Where the bug is on real kernels, one sentence for the reproducer's header. */
  where: string;
  /**
   * How the virtual lab gets a kernel with the bug. `package`: a stock Debian
   * kernel image that still has it (the virtual-lab kernel cache,
   * ~/.cache/audio-stress-lab/kernels/<package>). `patch`: a module patch that
   * puts the bug back (presets/patches/<profile>.patch). `preset`: the preset
   * to run there when the simulator's does not fit the guest's hardware.
   */
  vm?: { package?: string; patch?: string; preset?: string; seconds: number };
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
    expect: 'use-after-free',
  },
  'parallel-hw-params': {
    profile: 'pcm-unlocked-hw-params',
    where: 'kernels before the CVE-2022-1048 fix (92ee3c60ec9f, 2022); on today\'s kernels only with presets/patches/pcm-unlocked-hw-params.patch in snd-pcm',
    expect: 'torn-hw-params',
  },
  'detach-while-open': {
    profile: 'detach-without-drain',
    where: 'drivers that free device state at disconnect instead of waiting for the last close (the NetBSD audio(4)/pad(4) shape); Linux with presets/patches/detach-without-drain.patch',
    expect: 'use-after-free',
  },
  'stop-close-race': {
    profile: 'pcm-no-sync-stop',
    where: 'kernels before the 2019 sync_stop series, or drivers without .sync_stop whose interrupt outlives a stop; today\'s with presets/patches/pcm-no-sync-stop.patch',
    expect: 'null-deref',
  },
};

/** The family a bug switch belongs to. */
export function familyOfProfile(profile: string): string | undefined {
  return Object.entries(REAL_KERNEL_BUGS).find(([, b]) => b.profile === profile)?.[0];
}
