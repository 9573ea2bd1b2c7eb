// Naming Debian kernels: versions in dpkg's order, the archive as apt-cache
// prints it, names people type, the nearest kernels to an unknown one, lists
// and ranges for a kernel matrix.
import { describe, expect, it } from 'vitest';
import { type ArchiveKernel, archiveKernel, expandKernelList, findKernel, isKernelList, nearestKernels, normalizeKernelName, parseMadison } from './archive.js';
import { compareDebianVersions, seriesOf, upstreamOf } from './debian-version.js';
import { VlabInputError } from './errors.js';

const MADISON = `linux-image-6.1.0-54-amd64 |  6.1.190-1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
linux-image-6.1.0-50-amd64 |  6.1.176-1 | http://deb.debian.org/debian bookworm/main amd64 Packages
linux-image-6.1.0-50-amd64 |  6.1.176-1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
`;

const K = (pkg: string, v: string) => archiveKernel(pkg, v)!;
const KERNELS: ArchiveKernel[] = [
  K('linux-image-6.1.0-47-amd64', '6.1.170-3'),
  K('linux-image-6.1.0-50-amd64', '6.1.176-1'),
  K('linux-image-6.1.0-54-amd64', '6.1.190-1'),
  K('linux-image-6.1.0-55-amd64', '6.1.192-1'),
  K('linux-image-6.1.0-56-amd64', '6.1.192-2'),
  K('linux-image-6.1.0-57-amd64', '6.1.192-3'),
  K('linux-image-6.12.111+deb12-amd64', '6.12.111-1~deb12u1'),
  K('linux-image-6.12.117+deb12-amd64', '6.12.117-1~deb12u1'),
];

describe('Debian versions', () => {
  it("orders versions as dpkg does (revisions, tildes, numbers as numbers)", () => {
    const sorted = ['6.1.192-3', '6.12.117-1~deb12u1', '6.1.192-1', '6.12.117-1', '6.1.90-1', '6.12.115-2~deb12u1', '1:1.0-1'].sort(compareDebianVersions);
    expect(sorted).toEqual(['6.1.90-1', '6.1.192-1', '6.1.192-3', '6.12.115-2~deb12u1', '6.12.117-1~deb12u1', '6.12.117-1', '1:1.0-1']);
    expect(compareDebianVersions('6.1.190-1', '6.1.190-1')).toBe(0);
  });

  it('takes the upstream version and the series out of a Debian version', () => {
    expect(upstreamOf('6.1.192-3')).toBe('6.1.192');
    expect(upstreamOf('6.12.117-1~deb12u1')).toBe('6.12.117');
    expect(upstreamOf('6.1.190+1')).toBe('6.1.190');
    expect(seriesOf('6.12.117')).toBe('6.12');
  });
});

describe('the kernel archive', () => {
  it('reads apt-cache madison output, one version per package', () => {
    const m = parseMadison(MADISON);
    expect([...m]).toEqual([
      ['linux-image-6.1.0-54-amd64', ['6.1.190-1']],
      ['linux-image-6.1.0-50-amd64', ['6.1.176-1']],
    ]);
  });

  it('knows a kernel by its package, release, short name, source version or unique upstream version', () => {
    expect(archiveKernel('linux-image-6.12.117+deb12-amd64', '6.12.117-1~deb12u1')).toEqual({
      package: 'linux-image-6.12.117+deb12-amd64',
      release: '6.12.117+deb12-amd64',
      version: '6.12.117+deb12',
      sourceVersion: '6.12.117-1~deb12u1',
      upstream: '6.12.117',
      series: '6.12',
    });
    expect(archiveKernel('linux-image-6.1.0-54-cloud-amd64', '6.1.190-1')).toBeUndefined();
    for (const name of ['6.1.0-54', '6.1.0-54-amd64', 'linux-image-6.1.0-54-amd64', '6.1.190-1', '6.1.190']) expect(findKernel(name, KERNELS).package, name).toBe('linux-image-6.1.0-54-amd64');
    expect(normalizeKernelName(' linux-image-6.12.117+deb12-amd64 ')).toBe('6.12.117+deb12');
    expect(() => findKernel('6.1.192', KERNELS)).toThrow(/upstream version of several images: 6.1.0-55 \(6.1.192-1\), 6.1.0-56 \(6.1.192-2\), 6.1.0-57 \(6.1.192-3\)/);
  });

  it('names the nearest kernels for an unknown one', () => {
    // equally near: the newer first
    expect(nearestKernels('6.1.0-52', KERNELS).map((k) => k.version)).toEqual(['6.1.0-54', '6.1.0-50', '6.1.0-55']);
    expect(nearestKernels('6.12.110+deb12', KERNELS).map((k) => k.version)).toEqual(['6.12.111+deb12', '6.12.117+deb12', '6.1.0-57']);
    let err: unknown;
    try {
      findKernel('6.1.0-99', KERNELS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VlabInputError);
    expect((err as Error).message).toBe('unknown kernel version "6.1.0-99"; nearest available: 6.1.0-57 (6.1.192-3), 6.1.0-56 (6.1.192-2), 6.1.0-55 (6.1.192-1) (see "stresslab kernels")');
  });

  it('expands lists and ranges for a kernel matrix, oldest first within a range, without duplicates', () => {
    expect(isKernelList('6.1.0-54')).toBe(false);
    expect(isKernelList('6.1.0-50..6.1.0-57')).toBe(true);
    expect(expandKernelList('6.1.0-50..6.1.0-55', KERNELS).map((k) => k.version)).toEqual(['6.1.0-50', '6.1.0-54', '6.1.0-55']);
    expect(expandKernelList('6.1.0-57..6.1.0-54', KERNELS).map((k) => k.version)).toEqual(['6.1.0-54', '6.1.0-55', '6.1.0-56', '6.1.0-57']);
    expect(expandKernelList('6.12.117+deb12, 6.1.0-47,6.1.0-47', KERNELS).map((k) => k.version)).toEqual(['6.12.117+deb12', '6.1.0-47']);
    expect(() => expandKernelList('6.1.0-54..6.12.117+deb12', KERNELS)).toThrow(/spans two series/);
    expect(() => expandKernelList('6.1.0-54,6.1.0-98', KERNELS)).toThrow(/unknown kernel version "6.1.0-98"/);
  });
});
