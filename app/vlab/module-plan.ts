// Which module files the guest's /init loads for this run's hardware, in what
// order, with what options. Computed on the host from the kernel's own
// modules.dep, so the guest needs no modprobe: busybox insmod from RAM is much
// faster under emulation than loading kmod over 9p for every module.
//
// Modules more than one piece of hardware needs (snd, snd-pcm, ...) form the
// "core" group, loaded first; each piece of hardware is then its own group,
// loaded in parallel with the others (the AC97 and xHCI probes are slow).
// Card drivers get index=N so card numbers follow the hardware list, whatever
// order the parallel loads finish in.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../errors.js';
import { HW, type HwName } from './hw.js';
import type { KernelSpec } from './kernel-cache.js';
import { loadOrder, moduleName, parseBuiltin, parseModulesDep } from './modules.js';

export interface ModulePlan {
  /** "<group> <name> <file below the modules dir> [options...]" */
  lines: string[];
  /** Options of built-in drivers, as kernel command line items (snd_intel8x0.ac97_clock=48000). */
  cmdline: string[];
}

/** Options of each hardware's modules, with the card index added to its card driver. */
export function moduleOptions(hw: HwName[]): Map<string, string[]> {
  const opts = new Map<string, string[]>();
  let index = 0;
  for (const h of hw) {
    const spec = HW[h];
    for (const m of spec.modules) {
      const o = [...(m.options ?? [])];
      if (spec.cardModule === m.name) o.push(`index=${index}`);
      opts.set(moduleName(m.name), o);
    }
    if (spec.cardModule) index++;
  }
  return opts;
}

export function planModules(kernel: KernelSpec, hw: HwName[]): ModulePlan {
  const options = moduleOptions(hw);
  const plan: ModulePlan = { lines: [], cmdline: [] };
  if (!kernel.modulesDir) {
    // No modules at all: every driver must be built in; its options go on the command line.
    for (const [name, o] of options) for (const opt of o) plan.cmdline.push(`${name}.${opt}`);
    return plan;
  }
  const dep = parseModulesDep(readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8'));
  const builtinFile = join(kernel.modulesDir, 'modules.builtin');
  const builtin = existsSync(builtinFile) ? parseBuiltin(readFileSync(builtinFile, 'utf8')) : new Set<string>();
  const perHw = new Map<HwName, string[]>();
  const absent: string[] = [];
  for (const h of hw) {
    const names = HW[h].modules.map((m) => m.name);
    const { files, missing } = loadOrder(dep, names);
    perHw.set(h, files);
    for (const m of missing) {
      const n = moduleName(m);
      if (builtin.has(n)) for (const opt of options.get(n) ?? []) plan.cmdline.push(`${n}.${opt}`);
      else absent.push(`${m} (for ${h})`);
    }
  }
  if (absent.length) {
    throw new TargetError(
      `kernel ${kernel.release} has no module for: ${absent.join(', ')} (not in ${kernel.modulesDir}/modules.dep, not built in)`,
      'enable the driver in the kernel configuration (=m or =y), or choose other hardware with --hw',
    );
  }
  const users = new Map<string, number>();
  for (const files of perHw.values()) for (const f of files) users.set(f, (users.get(f) ?? 0) + 1);
  const core = loadOrder(dep, [...new Set([...perHw.values()].flat().filter((f) => users.get(f)! > 1).map(moduleName))]).files;
  const line = (group: string, f: string) => [group, moduleName(f), f, ...(options.get(moduleName(f)) ?? [])].join(' ');
  for (const f of core) plan.lines.push(line('core', f));
  for (const [h, files] of perHw) for (const f of files) if (!core.includes(f)) plan.lines.push(line(h, f));
  for (const l of plan.lines) if (/[\s'"\\]/.test(l.split(' ').slice(2, 3)[0]!)) throw new TargetError(`module path with unusual characters: ${l}`);
  return plan;
}
