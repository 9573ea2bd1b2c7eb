// The distribution kernel, fetched without installing it: the versioned
// linux-image package that linux-image-amd64 points to is downloaded with
// `apt-get download`, unpacked with dpkg-deb into the per-user cache, its
// sound/USB/virtio/9p modules (with their dependencies) kept and re-indexed
// with depmod, and its vmlinux unpacked for a fast PVH boot.
//
// A cache entry is valid only with its manifest, written last after every file
// is in place and renamed into place atomically; each use checks the files'
// sizes and the hashes of the ones a boot depends on. Anything else (a killed
// build, a truncated file, a hand-edited module index) is rebuilt.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { TargetError } from '../errors.js';
import { runHost, throwIfAborted } from './exec-host.js';
import { extractVmlinux, inspectImage } from './kernel-image.js';
import { loadOrder, moduleName, parseBuiltin, parseModulesDep } from './modules.js';
import { pidAlive } from './tmpdir.js';
import { requireTool } from './tools.js';

/** A kernel ready to boot: image, release, and the host directory with its modules. */
export interface KernelSpec {
  release: string;
  /** What QEMU's -kernel gets: a PVH-bootable ELF when we have one, else the bzImage. */
  image: string;
  imageKind: 'elf' | 'bzImage';
  /** The /lib/modules/<release> directory (has modules.dep), if the kernel has modules. */
  modulesDir?: string;
  origin: 'distro' | 'user';
  /** Debian package it came from (distro kernels). */
  package?: string;
  /** Debian version of that package, which is its source's version (6.1.190-1): what a module overlay must be built from. */
  sourceVersion?: string;
  /** The kernel's .config (boot/config-<release> of the package), when known. */
  config?: string;
  /** A kernel of the user's own: the image and modules directory as given (--kernel, --modules), absolute. */
  given?: { kernel: string; modules?: string };
}

/** Modules kept from the distribution kernel besides everything under kernel/sound. */
export const INFRA_MODULES = [
  'virtio_pci',
  'virtio_console',
  '9pnet_virtio',
  '9p',
  'overlay',
  'xhci_pci',
];

const MANIFEST = 'manifest.json';
const FORMAT = 1;

interface ManifestFile {
  path: string;
  size: number;
  /** Only for the files every boot reads; the rest are checked by size. */
  sha256?: string;
}

interface Manifest {
  format: number;
  package: string;
  release: string;
  /** Added after format 1 shipped; older entries lack it (it is then asked from apt). */
  sourceVersion?: string;
  /** "config" when the entry keeps boot/config-<release>. */
  config?: string;
  image: 'vmlinux' | 'vmlinuz';
  files: ManifestFile[];
  createdAt: string;
}

export interface CacheLog {
  (line: string): void;
}

function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

/** Checks a cache entry; returns why it is unusable, or undefined when it is good. */
export function validateEntry(dir: string): string | undefined {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return existsSync(dir) ? 'no readable manifest (partial or interrupted build)' : 'not cached';
  }
  if (m.format !== FORMAT) return `cache format ${m.format}, want ${FORMAT}`;
  if (!Array.isArray(m.files) || m.files.length === 0) return 'manifest lists no files';
  for (const f of m.files) {
    const p = join(dir, f.path);
    let size: number;
    try {
      size = statSync(p).size;
    } catch {
      return `missing ${f.path}`;
    }
    if (size !== f.size) return `${f.path} is ${size} bytes, manifest says ${f.size}`;
    if (f.sha256 && sha256File(p) !== f.sha256) return `${f.path} does not match its checksum`;
  }
  return undefined;
}

function specFromEntry(dir: string): KernelSpec {
  const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  return {
    release: m.release,
    image: join(dir, m.image),
    imageKind: m.image === 'vmlinux' ? 'elf' : 'bzImage',
    modulesDir: join(dir, 'modules'),
    origin: 'distro',
    package: m.package,
    ...(m.sourceVersion ? { sourceVersion: m.sourceVersion } : {}),
    ...(m.config ? { config: join(dir, m.config) } : {}),
  };
}

/** A valid cached distribution kernel. */
export interface CachedKernel {
  package: string;
  release: string;
  sourceVersion?: string;
  dir: string;
}

/** Every valid entry in the cache (checked like a boot checks it). */
export function cachedKernels(root: string): CachedKernel[] {
  const dir = join(root, 'kernels');
  if (!existsSync(dir)) return [];
  const out: CachedKernel[] = [];
  for (const n of readdirSync(dir)) {
    if (!n.startsWith('linux-image-')) continue;
    const p = join(dir, n);
    if (validateEntry(p) !== undefined) continue;
    const s = specFromEntry(p);
    out.push({ package: s.package!, release: s.release, ...(s.sourceVersion ? { sourceVersion: s.sourceVersion } : {}), dir: p });
  }
  return out;
}

