import { describe, expect, it } from 'vitest';
import { decodeTaint, formatTaint, taintFromBootReport } from './taint.js';

describe('kernel taint', () => {
  it('decodes the flags with the letters the kernel prints', () => {
    expect(decodeTaint(0)).toEqual({ value: 0, letters: '', flags: [] });
    // rebuilt modules: out-of-tree and unsigned, as 6.1 reports them
    expect(decodeTaint(12288).letters).toBe('OE');
    // after an oops and a SLUB report: D and B join them
    expect(decodeTaint(12288 + 128 + 32).letters).toBe('BDOE');
    expect(decodeTaint(2 ** 25).flags).toEqual([{ letter: '?', meaning: 'unknown bits 0x2000000' }]);
    expect(formatTaint(decodeTaint(12288))).toBe('OE (12288): out-of-tree module loaded, unsigned module loaded');
  });

  it("reads the guest /init's report line", () => {
    expect(taintFromBootReport(['loaded @14.64', 'taint 4096 @14.72', 'ready @14.72'])?.letters).toBe('O');
    expect(taintFromBootReport(['ready @1.0'])).toBeUndefined();
  });
});
