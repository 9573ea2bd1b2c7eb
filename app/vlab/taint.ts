// /proc/sys/kernel/tainted decoded, with the letters the kernel prints in
// "Tainted: G  B  OE" (kernel/panic.c, taint_flags[]). A run on rebuilt
// modules is tainted O (out-of-tree) and E (unsigned); a kernel that already
// oopsed (D), warned (W) or hit bad pages (B) before the run is not a clean
// start, and the report says so.

interface TaintFlag {
  bit: number;
  letter: string;
  meaning: string;
}

const FLAGS: TaintFlag[] = [
  { bit: 0, letter: 'P', meaning: 'proprietary module loaded' },
  { bit: 1, letter: 'F', meaning: 'module force-loaded' },
  { bit: 2, letter: 'S', meaning: 'CPU out of specification' },
  { bit: 3, letter: 'R', meaning: 'module force-unloaded' },
  { bit: 4, letter: 'M', meaning: 'machine check' },
  { bit: 5, letter: 'B', meaning: 'bad page or slab corruption reported' },
  { bit: 6, letter: 'U', meaning: 'tainted by user space' },
  { bit: 7, letter: 'D', meaning: 'kernel died (oops or BUG)' },
  { bit: 8, letter: 'A', meaning: 'ACPI table overridden' },
  { bit: 9, letter: 'W', meaning: 'kernel warning' },
  { bit: 10, letter: 'C', meaning: 'staging driver loaded' },
  { bit: 11, letter: 'I', meaning: 'firmware bug worked around' },
  { bit: 12, letter: 'O', meaning: 'out-of-tree module loaded' },
  { bit: 13, letter: 'E', meaning: 'unsigned module loaded' },
  { bit: 14, letter: 'L', meaning: 'soft lockup' },
  { bit: 15, letter: 'K', meaning: 'kernel live-patched' },
  { bit: 16, letter: 'X', meaning: 'auxiliary taint (distribution-defined)' },
  { bit: 17, letter: 'T', meaning: 'built with struct randomization' },
  { bit: 18, letter: 'N', meaning: 'in-kernel test module loaded' },
];

export interface Taint {
  value: number;
  /** "OE", "" when clean. */
  letters: string;
  flags: { letter: string; meaning: string }[];
}

export function decodeTaint(value: number): Taint {
  const flags = FLAGS.filter((f) => Math.floor(value / 2 ** f.bit) % 2 === 1);
  const known = flags.reduce((s, f) => s + 2 ** f.bit, 0);
  const out = flags.map((f) => ({ letter: f.letter, meaning: f.meaning }));
  if (value - known > 0) out.push({ letter: '?', meaning: `unknown bits 0x${(value - known).toString(16)}` });
  return { value, letters: flags.map((f) => f.letter).join(''), flags: out };
}

/** The guest's boot report line "taint N" (init.sh) as a Taint, if present. */
export function taintFromBootReport(report: string[]): Taint | undefined {
  for (const l of report) {
    const m = /^taint (\d+)(?: @[\d.]+)?$/.exec(l.trim());
    if (m) return decodeTaint(Number(m[1]));
  }
  return undefined;
}

export function formatTaint(t: Taint): string {
  return t.value === 0 ? 'not tainted' : `${t.letters} (${t.value}): ${t.flags.map((f) => f.meaning).join(', ')}`;
}