/** Which versioned package linux-image-amd64 points to; remembered until the apt lists change. */
async function resolvePackage(root: string, signal?: AbortSignal): Promise<string> {
  const memo = join(root, 'kernels', 'resolved.json');
  let listsStamp = 0;
  try {
    listsStamp = statSync('/var/lib/apt/lists').mtimeMs;
  } catch {
    // no apt lists at all: apt-cache below says what to do
  }
  try {
    const r = JSON.parse(readFileSync(memo, 'utf8')) as { package: string; listsStamp: number };
    if (r.listsStamp === listsStamp && /^linux-image-[\w.+-]+$/.test(r.package)) return r.package;
  } catch {
    // resolve afresh
  }
  const aptCache = requireTool('apt-cache', 'find the distribution kernel package');
  const hint = 'the package lists may be missing: run "sudo apt-get update" (or pass --kernel PATH to boot your own build)';
  const { stdout } = await runHost(aptCache, ['depends', 'linux-image-amd64'], { what: 'resolving linux-image-amd64', hint, ...(signal ? { signal } : {}) });
  const m = /Depends:\s+(linux-image-[\w.+-]+)/.exec(stdout);
  if (!m) throw new TargetError(`apt-cache does not name a kernel package behind linux-image-amd64:\n${stdout.trim()}`, hint);
  mkdirSync(dirname(memo), { recursive: true });
  writeFileSync(memo, JSON.stringify({ package: m[1], listsStamp }) + '\n');
  return m[1]!;
}

/** The newest valid cached kernel, for when apt cannot be asked (offline, no lists). */
function newestCached(root: string): string | undefined {
  const dir = join(root, 'kernels');
  if (!existsSync(dir)) return undefined;
  const entries = readdirSync(dir)
    .filter((n) => n.startsWith('linux-image-'))
    .map((n) => join(dir, n))
    .filter((p) => validateEntry(p) === undefined)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return entries[0];
}

/**
 * A distribution kernel, downloaded and cached on first use: `pkg` names the
 * linux-image package (linux-image-6.1.0-54-amd64); without it, the one
 * linux-image-amd64 points to today.
 */
export async function distroKernel(root: string, log: CacheLog = () => {}, pkg?: string, signal?: AbortSignal): Promise<KernelSpec> {
  if (process.arch !== 'x64') throw new TargetError(`the virtual lab boots x86_64 kernels; this host is ${process.arch}`);
  if (pkg !== undefined && !/^linux-image-[\w.+-]+$/.test(pkg)) throw new TargetError(`not a kernel package name: ${pkg}`);
  if (pkg === undefined) {
    try {
      pkg = await resolvePackage(root, signal);
    } catch (e) {
      throwIfAborted(signal);
      const fallback = newestCached(root);
      if (!fallback) throw e;
      log(`vlab: cannot resolve linux-image-amd64 (${(e as Error).message.split('\n')[0]}); using cached ${fallback}`);
      return specFromEntry(fallback);
    }
  }
  const dir = join(root, 'kernels', pkg);
  const why = validateEntry(dir);
  if (why === undefined) return specFromEntry(dir);
  if (why !== 'not cached') log(`vlab: cached kernel ${pkg} is unusable (${why}); rebuilding`);
  await buildEntry(root, pkg, log, signal);
  const after = validateEntry(dir);
  if (after !== undefined) throw new TargetError(`kernel cache for ${pkg} is still invalid after rebuilding: ${after}`);
  return specFromEntry(dir);
}

function sweepStaleBuilds(kernels: string): void {
  for (const n of existsSync(kernels) ? readdirSync(kernels) : []) {
    const m = /^\.build-(\d+)-/.exec(n);
    if (!m) continue;
    if (pidAlive(Number(m[1]))) continue;
    rmSync(join(kernels, n), { recursive: true, force: true });
  }
}

