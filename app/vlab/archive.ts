// Which Debian kernels the archive (the host's apt lists) offers, with the
// source version each was built from and whether the matching linux-source
// and linux-headers exist: what `stresslab kernels` lists, what
// --kernel-version names are resolved against, and what a module overlay
// needs. Asked from apt-cache once per change of the apt lists (it takes
// about a second) and remembered in the cache.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TargetError } from '../errors.js';
import { compareDebianVersions, seriesOf, upstreamOf } from './debian-version.js';
import { VlabInputError } from './errors.js';
import { runHost, throwIfAborted } from './exec-host.js';
import { requireTool } from './tools.js';

/** One installable linux-image package. */
export interface ArchiveKernel {
  /** linux-image-6.1.0-54-amd64 */
  package: string;
  /** 6.1.0-54-amd64 (uname -r) */
  release: string;
  /** 6.1.0-54: what users type */
  version: string;
  /** Debian version of the image = of its source: 6.1.190-1 */
  sourceVersion: string;
  /** 6.1.190 */
  upstream: string;
  /** 6.1: linux-source-6.1 has its source */
  series: string;
}

export interface KernelArchive {
  format: number;
  /** mtime of /var/lib/apt/lists when asked; a change means ask again. */
  listsStamp: number;
  /** Sorted oldest first. */
  images: ArchiveKernel[];
  /** series → versions of linux-source-<series> the archive has. */
  sources: Record<string, string[]>;
  /** release → version of linux-headers-<release>. */
  headers: Record<string, string>;
  /** What linux-image-amd64 depends on: "today's kernel". */
  defaultPackage?: string;
}

const FORMAT = 1;
/** The generic amd64 flavour: the cloud flavour lacks sound drivers, rt is not what the field runs. */
const IMAGE_NAME = /^linux-image-(\d+\.\d+\.\d+(?:-\d+)?(?:\+deb\d+)?)-amd64$/;

export function listsStamp(): number {
  try {
    return statSync('/var/lib/apt/lists').mtimeMs;
  } catch {
    return 0;
  }
}

/** "pkg | version | origin" lines → pkg → versions (deduplicated, newest first as apt prints them). */
export function parseMadison(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const parts = line.split('|').map((s) => s.trim());
    if (parts.length < 3 || !parts[0] || !parts[1]) continue;
    const list = out.get(parts[0]) ?? [];
    if (!list.includes(parts[1])) list.push(parts[1]);
    out.set(parts[0], list);
  }
  return out;
}

export function archiveKernel(pkg: string, sourceVersion: string): ArchiveKernel | undefined {
  const m = IMAGE_NAME.exec(pkg);
  if (!m) return undefined;
  const upstream = upstreamOf(sourceVersion);
  return { package: pkg, release: `${m[1]}-amd64`, version: m[1]!, sourceVersion, upstream, series: seriesOf(upstream) };
}

export function sortKernels(list: ArchiveKernel[]): ArchiveKernel[] {
  return [...list].sort((a, b) => compareDebianVersions(a.sourceVersion, b.sourceVersion) || a.version.localeCompare(b.version, 'en', { numeric: true }));
}

async function aptCache(args: string[], signal?: AbortSignal): Promise<string> {
  const bin = requireTool('apt-cache', 'list the Debian kernels');
  const { stdout } = await runHost(bin, args, {
    ...(signal ? { signal } : {}),
    what: `apt-cache ${args[0]}`,
    hint: 'the package lists may be missing: run "sudo apt-get update"',
  });
  return stdout;
}

async function queryArchive(signal?: AbortSignal): Promise<KernelArchive> {
  const names = (await aptCache(['pkgnames', 'linux-image-'], signal)).split('\n').filter((n) => IMAGE_NAME.test(n));
  const images: ArchiveKernel[] = [];
  if (names.length) {
    for (const [pkg, versions] of parseMadison(await aptCache(['madison', ...names], signal))) {
      const k = archiveKernel(pkg, versions[0]!);
      if (k) images.push(k);
    }
  }
  const series = [...new Set(images.map((k) => k.series))];
  const sources: Record<string, string[]> = {};
  if (series.length) {
    for (const [pkg, versions] of parseMadison(await aptCache(['madison', ...series.map((s) => `linux-source-${s}`)], signal))) {
      sources[pkg.slice('linux-source-'.length)] = [...versions].sort(compareDebianVersions);
    }
  }
  const headers: Record<string, string> = {};
  if (images.length) {
    for (const [pkg, versions] of parseMadison(await aptCache(['madison', ...images.map((k) => `linux-headers-${k.release}`)], signal))) {
      headers[pkg.slice('linux-headers-'.length)] = versions[0]!;
    }
  }
  let defaultPackage: string | undefined;
  try {
    defaultPackage = /Depends:\s+(linux-image-[\w.+-]+)/.exec(await aptCache(['depends', 'linux-image-amd64'], signal))?.[1];
  } catch {
    throwIfAborted(signal);
    // no meta package in these lists: there is no "today's kernel" to mark
  }
  return { format: FORMAT, listsStamp: listsStamp(), images: sortKernels(images), sources, headers, ...(defaultPackage ? { defaultPackage } : {}) };
}

/**
 * The archive as the host's apt lists describe it, remembered in
 * <cache>/kernels/archive.json until the lists change. Throws TargetError when
 * apt-cache cannot answer (no lists, no apt).
 */
