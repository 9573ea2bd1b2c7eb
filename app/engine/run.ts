// Running a scenario on a target: events stream to the journal, the
// detectors and any subscribers (CLI status line, UI); findings come back
// as events; the stop policy may end the run early; summary.json closes it.
import { join } from 'node:path';
import type { Finding, RunContext, RunEvent, RunHeader, TargetContext, Verdict } from '../events/types.js';
import type { JournalLimits, Scenario } from '../vocabulary/scenario.js';
import type { OracleSummary } from '../analysis/oracle.js';
import { Analysis } from '../analysis/analysis.js';
import { type CheckResult, checksOf, runCheck } from '../analysis/checks.js';
import { type RunCounts, RunTally } from '../api/tally.js';
import { hostContext } from './host.js';
import { type JournalFailure, JournalWriter } from '../journal/writer.js';
import { SummarySlot } from '../journal/out-path.js';
import { JournalError } from '../journal/reader.js';
import { ReplayDiverged, ScheduleEncodingError } from '../sim/kernel/strategy.js';
import { type KernelContext, NO_SETTINGS, TargetError, TargetInputError, type RunOutcome, type Target } from '../targets/target.js';
import { CompileError, compileProgram } from '../program/compile.js';
import { PROGRAM_FORMAT } from '../program/types.js';
import { TOOL } from '../version.js';
import { foldKernel } from '../api/kernel-record.js';

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
  /** Stop the run after this much wall-clock time, ms (default: defaultWallLimitMs). */
  wallLimitMs?: number;
  /** Bound the journal's size (default: the preset's `journal:`). */
  journalLimits?: JournalLimits;
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
  /** With status "error": what failed (the exit code says the same). */
  failure?: RunFailure;
  budget_ns: number;
  elapsed_ns: number;
  wall_ms: number;
  wall_limit_ms?: number;
  findings: Finding[];
  finding_counts: Record<string, number>;
  /** Distinct findings: each signature (app/analysis/signature.ts) with the ids of the findings that have it. */
  signatures: Record<string, string[]>;
  metrics: Record<string, unknown>;
  phases?: PhaseSummary[];
  journal?: string;
  /** A bounded journal that sampled or filled up, or a journal that could not be written. */
  journal_state?: { lines: number; bytes: number; sampled_away?: number; keep?: string; full?: boolean; failed?: JournalFailure };
  /** Written by --oracle (engine/oracle-run.ts). */
  oracle?: OracleSummary;
  /** The run's numbers (app/api/tally.ts), the same ones the app, report and CLI show. */
  counts?: RunCounts;
  /** Every threshold and detector with its verdict (app/analysis/checks.ts); JUnit and KTAP are made from it. */
  checks?: CheckResult[];
  /**
   * What the run ran on: the host, and the target's kernel, machine and
   * cards. context.kernel is the run's one kernel record: on the virtual lab
   * its package and Debian source, module overlay, memory debugging and taint
   * (app/events/types.ts KernelRecord). Summaries written before it was one
   * record carry part of it in a top-level `kernel`; readers fold that in
   * (app/api/kernel-record.ts withKernelRecord).
   */
  context?: RunContext;
}

export type Listener = (e: RunEvent) => void;

/** After the wall-clock limit, how long the target gets to stop before the run is written off (ms). */
const WALL_GRACE_MS = 10_000;

/**
 * The wall-clock limit when none is given: every run ends, whatever the target.
 * On the simulator the budget is virtual time, normally covered 50-100x
 * faster than real time; the limit allows a tenth of real-time speed and two
 * minutes more. On real targets the budget is wall time already: the limit
 * adds time for setup and teardown (two hang bounds) and for a guest to boot.
 */
export function defaultWallLimitMs(target: string, budgetNs: number, sc: Scenario): number {
  const budgetMs = budgetNs / 1e6;
  if (target === 'sim') return Math.min(2 ** 31 - 1, 120_000 + 10 * budgetMs);
  return Math.min(2 ** 31 - 1, budgetMs + (2 * sc.expect.hangTimeout) / 1e6 + 180_000);
}

/** Why a run could not finish as a run: what the CLI's exit code says. */
export type RunFailure = 'target' | 'internal' | 'recording' | 'wall-limit' | 'input';

