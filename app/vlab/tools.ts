// Host programs the virtual lab needs, each with the Debian package that has it,
// so a missing one is reported as "install X", not as a spawn ENOENT.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { TargetError } from '../errors.js';

export const TOOL_PACKAGES = {
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  depmod: 'kmod',
  modprobe: 'kmod',
  xz: 'xz-utils',
  cc: 'gcc',
  setpriv: 'util-linux',
  make: 'make',
  patch: 'patch',
  'gcc-12': 'gcc-12',
} as const;

export type ToolName = keyof typeof TOOL_PACKAGES;

/** Absolute path of `name` on PATH (plus the sbin dirs non-root PATHs often lack), or undefined. */
export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function requireTool(name: ToolName, why: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = findTool(name, env);
  if (p) return p;
  const pkg = TOOL_PACKAGES[name];
  throw new TargetError(`${name} is not installed; the virtual lab needs it to ${why}`, `install it with: sudo apt-get install ${pkg}`);
}
