// Module overlays: sound modules rebuilt out of tree from Debian's source of
// exactly the booted image's version, with patches applied, plus modules from
// extra out-of-tree directories (a test driver's Kbuild dir), loaded at boot
// in place of the stock ones (module-plan.ts). Cached by kernel release,
// source version, directories, patch hashes and extra directories' contents:
// the second run with the same patches boots at once.
//
//   const ov = await buildOverlay({ release: '6.1.0-54-amd64', sourceVersion: '6.1.190-1',
//                                   patches: ['seq-fifo-stale-cell.patch'] });
//   const guest = await bootGuest({ kernelVersion: '6.1.0-54', overlay: ov });
//
// Each chosen directory is built on its own (`make -C <headers> M=<dir>`) with
// its Makefile's descent into subdirectories removed, so "sound/soc" builds
// snd-soc-core and not every codec; directories build parents first and each
// later build sees the earlier ones' Module.symvers.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { TargetError } from '../errors.js';
import type { OverlayRecord } from '../events/types.js';
import { seriesOf, upstreamOf } from './debian-version.js';
import { kernelHeaders, kernelSource, makeStage } from './kbuild-cache.js';
import type { CacheLog } from './kernel-cache.js';
import { parseModinfo } from './modinfo.js';
import { moduleName } from './modules.js';
import { applyPatch, type KernelPatch, OverlayInputError, outsideSound, readPatch } from './patches.js';
import { cacheRoot } from './paths.js';
import { requireTool } from './tools.js';
import { abortError, execHost, throwIfAborted } from './exec-host.js';

/** Bump when the way overlays are built changes: old entries are then rebuilt, not reused. */
const BUILDER = 3;
const MANIFEST = 'manifest.json';

/** The sound directories an overlay is usually asked for (any directory under sound/ with a Makefile works). */
export const SOUND_DIRS = ['sound/core', 'sound/core/seq', 'sound/drivers', 'sound/pci', 'sound/usb', 'sound/soc'] as const;

export interface OverlayRequest {
  /** uname -r of the kernel the modules are for: 6.1.0-54-amd64. */
  release: string;
  /** Debian source version of that image (dpkg-deb -f IMAGE.deb Version): 6.1.190-1. */
  sourceVersion: string;
  /** Unified diffs against the source root, applied in order. */
  patches?: string[];
  /** Sound directories to rebuild ("sound/core/seq"); default: the directories the patches touch. */
  dirs?: string[];
  /** Out-of-tree module directories (a Kbuild or Makefile producing .ko files), built against the same headers. */
  extraModuleDirs?: string[];
  log?: CacheLog;
  /** make -j; default: every core. */
  jobs?: number;
  /** Cache root; default cacheRoot(). */
  cacheDir?: string;
  /** Ends the build (downloads, patch, make and its compilers killed); the build's staging directory is removed. */
  signal?: AbortSignal;
}

export interface OverlayModule {
  /** modprobe name (underscores): snd_seq */
  name: string;
  /** Absolute path of the .ko */
  file: string;
  /** "sound/core/seq", or "extra:<dir name>" */
  from: string;
  /** Module names from its modinfo. */
  depends: string[];
}

export interface OverlayPatchInfo {
  name: string;
  file: string;
  sha256: string;
}

export interface Overlay {
  key: string;
  /** The cache entry with the .ko files. */
  dir: string;
  release: string;
  sourceVersion: string;
  upstream: string;
  dirs: string[];
  /** The directories asked for (the rest of `dirs` are those the patches touch); part of the key. */
  askedDirs?: string[];
  patches: OverlayPatchInfo[];
  extra: { dir: string; sha256: string }[];
  modules: OverlayModule[];
  /** Where the headers came from: installed on this machine, or unpacked into the cache. */
  headers: 'system' | 'cache';
  /** Time the build took when it was made (ms). */
  buildMs: number;
  /** This call found it in the cache. */
  cached: boolean;
}

interface Manifest extends Omit<Overlay, 'dir' | 'cached' | 'modules' | 'askedDirs'> {
  builder: number;
  modules: (Omit<OverlayModule, 'file'> & { path: string; size: number })[];
  createdAt: string;
}

/**
 * What an overlay is, for the run's kernel record (summary.json, reports, the
 * command that repeats the run): no machine-local cache path, but the patch
 * files and directories as they were given. `hardwareDirs`: the extra module
 * directories the virtual hardware brings (dir → hardware name).
 */
