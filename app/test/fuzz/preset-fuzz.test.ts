// Fuzzing the preset grammar: presets generated from the vocabulary (see
// generate.ts) are validated, and the valid ones run on the simulated kernel
// through the real binary, each with a wall-clock bound. Every run must end
// by itself, with exit 0 or 1 and a summary; every invalid preset must be
// refused with exit 2 and a file:line message; nothing may ever show a stack
// trace. CI runs a fixed seed budget; FUZZ_SEEDS=from-to runs more.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTypescript } from '../build-first.js';
import { pool, runCli, userFacingProblems } from '../hostile/run-cli.js';
import { validateScenario } from '../../vocabulary/scenario.js';
import { generatePreset, profileFor, Rand } from './generate.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(buildTypescript, 180_000);

const [FROM, TO] = (process.env.FUZZ_SEEDS ?? '1-30').split('-').map(Number) as [number, number];
const seeds = Array.from({ length: TO - FROM + 1 }, (_, i) => FROM + i);

/** Cuts, swaps and retypes parts of a generated preset: the validator must answer, never throw. */
function mangle(v: unknown, r: Rand, depth = 0): unknown {
  if (depth > 6) return v;
  if (Array.isArray(v)) return r.chance(0.1) ? {} : v.map((x) => mangle(x, r, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (r.chance(0.05)) continue;
      out[r.chance(0.03) ? r.pick(['__proto__', 'constructor', `${k}x`, '']) : k] = r.chance(0.05) ? r.pick([null, -1, 1e308, '', [], {}, 'x'.repeat(5000), true, NaN]) : mangle(x, r, depth + 1);
    }
    return out;
  }
  return v;
}

describe('preset fuzzing', () => {
  it('the validator answers every generated and mangled preset without throwing', () => {
    let valid = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const p = generatePreset(seed);
      const a = validateScenario(JSON.parse(JSON.stringify(p)));
      expect(a.scenario !== undefined || a.issues.length > 0).toBe(true);
      if (a.scenario) valid++;
      const b = validateScenario(mangle(JSON.parse(JSON.stringify(p)), new Rand(seed)));
      expect(b.scenario !== undefined || b.issues.length > 0).toBe(true);
    }
    // The generator mostly writes valid presets: it tests the runtime, not only the validator.
    expect(valid).toBeGreaterThan(600);
  });

  it(`generated presets (seeds ${FROM}-${TO}) run to their end within a wall-clock bound: exit 0/1 and a summary, or exit 2 when invalid; never a stack trace`, async () => {
    const problems = (
      await pool(seeds, 3, async (seed) => {
        const p = generatePreset(seed);
        const file = join(tmp, `fuzz-${seed}.yaml`);
        writeFileSync(file, JSON.stringify(p, null, 1));
        const valid = validateScenario(JSON.parse(JSON.stringify(p))).scenario !== undefined;
        const out = join(tmp, `run-${seed}`);
        // The wall-clock limit is the engine's own guard; the bound kills the process if even that fails.
        const r = await runCli(['run', file, '--quiet', '--out', out, '--seed', String(seed), '--profile', profileFor(seed), '--wall-limit', '60s'], { boundMs: 120_000 });
        const bad = userFacingProblems(r).map((x) => `seed ${seed}: ${x}`);
        const want = valid ? [0, 1] : [2];
        if (!want.includes(r.code ?? -1)) bad.push(`seed ${seed}: exit ${r.code}, expected ${want.join(' or ')}\n${r.out.slice(0, 800)}\n${r.err.slice(0, 800)}`);
        if (valid && !existsSync(join(out, 'summary.json'))) bad.push(`seed ${seed}: no summary.json`);
        if (!valid && !/fuzz-\d+\.yaml(:\d+:\d+)?: /.test(r.err)) bad.push(`seed ${seed}: refused without saying where: ${r.err.slice(0, 400)}`);
        return bad;
      })
    ).flat();
    expect(problems).toEqual([]);
  }, 900_000);
});
