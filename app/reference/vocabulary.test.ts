// The reference is the code's: docs/vocabulary.md is what the schemas and the
// program's defaults say today, every key a schema accepts is described, and
// the defaults it states are the ones the validator and compiler apply.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESCRIPTIONS, opDocs, schemaKeys, vocabularyMarkdown } from './vocabulary.js';
import { repoRoot } from '../targets/agent/binary.js';
import { validateScenario } from '../vocabulary/scenario.js';
import { compileProgram } from '../program/compile.js';
import { OPS } from '../vocabulary/ops.js';
import { runCli } from '../cli/main.js';
import { appCommands } from '../cli/commands/index.js';

describe('the vocabulary reference', () => {
  it('docs/vocabulary.md is the generated reference (regenerate: stresslab ops --markdown > docs/vocabulary.md)', () => {
    expect(readFileSync(join(repoRoot(), 'docs', 'vocabulary.md'), 'utf8')).toBe(vocabularyMarkdown());
  });

  it('describes every key the preset schemas accept', () => {
    const missing: string[] = [];
    for (const [section, keys] of Object.entries(schemaKeys())) for (const k of Object.keys(keys)) if (!DESCRIPTIONS[section]?.[k]) missing.push(`${section}.${k}`);
    expect(missing).toEqual([]);
  });

  it('lists every argument of every op with its type and range, and the program\'s default', () => {
    const docs = opDocs();
    expect(docs.map((d) => d.name)).toEqual(OPS.map((o) => o.name));
    const hw = docs.find((d) => d.name === 'pcm.hw_params')!;
    expect(hw.args.map((a) => a.name)).toEqual(['handle', 'access', 'format', 'channels', 'rate', 'period_size', 'periods', 'buffer_size']);
    expect(hw.args.find((a) => a.name === 'access')).toMatchObject({ default: 'rw_interleaved' });
    expect(hw.args.find((a) => a.name === 'rate')!.type).toMatch(/between 1000 and 768000/);
    expect(hw.args.find((a) => a.name === 'period_size')!.note).toMatch(/preferred 1024/);
    const open = docs.find((d) => d.name === 'pcm.open')!;
    expect(open.args.find((a) => a.name === 'card')).toMatchObject({ required: false, default: 0 });
    expect(open.args.find((a) => a.name === 'handle')).toMatchObject({ required: true });
  });

  it('states the defaults the validator and the compiler really apply', () => {
    const { scenario } = validateScenario({
      name: 'd',
      setup: [{ 'seq.open': 's' }, { 'pcm.open': 'p' }],
      lanes: [{ name: 'a', loop: [{ 'seq.read': 's' }, { jitter: '1ms' }, { 'pcm.write': 'p' }, { 'pcm.sw_params': 'p' }, { 'seq.send': { handle: 's', to: 's:0' } }] }],
    });
    expect(scenario!.duration).toBe(10e9);
    expect(scenario!.expect.stopOn).toBe('critical');
    expect(scenario!.expect.hangTimeout).toBe(5e9);
    const md = vocabularyMarkdown();
    expect(md).toMatch(/\| `duration` \| [^|]+ \| 10s \|/);
    expect(md).toMatch(/\| `hang_timeout` \| [^|]+ \| 5s \|/);
    const p = compileProgram(scenario!, { seed: 1 });
    const [read, jitter, write, sw, send] = p.lanes[0]!.steps;
    const arg = (name: string, key: string) => opDocs().find((d) => d.name === name)!.args.find((a) => a.name === key)!;
    expect(read!.args.bytes).toEqual({ fixed: (arg('seq.read', 'max').default as number) * 28 });
    expect(read!.args.block).toEqual({ fixed: arg('seq.read', 'block').default });
    expect(jitter!.args.for).toEqual({ range: [arg('jitter', 'min').default, 1e6], int: true });
    expect(write!.args.periods).toEqual({ fixed: arg('pcm.write', 'periods').default });
    expect(write!.args.pattern).toEqual({ fixed: arg('pcm.write', 'pattern').default });
    expect(sw!.args.avail_min).toEqual({ fixed: arg('pcm.sw_params', 'avail_min').default });
    expect(send!.args.count).toEqual({ fixed: arg('seq.send', 'count').default });
    expect(p.setup.steps[0]!.args.name).toEqual({ fixed: 'stresslab-s' });
    expect(arg('seq.open', 'name').default).toBe('stresslab-<handle>');
  });

  it('stresslab ops --json names every argument (not "arguments of ... with keys handle")', async () => {
    let out = '';
    const code = await runCli(['ops', '--json'], appCommands(), { out: (t) => (out += t), err: () => {}, isTTY: false, cwd: '.', env: {} });
    expect(code).toBe(0);
    const ops = JSON.parse(out) as { name: string; args: { name: string; type: string }[] }[];
    const hw = ops.find((o) => o.name === 'pcm.hw_params')!;
    expect(hw.args.length).toBeGreaterThan(5);
    expect(JSON.stringify(ops)).not.toMatch(/arguments of [a-z._]+ with keys/);
  });
});
