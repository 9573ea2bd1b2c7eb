// Kernel module bookkeeping from modules.dep: names to files, and the set of
// files (in load order) that a list of modules needs.

/** modules.dep: "kernel/sound/drivers/snd-dummy.ko: kernel/sound/core/snd-pcm.ko ..." */
export type ModulesDep = Map<string, string[]>;

export function parseModulesDep(text: string): ModulesDep {
  const dep: ModulesDep = new Map();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rest = line.slice(colon + 1).trim();
    dep.set(line.slice(0, colon).trim(), rest ? rest.split(/\s+/) : []);
  }
  return dep;
}

/** The name modprobe knows a module file by: basename, no .ko[.xz|.zst|.gz], dashes as underscores. */
export function moduleName(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export function indexByName(dep: ModulesDep): Map<string, string> {
  const byName = new Map<string, string>();
  for (const file of dep.keys()) byName.set(moduleName(file), file);
  return byName;
}

/**
 * Files needed to load `names`, dependencies first. Names missing from
 * modules.dep are returned in `missing` (built into the kernel, or absent:
 * the caller decides with modules.builtin).
 */
export function loadOrder(dep: ModulesDep, names: string[]): { files: string[]; missing: string[] } {
  const byName = indexByName(dep);
  const files: string[] = [];
  const done = new Set<string>();
  const missing: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (done.has(file)) return;
    if (path.includes(file)) throw new Error(`modules.dep has a dependency cycle: ${[...path, file].join(' -> ')}`);
    for (const d of dep.get(file) ?? []) visit(d, [...path, file]);
    done.add(file);
    files.push(file);
  };
  for (const n of names) {
    const file = byName.get(n.replace(/-/g, '_'));
    if (file) visit(file, []);
    else missing.push(n);
  }
  return { files, missing };
}

/** modules.builtin: "kernel/fs/ext4/ext4.ko" per line. */
export function parseBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(moduleName),
  );
}
