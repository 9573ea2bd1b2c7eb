// A writer for the "newc" cpio format the kernel unpacks as its initramfs.
// Written here rather than shelling out to cpio so the image is built from an
// explicit list (no host paths leak in) and no extra package is needed.
// Left uncompressed on purpose: under software emulation the kernel's own
// gunzip costs more boot time than copying a few more megabytes.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'chardev';
  /** Permission bits (e.g. 0o755). */
  perm: number;
  data?: Uint8Array;
  /** Symlink target. */
  target?: string;
  /** Device numbers of a chardev. */
  major?: number;
  minor?: number;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, nlink: number, size: number, name: string, rdev: [number, number] = [0, 0]): Buffer {
  const nameBytes = Buffer.byteLength(name) + 1;
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameBytes, 0];
  const h = '070701' + fields.map(hex8).join('');
  return Buffer.concat([Buffer.from(h + name, 'utf8'), Buffer.alloc(1 + pad4(110 + nameBytes))]);
}

export function buildCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (!path || seen.has(path)) throw new Error(`cpio: bad or duplicate path "${e.path}"`);
    seen.add(path);
    const data =
      e.type === 'symlink' ? Buffer.from(e.target ?? '', 'utf8') : e.type === 'file' ? Buffer.from(e.data ?? new Uint8Array()) : Buffer.alloc(0);
    const type = { dir: S_IFDIR, symlink: S_IFLNK, chardev: S_IFCHR, file: S_IFREG }[e.type];
    const mode = type | (e.perm & 0o7777);
    const rdev: [number, number] = e.type === 'chardev' ? [e.major ?? 0, e.minor ?? 0] : [0, 0];
    parts.push(header(ino++, mode, e.type === 'dir' ? 2 : 1, data.length, path, rdev));
    if (data.length) parts.push(data, Buffer.alloc(pad4(data.length)));
  }
  parts.push(header(0, 0, 1, 0, 'TRAILER!!!'));
  const out = Buffer.concat(parts);
  // Some loaders want the archive a multiple of 512 bytes.
  return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
}

/** Reads a newc archive back (for tests and for checking a cached image). */
export function parseCpio(buf: Buffer): { path: string; mode: number; data: Buffer }[] {
  const out: { path: string; mode: number; data: Buffer }[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > buf.length) throw new Error('cpio: truncated header');
    const magic = buf.toString('latin1', off, off + 6);
    if (magic !== '070701') throw new Error(`cpio: bad magic at ${off}`);
    const field = (i: number) => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    off += 110 + nameSize + pad4(110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.push({ path: name, mode, data: buf.subarray(off, off + size) });
    off += size + pad4(size);
  }
}
