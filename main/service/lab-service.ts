// The API's implementation, whichever transport carries it: Electron IPC and
// the headless server both hand it checked requests and a client to push to.
// Everything slow or unsafe (runs, target probes, reports) happens in worker
// threads; this class only routes and reads small files.
import { existsSync } from 'node:fs';
import { createRunDir } from '../../app/engine/run-dir.js';
import { join } from 'node:path';
import type { DevicesResult, Finding, LabInfo, Method, Params, PushMessage, ReplayStarted, Result, RunEvent, RunStarted, RunSummary, RunTrailer, SubscribeResult } from '../../app/api/types.js';
import { ApiError, checkParams } from '../../app/api/validate.js';
import { ProfileError, simBugSwitches, simProfile } from '../../app/targets/sim/options.js';
import { PROGRAM_FORMAT } from '../../app/program/types.js';
import { formatProblem } from '../../app/vocabulary/preset-file.js';
import type { Scenario } from '../../app/vocabulary/scenario.js';
import { VERSION } from '../../app/version.js';
import { RunManager } from '../workers/run-manager.js';
import { overrideThresholds, type Thresholds } from '../../app/vocabulary/scenario.js';
import { formatPath } from '../../app/vocabulary/schema.js';
import { oracleRefusal } from '../../app/analysis/oracle.js';
import { runTask } from '../workers/tasks.js';
import { PresetStore } from './presets.js';
import { RunsStore } from './runs-store.js';
import { QueryCancelled } from '../workers/journal-tasks.js';
import { KernelMatrices } from './kernel-matrices.js';
import { type ArchiveKernel, expandKernelList, isKernelList } from '../../app/vlab/archive.js';
import { seriesOf } from '../../app/vlab/debian-version.js';
import { VlabInputError } from '../../app/vlab/errors.js';
import type { KernelsResult } from '../../app/api/types.js';

/** Whoever is on the other end of a transport: a window or a WebSocket. */
export interface Client {
  push(m: PushMessage): void;
  /**
   * Events as JSON lines, exactly as the journal has them. A WebSocket sends
   * them on without parsing; the Electron window gets them parsed.
   */
  pushEvents(sub: string, runId: string, from: number, lines: string[]): void;
  /** Bytes queued towards the client; journal replays wait while it is high. */
  backlog(): number;
}

export interface LabServiceOptions {
  mode: LabInfo['mode'];
  runsDir: string;
  builtinPresetDir: string;
  userPresetDir: string;
  /** Probe and device-list deadline, ms. */
  taskTimeoutMs?: number;
}

const MAX_BACKLOG = 32 * 1024 * 1024;

interface Subscription {
  client: Client;
  cancel: () => void;
  state: { cancelled: boolean };
}

export class LabService {
  readonly presets: PresetStore;
  readonly runs: RunsStore;
  private readonly manager: RunManager;
  private readonly clients = new Set<Client>();
  private readonly subs = new Map<string, Subscription>();
  private nextSub = 1;
  private readonly devices = new Map<string, Promise<DevicesResult>>();
  private readonly matrices = new KernelMatrices();
  private kernels: Promise<KernelsResult> | undefined;
  /** Per client: set when it goes away, so the journal queries it started stop (see journal-tasks.ts). */
  private readonly gone = new WeakMap<Client, { cancelled: boolean }>();

  private goneOf(c: Client): { cancelled: boolean } {
    let g = this.gone.get(c);
    if (!g) this.gone.set(c, (g = { cancelled: false }));
    return g;
  }

  constructor(readonly opts: LabServiceOptions) {
    this.presets = new PresetStore(opts.builtinPresetDir, opts.userPresetDir);
    this.runs = new RunsStore(opts.runsDir);
    this.manager = new RunManager(this.runs, () => this.broadcast({ type: 'runs-changed' }));
  }

  /** Checks the parameters again (cheap) so no transport can skip validation. */
  async call<M extends Method>(method: M, params: unknown, client: Client): Promise<Result<M>> {
    this.clients.add(client);
    const p = checkParams(method, params);
    const h = this.handlers[method] as (p: Params<M>, c: Client) => Promise<Result<M>> | Result<M>;
    return h(p, client);
  }

