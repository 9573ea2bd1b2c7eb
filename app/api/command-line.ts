// The `stresslab run` command line that repeats a run, shown next to every
// run in the app and in the HTML report: what the app runs, the CLI runs with
// the same words. On the virtual lab it is made from what the run recorded of
// its kernel (its one kernel record, context.kernel): the Debian kernel, the
// patches rebuilt into the module overlay and the directories asked for, the
// out-of-tree module directories, memory debugging, the hardware. What the
// record does not hold (a patch known only by name and hash, from a run made
// before its path was kept) is said in a trailing shell comment, with a
// placeholder no shell or file system can take for a real path.
import type { KernelRecord, RunContext, RunHeader } from '../events/types.js';
import { kernelVersionWord } from './kernel-record.js';

/** ns as a preset writes a duration: 50ms, 2s, 1m, 250us. */
export function durationWord(ns: number): string {
  if (ns % 60e9 === 0) return `${ns / 60e9}m`;
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

/** One shell word: as it is when nothing in it is special to sh, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface CommandOptions {
  /**
   * Where a patch the record knows only by name and hash is found, if it is
   * one the lab ships (presets/patches/<name> with that hash); readers with
   * a file system give it, others get the placeholder.
   */
  shippedPatch?: (name: string, sha256: string) => string | undefined;
}

export function cliCommand(h: RunHeader, context?: Partial<RunContext> | null, o: CommandOptions = {}): string {
  const parts = ['stresslab', 'run', shellWord(h.preset)];
  const notes: string[] = [];
  if (h.target !== 'sim') parts.push('--target', h.target);
  const profile = !h.scenario.suite && h.profile.length && h.profile.join(',') !== 'fixed' ? h.profile : [];
  // on the virtual lab a profile is its historic-bug patch built into the overlay: one name, one bug on every target
  if ((h.target === 'sim' || h.target === 'vm') && profile.length) parts.push('--profile', shellWord(profile.join(',')));
  parts.push('--seed', String(h.seed));
  if (h.duration !== h.scenario.duration) parts.push('--duration', durationWord(h.duration));
  if (h.target === 'vm') {
    const hardware = context?.machine?.hardware;
    if (hardware?.length) parts.push('--hw', shellWord(hardware.join(',')));
    if (context?.kernel) parts.push(...vmKernelArgs(context.kernel, profile, notes, o));
    else notes.push('the guest never booted, so the run recorded no kernel: add the --kernel-version, --kernel-patch and --no-mem-debug it was started with');
  }
  return parts.join(' ') + (notes.length ? `  # ${notes.join('; ')}` : '');
}

/** The words that boot the kernel a virtual-lab run recorded; what cannot be said exactly goes into `notes`. */
function vmKernelArgs(k: KernelRecord, profile: readonly string[], notes: string[], o: CommandOptions): string[] {
  const out: string[] = [];
  if (k.origin === 'distro') out.push('--kernel-version', shellWord(kernelVersionWord(k)));
  else if (k.origin === 'user') {
    if (k.image_path) out.push('--kernel', shellWord(k.image_path));
    else {
      out.push('--kernel', shellWord(`<your ${k.release} image: path not recorded>`));
      notes.push(`the run recorded your kernel's release (${k.release}), not where its image is`);
    }
    if (k.modules_path) out.push('--modules', shellWord(k.modules_path));
  }
  const ov = k.overlay;
  if (ov) {
    // --profile puts its patches in first (app/targets/profiles.ts): those are not repeated
    const fromProfile = new Set(profile.map((p) => `${p}.patch`));
    const patches = ov.patches.filter((p, i) => !(i < profile.length && fromProfile.has(p.name)));
    const unrecorded: string[] = [];
    for (const p of patches) {
      const path = p.file ?? o.shippedPatch?.(p.name, p.sha256);
      if (path) out.push('--kernel-patch', shellWord(path));
      else {
        out.push('--kernel-patch', shellWord(`<${p.name}: path not recorded>`));
        unrecorded.push(`${p.name} (sha256 ${p.sha256.slice(0, 16)}…)`);
      }
    }
    if (unrecorded.length) notes.push(`the run recorded ${unrecorded.join(', ')} by name and hash only, not where the file is: put its path in place of the <…>`);
    // Directories asked for; the rest are those the patches touch. A record made before
    // they were kept says only what was rebuilt: without patches, all of it was asked for.
    const legacy = ov.patches.some((p) => p.file === undefined);
    const asked = ov.rebuild_asked ?? (!ov.patches.length ? ov.rebuilt : []);
    if (asked.length) out.push('--rebuild', shellWord(asked.join(',')));
    else if (legacy && ov.patches.length && ov.rebuilt.length) notes.push(`the overlay rebuilt ${ov.rebuilt.join(', ')}; which of those were asked for with --rebuild (and not brought in by the patches) was not recorded`);
    for (const e of ov.extra_module_dirs) if (!e.hardware) out.push('--extra-modules', shellWord(e.dir));
  }
  // off: nothing on (a kernel that can do none of it boots the same either way)
  if (k.memory_debug && !k.memory_debug.on.length) out.push('--no-mem-debug');
  return out;
}
