// What an out-of-tree module build needs, fetched without root and cached
// side by side per version:
// - the sound/ tree of Debian's linux-source-<series> of exactly the booted
//   image's source version (the .deb holds a 140 MB tarball; only sound/ is
//   unpacked, ~50 MB);
// - linux-headers-<release> with its -common part and the kbuild tools,
//   unpacked with dpkg-deb into the cache (no apt install, no root), their
//   Makefile's absolute include pointed at the unpacked -common tree. Headers
//   installed system-wide at exactly that version are used as they are.
// Each entry is staged, given its manifest last and renamed into place, and
// checked (file sizes) before use, like the kernel cache.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TargetError } from '../errors.js';
import { type KernelArchive, kernelArchive } from './archive.js';
import { compareDebianVersions, seriesOf, upstreamOf } from './debian-version.js';
import { execHost, runHost, throwIfAborted } from './exec-host.js';
import type { CacheLog } from './kernel-cache.js';
import { OverlayInputError } from './patches.js';
import { pidAlive } from './tmpdir.js';
import { requireTool } from './tools.js';

const FORMAT = 1;
const MANIFEST = 'manifest.json';

interface EntryManifest {
  format: number;
  what: string;
  version: string;
  files: [string, number][];
  createdAt: string;
}

function walk(dir: string): [string, number][] {
  const out: [string, number][] = [];
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (e.isFile()) out.push([relative(dir, p), statSync(p).size]);
    }
  };
  rec(dir);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const checked = new Set<string>();

/** Why a cache entry is unusable, or undefined. Checked once per process. */
export function validateBuildEntry(dir: string): string | undefined {
  if (checked.has(dir)) return undefined;
  let m: EntryManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as EntryManifest;
  } catch {
    return existsSync(dir) ? 'no readable manifest (partial or interrupted)' : 'not cached';
  }
  if (m.format !== FORMAT) return `format ${m.format}, want ${FORMAT}`;
  for (const [p, size] of m.files) {
    let s: number;
    try {
      s = statSync(join(dir, p)).size;
    } catch {
      return `missing ${p}`;
    }
    if (s !== size) return `${p} is ${s} bytes, manifest says ${size}`;
  }
  checked.add(dir);
  return undefined;
}

/**
 * A staging directory under `parent` (".build-<pid>-<random>", with `out`
 * inside for what will be renamed into place); ones left by dead processes
 * are removed first.
 */
export function makeStage(parent: string): { stage: string; out: string } {
  mkdirSync(parent, { recursive: true });
  for (const n of readdirSync(parent)) {
    const m = /^\.build-(\d+)-/.exec(n);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(parent, n), { recursive: true, force: true });
  }
  const stage = join(parent, `.build-${process.pid}-${randomBytes(4).toString('hex')}`);
  const out = join(stage, 'out');
  mkdirSync(out, { recursive: true });
  return { stage, out };
}

/** The archive, or undefined when apt cannot be asked (offline: the download then says why). */
async function archiveIfAny(root: string, signal?: AbortSignal): Promise<KernelArchive | undefined> {
  try {
    return await kernelArchive(root, signal);
  } catch {
    throwIfAborted(signal);
    return undefined;
  }
}