  /** The client went away: its subscriptions end. */
  detach(client: Client): void {
    this.clients.delete(client);
    this.goneOf(client).cancelled = true;
    for (const [id, s] of this.subs) if (s.client === client) this.endSub(id);
  }

  async close(): Promise<void> {
    for (const id of [...this.subs.keys()]) this.endSub(id);
    await this.manager.closeAll();
  }

  private broadcast(m: PushMessage): void {
    for (const c of this.clients) c.push(m);
  }

  private readonly handlers: { [M in Method]: (p: Params<M>, c: Client) => Promise<Result<M>> | Result<M> } = {
    'thresholds.check': (p) => checkThresholds(p.base ?? {}, p.values),
    'runs.delete': (p) => {
      if (this.manager.isLive(p.runId)) throw new ApiError('conflict', 'the run is still going; stop it before deleting it');
      const deleted = this.runs.remove(p.runId);
      if (deleted) this.broadcast({ type: 'runs-changed' });
      return { deleted };
    },
    'runs.note': (p) => {
      const note = this.runs.setNote(p.runId, p.text);
      this.broadcast({ type: 'runs-changed' });
      return { note };
    },
    'runs.compare': async (p) => {
      if (p.runIds.length < 2) throw new ApiError('bad-request', 'params.runIds: pick two or more runs to compare (the first is the baseline)');
      const runs = p.runIds.map((id) => {
        this.runs.journalPath(id);
        if (this.manager.isLive(id)) throw new ApiError('conflict', `run ${id} is still going; compare it when it has finished`);
        return { id, dir: this.runs.path(id) };
      });
      return (await runTask({ kind: 'compare', runs }, 120_000)).comparison;
    },
    'lab.info': () => ({ version: VERSION, mode: this.opts.mode, runsDir: this.runs.dir, userPresetDir: this.opts.userPresetDir, builtinPresetDir: this.opts.builtinPresetDir }),
    'targets.list': async () => (await runTask({ kind: 'targets' }, this.opts.taskTimeoutMs ?? 60_000)).targets,
    'devices.list': (p) => this.listDevices(p.target, p.refresh ?? false, p.vm),
    'kernels.list': (p) => this.listKernels(p.refresh ?? false),
    'matrix.get': (p) => this.matrices.get(p.id, this.runs.path(p.id)),
    'profiles.list': () => simBugSwitches(),
    'presets.list': () => this.presets.list(),
    'presets.load': (p) => this.presets.load(p.name),
    'presets.validate': (p) => this.presets.validate(p.text, p.file),
    'presets.save': (p) => {
      const r = this.presets.save(p.name, p.text, p.overwrite ?? false);
      return r;
    },
    'run.start': (p) => this.startRun(p),
    'run.stop': (p) => ({ stopping: this.manager.stop(p.runId) }),
    'run.abort': async (p) => ({ aborted: await this.manager.abort(p.runId) }),
    'run.replay': (p, c) => this.replay(p, c),
    'runs.list': async () => {
      const live = new Set(this.manager.liveIds());
      return (await this.runs.list()).map((r) => (live.has(r.id) ? { ...r, state: 'running' as const } : r));
    },
    'runs.subscribe': (p, c) => this.subscribe(p.runId, p.from ?? 0, c),
    'runs.unsubscribe': (p, c) => {
      const s = this.subs.get(p.sub);
      if (!s || s.client !== c) return { ok: false };
      this.endSub(p.sub);
      return { ok: true };
    },
    'runs.inflight': (p, c) => this.runs.inflight(p.runId, p.t, p.i, this.goneOf(c)),
    'report.export': async (p) => {
      const dir = this.runs.path(p.runId);
      this.runs.journalPath(p.runId);
      if (this.manager.isLive(p.runId)) throw new ApiError('conflict', 'the run is still going; export its report when it has finished');
      const outFile = join(dir, 'report.html');
      const r = await runTask({ kind: 'report', runDir: dir, outFile }, 120_000);
      return { file: outFile, name: `stresslab-report_${p.runId}.html`, html: r.html };
    },
    'repro.export': async (p) => {
      const dir = this.runs.path(p.runId);
      this.runs.journalPath(p.runId);
      if (this.manager.isLive(p.runId)) throw new ApiError('conflict', 'the run is still going; export its reproducer when it has finished');
      const r = await runTask({ kind: 'repro', runDir: dir, ...(p.findingId ? { findingId: p.findingId } : {}), ...(p.t !== undefined ? { t: p.t } : {}) }, 60_000);
      return r.repro;
    },
  };

