import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VlabInputError } from './errors.js';
import { modulesDirFor, userKernel } from './user-kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'vlab-user-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a kernel the user brings', () => {
  it('says clearly when the image is missing or is not a kernel', () => {
    expect(() => userKernel(dir, join(dir, 'bzImage'), undefined)).toThrow(/kernel image not found/);
    writeFileSync(join(dir, 'notes.txt'), 'hello '.repeat(200));
    expect(() => userKernel(dir, join(dir, 'notes.txt'), undefined)).toThrow(VlabInputError);
    expect(() => userKernel(dir, join(dir, 'notes.txt'), undefined)).toThrow(/not a Linux kernel image/);
  });

  it('finds modules installed with INSTALL_MOD_PATH, or the release dir itself', () => {
    const root = join(dir, 'install');
    const rel = join(root, 'lib', 'modules', '6.12.0-kasan');
    mkdirSync(rel, { recursive: true });
    writeFileSync(join(rel, 'modules.dep'), '');
    expect(modulesDirFor(root, '6.12.0-kasan')).toBe(rel);
    expect(modulesDirFor(rel, '6.12.0-kasan')).toBe(rel);
    expect(() => modulesDirFor(root, '6.13.0')).toThrow(/modules for 6.12.0-kasan, not for the kernel's release 6.13.0/);
    expect(() => modulesDirFor(join(dir, 'absent'), '6.12.0')).toThrow(/modules directory not found/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => modulesDirFor(empty, '6.12.0')).toThrow(/make modules_install/);
  });
});
