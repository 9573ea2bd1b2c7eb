// Running a scenario on a target: events stream to the journal, the
// detectors and any subscribers (CLI status line, UI); findings come back
// as events; the stop policy may end the run early; summary.json closes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, RunContext, RunEvent, RunHeader, TargetContext, Verdict } from '../events/types.js';
import type { Scenario } from '../vocabulary/scenario.js';
import type { OracleSummary } from '../analysis/oracle.js';
import { Analysis } from '../analysis/analysis.js';
import { type CheckResult, checksOf, runCheck } from '../analysis/checks.js';
import { type RunCounts, RunTally } from '../api/tally.js';
import { hostContext } from './host.js';
import { JournalWriter } from '../journal/writer.js';
import { NO_SETTINGS, TargetError, type RunOutcome, type Target } from '../targets/target.js';
import { CompileError, compileProgram } from '../program/compile.js';
import { PROGRAM_FORMAT } from '../program/types.js';
import { TOOL } from '../version.js';

export interface RunSpec {
  scenario: Scenario;
  /** Where to run, with its own settings (the simulator's profile, strategy, depth, replay: see targets/registry.ts). */
  target: Target;
  seed: number;
  /** Budget, ns; defaults to the scenario's. */
  duration?: number;
  /** Events carry the request each step issued (`req`). */
  reportRequests?: boolean;
  /** Library ops on a real kernel carry the ALSA calls the library made (`data.calls`, traced: slower). */
  traceCalls?: boolean;
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
  /** The run's numbers (app/api/tally.ts), the same ones the app, report and CLI show. */
  counts?: RunCounts;
  /** Every threshold and detector with its verdict (app/analysis/checks.ts); JUnit and KTAP are made from it. */
  checks?: CheckResult[];
  /** What the run ran on: the host, and the target's kernel, machine and cards. */
  context?: RunContext;
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
  /** Every event of the run counted (suite phases together): summary.json's counts. */
  readonly tally = new RunTally();
  /** The target's last word on what it is running on. */
  targetContext: TargetContext | null = null;

  constructor(readonly spec: RunSpec) {
    // The one place that handles events published before anyone subscribed
    // (in-process subscribers: the CLI, the run worker, tests): the run starts
    // on a microtask, so whoever called startRun() subscribes before the first
    // event. API clients get the same promise from the lab service, which
    // holds a subscription's events until its id has reached the client.
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
    this.tally.feed(e);
    if (e.kind === 'context') this.targetContext = e.context;
    for (const l of this.listeners) l(e);
  }

  private async execute(): Promise<RunSummary> {
    const spec = this.spec;
    const sc = spec.scenario;
    const wall0 = Date.now();
    const top = spec.target.forPreset?.(sc) ?? spec.target;
    const { profile, strategy, depth } = top.settings?.() ?? NO_SETTINGS;
    const budget = spec.duration ?? sc.duration;
    const journal = spec.outDir ? new JournalWriter(join(spec.outDir, 'journal.jsonl'), { sync: spec.journalSync ?? true }) : null;
    const header: RunHeader = {
      kind: 'run',
      format: 1,
      preset: sc.name,
      scenario: sc,
      target: spec.target.id,
      profile,
      seed: spec.seed,
      strategy,
      depth,
      duration: budget,
      program: PROGRAM_FORMAT,
      tool: TOOL,
    };
    journal?.write(header);
    const ignored = sc.suite ? (spec.target.settings?.() ?? NO_SETTINGS).profile.filter((p) => p !== 'fixed') : [];
    if (ignored.length) {
      const note: RunEvent = { kind: 'note', t: 0, level: 'warn', text: `${sc.name} is a suite whose phases name their own kernel profiles; the requested profile ${ignored.join(',')} was not applied` };
      journal?.write(note);
      this.publish(note);
    }
    const checks: CheckResult[] = [];
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
        ? sc.suite.map((e) => {
            const scenario = this.loadSuiteEntry(e.preset);
            return { scenario, target: spec.target.forPreset?.(scenario, e) ?? spec.target, duration: e.duration };
          })
        : [{ scenario: sc, target: top, duration: budget }];
      for (const entry of entries) {
        if (this.controller.signal.aborted) break;
        const phaseProfile = (entry.target.settings?.() ?? NO_SETTINGS).profile;
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
            const il = entry.target.explain?.(f);
            if (il) f.interleaving = il.map((s) => ({ ...s, t: s.t + offset }));
          }
          findings.push(f);
          allFindings.push(f);
          this.findings.push(f);
          emitOut({ kind: 'finding', t: f.t, finding: f });
          const stopOn = entry.scenario.expect.stopOn;
          if (stopOn === 'first' || (stopOn === 'critical' && f.severity === 'critical')) phase.abort();
        };
        if (sc.suite) emitOut({ kind: 'phase', t: offset, name: entry.scenario.name, profile: phaseProfile });
        const emit = (raw: RunEvent) => {
          const e = offset ? shift(raw, offset) : raw;
          emitOut(e);
          const fs = analysis.feed(e);
          for (const f of fs) handleFinding(f);
        };
        let outcome: RunOutcome;
        try {
          let program;
          try {
            program = compileProgram(entry.scenario, { seed: spec.seed, duration: entry.duration ?? entry.scenario.duration });
          } catch (e) {
            if (e instanceof CompileError) throw new TargetError(`${entry.scenario.name} does not compile: ${e.message}`);
            throw e;
          }
          outcome = await entry.target.run({ program, signal: phase.signal, emit, ...(spec.reportRequests ? { reportRequests: true } : {}), ...(spec.traceCalls ? { traceCalls: true } : {}) });
        } finally {
          this.controller.signal.removeEventListener('abort', onAbort);
        }
        for (const f of analysis.finish(offset + outcome.elapsed)) handleFinding(f);
        checks.push(...checksOf(analysis, findings, sc.suite ? entry.scenario.name : undefined));
        phases.push({ name: entry.scenario.name, profile: phaseProfile, status: outcome.status, elapsed: outcome.elapsed, findings: findings.map((f) => f.id) });
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
      const note: RunEvent = { kind: 'note', t: offset, level: 'error', text: reason };
      journal?.write(note);
      this.publish(note);
      if (!(e instanceof TargetError)) {
        journal?.close();
        throw e;
      }
    }
    checks.unshift(runCheck(status, reason ?? this.abortReason ?? (status === 'stopped' ? 'the stop policy ended the run at a finding' : undefined)));
    const verdict: Verdict = status === 'error' ? 'error' : this.abortReason && !allFindings.length ? 'aborted' : allFindings.length ? 'fail' : 'pass';
    journal?.write({ kind: 'end', t: offset, verdict, reason: reason ?? (this.abortReason ?? (allFindings.length ? `${allFindings.length} finding(s)` : 'no findings')) });
    journal?.close();
    const counts: Record<string, number> = {};
    for (const f of allFindings) counts[f.type] = (counts[f.type] ?? 0) + 1;
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
      counts: this.tally.counts(),
      checks,
      context: { host: hostContext(), ...(this.targetContext ?? {}) },
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