  private listDevices(target: string, refresh: boolean, vm?: Params<'devices.list'>['vm']): Promise<DevicesResult> {
    // Cached: listing a virtual lab's devices boots a guest (per kernel and hardware).
    const key = target === 'vm' && vm ? `${target} ${JSON.stringify(vm)}` : target;
    if (target === 'vm' && vm?.kernelVersion && isKernelList(vm.kernelVersion)) throw new ApiError('bad-request', 'params.vm.kernelVersion: devices are listed for one kernel, not a matrix');
    let p = refresh ? undefined : this.devices.get(key);
    if (!p) {
      p = runTask({ kind: 'devices', target, ...(target === 'vm' && vm ? { vm } : {}) }, this.opts.taskTimeoutMs ?? 120_000).then((r) => r.devices);
      this.devices.set(key, p);
      p.catch(() => this.devices.delete(key));
    }
    return p;
  }

  /** The Debian kernels (apt-cache, about a second; remembered until asked to refresh). */
  private listKernels(refresh: boolean): Promise<KernelsResult> {
    if (refresh || !this.kernels) {
      const p = runTask({ kind: 'kernels' }, 120_000).then((r) => r.kernels);
      this.kernels = p;
      p.catch(() => {
        if (this.kernels === p) this.kernels = undefined;
      });
    }
    return this.kernels;
  }

  private scenarioFor(source: Params<'run.start'>['source']): Scenario {
    if ('preset' in source) return this.presets.scenario(source.preset);
    const r = this.presets.check(source.text, `${source.name}.yaml`);
    if (!r.scenario) throw new ApiError('bad-request', `the preset does not validate:\n${r.problems.slice(0, 5).map(formatProblem).join('\n')}`);
    return r.scenario;
  }

  /** The simulated kernel's bug switches; a real target takes none (the CLI refuses --profile there too). */
  private profileOf(list: string[], target: string): string[] {
    let label: string[];
    try {
      label = simProfile(list);
    } catch (e) {
      if (e instanceof ProfileError) throw new ApiError('bad-request', `params.profile: ${e.message}`);
      throw e;
    }
    if (target !== 'sim' && label.join(',') !== 'fixed') throw new ApiError('bad-request', `params.profile: ${label.join(',')} switches bugs of the simulated kernel; the ${target} target runs a real kernel, which has no such switches`);
    return label;
  }

