// The same counts in summary.json, the app's run view, the HTML report and the
// CLI, for runs on the simulated kernel: one with xruns in every iteration
// (dpcm-route-change, where they used to be lost when a run stopped early), a
// soak with an xrun threshold, and a suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PresetLibrary } from '../engine/presets.js';
import { startRun } from '../engine/run.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import { applyThresholdArgs } from '../cli/commands/run.js';
import { expectOneSetOfNumbers } from './numbers.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-numbers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const lib = new PresetLibrary();

async function run(name: string, profile: string[], thresholds: string[] = []) {
  const outDir = join(tmp, `${name}-${profile.join('+')}`);
  const scenario = applyThresholdArgs(lib.load(name).scenario, thresholds);
  await startRun({ scenario, target: new SimTarget({ profile }), seed: 1, outDir, journalSync: false, loadScenario: (n) => lib.load(n).scenario }).done;
  return outDir;
}

describe('one set of numbers on the simulated kernel', () => {
  it('dpcm-route-change: every iteration ends in an xrun, and every view counts them the same', async () => {
    const s = expectOneSetOfNumbers(await run('dpcm-route-change', ['fixed'], ['xruns=0']));
    const statusXrun = s.counts!.streams.find((x) => x.stream === 'fe')!;
    // 72 iterations on seed 1; each but the one the budget cuts ends in XRUN
    expect(statusXrun.xruns).toBeGreaterThan(50);
    expect(s.findings.map((f) => f.type)).toContain('xrun-threshold');
  });

  it('a run stopped at its first finding (28 ms, before any periodic sample) still counts its xruns', async () => {
    const s = expectOneSetOfNumbers(await run('dpcm-route-change', ['dpcm-unlocked-be-list']));
    expect(s.status).toBe('stopped');
    expect(s.counts!.xruns).toBeGreaterThan(0);
  });

  it('a soak and a suite', async () => {
    expectOneSetOfNumbers(await run('qa-soak', ['fixed']));
    const demo = expectOneSetOfNumbers(await run('demo', ['fixed']));
    // a suite's streams are kept apart per phase
    expect(demo.counts!.streams.map((x) => x.stream)).toContain('dpcm-route-change/fe');
  });
});
