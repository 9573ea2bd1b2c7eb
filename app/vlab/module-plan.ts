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
//
// A module overlay (overlay.ts) replaces stock modules by name: its files are
// planned instead of theirs (with the dependencies their own modinfo names),
// and bound over the stock files in the guest so a later modprobe loads them
// too. Modules only an overlay has (a test driver) are planned the same way.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../errors.js';
import { HW, type HwName } from './hw.js';
import type { KernelSpec } from './kernel-cache.js';
import { indexByName, loadOrder, type ModulesDep, moduleName, parseBuiltin, parseModulesDep } from './modules.js';
import type { Overlay } from './overlay.js';

export interface ModulePlan {
  /** "<group> <name> <file below the modules dir, or an absolute host path (overlay)> [options...]" */
  lines: string[];
  /** Options of built-in drivers, as kernel command line items (snd_intel8x0.ac97_clock=48000). */
  cmdline: string[];
  /** Overlay only: "<overlay file (host path)> <stock file below the modules dir>" to bind over it. */
  binds?: string[];
}

/** The stock modules.dep with the overlay's modules in place of the stock ones of the same name. */
export function overlayDep(stock: ModulesDep, overlay: Overlay): { dep: ModulesDep; replaced: Map<string, string> } {
  const byName = indexByName(stock);
  const replaced = new Map<string, string>();
  for (const m of overlay.modules) {
    const s = byName.get(m.name);
    if (s) replaced.set(s, m.file);
  }
  const sub = (f: string) => replaced.get(f) ?? f;
  const dep: ModulesDep = new Map();
  for (const [f, deps] of stock) if (!replaced.has(f)) dep.set(f, deps.map(sub));
  const ours = new Map(overlay.modules.map((m) => [m.name, m.file]));
  for (const m of overlay.modules) {
    dep.set(
      m.file,
      m.depends.map((n) => ours.get(n) ?? byName.get(n)).filter((f): f is string => !!f).map(sub),
    );
  }
  return { dep, replaced };
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

export function planModules(kernel: KernelSpec, hw: HwName[], overlay?: Overlay): ModulePlan {
  const options = moduleOptions(hw);
  const plan: ModulePlan = { lines: [], cmdline: [] };
  if (!kernel.modulesDir) {
    if (overlay) throw new TargetError(`kernel ${kernel.release} has no module directory, so a module overlay has nothing to replace`);
    // No modules at all: every driver must be built in; its options go on the command line.
    for (const [name, o] of options) for (const opt of o) plan.cmdline.push(`${name}.${opt}`);
    return plan;
  }
  if (overlay && overlay.release !== kernel.release) throw new TargetError(`the module overlay was built for ${overlay.release}, not for the booted kernel ${kernel.release}`);
  let dep = parseModulesDep(readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8'));
  if (overlay) {
    const o = overlayDep(dep, overlay);
    dep = o.dep;
    plan.binds = [...o.replaced].map(([stock, ours]) => `${ours} ${stock}`);
  }
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
      `kernel ${kernel.release} has no module for: ${absent.join(', ')} (not in ${kernel.modulesDir}/modules.dep, not built in${overlay ? ', not in the module overlay' : ''})`,
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
  for (const b of plan.binds ?? []) if (/['"\\]/.test(b) || b.split(' ').length !== 2) throw new TargetError(`overlay path with unusual characters: ${b}`);
  return plan;
}