  private startRun(p: Params<'run.start'>): Promise<RunStarted> {
    let scenario = this.scenarioFor(p.source);
    if (p.thresholds && Object.keys(p.thresholds).length) {
      if (scenario.suite) throw new ApiError('bad-request', `params.thresholds: ${scenario.name} is a suite; set thresholds in the presets it runs`);
      const r = checkThresholds(scenario.expect.thresholds, p.thresholds);
      if (!r.thresholds) throw new ApiError('bad-request', `params.thresholds: ${r.problems.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
      scenario = { ...scenario, expect: { ...scenario.expect, thresholds: r.thresholds } };
    }
    if (p.vm && p.target !== 'vm') throw new ApiError('bad-request', `params.vm: virtual-lab settings only apply to target vm, not ${p.target}`);
    const spec = p.vm?.kernelVersion;
    if (spec && isKernelList(spec)) return this.startMatrix(scenario, p, spec);
    return this.launch(scenario, p);
  }

  /** vm.kernelVersion names several kernels: one run per kernel, one after another, and a table of verdicts. */
  private async startMatrix(scenario: Scenario, p: Params<'run.start'>, spec: string): Promise<RunStarted> {
    if (p.oracle) throw new ApiError('bad-request', 'params.oracle: the oracle compares one run with the model; not with a kernel matrix');
    const listing = await this.listKernels(false);
    const known: ArchiveKernel[] = listing.kernels.map((k) => ({ package: k.package, release: k.release, version: k.version, sourceVersion: k.source_version, upstream: k.upstream, series: seriesOf(k.upstream) }));
    let kernels: ArchiveKernel[];
    try {
      kernels = expandKernelList(spec, known);
    } catch (e) {
      if (e instanceof VlabInputError) throw new ApiError('bad-request', `params.vm.kernelVersion: ${e.message}`);
      throw e;
    }
    this.manager.assertFree('vm');
    const { id, dir } = createRunDir(this.runs.dir, scenario.name, 'vm-matrix');
    return this.matrices.start(
      id,
      dir,
      scenario.name,
      p.seed,
      kernels.map((k) => ({ version: k.version, package: k.package, source_version: k.sourceVersion, upstream: k.upstream })),
      {
        launch: (k) => this.launch(scenario, { ...p, vm: { ...p.vm, kernelVersion: k.version } }, undefined, k.version),
        done: (runId) => this.manager.whenDone(runId),
        changed: () => this.broadcast({ type: 'runs-changed' }),
      },
    );
  }

  /** `label`: a kernel matrix's kernel, in the run's directory name (one directory per run: createRunDir). */
  private async launch(scenario: Scenario, p: Omit<Params<'run.start'>, 'source'>, replayJournal?: string, label?: string): Promise<RunStarted> {
    const profile = this.profileOf(p.profile, p.target);
    const refusal = p.oracle ? oracleRefusal(scenario, p.target, profile) : null;
    if (refusal) throw new ApiError('bad-request', refusal);
    this.manager.assertFree(p.target);
    const { id, dir } = createRunDir(this.runs.dir, scenario.name, label ? `${p.target}_${label.replace(/[^A-Za-z0-9._-]/g, '_')}` : p.target);
    await this.manager.start(id, {
      kind: 'run',
      builtinPresetDir: this.opts.builtinPresetDir,
      userPresetDir: this.opts.userPresetDir,
      scenario,
      target: p.target,
      profile,
      seed: p.seed,
      ...(p.duration !== undefined ? { duration: p.duration } : {}),
      ...(replayJournal !== undefined ? { replayJournal } : {}),
      ...(p.oracle ? { oracle: true } : {}),
      ...(p.vm ? { vm: p.vm } : {}),
      outDir: dir,
    });
    return { runId: id, dir };
  }

  /**
   * A sim finding again. A single preset is replayed exactly (the recorded
   * scheduler decisions); a suite phase is re-run from its preset with the
   * run's seed and the phase's profile, which the simulator makes deterministic.
   */
  private async replay(p: Params<'run.replay'>, c: Client): Promise<ReplayStarted> {
    const header = await this.runs.header(p.runId);
    if (!header) throw new ApiError('not-found', `run ${p.runId} has no header yet`);
    if (header.target !== 'sim') throw new ApiError('bad-request', `replay needs the simulated kernel; this run was on ${header.target}`);
    // The phase a finding belongs to is the one running when it was reported
    // (by journal order: a phase starts at the very instant the last one stopped).
    const place = await this.runs.finding(p.runId, p.findingId, p.t, this.goneOf(c));
    if (!place) throw new ApiError('not-found', `run ${p.runId} has no finding ${p.findingId}`);
    const { finding } = place;
    if (!header.scenario.suite) {
      // A run from before resolved programs drew its arguments differently: its schedule cannot
      // be followed. Otherwise the run worker reads the recorded schedule from the journal as it goes.
      const exact = header.program === PROGRAM_FORMAT;
      const started = await this.launch(header.scenario, { target: 'sim', profile: header.profile, seed: header.seed, duration: header.duration }, exact ? this.runs.journalPath(p.runId) : undefined);
      return { ...started, mode: exact ? 'exact' : 'seed', expect: { type: finding.type, message: finding.message, t: finding.t } };
    }
    const ph = place.phase;
    if (!ph) throw new ApiError('not-found', `finding ${p.findingId} is not inside any phase of ${p.runId}`);
    const entry = header.scenario.suite.find((e) => e.preset === ph.name);
    const started = await this.startRun({ source: { preset: ph.name }, target: 'sim', profile: ph.profile, seed: header.seed, ...(entry?.duration !== undefined ? { duration: entry.duration } : {}) });
    return { ...started, mode: 'phase', phase: ph.name, expect: { type: finding.type, message: finding.message, t: finding.t - ph.t } };
  }

  private async subscribe(runId: string, from: number, client: Client): Promise<SubscribeResult> {
    const id = `s${this.nextSub++}`;
    const state = { cancelled: false };
    const header = await this.waitHeader(runId);
    let cancelLive: (() => void) | null = null;
    const sub: Subscription = { client, state, cancel: () => cancelLive?.() };
    this.subs.set(id, sub);
    const end = (summary: RunSummary | null, trailer: RunTrailer | null, truncated: boolean, error?: string) => {
      if (state.cancelled) return;
      client.push({ type: 'end', sub: id, runId, summary, trailer, truncated, ...(error ? { error } : {}) });
      this.subs.delete(id);
    };
    // Nothing is pushed for this subscription before its id has reached the
    // client (the reply goes out when this call resolves; a setImmediate comes
    // after that), or the client could not tell whose events they are. This is
    // the one place API clients rely on for it: the window keeps no early buffer.
    let held: (() => void)[] | null = [];
    const whenAnswered = (fn: () => void) => (held ? held.push(fn) : fn());
    setImmediate(() => {
      const queued = held ?? [];
      held = null;
      for (const fn of queued) fn();
    });
    cancelLive = this.manager.subscribe(runId, from, {
      events: (f, lines) => whenAnswered(() => {
        if (state.cancelled) return;
        // A client that cannot keep up is cut off with a reason rather than
        // letting its queue grow without bound; it can resubscribe from where it was.
        if (client.backlog() > MAX_BACKLOG) {
          end(null, null, false, `the client fell ${MAX_BACKLOG >> 20} MB behind; resubscribe from event ${f}`);
          state.cancelled = true;
          cancelLive?.();
          return;
        }
        client.pushEvents(id, runId, f, lines);
      }),
      end: (summary, error) => whenAnswered(() => end(summary, null, false, error)),
    });
    const live = cancelLive !== null;
    if (!live) {
      // A finished run: stream its journal, pausing while the client is behind.
      setImmediate(() => {
        void this.runs
          .stream(runId, { from, signal: state }, async (f, lines) => {
            while (client.backlog() > MAX_BACKLOG && !state.cancelled) await new Promise((r) => setTimeout(r, 20));
            if (!state.cancelled) client.pushEvents(id, runId, f, lines);
          })
          .then(
            async (r) => end(await this.runs.summary(runId), r.trailer, r.truncated),
            (e: Error) => (e instanceof QueryCancelled ? undefined : end(null, null, false, e.message)),
          );
      });
    }
    return { sub: id, header, live };
  }

  private async waitHeader(runId: string): Promise<SubscribeResult['header']> {
    // A run that just started may not have created its journal, or flushed its
    // header, yet: its worker reports "started" before the engine's first step,
    // and journals flush every 100 ms. A run directory that does not exist is an error at once.
    for (let i = 0; i < 100; i++) {
      if (!existsSync(this.runs.path(runId))) throw new ApiError('not-found', `run ${runId} has no journal`);
      if (existsSync(join(this.runs.path(runId), 'journal.jsonl'))) {
        const h = await this.runs.header(runId);
        if (h) return h;
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new ApiError('unavailable', `run ${runId} has not written its journal header`);
  }

  private endSub(id: string): void {
    const s = this.subs.get(id);
    if (!s) return;
    s.state.cancelled = true;
    s.cancel();
    this.subs.delete(id);
  }
}

/** Run-settings thresholds through the preset schema: the same words as a preset file's problems. */
export function checkThresholds(base: Thresholds, values: Record<string, string | number | null | undefined>): { thresholds?: Thresholds; problems: { file: string; path: string; message: string }[] } {
  const raw: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) raw[k] = v;
  const r = overrideThresholds(base, raw);
  return { ...(r.thresholds ? { thresholds: r.thresholds } : {}), problems: r.issues.map((i) => ({ file: 'run settings', path: formatPath(i.path), message: i.message })) };
}
