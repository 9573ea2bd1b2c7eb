import { describe, expect, it } from 'vitest';
import { LineDecoder } from './protocol.js';
import { decodeMessage, encodeMessage, unwrap14 } from './child/midi-codec.js';
import { decodeChannel0, encodeFrames } from './child/samples.js';
import { libraryProgram, LibraryProgramError } from './program.js';
import { compileProgram } from '../program/compile.js';
import { validateScenario } from '../vocabulary/scenario.js';
import { placementOf } from '../vocabulary/placement.js';
import { allSteps } from '../vocabulary/scenario.js';
import { childCommand } from './session.js';

const lib = (extra: Record<string, unknown> = {}) => ({
  name: 'x',
  duration: '1s',
  lanes: [{ name: 'a', loop: [{ 'pa.open': { handle: 's', device: 'hw:Loopback,0', rate: [44100, 48000] } }, { 'pa.write': { handle: 's', frames: 256 } }, { 'pa.close': 's' }] }],
  ...extra,
});

describe('application lane vocabulary', () => {
  it('validates library presets like any other', () => {
    const r = validateScenario(lib());
    expect(r.issues).toEqual([]);
    expect(placementOf(allSteps(r.scenario!))).toBe('library');
  });

  it('refuses a preset that mixes raw ioctls with library ops, naming both', () => {
    const r = validateScenario(lib({ setup: [{ 'pcm.open': { handle: 'p', card: 0 } }] }));
    expect(r.issues.map((i) => i.message).join()).toMatch(/pcm.open is a raw ioctl op .*\(pa.open at lanes\[0\].loop\[0\]\)/);
  });

  it('allows timing and device ops beside library ops', () => {
    const r = validateScenario(lib({ setup: [{ sleep: '1ms' }, { 'device.detach': 'Audio' }, { 'device.attach': 'Audio' }] }));
    expect(r.issues).toEqual([]);
  });

  it('checks handle kinds across the lanes (a pa handle is not a pcm handle)', () => {
    const r = validateScenario({ name: 'x', lanes: [{ name: 'a', loop: [{ 'pa.open': 's' }, { 'midi.send': { handle: 's' } }] }] });
    expect(r.issues.map((i) => i.message).join()).toMatch(/midi.send needs a midi handle but "s" is a pa handle/);
  });

  it('refuses a bad format, channel count or SysEx size with the reason', () => {
    const r = validateScenario({ name: 'x', lanes: [{ name: 'a', loop: [{ 'pa.open': { handle: 's', format: 'S20_LE', channels: 0 } }, { 'midi.open': 'm' }, { 'midi.send': { handle: 'm', type: 'sysex', size: 3 } }] }] });
    const text = r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(text).toMatch(/format/);
    expect(text).toMatch(/channels/);
    expect(text).toMatch(/size/);
  });

  it('runs the resolved program, with the agent\'s rng streams; an agent preset is refused', () => {
    const p = libraryProgram(compileProgram(validateScenario(lib()).scenario!, { seed: 7, duration: 1e9 }));
    expect(p.lanes[0]!.rngStream).toBe(0);
    expect(p.setup.rngStream).toBe(1000);
    expect(p.teardown.rngStream).toBe(1001);
    expect(p.handles).toEqual([{ name: 's', kind: 'pa' }]);
    // library ops carry what the preset wrote
    expect(p.lanes[0]!.steps[0]!.args).toEqual({ device: { fixed: 'hw:Loopback,0' }, rate: { list: [44100, 48000] } });
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    const agent = validateScenario({ name: 'y', lanes: [{ name: 'a', loop: [{ 'pcm.open': 'p' }] }] }).scenario!;
    expect(() => libraryProgram(compileProgram(agent, { seed: 1, duration: 1e9 }))).toThrow(LibraryProgramError);
  });
});

describe('protocol lines', () => {
  it('reassembles messages split anywhere and reports garbage without stopping', () => {
    const got: unknown[] = [];
    const bad: string[] = [];
    const d = new LineDecoder<{ type: string }>((m) => got.push(m), (l, why) => bad.push(`${why}: ${l}`));
    const text = '{"type":"hello","proto":1}\nOutput device name is X\n{"type":"pong","token":"a"}\n{"no":1}\n{"type":"heart';
    for (const ch of text) d.push(ch);
    d.push('beat","t":1}\n');
    d.end();
    expect(got).toEqual([{ type: 'hello', proto: 1 }, { type: 'pong', token: 'a' }, { type: 'heartbeat', t: 1 }]);
    expect(bad).toHaveLength(2);
  });

  it('the guest command puts the protocol (fd 3) on stdout and stdout on stderr', () => {
    const c = childCommand('/usr/bin/node', '/x/main.js');
    expect(c.cmd).toBe('/bin/sh');
    expect(c.args[1]).toBe('exec "$0" "$1" 3>&1 1>&2');
    expect(c.args.slice(2)).toEqual(['/usr/bin/node', '/x/main.js']);
  });
});

describe('numbered MIDI messages', () => {
  it.each(['note', 'controller'] as const)('%s carries the stream id and 14 bits of the number', (kind) => {
    const m = encodeMessage(kind, 5, 20000);
    expect(m).toHaveLength(3);
    expect(decodeMessage(m)).toEqual({ kind, sid: 5, n: 20000 % 16384, wrapped: true });
  });

  it('SysEx carries the whole number and pads to the size asked', () => {
    const m = encodeMessage('sysex', 300, 123456789, 64);
    expect(m).toHaveLength(64);
    expect(m[0]).toBe(0xf0);
    expect(m[63]).toBe(0xf7);
    expect(m.every((b, i) => i === 0 || i === 63 || b < 0x80)).toBe(true);
    expect(decodeMessage(m)).toEqual({ kind: 'sysex', sid: 300, n: 123456789, wrapped: false });
  });

  it('foreign messages are not taken for ours', () => {
    expect(decodeMessage([0xf8])).toBeUndefined();
    expect(decodeMessage([0x80, 60, 0])).toBeUndefined();
  });

  it('unwraps 14-bit numbers against the last one seen', () => {
    expect(unwrap14(5, -1)).toBe(5);
    expect(unwrap14(2, 16383)).toBe(16386);
    expect(unwrap14(16380, 16386)).toBe(16380);
    expect(unwrap14(100, 3 * 16384 + 50)).toBe(3 * 16384 + 100);
  });
});

describe('sample formats', () => {
  it.each(['S8', 'S16_LE', 'S24_3LE', 'S32_LE', 'FLOAT_LE'] as const)('%s round-trips channel 0 of an interleaved buffer', (f) => {
    const x = new Float32Array([0, 0.5, -0.5, 0.25, -1, 1]);
    const b = encodeFrames(x, 3, f);
    const y = decodeChannel0(b, 3, f);
    expect(y.length).toBe(x.length);
    y.forEach((v, i) => expect(Math.abs(v - x[i]!)).toBeLessThan(f === 'S8' ? 0.01 : 1e-4));
  });
});