export function overlaySummary(o: Overlay, hardwareDirs: ReadonlyMap<string, string> = new Map()): OverlayRecord {
  return {
    key: o.key,
    release: o.release,
    source_version: o.sourceVersion,
    upstream: o.upstream,
    rebuilt: o.dirs,
    ...(o.askedDirs?.length ? { rebuild_asked: [...o.askedDirs] } : {}),
    patches: o.patches.map((p) => ({ name: p.name, sha256: p.sha256, file: p.file })),
    extra_module_dirs: o.extra.map((e) => ({ dir: e.dir, sha256: e.sha256, ...(hardwareDirs.has(e.dir) ? { hardware: hardwareDirs.get(e.dir)! } : {}) })),
    modules: o.modules.map((m) => m.name),
  };
}

function checkDir(d: string): string {
  const norm = d.trim().replace(/\/+$/, '').replace(/^\.\//, '');
  const why = outsideSound(norm);
  if (why) throw new OverlayInputError(`overlay directory ${d}: ${why}; choose directories under sound/ (${SOUND_DIRS.join(', ')})`);
  return norm;
}

/** Build artefacts never count towards an extra directory's identity. */
const ARTEFACT = /(\.o|\.ko|\.mod|\.mod\.c|\.mod\.o|\.cmd|\.symvers|\.order|\.a|\.tmp|~)$|^\.tmp_|^\.cache\.mk$/;

export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (ARTEFACT.test(e.name) || e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (e.isFile()) {
        h.update(relative(dir, p) + '\0');
        h.update(readFileSync(p));
        h.update('\0');
      }
    }
  };
  rec(dir);
  return h.digest('hex');
}

function checkExtraDir(d: string): string {
  const p = resolve(d);
  if (!existsSync(p) || !statSync(p).isDirectory()) throw new OverlayInputError(`extra module directory not found: ${d}`);
  if (!existsSync(join(p, 'Kbuild')) && !existsSync(join(p, 'Makefile'))) throw new OverlayInputError(`extra module directory ${d} has neither a Kbuild nor a Makefile`);
  return p;
}

/** The directory to rebuild for a patched file: its own, or the nearest parent that has a Makefile. */
function dirForFile(file: string, sound: string): string {
  let d = dirname(file);
  while (d !== 'sound' && d !== '.' && !existsSync(join(sound, '..', d, 'Makefile')) && !existsSync(join(sound, '..', d, 'Kbuild'))) d = dirname(d);
  return d;
}

/** Parents first: sound/core before sound/core/seq before everything else. */
export function buildOrder(dirs: string[]): string[] {
  const rank = (d: string) => (d === 'sound/core' ? 0 : d.startsWith('sound/core/') ? 1 : 2);
  return [...new Set(dirs)].sort((a, b) => rank(a) - rank(b) || a.split('/').length - b.split('/').length || a.localeCompare(b));
}

/**
 * A Makefile's descent into subdirectories removed ("obj-$(CONFIG_SND) += seq/"),
 * except into `keep`: each chosen directory is built on its own.
 */
export function dropSubdirs(text: string, keep: string[] = []): string {
  const logical = text.replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => {
      const m = /^(\s*(?:obj|subdir)-[^\s:+=]*\s*(?::=|\+=|=)\s*)(.*)$/.exec(line);
      if (!m) return line;
      const kept = m[2]!.split(/\s+/).filter((t) => t && (!t.endsWith('/') || keep.includes(t.slice(0, -1))));
      return kept.length ? `${m[1]}${kept.join(' ')}` : `# (subdirectory not rebuilt) ${line.trim()}`;
    })
    .join('\n');
}

/** The cache key of an overlay: kernel release, source version, the directories asked for, patch and extra directory hashes. */
export function overlayKey(req: { release: string; sourceVersion: string; dirs: string[]; patches: Pick<KernelPatch, 'sha256'>[]; extra: { sha256: string }[] }): string {
  return createHash('sha256')
    .update(JSON.stringify({ b: BUILDER, r: req.release, v: req.sourceVersion, d: [...req.dirs].sort(), p: req.patches.map((p) => p.sha256), e: req.extra.map((e) => e.sha256) }))
    .digest('hex')
    .slice(0, 20);
}

function load(dir: string): Overlay | undefined {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (m.builder !== BUILDER) return undefined;
  const modules: OverlayModule[] = [];
  for (const mod of m.modules) {
    const file = join(dir, mod.path);
    try {
      if (statSync(file).size !== mod.size) return undefined;
    } catch {
      return undefined;
    }
    modules.push({ name: mod.name, file, from: mod.from, depends: mod.depends });
  }
  const { builder: _b, createdAt: _c, modules: _m, ...rest } = m;
  return { ...rest, dir, modules, cached: true };
}

