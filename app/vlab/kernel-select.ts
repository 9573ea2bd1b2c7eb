// Choosing a distribution kernel by name (--kernel-version): the archive's
// images plus whatever is cached (so a cached kernel still boots offline),
// resolved to one linux-image package, then fetched and cached like the
// default kernel (kernel-cache.ts).
import { TargetError } from '../errors.js';
import { type ArchiveKernel, archiveKernel, expandKernelList, findKernel, type KernelArchive, kernelArchive, sortKernels } from './archive.js';
import { type CacheLog, cachedKernels, type CachedKernel, distroKernel, type KernelSpec } from './kernel-cache.js';

export interface KnownKernels {
  /** Undefined when apt could not be asked (offline, no lists): then only cached kernels are known. */
  archive?: KernelArchive;
  archiveError?: string;
  cached: CachedKernel[];
  /** Archive images and cached kernels the archive no longer lists, oldest first. */
  all: ArchiveKernel[];
}

export async function knownKernels(root: string, signal?: AbortSignal): Promise<KnownKernels> {
  let archive: KernelArchive | undefined;
  let archiveError: string | undefined;
  try {
    archive = await kernelArchive(root, signal);
  } catch (e) {
    if (!(e instanceof TargetError) || signal?.aborted) throw e;
    archiveError = e.message.split('\n')[0];
  }
  const cached = cachedKernels(root);
  const all = [...(archive?.images ?? [])];
  for (const c of cached) {
    if (all.some((k) => k.package === c.package) || !c.sourceVersion) continue;
    const k = archiveKernel(c.package, c.sourceVersion);
    if (k) all.push(k);
  }
  return { ...(archive ? { archive } : {}), ...(archiveError ? { archiveError } : {}), cached, all: sortKernels(all) };
}

/** One kernel by name; an unknown name is a VlabInputError naming the nearest ones. */
export async function resolveKernelVersion(root: string, name: string, signal?: AbortSignal): Promise<ArchiveKernel> {
  const known = await knownKernels(root, signal);
  if (!known.all.length && known.archiveError) throw new TargetError(`cannot list the Debian kernels: ${known.archiveError}`, 'run "sudo apt-get update"');
  return findKernel(name, known.all);
}

/** "A,B,C" or "A..B" to kernels, in the order given (ranges oldest first). */
export async function expandKernelVersions(root: string, spec: string): Promise<ArchiveKernel[]> {
  const known = await knownKernels(root);
  if (!known.all.length && known.archiveError) throw new TargetError(`cannot list the Debian kernels: ${known.archiveError}`, 'run "sudo apt-get update"');
  return expandKernelList(spec, known.all);
}

/** The kernel named `name`, downloaded and cached on first use. */
export async function distroKernelByVersion(root: string, name: string, log?: CacheLog, signal?: AbortSignal): Promise<KernelSpec> {
  const k = await resolveKernelVersion(root, name, signal);
  const spec = await distroKernel(root, log, k.package, signal);
  return spec.sourceVersion ? spec : { ...spec, sourceVersion: k.sourceVersion };
}

/**
 * Cache entries made before the source version was recorded lack it: ask the
 * archive (each linux-image ABI package has exactly one version).
 */
export async function withSourceVersion(root: string, spec: KernelSpec, signal?: AbortSignal): Promise<KernelSpec> {
  if (spec.sourceVersion || spec.origin !== 'distro' || !spec.package) return spec;
  try {
    const k = (await kernelArchive(root, signal)).images.find((i) => i.package === spec.package);
    return k ? { ...spec, sourceVersion: k.sourceVersion } : spec;
  } catch (e) {
    if (signal?.aborted) throw e;
    return spec;
  }
}