export async function kernelArchive(root: string, signal?: AbortSignal): Promise<KernelArchive> {
  const memo = join(root, 'kernels', 'archive.json');
  const stamp = listsStamp();
  try {
    const a = JSON.parse(readFileSync(memo, 'utf8')) as KernelArchive;
    if (a.format === FORMAT && a.listsStamp === stamp && Array.isArray(a.images)) return a;
  } catch {
    // ask apt
  }
  const a = await queryArchive(signal);
  if (!a.images.length) throw new TargetError('the apt lists name no linux-image-*-amd64 package', 'run "sudo apt-get update" (bookworm and bookworm-security carry the 6.1 and 6.12 kernels)');
  mkdirSync(dirname(memo), { recursive: true });
  const tmp = `${memo}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(a) + '\n');
  renameSync(tmp, memo);
  return a;
}

/** Strips what people add around a version: linux-image- prefix, -amd64 suffix. */
export function normalizeKernelName(input: string): string {
  return input.trim().replace(/^linux-image-/, '').replace(/-amd64$/, '');
}

/** The numbers in a version, for nearness: "6.1.0-54" → [6, 1, 0, 54]. */
function numbers(v: string): number[] {
  return (v.match(/\d+/g) ?? []).map(Number);
}

/** Up to `n` kernels nearest to `input`: longest common numeric prefix, then smallest difference after it. */
export function nearestKernels(input: string, kernels: ArchiveKernel[], n = 3): ArchiveKernel[] {
  const want = numbers(normalizeKernelName(input));
  const score = (k: ArchiveKernel): [number, number] => {
    // Compare against whichever of its names fits better (6.1.0-54 or 6.1.190).
    let best: [number, number] = [0, Infinity];
    for (const name of [k.version, k.upstream]) {
      const have = numbers(name);
      let i = 0;
      while (i < want.length && i < have.length && want[i] === have[i]) i++;
      const diff = i < want.length && i < have.length ? Math.abs(want[i]! - have[i]!) : 0;
      if (i > best[0] || (i === best[0] && diff < best[1])) best = [i, diff];
    }
    return best;
  };
  return kernels
    .map((k) => ({ k, s: score(k) }))
    .sort((a, b) => b.s[0] - a.s[0] || a.s[1] - b.s[1] || compareDebianVersions(b.k.sourceVersion, a.k.sourceVersion))
    .slice(0, n)
    .map((x) => x.k);
}

function unknown(input: string, kernels: ArchiveKernel[]): VlabInputError {
  const near = nearestKernels(input, kernels);
  return new VlabInputError(
    `unknown kernel version "${input}"${near.length ? `; nearest available: ${near.map((k) => `${k.version} (${k.sourceVersion})`).join(', ')}` : '; the archive offers none'} (see "stresslab kernels")`,
  );
}

/**
 * One kernel by any of its names: 6.1.0-54, 6.1.0-54-amd64,
 * linux-image-6.1.0-54-amd64, 6.12.110+deb12, its source version (6.1.190-1)
 * or its upstream version when only one image has it (6.1.190).
 */
export function findKernel(input: string, kernels: ArchiveKernel[]): ArchiveKernel {
  const n = normalizeKernelName(input);
  const exact = kernels.find((k) => k.version === n || k.sourceVersion === input.trim());
  if (exact) return exact;
  const byUpstream = kernels.filter((k) => k.upstream === n);
  if (byUpstream.length === 1) return byUpstream[0]!;
  if (byUpstream.length > 1) {
    throw new VlabInputError(`"${input}" is the upstream version of several images: ${byUpstream.map((k) => `${k.version} (${k.sourceVersion})`).join(', ')}; name one`);
  }
  throw unknown(input, kernels);
}

/**
 * A kernel list as --kernel-version takes it: "A", "A,B,C" or a range
 * "A..B" (every image from A to B, by source version, in order); ranges and
 * names mix ("6.1.0-47,6.1.0-50..6.1.0-57"). Duplicates are dropped.
 */
export function expandKernelList(spec: string, kernels: ArchiveKernel[]): ArchiveKernel[] {
  const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new VlabInputError('empty kernel version list');
  const sorted = sortKernels(kernels);
  const out: ArchiveKernel[] = [];
  const add = (k: ArchiveKernel) => void (out.some((o) => o.package === k.package) || out.push(k));
  for (const it of items) {
    const dots = it.indexOf('..');
    if (dots < 0) {
      add(findKernel(it, kernels));
      continue;
    }
    const a = findKernel(it.slice(0, dots), kernels);
    const b = findKernel(it.slice(dots + 2), kernels);
    if (a.series !== b.series) throw new VlabInputError(`kernel range ${it} spans two series (${a.series} and ${b.series}); give one range per series`);
    const [lo, hi] = compareDebianVersions(a.sourceVersion, b.sourceVersion) <= 0 ? [a, b] : [b, a];
    for (const k of sorted) {
      if (k.series !== lo.series) continue;
      if (compareDebianVersions(k.sourceVersion, lo.sourceVersion) >= 0 && compareDebianVersions(k.sourceVersion, hi.sourceVersion) <= 0) add(k);
    }
  }
  return out;
}

/** Looks like a list or a range rather than one name. */
export function isKernelList(spec: string): boolean {
  return spec.includes(',') || spec.includes('..');
}

/** Whether the archive has linux-source for exactly this source version. */
export function hasSource(a: KernelArchive, k: Pick<ArchiveKernel, 'series' | 'sourceVersion'>): boolean {
  return (a.sources[k.series] ?? []).includes(k.sourceVersion);
}

export function hasHeaders(a: KernelArchive, k: Pick<ArchiveKernel, 'release' | 'sourceVersion'>): boolean {
  return a.headers[k.release] === k.sourceVersion;
}

export function memoExists(root: string): boolean {
  return existsSync(join(root, 'kernels', 'archive.json'));
}