async function buildEntry(root: string, pkg: string, log: CacheLog, signal?: AbortSignal): Promise<void> {
  const kernels = join(root, 'kernels');
  mkdirSync(kernels, { recursive: true });
  sweepStaleBuilds(kernels);
  const stage = join(kernels, `.build-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(stage);
  try {
    const t0 = Date.now();
    log(`vlab: downloading ${pkg} (apt-get download, about 70 MB, once)`);
    const aptGet = requireTool('apt-get', 'download the distribution kernel');
    await runHost(aptGet, ['download', '-q', pkg], {
      cwd: stage,
      ...(signal ? { signal } : {}),
      what: `downloading ${pkg}`,
      hint: 'check that the Debian mirror is reachable and the lists are current ("sudo apt-get update"), or pass --kernel PATH',
    });
    const deb = readdirSync(stage).find((n) => n.endsWith('.deb'));
    if (!deb) throw new TargetError(`apt-get download ${pkg} produced no .deb file`);
    const { stdout: version } = await runHost(requireTool('dpkg-deb', 'read the kernel package'), ['-f', join(stage, deb), 'Version'], { what: `reading the version of ${deb}`, ...(signal ? { signal } : {}) });
    const unpacked = join(stage, 'x');
    await runHost(requireTool('dpkg-deb', 'unpack the kernel package'), ['-x', join(stage, deb), unpacked], { what: `unpacking ${deb}`, ...(signal ? { signal } : {}) });
    rmSync(join(stage, deb));
    const bootDir = join(unpacked, 'boot');
    const vmlinuz = readdirSync(bootDir).find((n) => n.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new TargetError(`${pkg} contains no /boot/vmlinuz-*`);
    const release = vmlinuz.slice('vmlinuz-'.length);
    const out = join(stage, 'out');
    mkdirSync(out);
    copyFileSync(join(bootDir, vmlinuz), join(out, 'vmlinuz'));
    // The config says which debugging aids (KFENCE, SLUB debug) this kernel has.
    const config = existsSync(join(bootDir, `config-${release}`)) ? 'config' : undefined;
    if (config) copyFileSync(join(bootDir, `config-${release}`), join(out, config));

    const img = readFileSync(join(out, 'vmlinuz'));
    const info = inspectImage(img);
    if (info.release && info.release !== release) log(`vlab: note: image says release ${info.release}, file name says ${release}`);
    const ex = extractVmlinux(img);
    let image: Manifest['image'] = 'vmlinuz';
    if ('elf' in ex) {
      writeFileSync(join(out, 'vmlinux'), ex.elf);
      image = 'vmlinux';
    } else log(`vlab: booting the compressed image (${ex.why}); boots are about 2 s slower`);

    await keepModules(unpacked, out, release, signal);
    const files = listFiles(out).map((p) => {
      const full = join(out, p);
      const f: ManifestFile = { path: p, size: statSync(full).size };
      if (p === 'vmlinuz' || p === 'modules/modules.dep' || p === 'modules/modules.dep.bin') f.sha256 = sha256File(full);
      return f;
    });
    const manifest: Manifest = {
      format: FORMAT,
      package: pkg,
      release,
      sourceVersion: version.trim(),
      ...(config ? { config } : {}),
      image,
      files,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(out, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');

    const dest = join(kernels, pkg);
    if (existsSync(dest)) {
      // Another process may have finished the same build meanwhile; keep a valid one.
      if (validateEntry(dest) === undefined) return;
      rmSync(dest, { recursive: true, force: true });
    }
    try {
      renameSync(out, dest);
    } catch (e) {
      if (validateEntry(dest) !== undefined) throw e;
    }
    log(`vlab: kernel ${release} cached in ${dest} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Copies the sound, USB, virtio and 9p modules (with dependencies) and indexes them. */
async function keepModules(unpacked: string, out: string, release: string, signal?: AbortSignal): Promise<void> {
  const depmod = requireTool('depmod', 'index the kernel modules');
  const src = join(unpacked, 'lib', 'modules', release);
  if (!existsSync(src)) throw new TargetError(`the kernel package has no lib/modules/${release}`);
  // The package ships no modules.dep (its postinst makes it): index the full tree first.
  await runHost(depmod, ['-b', unpacked, release], { what: 'depmod on the unpacked kernel', ...(signal ? { signal } : {}) });
  const dep = parseModulesDep(readFileSync(join(src, 'modules.dep'), 'utf8'));
  const sound = [...dep.keys()].filter((f) => f.startsWith('kernel/sound/'));
  const { files, missing } = loadOrder(dep, [...sound.map(moduleName), ...INFRA_MODULES]);
  const builtin = parseBuiltin(readFileSync(join(src, 'modules.builtin'), 'utf8'));
  const absent = missing.filter((n) => !builtin.has(n.replace(/-/g, '_')));
  if (absent.length) throw new TargetError(`the distribution kernel lacks modules the lab needs: ${absent.join(', ')}`);

  const stageRoot = join(out, 'stage');
  const dst = join(stageRoot, 'lib', 'modules', release);
  for (const f of files) {
    mkdirSync(dirname(join(dst, f)), { recursive: true });
    copyFileSync(join(src, f), join(dst, f));
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    if (existsSync(join(src, f))) copyFileSync(join(src, f), join(dst, f));
  }
  await runHost(depmod, ['-b', stageRoot, release], { what: 'depmod on the kept modules', ...(signal ? { signal } : {}) });
  renameSync(dst, join(out, 'modules'));
  rmSync(stageRoot, { recursive: true, force: true });
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
