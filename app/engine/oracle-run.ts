// A run's oracle: the same scenario, seed and budget on the simulated kernel
// with today's fixes, compared step by step with what the run saw (see
// analysis/oracle.ts). Its own journal goes to <out>/oracle/, the comparison
// to <out>/oracle.json, and summary.json says where they are.
import { formatCount } from '../api/tally.js';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OracleSide, compareSides, type LibraryReport, type OracleReport, type OracleSummary } from '../analysis/oracle.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { type RunHandle, type RunSummary, startRun } from './run.js';
import type { Finding } from '../events/types.js';
import { bindCards, checkHardware, inventoryFromDevices } from '../targets/hardware.js';
import { simDeviceList } from '../sim/devices.js';
import { agreementText, compareFindings } from '../analysis/agreement.js';

/** Feed a run's events into one side of the comparison as they stream. */
export function watchForOracle(h: RunHandle): OracleSide {
  const side = new OracleSide();
  h.subscribe((e) => side.feed(e));
  return side;
}

/**
 * Runs the model and compares; `target` and `profile` are the observed run's,
 * for its label. `modelProfile` is the model's kernel profile (default fixed):
 * a real kernel with a historic bug patched in is compared with the simulated
 * kernel with the same bug switched on, and then `observedFindings` (the
 * observed run's) are set beside the model's (agreement.ts).
 */
export async function runOracle(o: { scenario: Scenario; seed: number; duration?: number; observed: OracleSide; target: string; profile: readonly string[]; modelProfile?: readonly string[]; observedFindings?: readonly Finding[]; outDir?: string; loadScenario?: (n: string) => Scenario }): Promise<OracleReport> {
  const modelProfile = o.modelProfile?.length ? [...o.modelProfile] : ['fixed'];
  // The model runs the scenario on its own cards: a variant written for the
  // virtual lab's hardware (the StressDPCM card) maps onto the simulated card
  // of the same kind (SimSoC). What does not map runs as written, and its
  // steps are reported as not comparable.
  const mapped = checkHardware(o.scenario, inventoryFromDevices(simDeviceList(), 'the simulated kernel'));
  const h = startRun({
    scenario: mapped.ok ? bindCards(o.scenario, mapped.binding) : o.scenario,
    target: new SimTarget({ profile: modelProfile }),
    seed: o.seed,
    ...(o.duration !== undefined ? { duration: o.duration } : {}),
    ...(o.outDir ? { outDir: join(o.outDir, 'oracle') } : {}),
    journalSync: false,
    ...(o.loadScenario ? { loadScenario: o.loadScenario } : {}),
  });
  const model = new OracleSide();
  h.subscribe((e) => model.feed(e));
  const modelSummary = await h.done;
  const labels = { a: o.target === 'sim' ? `sim (${o.profile.join(',')})` : o.profile.length && o.profile.join(',') !== 'fixed' ? `${o.target} (${o.profile.join(',')})` : o.target, b: modelProfile.join(',') === 'fixed' ? 'model' : `model (${modelProfile.join(',')})` };
  const report: OracleReport = { ...compareSides(o.observed, model, labels), model_profile: modelProfile };
  // Side by side only when both sides had the same bug: with the model on fixed its silence is expected.
  if (o.observedFindings && modelProfile.join(',') !== 'fixed') report.agreement = compareFindings(o.observedFindings, modelSummary.findings, labels);
  return report;
}

/** Write oracle.json and summary.json with the oracle's digest (atomically: a reader never sees half a file). */
export function recordOracle(outDir: string, summary: RunSummary, report: OracleReport): RunSummary {
  writeFileSync(join(outDir, 'oracle.json'), JSON.stringify(report, null, 2) + '\n');
  const oracle: OracleSummary = {
    against: `sim (profile ${(report.model_profile ?? ['fixed']).join(',')})`,
    ...(report.agreement ? { agreement: report.agreement } : {}),
    compared: report.compared,
    divergences: report.significant,
    rare: report.divergences.length - report.significant,
    not_comparable: report.not_comparable.slice(0, 20),
    items: report.divergences.slice(0, 20).map((d) => ({ kind: d.kind, significant: d.significant, chance: d.chance, message: d.message })),
    ...(report.library ? { library: { traced: report.library.traced, compared: report.library.compared, agree: report.library.agree } } : {}),
    report: 'oracle.json',
    journal: 'oracle/journal.jsonl',
  };
  const withOracle = { ...summary, oracle };
  const path = join(outDir, 'summary.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(withOracle, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
  return withOracle;
}

export function oracleText(r: OracleReport, max = 20, between = `with the simulated kernel (${(r.model_profile ?? ['fixed']).join(',')})`): string {
  const rare = r.divergences.length - r.significant;
  const lines = [`oracle: ${formatCount(r.compared)} step(s) compared ${between}: ${formatCount(r.significant)} divergence(s)${rare ? `, ${formatCount(rare)} rare difference(s) timing alone could explain` : ''}${r.only_a.length || r.only_b.length ? `; ${formatCount(r.only_a.length + r.only_b.length)} step(s) ran on one side only` : ''}`];
  for (const n of r.not_comparable.slice(0, max)) lines.push(`  [not compared] ${n}`);
  for (const d of r.divergences.slice(0, max)) lines.push(`  [${d.significant ? d.kind : `rare ${d.kind}, chance ${d.chance.toFixed(2)}`}] ${d.message}`);
  if (r.divergences.length > max) lines.push(`  … ${formatCount(r.divergences.length - max)} more in oracle.json`);
  if (r.library) lines.push(...libraryText(r.library, r.labels, max));
  return lines.join('\n') + '\n' + (r.agreement ? agreementText(r.agreement) : '');
}

/** The library ops' ALSA calls, side by side: what agreed, what the probe and the libraries' threads did. */
export function libraryText(l: LibraryReport, labels: { a: string; b: string }, max = 20): string[] {
  const untraced = (['a', 'b'] as const).filter((s) => !l.traced[s]).map((s) => labels[s]);
  const lines = [`library calls: ${formatCount(l.compared)} step(s) compared, ${formatCount(l.agree)} agree call for call${untraced.length ? `; not traced on ${untraced.join(' and ')} (compared by outcome only)` : ''}`];
  if (l.cards_only_a.length || l.cards_only_b.length) lines.push(`  cards one side's probe saw, not compared: ${labels.a} ${l.cards_only_a.join(', ') || '-'}; ${labels.b} ${l.cards_only_b.join(', ') || '-'}`);
  for (const s of l.steps.slice(0, max)) {
    const parts = [`${s.core} (${s.core_calls} call(s))`];
    if (s.probe) parts.push(`probe: ${s.probe.matched} matched${s.probe.only_a ? `, only ${labels.a} ${s.probe.only_a} (${s.probe.only_a_calls})` : ''}${s.probe.only_b ? `, only ${labels.b} ${s.probe.only_b} (${s.probe.only_b_calls})` : ''}`);
    if (s.background) parts.push(`threads: ${labels.a} ${fmt(s.background.a)}; ${labels.b} ${fmt(s.background.b)}`);
    lines.push(`  ${s.where}: ${parts.join('; ')}`);
  }
  if (l.steps.length > max) lines.push(`  … ${l.steps.length - max} more in oracle.json`);
  return lines;
}

const fmt = (m: Record<string, number>) => Object.entries(m).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing';
