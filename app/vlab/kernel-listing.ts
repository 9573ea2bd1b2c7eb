// The Debian kernels the virtual lab can boot by name, for `stresslab kernels`
// and the app's kernel picker: cached or installable, each with its source
// and upstream versions and whether a module overlay can be built for it.
import { hasHeaders, hasSource } from './archive.js';
import { knownKernels } from './kernel-select.js';
import { cacheRoot } from './paths.js';

export interface KernelListing {
  version: string;
  package: string;
  release: string;
  source_version: string;
  upstream: string;
  cached: boolean;
  /** In the archive (apt-get download can fetch it). */
  installable: boolean;
  /** linux-source-<series> of exactly this version is in the archive (or cached): overlays can be built. */
  source: boolean;
  headers: boolean;
  /** The kernel linux-image-amd64 points to: what boots without --kernel-version. */
  default: boolean;
}

export interface KernelsResult {
  kernels: KernelListing[];
  /** Why the list may be incomplete (apt could not be asked). */
  note?: string;
}

export async function kernelListing(root = cacheRoot()): Promise<KernelsResult> {
  const known = await knownKernels(root);
  const a = known.archive;
  const kernels = known.all.map((k): KernelListing => ({
    version: k.version,
    package: k.package,
    release: k.release,
    source_version: k.sourceVersion,
    upstream: k.upstream,
    cached: known.cached.some((c) => c.package === k.package),
    installable: !!a?.images.some((i) => i.package === k.package),
    source: !!a && hasSource(a, k),
    headers: !!a && hasHeaders(a, k),
    default: a?.defaultPackage === k.package,
  }));
  return { kernels, ...(known.archiveError ? { note: `the archive could not be asked (${known.archiveError}); only cached kernels are listed` } : {}) };
}
