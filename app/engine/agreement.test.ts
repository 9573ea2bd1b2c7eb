// Simulation and reality side by side, tested simulation against simulation:
// a run with a family's historic bug compared by the oracle with the model on
// the same bug agrees (type, function, lanes); with a different bug it does
// not; the digest reads a real kernel's report as it reads the model's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PresetLibrary } from './presets.js';
import { startRun } from './run.js';
import { oracleText, recordOracle, runOracle, watchForOracle } from './oracle-run.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import { compareFindings, digest, functionName } from '../analysis/agreement.js';
import { reportFromJournal } from '../report/report.js';
import type { Finding } from '../events/types.js';

const lib = new PresetLibrary();
const tmp = mkdtempSync(join(tmpdir(), 'stresslab-agree-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function sideBySide(preset: string, profile: string[], modelProfile: string[], seed = 1) {
  const scenario = lib.load(preset).scenario;
  const outDir = join(tmp, `${preset}-${profile.join('+')}-${modelProfile.join('+')}`);
  const h = startRun({ scenario, target: new SimTarget({ profile }), seed, outDir, journalSync: false });
  const observed = watchForOracle(h);
  const summary = await h.done;
  const report = await runOracle({ scenario, seed, observed, target: 'sim', profile, modelProfile, observedFindings: summary.findings, outDir });
  return { summary: recordOracle(outDir, summary, report), report, outDir };
}

const FAMILIES: [string, string, string, string][] = [
  ['seq-pool-resize', 'seq-fifo-stale-cell', 'hang', 'snd_seq_pool_done'],
  ['dpcm-route-change', 'dpcm-unlocked-be-list', 'use-after-free', 'dpcm_be_dai_trigger'],
  ['parallel-hw-params', 'pcm-unlocked-hw-params', 'torn-hw-params', ''],
  ['detach-while-open', 'detach-without-drain', 'use-after-free', 'wait_for_avail'],
  ['stop-close-race', 'pcm-no-sync-stop', 'null-deref', 'snd_pcm_period_elapsed'],
];

describe('simulation and reality side by side (sim against sim)', () => {
  for (const [preset, bug, type, fn] of FAMILIES)
    it(`${preset}: ${bug} on both sides agrees on ${type}${fn ? ` in ${fn}` : ''}`, async () => {
      const { summary, report } = await sideBySide(preset, [bug], [bug]);
      expect(report.model_profile).toEqual([bug]);
      const g = report.agreement!;
      expect(g, JSON.stringify(summary.findings.map((f) => f.type))).toBeDefined();
      expect(g.verdict, g.text).toBe('agree');
      expect(g.a!.type).toBe(type);
      expect(g.b!.type).toBe(type);
      if (fn) expect(g.checks.find((c) => c.what === 'function')).toMatchObject({ result: 'same', a: fn, b: fn });
      expect(g.checks.find((c) => c.what === 'lanes')!.result).toBe('same');
      expect(g.a!.lanes.length).toBeGreaterThan(0);
      // summary.json, the CLI text and the HTML report carry it
      expect(summary.oracle!.against).toBe(`sim (profile ${bug})`);
      expect(summary.oracle!.agreement!.verdict).toBe('agree');
      expect(oracleText(report)).toMatch(new RegExp(`with the simulated kernel \\(${bug}\\)[\\s\\S]*simulation and reality: agree: type same \\(${type}\\)`));
    });

  it('with different bugs on the two sides they disagree, and the report says so', async () => {
    const { report, outDir } = await sideBySide('stop-close-race', ['pcm-no-sync-stop'], ['pcm-unlocked-hw-params']);
    const g = report.agreement!;
    expect(g.verdict).toBe('disagree');
    expect(g.text).toMatch(/^only sim \(pcm-no-sync-stop\) found the bug \(null-deref in snd_pcm_period_elapsed\); model \(pcm-unlocked-hw-params\) found no kernel bug$/);
    const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8'));
    const html = await reportFromJournal(join(outDir, 'journal.jsonl'), summary, 'x');
    expect(html).toContain('Simulation and reality: they disagree');
    expect(html).toContain('no kernel bug found');
  });

  it('a variant for the virtual lab\'s DPCM card runs on the model\'s SimSoC (mapped by kind), and they agree', async () => {
    const sim = lib.load('dpcm-route-change').scenario;
    const h = startRun({ scenario: sim, target: new SimTarget({ profile: ['dpcm-unlocked-be-list'] }), seed: 1, journalSync: false });
    const observed = watchForOracle(h);
    const summary = await h.done;
    // the same steps written for the real card (as dpcm-route-change-stressdpcm is)
    const real = JSON.parse(JSON.stringify(sim).replaceAll('"SimSoC"', '"StressDPCM"'));
    const report = await runOracle({ scenario: real, seed: 1, observed, target: 'vm', profile: ['dpcm-unlocked-be-list'], modelProfile: ['dpcm-unlocked-be-list'], observedFindings: summary.findings });
    expect(report.not_comparable).toEqual([]);
    expect(report.agreement!.labels).toEqual({ a: 'vm (dpcm-unlocked-be-list)', b: 'model (dpcm-unlocked-be-list)' });
    expect(report.agreement!.verdict, report.agreement!.text).toBe('agree');
  });

  it('against the fixed model there is no side by side (its silence is the point)', async () => {
    const { report } = await sideBySide('stop-close-race', ['pcm-no-sync-stop'], ['fixed']);
    expect(report.model_profile).toEqual(['fixed']);
    expect(report.agreement).toBeUndefined();
  });
});

describe('finding digests', () => {
  const f = (x: Partial<Finding>): Finding => ({ id: 'x#1', type: 'use-after-free', severity: 'critical', t: 1, message: 'm', ...x });

  it('a real kernel report: the function without offsets, the interrupt from its <IRQ> frame, lanes from what was in flight', () => {
    expect(functionName('dpcm_be_dai_trigger+0x11d/0x451')).toBe('dpcm_be_dai_trigger');
    expect(functionName('snd_pcm_period_elapsed.part.0+0x2a/0x90')).toBe('snd_pcm_period_elapsed');
    const real = f({ evidence: { function: 'dpcm_be_dai_trigger+0x1b/0x2d0 [snd_soc_core]'.replace(/ \[.*$/, '') }, klog: ['general protection fault', ' <IRQ>', ' dpcm_be_dai_trigger+0x1b/0x2d0'], inflight: [{ lane: 'router', op: 'ctl.write', since: 0 }] });
    expect(digest(real)).toMatchObject({ function: 'dpcm_be_dai_trigger', lanes: ['irq', 'router'] });
    const hang = f({ type: 'hang', evidence: { stack: ['schedule', 'schedule_timeout_uninterruptible', 'snd_seq_pool_done'], lanes: ['app'] } });
    expect(digest(hang)).toMatchObject({ function: 'snd_seq_pool_done', lanes: ['app'] });
  });

  it('the verdicts: agree, partly (another function), disagree (another type), both quiet', () => {
    const a = f({ evidence: { function: 'x+0x1/0x2' }, lane: 'p' });
    expect(compareFindings([a], [f({ evidence: { function: 'x' }, lane: 'p' })], { a: 'vm', b: 'model' }).verdict).toBe('agree');
    expect(compareFindings([a], [f({ evidence: { function: 'y' }, lane: 'p' })], { a: 'vm', b: 'model' }).verdict).toBe('partly');
    expect(compareFindings([a], [f({ type: 'hang', lane: 'p' })], { a: 'vm', b: 'model' }).verdict).toBe('disagree');
    // errnos a preset did not expect are not the kernel breaking
    expect(compareFindings([f({ type: 'unexpected-errno' })], [], { a: 'vm', b: 'model' }).verdict).toBe('both-quiet');
  });
});
