// Running a scenario on a target: events stream to the journal, the
// detectors and any subscribers (CLI status line, UI); findings come back
// as events; the stop policy may end the run early; summary.json closes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, RunEvent, RunHeader, Verdict } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';
import type { OracleSummary } from '../analysis/oracle.js';
import { Analysis } from '../analysis/analysis.js';
import { JournalWriter } from '../journal/writer.js';
import { type KernelContext, TargetError, type RunOutcome, type Target } from '../targets/target.js';
import { TOOL } from '../version.js';
import { profileLabel, parseProfile } from '../sim/profiles.js';

export interface RunSpec {
  scenario: Scenario;
  target: Target;
  seed: number;
  /** Kernel profile for the simulator (bug switches), e.g. ["fixed"]. */
  profile: string[];
  /** Budget, ns; defaults to the scenario's. */
  duration?: number;
  strategy?: 'pct' | 'random';
  depth?: number;
  /** Recorded scheduler decisions (sim replay). */
  replay?: string;
  /** Directory for journal.jsonl and summary.json; none means no files. */
  outDir?: string;
  /** fdatasync each journal batch (default true). */
  journalSync?: boolean;
  /** Resolves suite entries (the demo). */
  loadScenario?: (name: string) => Scenario;
}

export interface PhaseSummary {
  name: string;
  profile: string[];
  status: RunOutcome['status'];
  elapsed: number;
  findings: string[];
}

export interface RunSummary {
  verdict: Verdict;
  preset: string;
  target: string;
  profile: string[];
  seed: number;
  strategy: string;
  status: RunOutcome['status'] | 'error';
  reason?: string;
  budget_ns: number;
  elapsed_ns: number;
  wall_ms: number;
  findings: Finding[];
  finding_counts: Record<string, number>;
  metrics: Record<string, unknown>;
  phases?: PhaseSummary[];
  journal?: string;
  /** Written by --oracle (engine/oracle-run.ts). */
  oracle?: OracleSummary;
  /** The real kernel the run ran on (virtual lab): version, module overlay, taint, memory debugging. */
  kernel?: KernelContext;
}

/**
 * A suite's phases name their own profiles; the run's is every switch any phase
 * turns on. Read, not parsed: a phase with a bad profile fails in the journal,
 * like any other phase error.
 */
function suiteProfileLabel(suite: NonNullable<Scenario['suite']>): string[] {
  const names = suite.flatMap((e) => e.profile ?? []).flatMap((n) => n.split(',')).map((n) => n.trim());
  return profileLabel(new Set(names.filter((n) => n && n !== 'fixed')));
}

export type Listener = (e: RunEvent) => void;

export class RunHandle {
  private readonly listeners = new Set<Listener>();
  private readonly controller = new AbortController();
  readonly done: Promise<RunSummary>;
  events = 0;
  findings: Finding[] = [];
  lastT = 0;
  abortReason: string | null = null;

