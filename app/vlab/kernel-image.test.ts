import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bzPayload, extractVmlinux, hasPvhNote, inspectImage } from './kernel-image.js';

/** A minimal ELF64 with one PT_NOTE (optionally the PVH entry note) and a Linux banner. */
function fakeElf(pvh: boolean, release = '6.9.0-test'): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELF64
  b[5] = 1;
  b[6] = 1;
  b.writeBigUInt64LE(64n, 0x20); // e_phoff
  b.writeUInt16LE(56, 0x36); // e_phentsize
  b.writeUInt16LE(1, 0x38); // e_phnum
  const note = 120;
  b.writeUInt32LE(4, 64); // PT_NOTE
  b.writeBigUInt64LE(BigInt(note), 64 + 0x08);
  b.writeBigUInt64LE(20n, 64 + 0x20);
  b.writeUInt32LE(4, note);
  b.writeUInt32LE(4, note + 4);
  b.writeUInt32LE(pvh ? 18 : 5, note + 8);
  b.write('Xen\0', note + 12, 'latin1');
  b.write(`Linux version ${release} (builder@host) (gcc) #1 SMP\0`, 200, 'latin1');
  return b;
}

function fakeBzImage(payload: Buffer, version: string): Buffer {
  const setupSects = 1;
  const start = (setupSects + 1) * 512;
  const b = Buffer.alloc(start + payload.length);
  b[0x1f1] = setupSects;
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x100, 0x20e); // kernel_version, relative to 0x200
  b.write(`${version} (builder@host) #1 SMP\0`, 0x300, 'latin1');
  b.writeUInt32LE(0, 0x248);
  b.writeUInt32LE(payload.length, 0x24c);
  payload.copy(b, start);
  return b;
}

describe('kernel images', () => {
  it('reads the release of a bzImage and of an ELF vmlinux', () => {
    expect(inspectImage(fakeBzImage(gzipSync(fakeElf(true)), '6.1.0-56-amd64'))).toEqual({ kind: 'bzImage', release: '6.1.0-56-amd64' });
    expect(inspectImage(fakeElf(true, '6.12.0-kasan+'))).toEqual({ kind: 'elf', release: '6.12.0-kasan+', pvh: true });
    expect(() => inspectImage(Buffer.from('not a kernel at all, just some text '.repeat(40)))).toThrow(/not a Linux kernel image/);
  });

  it('finds the PVH entry note only when it is there', () => {
    expect(hasPvhNote(fakeElf(true))).toBe(true);
    expect(hasPvhNote(fakeElf(false))).toBe(false);
  });

  it('unpacks the ELF inside a gzip bzImage and refuses one without PVH', () => {
    const elf = fakeElf(true);
    const img = fakeBzImage(gzipSync(elf), '6.9.0-test');
    expect(bzPayload(img).format).toBe('gzip');
    const ok = extractVmlinux(img);
    expect('elf' in ok && ok.elf.equals(elf)).toBe(true);
    const no = extractVmlinux(fakeBzImage(gzipSync(fakeElf(false)), '6.9.0-test'));
    expect('why' in no && no.why).toMatch(/PVH/);
  });

  it('says why when the payload format is not one it unpacks', () => {
    const r = extractVmlinux(fakeBzImage(Buffer.from([0x02, 0x21, 0x4c, 0x18, 1, 2, 3]), '6.9.0'));
    expect('why' in r && r.why).toMatch(/lz4/);
  });
});
