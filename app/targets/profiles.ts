// A kernel profile names one historic bug, and the name means the same bug on
// every target: on the simulated kernel the bug switch of that name
// (app/sim/profiles.ts); in the virtual lab the historic-bug patch of that
// name (presets/patches/<name>.patch, which undoes the fix in today's code),
// built into a module overlay of the booted kernel; on this machine's kernel
// nothing (the lab does not rebuild the host's modules). `fixed` is today's
// kernel everywhere: the simulator with every fix, the virtual lab's stock
// modules. This module says where each profile applies, for `stresslab
// profiles`, the app's profile picker and the run paths.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ProfileError, simBugSwitches, simProfile } from './sim/options.js';

export { ProfileError };

export interface ProfileWhere {
  name: string;
  seed?: string;
  finding?: string;
  summary: string;
  /** The simulated kernel: always (a switch, or every fix for "fixed"). */
  sim: string;
  /** The virtual lab: the patch file (relative to the preset library's parent), or why not. */
  vm: { patch: string } | { stock: true } | { none: string };
  local: { none: string } | { stock: true };
}

export const LOCAL_PROFILE_WHY = "this machine runs its own kernel and the lab does not rebuild its modules; run the profile in the virtual lab (--target vm), or boot a kernel that has the bug";

/** presets/patches/<name>.patch beside the preset library, when it exists. */
export function profilePatch(name: string, presetDir: string): string | undefined {
  const p = join(presetDir, 'patches', `${name}.patch`);
  return existsSync(p) ? p : undefined;
}

/**
 * The lab's own copy of a patch a run recorded only by name and hash
 * (presets/patches/<name> with exactly that content), for the command that
 * repeats the run; undefined when the library has no such file.
 */
export function shippedPatch(name: string, sha256: string, presetDir: string): string | undefined {
  if (!/^[\w.+-]+\.patch$/.test(name)) return undefined;
  const p = join(presetDir, 'patches', name);
  try {
    return createHash('sha256').update(readFileSync(p)).digest('hex') === sha256 ? p : undefined;
  } catch {
    return undefined;
  }
}

/** "fixed" and every bug switch, with where each applies. */
export function profilePlaces(presetDir: string, shownFrom = join(presetDir, '..')): ProfileWhere[] {
  const fixed: ProfileWhere = { name: 'fixed', summary: "today's kernel with every fix (the default)", sim: 'every fix in', vm: { stock: true }, local: { stock: true } };
  return [
    fixed,
    ...simBugSwitches().map((b) => {
      const patch = profilePatch(b.name, presetDir);
      return {
        name: b.name,
        seed: b.seed,
        finding: b.finding,
        summary: b.summary,
        sim: 'bug switch',
        vm: patch ? { patch: relative(shownFrom, patch) || patch } : { none: `no historic-bug patch ${relative(shownFrom, join(presetDir, 'patches', `${b.name}.patch`))}` },
        local: { none: LOCAL_PROFILE_WHY },
      } satisfies ProfileWhere;
    }),
  ];
}

/** One line of where a profile applies: "sim: bug switch · vm: presets/patches/x.patch · local: not available". */
export function whereText(p: ProfileWhere): string {
  const vm = 'patch' in p.vm ? `patch ${p.vm.patch} in a module overlay` : 'stock' in p.vm ? 'stock modules' : `not available (${p.vm.none})`;
  const local = 'stock' in p.local ? "this machine's kernel as it is" : 'not available';
  return `sim: ${p.sim} · vm: ${vm} · local: ${local}`;
}

/**
 * The patches that put a profile's bugs into the virtual lab's kernel (none
 * for "fixed": stock modules). A profile without a patch is a ProfileError
 * naming the file it would need.
 */
export function vmProfilePatches(profile: readonly string[], presetDir: string): string[] {
  const label = simProfile(profile);
  if (label.join(',') === 'fixed') return [];
  return label.map((name) => {
    const p = profilePatch(name, presetDir);
    if (!p) throw new ProfileError(`profile ${name} has no historic-bug patch for the virtual lab (${join(presetDir, 'patches', `${name}.patch`)} does not exist); it runs on the simulated kernel (--target sim)`);
    return p;
  });
}

/** Why `profile` cannot run on `target`, or null: the one rule the CLI and the app apply. */
export function profileRefusal(profile: readonly string[], target: string, presetDir: string): string | null {
  let label: string[];
  try {
    label = simProfile(profile);
  } catch (e) {
    if (e instanceof ProfileError) return e.message;
    throw e;
  }
  if (label.join(',') === 'fixed' || target === 'sim' || target === 'slow-boot') return null;
  if (target === 'vm') {
    try {
      vmProfilePatches(label, presetDir);
      return null;
    } catch (e) {
      if (e instanceof ProfileError) return e.message;
      throw e;
    }
  }
  return `profile ${label.join(',')} cannot run on ${target}: ${target === 'local' ? LOCAL_PROFILE_WHY : `the ${target} target has no way to put a historic bug into its kernel`}`;
}
