// Preset files: valid ones parse; every mistake is reported with the file,
// the line and column, the path inside the preset and what was expected.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PresetError, checkPreset, parsePreset } from './preset-file.js';
import { defaultPresetDir } from '../engine/presets.js';
import { Rng } from '../sim/kernel/rng.js';

const GOOD = `name: t
duration: 2s
setup:
  - pcm.open: { handle: p, card: Dummy }
lanes:
  - name: a
    loop:
      - pcm.hw_params: { handle: p, rate: 48000, period_size: 48, periods: 4 }
      - barrier: go
  - name: b
    loop:
      - barrier: go
      - sleep: 1ms
`;

function problems(text: string) {
  return checkPreset(text, 'x.yaml').problems;
}

describe('preset files', () => {
  it('every shipped preset is valid', () => {
    const dir = defaultPresetDir();
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) expect(problems(readFileSync(join(dir, f), 'utf8')), f).toEqual([]);
  });

  it('parses a good preset, counting barrier parties from the lanes that use them', () => {
    const { scenario } = parsePreset(GOOD, 'x.yaml');
    expect(scenario.lanes.map((l) => l.name)).toEqual(['a', 'b']);
    expect(scenario.barriers).toEqual({ go: 2 });
    expect(scenario.duration).toBe(2e9);
  });

  it('accepts JSON too', () => {
    const json = JSON.stringify({ name: 'j', lanes: [{ name: 'a', loop: [{ sleep: '1ms' }] }] });
    expect(problems(json)).toEqual([]);
  });

  it('names file, line:col, path and expectation for a bad value', () => {
    const p = problems(GOOD.replace('rate: 48000', 'rate: fast'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ file: 'x.yaml', line: 8, path: 'lanes[0].loop[0]["pcm.hw_params"].rate' });
    expect(p[0]!.message).toMatch(/expected an integer \(Hz\) between 1000 and 768000.*got "fast"/);
    expect(new PresetError(p).message).toMatch(/^x\.yaml:8:\d+: lanes\[0\]\.loop\[0\]/);
  });

  it('suggests the op or key that was probably meant', () => {
    expect(problems(GOOD.replace('pcm.hw_params', 'pcm.hw_param'))[0]!.message).toMatch(/unknown op "pcm.hw_param" \(did you mean "pcm.hw_params"\?\)/);
    expect(problems(GOOD.replace('rate: 48000', 'rte: 48000'))[0]!.message).toMatch(/unknown key "rte" \(did you mean "rate"\?\)/);
    expect(problems(GOOD.replace('expect', 'x') + 'expect:\n  errnos:\n    pcm.drop: [EBADF D]\n')[0]!.path).toMatch(/expect.errnos/);
  });

  it('catches cross-references: unopened handles, wrong handle kinds, barrier mismatches', () => {
    expect(problems(GOOD.replace('{ handle: p, rate', '{ handle: q, rate'))[0]!.message).toMatch(/handle "q" is never opened/);
    expect(problems(GOOD + "  - name: c\n    loop:\n      - seq.read: p\n")[0]!.message).toMatch(/needs a seq handle but "p" is a pcm handle/);
    expect(problems(GOOD.replace('- barrier: go\n  - name: b', '- barrier: { name: go, parties: 3 }\n  - name: b'))[0]!.message).toMatch(/waits for 3 parties but the scenario has only 2 lanes/);
  });

  it('rejects out-of-range and malformed values', () => {
    expect(problems(GOOD.replace('duration: 2s', 'duration: -2s'))[0]!.message).toMatch(/expected a duration/);
    expect(problems(GOOD.replace('periods: 4', 'periods: 0'))[0]!.message).toMatch(/between 1 and 65536/);
    expect(problems(GOOD.replace('sleep: 1ms', 'sleep: 1 week'))[0]!.message).toMatch(/duration/);
    expect(problems('name: t\nlanes: []\n')[0]!.message).toMatch(/at least 1/);
    expect(problems('')[0]!.message).toMatch(/empty/);
    expect(problems('name: t\nlanes:\n  - name: a\n    loop:\n      - sleep: 1ms\n        jitter: 2ms\n')[0]!.message).toMatch(/exactly one op per step/);
  });

  it('reports YAML syntax errors with their position', () => {
    const p = problems('name: t\nlanes: [\n');
    expect(p[0]!.path).toBe('(syntax)');
    expect(p[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('fuzz: thousands of mutated presets never throw anything but PresetError', () => {
    const sources = readdirSync(defaultPresetDir())
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(defaultPresetDir(), f), 'utf8'));
    const rng = new Rng(2024);
    const junk = ['', '{', '}', '[', ']', ':', '- ', '\n', '  ', '"', "'", '&a', '*a', '!!binary', '~', 'null', '-1', '1e999', '0x', 'NaN', '\t', '#', '|', '>'];
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let t = sources[rng.below(sources.length)]!;
      const edits = 1 + rng.below(4);
      for (let e = 0; e < edits; e++) {
        const pos = rng.below(t.length + 1);
        const kind = rng.below(4);
        if (kind === 0) t = t.slice(0, pos) + junk[rng.below(junk.length)] + t.slice(pos);
        else if (kind === 1) t = t.slice(0, pos) + t.slice(pos + 1 + rng.below(8));
        else if (kind === 2) t = t.slice(0, pos) + String.fromCharCode(rng.below(0x250)) + t.slice(pos);
        else {
          const at = rng.below(t.length);
          t = t.slice(0, pos) + t.slice(at, at + rng.below(40)) + t.slice(pos);
        }
      }
      try {
        parsePreset(t, 'fuzz.yaml');
      } catch (err) {
        expect(err).toBeInstanceOf(PresetError);
        for (const p of (err as PresetError).problems) expect(p.message.length).toBeGreaterThan(0);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000);
    // CPU-bound: a loaded shared host took over a minute for the 3000 presets
  }, 600_000);
});
