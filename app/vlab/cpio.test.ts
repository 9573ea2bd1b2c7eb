import { describe, expect, it } from 'vitest';
import { buildCpio, parseCpio } from './cpio.js';

describe('newc cpio writer', () => {
  it('writes what it is given, in order, and reads back', () => {
    const data = Buffer.from([1, 2, 3, 4, 5]);
    const img = buildCpio([
      { path: 'bin', type: 'dir', perm: 0o755 },
      { path: 'bin/tool', type: 'file', perm: 0o755, data },
      { path: 'bin/sh', type: 'symlink', perm: 0o777, target: 'tool' },
      { path: 'dev', type: 'dir', perm: 0o755 },
      { path: 'dev/console', type: 'chardev', perm: 0o600, major: 5, minor: 1 },
    ]);
    expect(img.length % 512).toBe(0);
    const e = parseCpio(img);
    expect(e.map((x) => x.path)).toEqual(['bin', 'bin/tool', 'bin/sh', 'dev', 'dev/console']);
    expect(e[0]!.mode).toBe(0o040755);
    expect([...e[1]!.data]).toEqual([...data]);
    expect(e[1]!.mode).toBe(0o100755);
    expect(e[2]!.data.toString()).toBe('tool');
    expect(e[4]!.mode).toBe(0o020600);
    // rdevmajor/rdevminor are header fields 9 and 10
    const h = img.indexOf('dev/console') - 110;
    expect(parseInt(img.toString('latin1', h + 6 + 9 * 8, h + 6 + 10 * 8), 16)).toBe(5);
    expect(parseInt(img.toString('latin1', h + 6 + 10 * 8, h + 6 + 11 * 8), 16)).toBe(1);
  });

  it('refuses duplicate paths', () => {
    expect(() => buildCpio([{ path: 'a', type: 'dir', perm: 0o755 }, { path: '/a', type: 'dir', perm: 0o755 }])).toThrow(/duplicate/);
  });
});