/** Builds an entry in a staging dir (fill writes into `out`), then renames it into place. */
async function buildEntry(parent: string, name: string, what: string, version: string, fill: (stage: string, out: string) => Promise<void>): Promise<string> {
  const dest = join(parent, name);
  if (validateBuildEntry(dest) === undefined) return dest;
  const { stage, out } = makeStage(parent);
  try {
    await fill(stage, out);
    const m: EntryManifest = { format: FORMAT, what, version, files: walk(out), createdAt: new Date().toISOString() };
    writeFileSync(join(out, MANIFEST), JSON.stringify(m) + '\n');
    if (existsSync(dest)) {
      if (validateBuildEntry(dest) === undefined) return dest;
      rmSync(dest, { recursive: true, force: true });
    }
    try {
      renameSync(out, dest);
    } catch (e) {
      if (validateBuildEntry(dest) !== undefined) throw e;
    }
    return dest;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function download(pkgs: string[], cwd: string, why: string, signal?: AbortSignal): Promise<string[]> {
  const aptGet = requireTool('apt-get', why);
  await runHost(aptGet, ['download', '-q', ...pkgs], {
    cwd,
    ...(signal ? { signal } : {}),
    what: `downloading ${pkgs.join(' ')}`,
    hint: 'check that the Debian mirror is reachable and the lists are current ("sudo apt-get update")',
  });
  return readdirSync(cwd).filter((n) => n.endsWith('.deb')).map((n) => join(cwd, n));
}

function bash(script: string, what: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execHost('bash', ['-o', 'pipefail', '-c', script], { maxBuffer: 16 << 20, ...(signal ? { signal } : {}) }, (err, _o, stderr) => {
      if (err && signal?.aborted) reject(err);
      else if (err) reject(new TargetError(`${what} failed:\n${(stderr || err.message).trim().split('\n').slice(-6).join('\n')}`));
      else resolve();
    });
  });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Which source versions the archive has for a series, for "no linux-source for X" messages. */
function sourceVersionsText(a: KernelArchive | undefined, series: string): string {
  const list = a?.sources[series] ?? [];
  return list.length ? `linux-source-${series} exists in: ${list.join(', ')}` : `the archive has no linux-source-${series} at all`;
}

/** OverlayInputError unless the archive has linux-source of exactly `version`, naming the versions it has. */
export function requireSource(archive: KernelArchive, version: string): void {
  const series = seriesOf(upstreamOf(version));
  if (!(archive.sources[series] ?? []).includes(version)) {
    throw new OverlayInputError(`no linux-source-${series} ${version} in the archive, so no module overlay can be built for this kernel; ${sourceVersionsText(archive, series)}`);
  }
}

/** OverlayInputError unless the archive has linux-headers-<release> at `version`, naming the kernels whose headers it has. */
export function requireHeaders(archive: KernelArchive, release: string, version: string): void {
  if (archive.headers[release] === version) return;
  const have = Object.entries(archive.headers)
    .sort((a, b) => compareDebianVersions(a[1], b[1]))
    .map(([r, v]) => `${r.replace(/-amd64$/, '')} (${v})`);
  throw new OverlayInputError(`no linux-headers-${release} ${version} in the archive, so no module overlay can be built for this kernel; headers exist for: ${have.join(', ') || 'none'}`);
}

export interface SourceTree {
  /** A directory with sound/ below it (and nothing else of the kernel). */
  root: string;
  series: string;
  version: string;
  /** Debian's changelog of that source version (gzip), when kept. */
  changelog?: string;
}

/**
 * sound/ of linux-source-<series> at exactly `version` (6.1.190-1). Not in
 * the archive: OverlayInputError naming the versions that are.
 */
export async function kernelSource(root: string, version: string, log: CacheLog = () => {}, signal?: AbortSignal): Promise<SourceTree> {
  const series = seriesOf(upstreamOf(version));
  const name = `linux-source-${series}_${version.replace(/[^\w.+~-]/g, '_')}`;
  const parent = join(root, 'sources');
  const dest = join(parent, name);
  if (validateBuildEntry(dest) !== undefined) {
    const archive = await archiveIfAny(root, signal);
    if (archive) requireSource(archive, version);
    await buildEntry(parent, name, `linux-source-${series}`, version, async (stage, out) => {
      const t0 = Date.now();
      log(`vlab: downloading linux-source-${series} ${version} (about 140 MB, once)`);
      const [deb] = await download([`linux-source-${series}=${version}`], stage, 'download the kernel source', signal);
      if (!deb) throw new TargetError(`apt-get download linux-source-${series}=${version} produced no .deb`);
      const t1 = Date.now();
      const xz = requireTool('xz', 'unpack the kernel source');
      // Only sound/ (and Debian's changelog): the whole tree is ten times larger and an overlay never needs it.
      await bash(
        `dpkg-deb --fsys-tarfile ${q(deb)} | tar -xO ./usr/src/linux-source-${series}.tar.xz | ${q(xz)} -dc -T0 | tar -x -C ${q(stage)} --wildcards 'linux-source-${series}/sound/*'`,
        `unpacking sound/ from ${deb}`,
        signal,
      );
      await bash(`dpkg-deb --fsys-tarfile ${q(deb)} | tar -x -C ${q(stage)} ./usr/share/doc/linux-source-${series}/changelog.Debian.gz`, 'unpacking the changelog', signal).catch(() => undefined);
      throwIfAborted(signal);
      renameSync(join(stage, `linux-source-${series}`, 'sound'), join(out, 'sound'));
      const cl = join(stage, 'usr', 'share', 'doc', `linux-source-${series}`, 'changelog.Debian.gz');
      if (existsSync(cl)) renameSync(cl, join(out, 'changelog.Debian.gz'));
      rmSync(deb);
      log(`vlab: linux-source-${series} ${version}: downloaded in ${((t1 - t0) / 1000).toFixed(1)} s, sound/ unpacked in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    });
  }
  return { root: dest, series, version, ...(existsSync(join(dest, 'changelog.Debian.gz')) ? { changelog: join(dest, 'changelog.Debian.gz') } : {}) };
}

export interface HeadersTree {
  /** What `make -C` gets: the linux-headers-<release> directory. */
  dir: string;
  release: string;
  version: string;
  origin: 'system' | 'cache';
}

async function dpkgVersion(pkg: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg], (err, stdout) => {
      const m = /install ok installed (\S+)/.exec(stdout);
      resolve(err || !m ? undefined : m[1]);
    });
  });
}

/** The linux-headers/kbuild packages that make up the headers of `release` at `version` (from the package's Depends). */
async function headerPackages(release: string, version: string, signal?: AbortSignal): Promise<string[]> {
  const aptCache = requireTool('apt-cache', 'find the kernel headers');
  const { stdout } = await runHost(aptCache, ['show', `linux-headers-${release}=${version}`], { what: `apt-cache show linux-headers-${release}=${version}`, ...(signal ? { signal } : {}) });
  const dep = /^Depends: (.*)$/m.exec(stdout)?.[1] ?? '';
  const out = [`linux-headers-${release}=${version}`];
  for (const alt of dep.split(',')) {
    const m = /^\s*(linux-(?:headers|kbuild)-[\w.+~-]+)\s*(?:\((=|>=)\s*([^)\s]+)\))?/.exec(alt);
    if (m) out.push(m[2] === '=' ? `${m[1]}=${m[3]}` : m[1]!);
  }
  return out;
}

/**
 * linux-headers-<release> at exactly `version`: the system's if installed at
 * that version, else fetched and unpacked into the cache. Not in the archive:
 * OverlayInputError naming the kernels whose headers are.
 */
export async function kernelHeaders(root: string, release: string, version: string, log: CacheLog = () => {}, signal?: AbortSignal): Promise<HeadersTree> {
  const sys = `/usr/src/linux-headers-${release}`;
  if (existsSync(join(sys, 'Makefile')) && (await dpkgVersion(`linux-headers-${release}`)) === version) {
    return { dir: sys, release, version, origin: 'system' };
  }
  const name = `${release}_${version.replace(/[^\w.+~-]/g, '_')}`;
  const parent = join(root, 'headers');
  const dest = join(parent, name);
  if (validateBuildEntry(dest) !== undefined) {
    const archive = await archiveIfAny(root, signal);
    if (archive) requireHeaders(archive, release, version);
    await buildEntry(parent, name, `linux-headers-${release}`, version, async (stage, out) => {
      const t0 = Date.now();
      const pkgs = await headerPackages(release, version, signal);
      log(`vlab: downloading ${pkgs.join(', ')} (unpacked into the cache, not installed)`);
      const debs = await download(pkgs, stage, 'download the kernel headers', signal);
      const dpkgDeb = requireTool('dpkg-deb', 'unpack the kernel headers');
      for (const d of debs) await runHost(dpkgDeb, ['-x', d, out], { what: `unpacking ${d}`, ...(signal ? { signal } : {}) });
      for (const d of debs) rmSync(d);
      // Debian's Makefile includes the -common part by absolute path; point it at ours.
      const mk = join(out, 'usr', 'src', `linux-headers-${release}`, 'Makefile');
      if (!existsSync(mk)) throw new TargetError(`linux-headers-${release} has no Makefile`);
      const text = readFileSync(mk, 'utf8').replace(/^include \/usr\/src\//m, `include ${join(dest, 'usr', 'src')}/`);
      writeFileSync(mk, text);
      log(`vlab: headers for ${release} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });
  }
  return { dir: join(dest, 'usr', 'src', `linux-headers-${release}`), release, version, origin: 'cache' };
}