function make(headers: string, dir: string, jobs: number, extraSymbols: string[], what: string, signal?: AbortSignal): Promise<void> {
  const bin = requireTool('make', 'build kernel modules');
  // Debian's headers name the compiler their kernel was built with (CC = gcc-12 in .kernelvariables).
  requireTool('gcc-12', 'build kernel modules with the compiler the kernel was built with');
  // No BTF for overlay modules: nothing here reads it, and 6.12's headers would
  // otherwise need pahole (dwarves) for every module.
  const args = ['-C', headers, `M=${dir}`, 'modules', `-j${jobs}`, 'CONFIG_DEBUG_INFO_BTF_MODULES='];
  if (extraSymbols.length) args.push(`KBUILD_EXTRA_SYMBOLS=${extraSymbols.join(' ')}`);
  return new Promise((resolvePromise, reject) => {
    execHost(bin, args, { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (!err) return resolvePromise();
      if (signal?.aborted) return reject(err);
      const text = `${stdout}\n${stderr}`;
      const errors = text.split('\n').filter((l) => /error|Error \d|undefined!/.test(l));
      const detail = (errors.length ? errors : text.trim().split('\n')).slice(-15).join('\n');
      if (/gcc-12: not found|No such file or directory.*gcc/.test(text)) {
        reject(new TargetError(`building ${what} needs gcc-12 (the kernel was built with it)`, 'install it with: sudo apt-get install gcc-12'));
      } else reject(new OverlayInputError(`building ${what} against the kernel headers failed:\n${detail}`));
    });
  });
}

/**
 * Builds (or finds in the cache) the overlay `req` describes. Bad input
 * (a patch outside sound/, one that does not apply, a directory that does not
 * exist, no source or headers for this version, code that does not compile)
 * throws OverlayInputError; a broken tool or download throws TargetError.
 */