  constructor(readonly spec: RunSpec) {
    // Start on a microtask, so whoever called startRun() can subscribe before
    // the first event (the simulator emits synchronously from its first step).
    this.done = Promise.resolve().then(() => this.execute());
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  abort(reason = 'aborted by user'): void {
    if (!this.controller.signal.aborted) {
      this.abortReason = reason;
      this.controller.abort(reason);
    }
  }

  private publish(e: RunEvent): void {
    this.events++;
    if (e.t > this.lastT) this.lastT = e.t;
    for (const l of this.listeners) l(e);
  }

  private async execute(): Promise<RunSummary> {
    const spec = this.spec;
    const sc = spec.scenario;
    const wall0 = Date.now();
    const strategy = spec.replay !== undefined ? 'replay' : (spec.strategy ?? sc.sim.strategy ?? 'pct');
    const depth = sc.sim.depth ?? spec.depth ?? 3;
    const budget = spec.duration ?? sc.duration;
    const journal = spec.outDir ? new JournalWriter(join(spec.outDir, 'journal.jsonl'), { sync: spec.journalSync ?? true }) : null;
    const requested = parseProfile(spec.profile);
    const header: RunHeader = {
      kind: 'run',
      format: 1,
      preset: sc.name,
      scenario: sc,
      target: spec.target.id,
      profile: sc.suite ? suiteProfileLabel(sc.suite) : profileLabel(requested),
      seed: spec.seed,
      strategy,
      depth,
      duration: budget,
      tool: TOOL,
    };
    journal?.write(header);
    if (sc.suite && requested.size) {
      const note: RunEvent = { kind: 'note', t: 0, level: 'warn', text: `${sc.name} is a suite whose phases name their own kernel profiles; the requested profile ${[...requested].join(',')} was not applied` };
      journal?.write(note);
      this.publish(note);
    }
    const phases: PhaseSummary[] = [];
    let offset = 0;
    let status: RunSummary['status'] = 'completed';
    let reason: string | undefined;
    const allFindings: Finding[] = [];
    const analyses: Analysis[] = [];
    // One id sequence for the whole run, so suite phases never repeat an id.
    const findingIds = new Map<string, number>();
    try {
      const entries = sc.suite
        ? sc.suite.map((e) => ({ scenario: this.loadSuiteEntry(e.preset), profile: e.profile ?? ['fixed'], duration: e.duration }))
        : [{ scenario: sc, profile: spec.profile, duration: budget }];
      for (const entry of entries) {
        if (this.controller.signal.aborted) break;
        const phase = new AbortController();
        const onAbort = () => phase.abort();
        this.controller.signal.addEventListener('abort', onAbort);
        const analysis = new Analysis(entry.scenario, findingIds);
        analyses.push(analysis);
        const findings: Finding[] = [];
        const emitOut = (e: RunEvent) => {
          journal?.write(e);
          this.publish(e);
        };
        const handleFinding = (f: Finding) => {
          if (!f.interleaving) {
            const il = spec.target.explain?.(f);
            if (il) f.interleaving = il.map((s) => ({ ...s, t: s.t + offset }));
          }
          findings.push(f);
          allFindings.push(f);
          this.findings.push(f);
          emitOut({ kind: 'finding', t: f.t, finding: f });
          const stopOn = entry.scenario.expect.stopOn;
          if (stopOn === 'first' || (stopOn === 'critical' && f.severity === 'critical')) phase.abort();
        };
        if (sc.suite) emitOut({ kind: 'phase', t: offset, name: entry.scenario.name, profile: entry.profile });
        const emit = (raw: RunEvent) => {
          const e = offset ? shift(raw, offset) : raw;
          emitOut(e);
          const fs = analysis.feed(e);
          for (const f of fs) handleFinding(f);
        };
        let outcome: RunOutcome;
        try {
          outcome = await spec.target.run({
            scenario: entry.scenario,
            seed: spec.seed,
            profile: entry.profile,
            duration: entry.duration ?? entry.scenario.duration,
            strategy: spec.strategy ?? entry.scenario.sim.strategy ?? 'pct',
            depth: entry.scenario.sim.depth ?? depth,
            ...(spec.replay !== undefined && !sc.suite ? { replay: spec.replay } : {}),
            signal: phase.signal,
            emit,
          });
        } finally {
          this.controller.signal.removeEventListener('abort', onAbort);
        }
        for (const f of analysis.finish(offset + outcome.elapsed)) handleFinding(f);
        phases.push({ name: entry.scenario.name, profile: profileLabel(parseProfile(entry.profile)), status: outcome.status, elapsed: outcome.elapsed, findings: findings.map((f) => f.id) });
        if (outcome.status === 'crashed') {
          status = 'crashed';
          reason = outcome.reason;
        } else if (outcome.status === 'stopped' && status === 'completed') status = 'stopped';
        offset += outcome.elapsed;
      }
    } catch (e) {
      status = 'error';
      reason = e instanceof Error ? e.message : String(e);
      if (!(e instanceof TargetError)) reason = `internal error: ${reason}`;
      journal?.write({ kind: 'note', t: offset, level: 'error', text: reason });
      if (!(e instanceof TargetError)) {
        journal?.close();
        throw e;
      }
    }
    const verdict: Verdict = status === 'error' ? 'error' : this.abortReason && !allFindings.length ? 'aborted' : allFindings.length ? 'fail' : 'pass';
    journal?.write({ kind: 'end', t: offset, verdict, reason: reason ?? (this.abortReason ?? (allFindings.length ? `${allFindings.length} finding(s)` : 'no findings')) });
    journal?.close();
    const counts: Record<string, number> = {};
    for (const f of allFindings) counts[f.type] = (counts[f.type] ?? 0) + 1;
    let kernel: KernelContext | undefined;
    try {
      kernel = spec.target.kernelContext?.();
    } catch {
      // a target that cannot say which kernel it ran is still a run
    }
    const summary: RunSummary = {
      verdict,
      preset: sc.name,
      target: spec.target.id,
      profile: header.profile,
      seed: spec.seed,
      strategy,
      status,
      ...(reason ? { reason } : {}),
      budget_ns: budget,
      elapsed_ns: offset,
      wall_ms: Date.now() - wall0,
      findings: allFindings,
      finding_counts: counts,
      metrics: analyses.length === 1 ? analyses[0]!.summary(offset) : Object.fromEntries(analyses.map((a, i) => [phases[i]?.name ?? String(i), a.summary(phases[i]?.elapsed ?? 0)])),
      ...(sc.suite ? { phases } : {}),
      ...(spec.outDir ? { journal: 'journal.jsonl' } : {}),
      ...(kernel ? { kernel } : {}),
    };
    if (spec.outDir) {
      mkdirSync(spec.outDir, { recursive: true });
      writeFileSync(join(spec.outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    }
    return summary;
  }

  private loadSuiteEntry(name: string): Scenario {
    if (!this.spec.loadScenario) throw new TargetError(`suite preset ${this.spec.scenario.name} needs a preset library to load "${name}"`);
    const s = this.spec.loadScenario(name);
    if (s.suite) throw new TargetError(`suite ${this.spec.scenario.name} includes another suite (${name}); suites do not nest`);
    return s;
  }
}

function shift(e: RunEvent, offset: number): RunEvent {
  const out = { ...e, t: e.t + offset } as RunEvent;
  if ((out.kind === 'klog' || out.kind === 'lane') && out.trace) out.trace = out.trace.map((s) => ({ ...s, t: s.t + offset }));
  return out;
}

export function startRun(spec: RunSpec): RunHandle {
  return new RunHandle(spec);
}
