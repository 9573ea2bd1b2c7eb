// A validated scenario back in the form a preset file writes it, so a
// minimised scenario can be saved as YAML and read again by the validator.
// Replicated lanes ("sender.0", "sender.1") fold back into `replicas`;
// durations go back to "250us"; barrier parties are left for the validator
// to derive again (minimising removes the lanes that met there).
// repro.test.ts round-trips every built-in preset through it.
import { stringify } from 'yaml';
import type { Scenario, Step } from '../vocabulary/scenario.js';
import type { Varying } from '../vocabulary/ops.js';
import { formatDuration } from '../vocabulary/duration.js';

/** Arguments that are durations, per op (held as ns after validation, written as "7ms"). */
const DURATION_ARGS: Record<string, string[]> = { sleep: ['for'], jitter: ['min', 'max'], 'midi.receive': ['for'] };

function isVarying(v: unknown): v is Varying<unknown> {
  return typeof v === 'object' && v !== null && 'kind' in v && ((v as { kind: string }).kind === 'list' || (v as { kind: string }).kind === 'random');
}

function value(v: unknown, dur: boolean): unknown {
  const one = (x: unknown) => (dur && typeof x === 'number' ? formatDuration(x) : x);
  if (isVarying(v)) {
    if (v.kind === 'random') return { random: [one(v.min), one(v.max)] };
    return v.values.length === 1 ? one(v.values[0]) : v.values.map(one);
  }
  return one(v);
}

function stepForm(s: Step): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const durs = DURATION_ARGS[s.op] ?? [];
  for (const [k, v] of Object.entries(s.args)) {
    if (s.op === 'barrier' && k === 'parties') continue;
    args[k] = value(v, durs.includes(k));
  }
  if (s.expect !== undefined) args.expect = s.expect;
  if (s.timeout !== undefined) args.timeout = formatDuration(s.timeout);
  if (s.label !== undefined) args.label = s.label;
  return { [s.op]: args };
}

export function presetForm(sc: Scenario): Record<string, unknown> {
  const out: Record<string, unknown> = { name: sc.name };
  if (sc.family) out.family = sc.family;
  if (sc.description) out.description = sc.description;
  out.duration = formatDuration(sc.duration);
  if (sc.iterations !== undefined) out.iterations = sc.iterations;
  const sim: Record<string, unknown> = {};
  if (sc.sim.bugProfile) sim.bug_profile = sc.sim.bugProfile;
  if (sc.sim.strategy) sim.strategy = sc.sim.strategy;
  if (sc.sim.depth !== undefined) sim.depth = sc.sim.depth;
  if (sc.sim.quantum !== undefined) sim.quantum = formatDuration(sc.sim.quantum);
  if (Object.keys(sim).length) out.sim = sim;
  if (sc.setup.length) out.setup = sc.setup.map(stepForm);
  const lanes: Record<string, unknown>[] = [];
  for (let i = 0; i < sc.lanes.length; ) {
    const l = sc.lanes[i]!;
    const m = /^(.*)\.(\d+)$/.exec(l.name);
    let n = 1;
    if (m && m[2] === '0') while (i + n < sc.lanes.length && sc.lanes[i + n]!.name === `${m[1]}.${n}` && JSON.stringify(sc.lanes[i + n]!.steps) === JSON.stringify(l.steps)) n++;
    lanes.push({ name: m ? m[1] : l.name, ...(n > 1 ? { replicas: n } : {}), ...(l.iterations !== undefined ? { iterations: l.iterations } : {}), loop: l.steps.map(stepForm) });
    i += n;
  }
  out.lanes = lanes;
  if (sc.teardown.length) out.teardown = sc.teardown.map(stepForm);
  const e = sc.expect;
  const expect: Record<string, unknown> = { hang_timeout: formatDuration(e.hangTimeout) };
  if (Object.keys(e.errnos).length) expect.errnos = e.errnos;
  const th: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e.thresholds)) if (v !== undefined) th[k] = k === 'xruns' || k === 'glitches' ? v : formatDuration(v);
  if (Object.keys(th).length) expect.thresholds = th;
  if (e.stopOn !== 'critical') expect.stop_on = e.stopOn;
  if (e.klogIgnore.length) expect.klog_ignore = e.klogIgnore;
  out.expect = expect;
  return out;
}

export function presetYaml(sc: Scenario, comment?: string): string {
  const body = stringify(presetForm(sc), { lineWidth: 0 });
  return (comment ? comment.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' : '') + body;
}
