// Reading kernel images: the release string (to find the matching modules) and,
// for a compressed bzImage, the uncompressed ELF inside it. Booting that ELF
// through its PVH entry skips the kernel's self-decompression, which under
// software emulation is about two seconds of every boot (measured, see
// bench/vlab-boot.md).
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';

export type ImageKind = 'bzImage' | 'elf';

export interface ImageInfo {
  kind: ImageKind;
  /** Kernel release (`uname -r`), e.g. 6.1.0-56-amd64; undefined when not found. */
  release?: string;
  /** ELF only: it has a PVH entry point QEMU can boot directly. */
  pvh?: boolean;
}

export function inspectImage(img: Buffer): ImageInfo {
  if (isElf(img)) return { kind: 'elf', release: elfRelease(img), pvh: hasPvhNote(img) };
  if (img.length > 0x250 && img.toString('latin1', 0x202, 0x206) === 'HdrS') return { kind: 'bzImage', release: bzRelease(img) };
  throw new Error('not a Linux kernel image (neither a bzImage nor an ELF vmlinux)');
}

function isElf(b: Buffer): boolean {
  return b.length > 64 && b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2; // ELF64
}

function bzRelease(img: Buffer): string | undefined {
  const ptr = img.readUInt16LE(0x20e);
  if (!ptr) return undefined;
  const start = ptr + 0x200;
  const end = img.indexOf(0, start);
  if (end < 0) return undefined;
  return img.toString('latin1', start, end).split(' ')[0] || undefined;
}

function elfRelease(img: Buffer): string | undefined {
  // linux_banner: "Linux version 6.1.0-56-amd64 (builder@host) ..."
  const needle = Buffer.from('Linux version ', 'latin1');
  for (let at = img.indexOf(needle); at >= 0; at = img.indexOf(needle, at + 1)) {
    const tail = img.toString('latin1', at + needle.length, at + needle.length + 200);
    const m = /^(\S+) \(/.exec(tail);
    if (m && !m[1]!.includes('%')) return m[1];
  }
  return undefined;
}

const PT_NOTE = 4;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

export function hasPvhNote(img: Buffer): boolean {
  if (!isElf(img)) return false;
  const phoff = Number(img.readBigUInt64LE(0x20));
  const phentsize = img.readUInt16LE(0x36);
  const phnum = img.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > img.length || img.readUInt32LE(ph) !== PT_NOTE) continue;
    let off = Number(img.readBigUInt64LE(ph + 0x08));
    const end = off + Number(img.readBigUInt64LE(ph + 0x20));
    while (off + 12 <= end && end <= img.length) {
      const namesz = img.readUInt32LE(off);
      const descsz = img.readUInt32LE(off + 4);
      const type = img.readUInt32LE(off + 8);
      const name = img.toString('latin1', off + 12, off + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      off += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** The compressed payload of a bzImage and its format. */
export function bzPayload(img: Buffer): { format: string; data: Buffer } {
  let setupSects = img[0x1f1]!;
  if (setupSects === 0) setupSects = 4;
  const payloadOffset = img.readUInt32LE(0x248);
  const payloadLength = img.readUInt32LE(0x24c);
  const start = (setupSects + 1) * 512 + payloadOffset;
  const data = img.subarray(start, start + payloadLength);
  if (data.length !== payloadLength || payloadLength === 0) throw new Error('bzImage payload is truncated');
  return { format: compressionOf(data), data };
}

function compressionOf(d: Buffer): string {
  const starts = (...bytes: number[]) => bytes.every((b, i) => d[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x02, 0x21, 0x4c, 0x18)) return 'lz4';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0x89, 0x4c, 0x5a, 0x4f)) return 'lzo';
  if (starts(0x5d, 0x00, 0x00)) return 'lzma';
  return 'unknown';
}

/**
 * The uncompressed vmlinux inside a bzImage, if it can be had cheaply and
 * booted through PVH. Returns a reason instead when not (the caller then boots
 * the bzImage as it is, only slower).
 */
export function extractVmlinux(img: Buffer): { elf: Buffer } | { why: string } {
  let payload: { format: string; data: Buffer };
  try {
    payload = bzPayload(img);
  } catch (e) {
    return { why: (e as Error).message };
  }
  let out: Buffer;
  try {
    if (payload.format === 'gzip') out = gunzipSync(payload.data);
    else if (payload.format === 'xz') out = runDecompressor('xz', ['-dc', '--single-stream'], payload.data, 'xz-utils');
    else if (payload.format === 'zstd') out = runDecompressor('zstd', ['-dcq'], payload.data.subarray(0, payload.data.length - 4), 'zstd');
    else return { why: `kernel payload is ${payload.format}-compressed; only gzip, xz and zstd are unpacked` };
  } catch (e) {
    return { why: (e as Error).message };
  }
  if (!isElf(out)) return { why: 'decompressed payload is not an ELF image' };
  if (!hasPvhNote(out)) return { why: 'kernel has no PVH entry point (CONFIG_PVH is off)' };
  return { elf: out };
}

function runDecompressor(cmd: string, args: string[], input: Buffer, pkg: string): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`${cmd} not available (${pkg}): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString().trim()}`);
  return r.stdout;
}
