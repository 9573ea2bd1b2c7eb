// Where a reproducer's program and header facts come from: a preset compiled
// for a seed, or a recorded run (the journal's header carries the scenario,
// seed and budget, so the program is compiled again exactly; summary.json
// adds the findings and, in the virtual lab, the kernel it ran on). The CLI
// and the app's "C reproducer" button both build their file through here, so
// the two give the same file for the same run.
import type { Finding, RunHeader, TargetContext } from '../events/types.js';
import type { RunSummary } from '../engine/run.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { compileProgram, CompileError } from '../program/compile.js';
import { simBugSwitches } from '../targets/sim/options.js';
import { KERNEL_RELEASE } from '../sim/kernel/reports.js';
import { signatureOf } from '../analysis/signature.js';
import { kernelOf } from '../api/kernel-record.js';
import { type ReproContext, ReproError, reproC } from './repro.js';

function compile(sc: Scenario, seed: number, duration?: number) {
  if (sc.suite) throw new ReproError(`${sc.name} is a suite: export one of its presets (${sc.suite.map((e) => e.preset).join(', ')}) with the seed its phase ran with`);
  try {
    return compileProgram(sc, { seed, ...(duration !== undefined ? { duration } : {}) });
  } catch (e) {
    if (e instanceof CompileError) throw new ReproError(`${sc.name} does not compile: ${e.message}`);
    throw e;
  }
}

/** A preset and seed, as `stresslab run` would execute them. */
export function reproFromPreset(sc: Scenario, seed: number, duration?: number): ReproContext {
  return {
    program: compile(sc, seed, duration),
    ...(sc.family ? { family: sc.family } : {}),
    ...(sc.description ? { description: sc.description } : {}),
    origin: { kind: 'preset', preset: sc.name },
  };
}

export interface RecordedRun {
  header: RunHeader;
  /** summary.json beside the journal, when the run finished. */
  summary?: RunSummary | null;
  /** Findings read from the journal when there is no summary. */
  findings?: Finding[];
  /** What the target said about itself (kernel, emulated machine, cards), when the journal has it. */
  context?: TargetContext;
  journal: string;
}

/** The finding a reproducer is for: the one asked for, else the run's first critical one, else its first. */
export function pickFinding(findings: readonly Finding[], id?: string, t?: number): Finding | undefined {
  if (id) {
    const f = findings.find((x) => x.id === id && (t === undefined || x.t === t)) ?? findings.find((x) => x.id === id);
    if (!f) throw new ReproError(`the run has no finding ${id}${findings.length ? ` (it has ${findings.map((x) => x.id).join(', ')})` : ''}`);
    return f;
  }
  return findings.find((f) => f.severity === 'critical') ?? findings[0];
}

/** A recorded run: its program compiled again from the header, its finding and kernel from the summary. */
export function reproFromRun(run: RecordedRun, findingId?: string, t?: number): ReproContext {
  const h = run.header;
  const sc = h.scenario;
  const findings = run.summary?.findings ?? run.findings ?? [];
  const f = pickFinding(findings, findingId, t);
  // virtual lab and this machine: the run's kernel record (from its journal when there is no summary.json)
  const recorded = kernelOf(run.summary) ?? run.context?.kernel;
  const kernel = h.target !== 'sim' ? recorded : undefined;
  const switches = h.target === 'sim' ? simBugSwitches().filter((b) => h.profile.includes(b.name)) : [];
  return {
    program: compile(sc, h.seed, h.duration),
    ...(sc.family ? { family: sc.family } : {}),
    ...(sc.description ? { description: sc.description } : {}),
    origin: { kind: 'run', journal: run.journal, target: h.target, profile: h.profile },
    ...(f ? { finding: { id: f.id, type: f.type, message: f.message, signature: f.signature ?? signatureOf(f) } } : {}),
    ...(kernel ? { kernel } : h.target === 'sim' ? { kernel: { release: KERNEL_RELEASE } } : {}),
    ...(switches.length ? { bugSwitches: switches.map((b) => ({ name: b.name, summary: b.summary })) } : {}),
  };
}

/** The file name a reproducer is offered under. */
export function reproFileName(c: ReproContext): string {
  const base = `${c.program.name}-seed${c.program.seed}${c.finding ? `-${c.finding.type}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${base}.c`;
}

/** The whole file, named. */
export function reproFile(c: ReproContext): { name: string; text: string } {
  const name = c.file ?? reproFileName(c);
  return { name, text: reproC({ ...c, file: name }) };
}
