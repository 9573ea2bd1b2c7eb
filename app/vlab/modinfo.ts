// The .modinfo section of a kernel module (.ko, ELF64 little-endian): its
// name, what it depends on (by module name) and the vermagic it was built
// for. A rebuilt or new module is planned from its own modinfo, since the
// stock modules.dep does not know it.

export interface ModInfo {
  name?: string;
  depends: string[];
  vermagic?: string;
  /** Every key=value pair, in order (keys repeat: alias, parm...). */
  fields: [string, string][];
}

function section(buf: Buffer, wanted: string): Buffer | undefined {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (!shoff || shoff + shnum * shentsize > buf.length) throw new Error('ELF section table out of range');
  const hdr = (i: number) => {
    const o = shoff + i * shentsize;
    return { name: buf.readUInt32LE(o), offset: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = hdr(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = hdr(i);
    const start = strtab.offset + h.name;
    const end = buf.indexOf(0, start);
    if (buf.toString('latin1', start, end) === wanted) {
      if (h.offset + h.size > buf.length) throw new Error(`${wanted} out of range`);
      return buf.subarray(h.offset, h.offset + h.size);
    }
  }
  return undefined;
}

export function parseModinfo(ko: Buffer): ModInfo {
  const sec = section(ko, '.modinfo');
  const out: ModInfo = { depends: [], fields: [] };
  if (!sec) return out;
  for (const entry of sec.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const k = entry.slice(0, eq);
    const v = entry.slice(eq + 1);
    out.fields.push([k, v]);
    if (k === 'name') out.name = v;
    else if (k === 'vermagic') out.vermagic = v;
    else if (k === 'depends') out.depends = v.split(',').map((s) => s.trim()).filter(Boolean);
  }
  return out;
}
