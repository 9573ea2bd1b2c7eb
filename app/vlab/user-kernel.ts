// A kernel the user brings (--kernel PATH [--modules DIR]): a driver developer's
// own build, often with KASAN. A bzImage is unpacked to its PVH-bootable vmlinux
// once and cached by content hash, since such kernels are booted over and over.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VlabInputError } from './errors.js';
import { extractVmlinux, inspectImage } from './kernel-image.js';
import type { CacheLog, KernelSpec } from './kernel-cache.js';

export function userKernel(root: string, kernelPath: string, modulesArg: string | undefined, log: CacheLog = () => {}): KernelSpec {
  const path = resolve(kernelPath);
  let img: Buffer;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    img = readFileSync(path);
  } catch (e) {
    throw new VlabInputError(`kernel image not found or unreadable: ${kernelPath} (${(e as Error).message})`);
  }
  let info;
  try {
    info = inspectImage(img);
  } catch (e) {
    throw new VlabInputError(`${kernelPath}: ${(e as Error).message}`);
  }
  let image = path;
  let imageKind: KernelSpec['imageKind'] = info.kind;
  if (info.kind === 'elf' && !info.pvh) {
    throw new VlabInputError(`${kernelPath} is an ELF vmlinux without a PVH entry point (CONFIG_PVH=n); pass arch/x86/boot/bzImage instead`);
  }
  if (info.kind === 'bzImage') {
    const cached = cachedVmlinux(root, img, log);
    if (cached) {
      image = cached;
      imageKind = 'elf';
    }
  }
  const release = info.release;
  if (!release) throw new VlabInputError(`${kernelPath}: cannot read the kernel release string from the image`);
  return { release, image, imageKind, modulesDir: modulesDirFor(modulesArg, release), origin: 'user', given: { kernel: path, ...(modulesArg ? { modules: resolve(modulesArg) } : {}) } };
}

function cachedVmlinux(root: string, img: Buffer, log: CacheLog): string | undefined {
  const key = createHash('sha256').update(img).digest('hex').slice(0, 32);
  const dir = join(root, 'user-kernels', key);
  const elf = join(dir, 'vmlinux');
  const meta = join(dir, 'meta.json');
  try {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { size: number };
    if (statSync(elf).size === m.size) return elf;
  } catch {
    // not cached yet, or damaged: unpack again
  }
  const ex = extractVmlinux(img);
  if (!('elf' in ex)) {
    log(`vlab: booting the compressed image (${ex.why})`);
    return undefined;
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${elf}.${process.pid}.${randomBytes(3).toString('hex')}`;
  writeFileSync(tmp, ex.elf);
  renameSync(tmp, elf);
  writeFileSync(meta, JSON.stringify({ size: ex.elf.length }) + '\n');
  return elf;
}

/**
 * Accepts the modules as installed by `make modules_install INSTALL_MOD_PATH=DIR`
 * (DIR/lib/modules/<release>), the release directory itself, or nothing (then
 * the host's /lib/modules/<release> when it exists; else everything must be built in).
 */
export function modulesDirFor(arg: string | undefined, release: string): string | undefined {
  if (arg === undefined) {
    const host = `/lib/modules/${release}`;
    return existsSync(join(host, 'modules.dep')) ? host : undefined;
  }
  const dir = resolve(arg);
  if (!existsSync(dir)) throw new VlabInputError(`modules directory not found: ${arg}`);
  const candidates = [join(dir, 'lib', 'modules', release), join(dir, release), dir];
  for (const c of candidates) {
    if (existsSync(join(c, 'modules.dep'))) return c;
  }
  const has = existsSync(join(dir, 'lib', 'modules')) ? readdirSync(join(dir, 'lib', 'modules')) : [];
  if (has.length) throw new VlabInputError(`${arg} has modules for ${has.join(', ')}, not for the kernel's release ${release}`);
  throw new VlabInputError(`${arg} has no modules.dep for ${release}; install the modules with "make modules_install INSTALL_MOD_PATH=${arg}" (which runs depmod)`);
}
