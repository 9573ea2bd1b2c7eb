// Kernel profiles: `fixed` is today's kernel; each bug switch puts back one
// historic race from the seed reports. Switches combine.
export const BUG_SWITCHES = {
  'seq-fifo-stale-cell': {
    seed: '000',
    summary: 'snd_seq_fifo_event_in() links a cell duplicated from the old pool, and putback relinks stale cells, after a resize swapped pools (before "ALSA: seq: avoid stale FIFO cells during resize", 2026)',
    finding: 'hang',
  },
  'dpcm-unlocked-be-list': {
    seed: '001',
    summary: 'dpcm_be_disconnect() does list_del + kfree under card->mutex only while the trigger path walks the BE list under the FE stream lock (2014 ASoC DPCM, before b7898396f4bb)',
    finding: 'use-after-free',
  },
  'pcm-unlocked-hw-params': {
    seed: '002',
    summary: 'snd_pcm_hw_params() assigns runtime fields with no lock held, so concurrent HW_PARAMS calls interleave (before CVE-2022-1048 fix 92ee3c60ec9f)',
    finding: 'torn-hw-params',
  },
  'detach-without-drain': {
    seed: '003',
    summary: 'card disconnect frees device state at once instead of swapping file ops and waiting for the last close (the NetBSD audio(4) bug shape)',
    finding: 'use-after-free',
  },
  'pcm-no-sync-stop': {
    seed: '004',
    summary: 'no sync_stop: hw_free/close free the runtime while snd_pcm_period_elapsed() may still run, and period_elapsed reads substream->runtime before taking the stream lock (before the 2019 sync_stop series)',
    finding: 'null-deref',
  },
  // Not a kernel race: a card that is not what it says. It is here so the
  // conformance sweep (pcm.sweep) has a lie to catch on the simulated kernel.
  'usb-clock-fast': {
    seed: 'none',
    summary: "SimUSB's sample clock runs 0.05 % fast (48,024 Hz) while the driver reports 48,000 Hz, as a USB device with a drifting crystal does; only a rate measured from hw_ptr shows it",
    finding: 'conformance',
  },
} as const;

export type BugSwitch = keyof typeof BUG_SWITCHES;
export const BUG_NAMES = Object.keys(BUG_SWITCHES) as BugSwitch[];

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** "fixed", or bug switches separated by commas (fixed may not be combined). */
export function parseProfile(names: readonly string[]): Set<BugSwitch> {
  const out = new Set<BugSwitch>();
  const list = names.flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean);
  for (const n of list) {
    if (n === 'fixed') {
      if (list.length > 1) throw new ProfileError('profile "fixed" means no bugs and cannot be combined with bug switches');
      continue;
    }
    if (!(n in BUG_SWITCHES)) throw new ProfileError(`unknown kernel profile "${n}"; known: fixed, ${BUG_NAMES.join(', ')}`);
    out.add(n as BugSwitch);
  }
  return out;
}

export function profileLabel(bugs: ReadonlySet<string>): string[] {
  return bugs.size ? [...bugs].sort() : ['fixed'];
}
