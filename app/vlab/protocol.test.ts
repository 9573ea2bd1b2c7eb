import { describe, expect, it } from 'vitest';
import { encodeExec, encodeFrame, F, FrameDecoder, HEADER_BYTES } from './protocol.js';

describe('control channel framing', () => {
  it('round-trips frames split at every byte boundary', () => {
    const frames = [encodeFrame(F.STDOUT, 7, Buffer.from([0, 1, 2, 255, 10, 13])), encodeFrame(F.EXIT, 7, Buffer.from([3, 0, 0, 0])), encodeFrame(F.PING, 0)];
    const all = Buffer.concat(frames);
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
      expect(got.map((f) => [f.type, f.chan, [...f.payload]])).toEqual([
        [F.STDOUT, 7, [0, 1, 2, 255, 10, 13]],
        [F.EXIT, 7, [3, 0, 0, 0]],
        [F.PING, 0, []],
      ]);
    }
  });

  it('lays out the header as guestd reads it', () => {
    const f = encodeFrame(F.STDIN, 0x01020304, Buffer.from('ab'));
    expect(f.length).toBe(HEADER_BYTES + 2);
    expect(f.readUInt32LE(0)).toBe(7);
    expect(f[4]).toBe(F.STDIN);
    expect(f.readUInt32LE(5)).toBe(0x01020304);
  });

  it('rejects a stream that lost sync instead of misreading it', () => {
    const d = new FrameDecoder();
    const bad = Buffer.alloc(HEADER_BYTES);
    bad.writeUInt32LE(2, 0);
    expect(() => d.push(bad)).toThrow(/out of sync/);
  });

  it('encodes exec requests as counts and NUL-terminated strings', () => {
    const p = encodeExec({ argv: ['aplay', '-l'], env: ['A=1'], cwd: '/tmp' });
    expect(p.readUInt16LE(0)).toBe(2);
    expect(p.readUInt16LE(2)).toBe(1);
    expect(p.subarray(4).toString()).toBe('/tmp\0aplay\0-l\0A=1\0');
    expect(() => encodeExec({ argv: [], env: [], cwd: '/' })).toThrow(/needs a program/);
    expect(() => encodeExec({ argv: ['a\0b'], env: [], cwd: '/' })).toThrow(/NUL/);
  });
});