export async function buildOverlay(req: OverlayRequest): Promise<Overlay> {
  const log = req.log ?? (() => {});
  const root = req.cacheDir ?? cacheRoot();
  const signal = req.signal;
  throwIfAborted(signal);
  if (!/^[\w.+~-]+$/.test(req.release)) throw new OverlayInputError(`not a kernel release: ${req.release}`);
  if (!req.sourceVersion) throw new OverlayInputError(`the source version of kernel ${req.release} is unknown, so no overlay can be built for it (boot a Debian kernel by --kernel-version)`);
  const patches = (req.patches ?? []).map(readPatch);
  const extraDirs = (req.extraModuleDirs ?? []).map(checkExtraDir);
  const extra = extraDirs.map((d) => ({ dir: d, sha256: hashTree(d) }));
  const userDirs = (req.dirs ?? []).map(checkDir);
  if (!patches.length && !userDirs.length && !extra.length) throw new OverlayInputError('an overlay needs patches, directories to rebuild or extra module directories');

  // Directories the patches touch are known from their paths, but whether a
  // header's directory has its own Makefile needs the source: resolved below,
  // the key uses the patch hashes, which fix them.
  const provisional = overlayKey({ release: req.release, sourceVersion: req.sourceVersion, dirs: userDirs, patches, extra });
  const parent = join(root, 'overlays', req.release);
  const dest = join(parent, provisional);
  const hit = load(dest);
  // The key has the extra directories' contents, not their paths: the same
  // driver built from another checkout is this entry, known by the paths asked for.
  // Patches likewise: the files given this time, not those of whoever built the entry.
  if (hit)
    return {
      ...hit,
      ...(userDirs.length ? { askedDirs: userDirs } : {}),
      patches: hit.patches.map((p, i) => (patches[i] && patches[i].sha256 === p.sha256 ? { ...p, name: patches[i].name, file: patches[i].file } : p)),
      extra: hit.extra.map((e, i) => (extra[i] && extra[i].sha256 === e.sha256 ? { ...e, dir: extra[i].dir } : e)),
    };

  const t0 = Date.now();
  const jobs = req.jobs ?? Math.max(1, availableParallelism());
  const upstream = upstreamOf(req.sourceVersion);
  const needSource = patches.length > 0 || userDirs.length > 0;
  // both at once: when one fails or the build is stopped, the other is stopped too (its children killed)
  const both = new AbortController();
  const stopBoth = () => both.abort(signal?.reason);
  signal?.addEventListener('abort', stopBoth, { once: true });
  let source: Awaited<ReturnType<typeof kernelSource>> | undefined;
  let headers: Awaited<ReturnType<typeof kernelHeaders>>;
  try {
    [source, headers] = await Promise.all([
      needSource ? kernelSource(root, req.sourceVersion, log, both.signal) : undefined,
      kernelHeaders(root, req.release, req.sourceVersion, log, both.signal),
    ]).catch((e: unknown) => {
      both.abort(e);
      throw signal?.aborted ? abortError(signal) : e;
    });
  } finally {
    signal?.removeEventListener('abort', stopBoth);
  }
  throwIfAborted(signal);
  const { stage, out } = makeStage(parent);
  try {
    const modules: Manifest['modules'] = [];
    const symvers: string[] = [];
    let dirs: string[] = [];
    if (source) {
      const src = join(stage, 'src');
      mkdirSync(src);
      cpSync(join(source.root, 'sound'), join(src, 'sound'), { recursive: true });
      const label = `linux-source-${seriesOf(upstream)} ${req.sourceVersion}`;
      for (const p of patches) await applyPatch(p, src, label, signal);
      dirs = buildOrder([...userDirs, ...patches.flatMap((p) => p.files.map((f) => dirForFile(f.path, join(src, 'sound'))))]);
      for (const d of dirs) {
        if (!existsSync(join(src, d)) || !statSync(join(src, d)).isDirectory()) throw new OverlayInputError(`${d} does not exist in ${label}`);
        if (!existsSync(join(src, d, 'Makefile')) && !existsSync(join(src, d, 'Kbuild'))) throw new OverlayInputError(`${d} in ${label} has no Makefile: not a module directory`);
      }
      const t1 = Date.now();
      for (const d of dirs) {
        const bdir = join(stage, 'build', d);
        mkdirSync(dirname(bdir), { recursive: true });
        cpSync(join(src, d), bdir, { recursive: true });
        for (const f of ['Kbuild', 'Makefile']) {
          const mk = join(bdir, f);
          if (existsSync(mk)) writeFileSync(mk, dropSubdirs(readFileSync(mk, 'utf8')));
        }
        await make(headers.dir, bdir, jobs, [...symvers], d, signal);
        if (existsSync(join(bdir, 'Module.symvers'))) symvers.push(join(bdir, 'Module.symvers'));
        collect(bdir, d, join(out, d), modules, out);
      }
      log(`vlab: overlay ${dirs.join(', ')} built in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    }
    for (let i = 0; i < extraDirs.length; i++) {
      const name = `${i}-${basename(extraDirs[i]!)}`;
      const bdir = join(stage, 'build', 'extra', name);
      mkdirSync(dirname(bdir), { recursive: true });
      cpSync(extraDirs[i]!, bdir, { recursive: true, filter: (s) => !ARTEFACT.test(basename(s)) });
      await make(headers.dir, bdir, jobs, [...symvers], extraDirs[i]!, signal);
      collect(bdir, `extra:${basename(extraDirs[i]!)}`, join(out, 'extra', name), modules, out);
    }
    if (!modules.length) throw new OverlayInputError(`the overlay built no modules (the Makefiles of ${[...dirs, ...extraDirs].join(', ')} produce no .ko for this kernel's configuration)`);
    for (const m of modules) {
      const vermagic = parseModinfo(readFileSync(join(out, m.path))).vermagic ?? '';
      if (!vermagic.startsWith(`${req.release} `)) throw new TargetError(`${m.path} was built for "${vermagic}", not for ${req.release}: the headers do not match the kernel`);
    }
    const buildMs = Date.now() - t0;
    const manifest: Manifest = {
      builder: BUILDER,
      key: provisional,
      release: req.release,
      sourceVersion: req.sourceVersion,
      upstream,
      dirs,
      patches: patches.map((p) => ({ name: p.name, file: p.file, sha256: p.sha256 })),
      extra,
      modules,
      headers: headers.origin,
      buildMs,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(out, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
    if (existsSync(dest)) rmSync(dest, { recursive: true, force: true });
    try {
      renameSync(out, dest);
    } catch (e) {
      if (!load(dest)) throw e;
    }
    const built = load(dest);
    if (!built) throw new TargetError(`overlay cache entry ${dest} is unreadable right after it was written`);
    log(`vlab: overlay ${provisional} (${modules.length} modules) ready in ${(buildMs / 1000).toFixed(1)} s`);
    return { ...built, ...(userDirs.length ? { askedDirs: userDirs } : {}), cached: false };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The .ko files `make` left at the top of `bdir`, moved to `dest`, with their modinfo. */
function collect(bdir: string, from: string, dest: string, into: Manifest['modules'], out: string): void {
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(bdir).filter((n) => n.endsWith('.ko')).sort()) {
    const info = parseModinfo(readFileSync(join(bdir, f)));
    renameSync(join(bdir, f), join(dest, f));
    const path = relative(out, join(dest, f));
    into.push({ name: (info.name ?? moduleName(f)).replace(/-/g, '_'), path, size: statSync(join(dest, f)).size, from, depends: info.depends.map((d) => d.replace(/-/g, '_')) });
  }
}

/** Every cached overlay of a kernel release (for listings). */
export function cachedOverlays(release: string, root = cacheRoot()): Overlay[] {
  const parent = join(root, 'overlays', release);
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .filter((n) => !n.startsWith('.'))
    .map((n) => load(join(parent, n)))
    .filter((o): o is Overlay => !!o);
}
