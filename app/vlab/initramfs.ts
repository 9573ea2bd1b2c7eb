// The guest's initramfs: busybox, /init (native-bridge/vlab/init.sh), the
// modules needed to reach the host root over 9p, guestd, and this run's
// settings (config, load-plan). Built per boot in the guest's temp dir; it is
// a few megabytes and takes milliseconds.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { TargetError } from '../errors.js';
import { buildCpio, type CpioEntry } from './cpio.js';
import type { KernelSpec } from './kernel-cache.js';
import { loadOrder, parseBuiltin, parseModulesDep } from './modules.js';
import { guestToolsDir } from './paths.js';
import { findTool } from './tools.js';

/** Needed before the root exists: virtio transport, 9p, the overlay, and the control port. */
export const INITRAMFS_MODULES = ['virtio_pci', 'virtio_console', '9pnet_virtio', '9p', 'overlay'];

/** A statically linked busybox (the initramfs has no C library). */
export function findStaticBusybox(): string {
  const candidates = ['/usr/bin/busybox', '/bin/busybox', findTool('busybox')].filter((p): p is string => !!p && existsSync(p));
  for (const p of candidates) if (isStaticElf(readFileSync(p))) return p;
  throw new TargetError(
    candidates.length ? `busybox at ${candidates[0]} is dynamically linked; the guest's initramfs needs the static one` : 'busybox is not installed; the guest initramfs needs it',
    'install it with: sudo apt-get install busybox-static',
  );
}

function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

export interface InitramfsModule {
  name: string;
  data: Buffer;
}

/** The 9p/virtio modules from the kernel's module dir, in load order; built-in ones are skipped. */
export function initramfsModules(kernel: KernelSpec): InitramfsModule[] {
  if (!kernel.modulesDir) return []; // a kernel without modules must have all of this built in
  const dep = parseModulesDep(readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8'));
  const { files, missing } = loadOrder(dep, INITRAMFS_MODULES);
  const builtinFile = join(kernel.modulesDir, 'modules.builtin');
  if (missing.length && existsSync(builtinFile)) {
    const builtin = parseBuiltin(readFileSync(builtinFile, 'utf8'));
    const absent = missing.filter((m) => !builtin.has(m));
    if (absent.length) {
      throw new TargetError(
        `kernel ${kernel.release} has neither modules nor built-in support for: ${absent.join(', ')}`,
        'the virtual lab needs CONFIG_VIRTIO_PCI, CONFIG_VIRTIO_CONSOLE, CONFIG_NET_9P_VIRTIO, CONFIG_9P_FS and CONFIG_OVERLAY_FS (=y or =m)',
      );
    }
  }
  return files.map((f) => ({ name: f.slice(f.lastIndexOf('/') + 1).replace(/\.ko(\..*)?$/, ''), data: readModule(join(kernel.modulesDir!, f)) }));
}

/** Busybox insmod wants plain ELF; compressed modules are unpacked here. */
function readModule(path: string): Buffer {
  const raw = readFileSync(path);
  if (path.endsWith('.ko')) return raw;
  if (path.endsWith('.gz')) return gunzipSync(raw);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) throw new TargetError(`unknown module compression: ${path}`);
  const r = spawnSync(tool, ['-dc'], { input: raw, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new TargetError(`cannot decompress ${path} with ${tool}`, `install it with: sudo apt-get install ${tool === 'xz' ? 'xz-utils' : 'zstd'}`);
  return r.stdout;
}

export interface InitConfig {
  release: string;
  modulesDir?: string;
  /** Guest paths that must exist before the guest is ready. */
  waitFor: string[];
  waitSecs: number;
  /** module-plan.ts lines. */
  loadPlan: string[];
  /** module-plan.ts overlay binds: "<overlay file> <stock file>". */
  binds?: string[];
}

/** Shell variable assignments for init.sh, single-quoted. */
export function configText(c: InitConfig): string {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  for (const p of c.waitFor) if (/\s/.test(p)) throw new TargetError(`wait path with whitespace: ${p}`);
  return [
    `vlab_release=${q(c.release)}`,
    `vlab_moddir=${q(c.modulesDir ?? '')}`,
    `vlab_wait=${q(c.waitFor.join(' '))}`,
    `vlab_wait_s=${Math.max(1, Math.round(c.waitSecs))}`,
    '',
  ].join('\n');
}

export function buildInitramfs(opts: { busybox: string; guestd: string; modules: InitramfsModule[]; config: InitConfig }): Buffer {
  const tools = guestToolsDir();
  const dirs = ['bin', 'dev', 'proc', 'sys', 'lower', 'rw', 'newroot', 'vlab', 'vlab/modules'];
  const entries: CpioEntry[] = [
    ...dirs.map((d): CpioEntry => ({ path: d, type: 'dir', perm: 0o755 })),
    // The kernel opens /dev/console for init's output before /init runs.
    { path: 'dev/console', type: 'chardev', perm: 0o600, major: 5, minor: 1 },
    { path: 'bin/busybox', type: 'file', perm: 0o755, data: readFileSync(opts.busybox) },
    { path: 'bin/sh', type: 'symlink', perm: 0o777, target: 'busybox' },
    { path: 'init', type: 'file', perm: 0o755, data: readFileSync(join(tools, 'init.sh')) },
    { path: 'vlab/config', type: 'file', perm: 0o644, data: Buffer.from(configText(opts.config)) },
    { path: 'vlab/load-plan', type: 'file', perm: 0o644, data: Buffer.from(opts.config.loadPlan.map((l) => l + '\n').join('')) },
    { path: 'vlab/overlay-binds', type: 'file', perm: 0o644, data: Buffer.from((opts.config.binds ?? []).map((l) => l + '\n').join('')) },
    { path: 'vlab/guestd', type: 'file', perm: 0o755, data: readFileSync(opts.guestd) },
    { path: 'vlab/modules.order', type: 'file', perm: 0o644, data: Buffer.from(opts.modules.map((m) => m.name + '\n').join('')) },
    ...opts.modules.map((m): CpioEntry => ({ path: `vlab/modules/${m.name}.ko`, type: 'file', perm: 0o644, data: m.data })),
  ];
  return buildCpio(entries);
}
