import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateEntry } from './kernel-cache.js';

let dir: string;

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vlab-cache-'));
  const img = Buffer.alloc(4096, 7);
  const dep = Buffer.from('kernel/sound/core/snd.ko:\n');
  mkdirSync(join(dir, 'modules', 'kernel'), { recursive: true });
  writeFileSync(join(dir, 'vmlinuz'), img);
  writeFileSync(join(dir, 'modules', 'modules.dep'), dep);
  writeFileSync(join(dir, 'modules', 'kernel', 'snd.ko'), Buffer.alloc(100));
  const files = [
    { path: 'vmlinuz', size: img.length, sha256: sha(img) },
    { path: 'modules/modules.dep', size: dep.length, sha256: sha(dep) },
    { path: 'modules/kernel/snd.ko', size: 100 },
  ];
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 1, package: 'linux-image-x', release: '6.1.0-x', image: 'vmlinuz', files, createdAt: '' }));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('kernel cache entries', () => {
  it('accepts a complete entry', () => {
    expect(validateEntry(dir)).toBeUndefined();
  });

  it('treats an entry without its manifest as a partial build', () => {
    rmSync(join(dir, 'manifest.json'));
    expect(validateEntry(dir)).toMatch(/partial/);
    expect(validateEntry(join(dir, 'nope'))).toBe('not cached');
  });

  it('detects missing, truncated and altered files', () => {
    rmSync(join(dir, 'modules', 'kernel', 'snd.ko'));
    expect(validateEntry(dir)).toMatch(/missing modules\/kernel\/snd.ko/);
    writeFileSync(join(dir, 'modules', 'kernel', 'snd.ko'), Buffer.alloc(100));
    truncateSync(join(dir, 'vmlinuz'), 100);
    expect(validateEntry(dir)).toMatch(/vmlinuz is 100 bytes/);
    writeFileSync(join(dir, 'vmlinuz'), Buffer.alloc(4096, 8));
    expect(validateEntry(dir)).toMatch(/vmlinuz does not match its checksum/);
  });

  it('rejects an unreadable manifest', () => {
    writeFileSync(join(dir, 'manifest.json'), '{"format":1,');
    expect(validateEntry(dir)).toMatch(/no readable manifest/);
  });
});
