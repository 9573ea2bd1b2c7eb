import { describe, expect, it } from 'vitest';
import { TargetError } from '../errors.js';
import { requireTool } from './tools.js';

describe('host tools', () => {
  it('names the Debian package of a missing tool', () => {
    const run = () => requireTool('xz', 'unpack the kernel', { PATH: '/nonexistent' });
    expect(run).toThrow(TargetError);
    expect(run).toThrow(/xz is not installed; the virtual lab needs it to unpack the kernel/);
    try {
      run();
    } catch (e) {
      expect((e as TargetError).hint).toBe('install it with: sudo apt-get install xz-utils');
    }
  });

  it('finds a tool on PATH, and in the sbin directories a user PATH often lacks', () => {
    expect(requireTool('busybox', 'x', { PATH: '/usr/bin:/bin' })).toMatch(/\/busybox$/);
    expect(requireTool('depmod', 'x', { PATH: '/nonexistent' })).toMatch(/sbin\/depmod$/);
  });
});