export class RunHandle {
  private readonly listeners = new Set<Listener>();
  private readonly lineListeners = new Set<(line: string, index: number) => void>();
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
  /** The journal could not be written (disk full, I/O error); the run was stopped. */
  recordFailure: JournalFailure | null = null;
  /** Where summary.json went (a fallback place when the run directory had no room). */
  summaryPath: string | null = null;
  /** The exception behind an internal error, for a debug trace. */
  internalError: unknown = null;
  private journal: JournalWriter | null = null;
  private slot: SummarySlot | null = null;
  private final: RunSummary | null = null;
  private resolveEarly!: (s: RunSummary) => void;
  // The run's state so far, so an emergency stop can write a summary of it.
  private readonly st = {
    wall0: Date.now(),
    profile: [] as string[],
    strategy: '',
    budget: 0,
    phases: [] as PhaseSummary[],
    offset: 0,
    status: 'completed' as RunSummary['status'],
    reason: undefined as string | undefined,
    failure: undefined as RunFailure | undefined,
    allFindings: [] as Finding[],
    analyses: [] as Analysis[],
    checks: [] as CheckResult[],
    wallLimitMs: 0,
  };

  constructor(readonly spec: RunSpec) {
    // The one place that handles events published before anyone subscribed
    // (in-process subscribers: the CLI, the run worker, tests): the run starts
    // on a microtask, so whoever called startRun() subscribes before the first
    // event. API clients get the same promise from the lab service, which
    // holds a subscription's events until its id has reached the client.
    // abortNow() resolves `done` at once, without waiting for the target.
    const early = new Promise<RunSummary>((r) => (this.resolveEarly = r));
    this.done = Promise.race([Promise.resolve().then(() => this.execute()), early]);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The journal's lines as written (after sampling), with their index among the lines after the header. */
  subscribeLines(fn: (line: string, index: number) => void): () => void {
    this.lineListeners.add(fn);
    return () => this.lineListeners.delete(fn);
  }

  /** Lines in the journal after the header so far. */
  get journalLines(): number {
    return this.journal ? Math.max(0, this.journal.lines - 1) : 0;
  }

  abort(reason = 'aborted by user'): void {
    if (!this.controller.signal.aborted) {
      this.abortReason = reason;
      this.controller.abort(reason);
    }
  }

  /**
   * Stops at once, without waiting for the target: the journal is flushed and
   * closed, summary.json written from what is known, and `done` resolves with
   * it. For a second Ctrl-C, or a target that does not stop.
   */
  abortNow(reason: string, failure?: RunFailure): RunSummary {
    this.abort(reason);
    if (this.final) return this.final;
    this.st.status = failure ? 'error' : 'stopped';
    this.st.reason = reason;
    if (failure) this.st.failure = failure;
    const s = this.finalize();
    this.resolveEarly(s);
    return s;
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
    const st = this.st;
    const top = spec.target.forPreset?.(sc) ?? spec.target;
    const { profile, strategy, depth } = top.settings?.() ?? NO_SETTINGS;
    const budget = spec.duration ?? sc.duration;
    st.profile = profile;
    st.strategy = strategy;
    st.budget = budget;
    st.wallLimitMs = spec.wallLimitMs ?? defaultWallLimitMs(spec.target.id, sc.suite ? sc.suite.reduce((a, e) => a + (e.duration ?? budget), 0) : budget, sc);
    const limits = spec.journalLimits ?? sc.journal;
    let journal: JournalWriter | null = null;
    if (spec.outDir) {
      journal = new JournalWriter(join(spec.outDir, 'journal.jsonl'), {
        sync: spec.journalSync ?? true,
        ...(limits ? { limits } : {}),
        onFailure: (f) => {
          // Nothing more can be recorded: the run stops (a run nobody can read back is no run).
          this.recordFailure = f;
          st.failure ??= 'recording';
          this.abort(`the journal could not be written: ${f.code} (${f.message}); it is readable up to line ${f.linesWritten}`);
        },
      });
      this.journal = journal;
      journal.onLine((line, index) => {
        for (const l of this.lineListeners) l(line, index);
      });
      this.slot = new SummarySlot(spec.outDir);
    }
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
      ...(limits ? { journal: limits } : {}),
    };
    journal?.write(header);
    const ignored = sc.suite ? (spec.target.settings?.() ?? NO_SETTINGS).profile.filter((p) => p !== 'fixed') : [];
    if (ignored.length) {
      const note: RunEvent = { kind: 'note', t: 0, level: 'warn', text: `${sc.name} is a suite whose phases name their own kernel profiles; the requested profile ${ignored.join(',')} was not applied` };
      journal?.write(note);
      this.publish(note);
    }
    // Every run ends: past its wall-clock limit it is stopped, and a target
    // that does not stop within the grace is written off.
    let graceTimer: NodeJS.Timeout | undefined;
    const wallTimer = setTimeout(() => {
      const reason = `the run reached its wall-clock limit of ${Math.round(st.wallLimitMs / 1000)} s (${(this.lastT / 1e9).toFixed(3)} s of ${spec.target.id === 'sim' ? 'virtual time' : 'run time'} covered)`;
      st.failure ??= 'wall-limit';
      this.abort(reason);
      graceTimer = setTimeout(() => this.abortNow(`${reason}, and the target did not stop within ${WALL_GRACE_MS / 1000} s`, 'wall-limit'), WALL_GRACE_MS);
    }, st.wallLimitMs);
    const { phases, allFindings, analyses } = st;
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
        const offset = st.offset;
        const handleFinding = (f: Finding) => {
          if (!f.interleaving) {
            const il = entry.target.explain?.(f);
            if (il) f.interleaving = il.map((s) => ({ ...s, t: s.t + offset }));
          }
          f.involved ??= involvedLanes(f);
          findings.push(f);
          allFindings.push(f);
          this.findings.push(f);
          emitOut({ kind: 'finding', t: f.t, finding: f });
          const stopOn = entry.scenario.expect.stopOn;
          if (stopOn === 'first' || (stopOn === 'critical' && f.severity === 'critical')) phase.abort();
        };
        if (sc.suite) emitOut({ kind: 'phase', t: offset, name: entry.scenario.name, profile: phaseProfile });
        const emit = (raw: RunEvent) => {
          if (this.final) return;
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
        if (this.final) return this.final;
        for (const f of analysis.finish(offset + outcome.elapsed)) handleFinding(f);
        st.checks.push(...checksOf(analysis, findings, sc.suite ? entry.scenario.name : undefined));
        phases.push({ name: entry.scenario.name, profile: phaseProfile, status: outcome.status, elapsed: outcome.elapsed, findings: findings.map((f) => f.id) });
        if (outcome.status === 'crashed') {
          st.status = 'crashed';
          st.reason = outcome.reason;
        } else if (outcome.status === 'stopped' && st.status === 'completed') {
          st.status = 'stopped';
          // Why it was asked to stop says more than how the target acknowledged it.
          const why = this.abortReason ?? outcome.reason;
          if (why) st.reason = why;
        }
        st.offset += outcome.elapsed;
      }
    } catch (e) {
      if (this.final) return this.final;
      st.status = 'error';
      st.reason = e instanceof Error ? e.message : String(e);
      if (e instanceof TargetInputError) st.failure ??= 'input';
      else if (e instanceof TargetError || e instanceof ReplayDiverged) st.failure ??= 'target';
      // A replayed journal whose schedule turned out to be damaged: bad input, found late.
      else if (e instanceof JournalError || e instanceof ScheduleEncodingError) st.failure ??= 'input';
      else {
        st.failure = 'internal';
        st.reason = `internal error: ${st.reason}`;
        this.internalError = e;
      }
      const note: RunEvent = { kind: 'note', t: st.offset, level: 'error', text: st.reason };
      journal?.write(note);
      this.publish(note);
    } finally {
      clearTimeout(wallTimer);
      clearTimeout(graceTimer);
    }
    if (this.final) return this.final;
    if (st.failure === 'wall-limit' || st.failure === 'recording') {
      st.status = 'error';
      st.reason = this.abortReason ?? st.reason;
    }
    return this.finalize();
  }

  /** Writes the trailer and summary.json, once. */
  private finalize(): RunSummary {
    if (this.final) return this.final;
    const { spec } = this;
    const st = this.st;
    const sc = spec.scenario;
    const { allFindings, analyses, phases } = st;
    const checks = [runCheck(st.status, st.reason ?? this.abortReason ?? (st.status === 'stopped' ? 'the stop policy ended the run at a finding' : undefined)), ...st.checks];
    const verdict: Verdict = st.status === 'error' ? 'error' : this.abortReason && !allFindings.length ? 'aborted' : allFindings.length ? 'fail' : 'pass';
    const journal = this.journal;
    journal?.end({ kind: 'end', t: st.offset, verdict, reason: st.reason ?? this.abortReason ?? (allFindings.length ? `${allFindings.length} finding(s)` : 'no findings') });
    journal?.close();
    const counts: Record<string, number> = {};
    for (const f of allFindings) counts[f.type] = (counts[f.type] ?? 0) + 1;
    let kernel: KernelContext | undefined;
    try {
      kernel = spec.target.kernelContext?.();
    } catch {
      // a target that cannot say which kernel it ran is still a run
    }
    const signatures: Record<string, string[]> = {};
    for (const f of allFindings) (signatures[f.signature ?? f.type] ??= []).push(f.id);
    const summary: RunSummary = {
      verdict,
      preset: sc.name,
      target: spec.target.id,
      profile: st.profile,
      seed: spec.seed,
      strategy: st.strategy,
      status: st.status,
      ...(st.reason || (this.abortReason && st.status !== 'completed') ? { reason: st.reason ?? this.abortReason! } : {}),
      ...(st.failure && st.status === 'error' ? { failure: st.failure } : {}),
      budget_ns: st.budget,
      elapsed_ns: st.offset,
      wall_ms: Date.now() - st.wall0,
      wall_limit_ms: st.wallLimitMs,
      findings: allFindings,
      finding_counts: counts,
      signatures,
      metrics: analyses.length === 1 ? analyses[0]!.summary(st.offset) : Object.fromEntries(analyses.map((a, i) => [phases[i]?.name ?? String(i), a.summary(phases[i]?.elapsed ?? 0)])),
      ...(sc.suite ? { phases } : {}),
      ...(spec.outDir ? { journal: 'journal.jsonl' } : {}),
      ...(journal && (journal.level || journal.full || journal.failure)
        ? { journal_state: { lines: journal.lines, bytes: journal.written, ...(journal.dropped ? { sampled_away: journal.dropped, keep: `1 in ${4 ** journal.level}` } : {}), ...(journal.full ? { full: true } : {}), ...(journal.failure ? { failed: journal.failure } : {}) } }
        : {}),
      counts: this.tally.counts(),
      checks,
      context: runContext(this.targetContext, kernel),
    };
    this.final = summary;
    if (spec.outDir && this.slot) {
      try {
        const w = this.slot.write(summary as unknown as { findings: unknown[] } & Record<string, unknown>, sc.name);
        this.summaryPath = w.path;
      } catch (e) {
        this.summaryPath = null;
        if (!this.recordFailure) this.recordFailure = { code: (e as NodeJS.ErrnoException).code ?? 'ERROR', message: `summary.json could not be written anywhere: ${(e as Error).message}`, linesWritten: journal?.lines ?? 0, bytesWritten: journal?.written ?? 0 };
      }
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

/** The lanes a finding names (the one it is about first), when its source did not say which tasks were involved. */
function involvedLanes(f: Finding): string[] | undefined {
  const lanes = Array.isArray(f.evidence?.lanes) ? (f.evidence.lanes as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const all = [...new Set([...(f.lane ? [f.lane] : []), ...lanes])];
  return all.length ? all : undefined;
}

/** The host, what the target said it runs on, and what it learnt of its kernel by the end, in the one kernel record. */
function runContext(target: TargetContext | null, kernel: KernelContext | undefined): RunContext {
  const ctx: RunContext = { host: hostContext(), ...(target ?? {}) };
  const k = foldKernel(ctx.kernel, kernel);
  if (k) ctx.kernel = k;
  return ctx;
}

function shift(e: RunEvent, offset: number): RunEvent {
  const out = { ...e, t: e.t + offset } as RunEvent;
  if ((out.kind === 'klog' || out.kind === 'lane') && out.trace) out.trace = out.trace.map((s) => ({ ...s, t: s.t + offset }));
  return out;
}

export function startRun(spec: RunSpec): RunHandle {
  return new RunHandle(spec);
}
