// The vm target without booting anything: what it does with bad boot options.
import { describe, expect, it } from 'vitest';
import { TargetError } from './target.js';
import { VmTarget } from './vm.js';

describe('vm target', () => {
  it('reports bad boot options as a target error naming them, not as an internal error', async () => {
    const t = new VmTarget({ boot: { hw: ['dummy', 'bogus'] } });
    const err = await t.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as Error).message).toMatch(/^virtual lab: unknown virtual hardware "bogus"; choose from: dummy/);
    const k = await new VmTarget({ boot: { hw: ['dummy'], kernel: '/nonexistent/bzImage' } }).ready().catch((e: unknown) => e);
    expect(k).toBeInstanceOf(TargetError);
    expect((k as Error).message).toMatch(/kernel image not found or unreadable: \/nonexistent\/bzImage/);
  });
});
