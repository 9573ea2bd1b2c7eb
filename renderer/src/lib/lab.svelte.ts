// What the whole window shares: the lab's targets, presets, the editor, the
// run settings, the history and the run on screen.
import type { DevicesResult, KernelListing, LabInfo, MatrixStatus, MetricsComparison, PresetEntry, PresetProblem, ProfileSwitch, RunInfo, ScenarioOutline, TargetInfo, ThresholdValues, Thresholds, VmSettings } from '../../../app/api/types.js';
import { api, ApiError } from './api.js';
import { RunView } from './run-view.svelte.js';
import { parseDurationText } from './format.js';

export type Tab = 'setup' | 'run' | 'history' | 'compare';

/** The names a preset gives its thresholds, in the order the run settings show them. */
export const THRESHOLDS: { key: keyof Thresholds; label: string; hint: string; unit: 'count' | 'duration' }[] = [
  { key: 'xruns', label: 'xruns', hint: 'most xruns allowed, e.g. 0', unit: 'count' },
  { key: 'latency_p99', label: 'stream latency p99', hint: 'delay of the streams, e.g. 50ms', unit: 'duration' },
  { key: 'ioctl_p99', label: 'ioctl p99', hint: 'e.g. 2ms', unit: 'duration' },
  { key: 'wakeup_late_p99', label: 'wake-up lateness p99', hint: 'e.g. 5ms', unit: 'duration' },
  { key: 'glitches', label: 'glitches', hint: 'glitches allowed in a looped-back tone (application lane), e.g. 0', unit: 'count' },
  { key: 'midi_latency_p99', label: 'MIDI latency p99', hint: 'application lane, e.g. 10ms', unit: 'duration' },
  { key: 'xrun_time_lost', label: 'time lost to xruns', hint: 'stopped time recovered, all streams, e.g. 100ms', unit: 'duration' },
];

/** The kernel a history row ran on, as the kernel filter offers it. */
export function kernelLabel(r: RunInfo): string {
  return r.target === 'sim' ? 'simulated' : (r.kernel ?? '');
}

export interface HistoryFilter {
  preset: string;
  target: string;
  kernel: string;
  verdict: string;
  text: string;
}

const NEW_PRESET = `name: my-scenario
description: >
  Two lanes race HW_PARAMS on one substream while a third polls its status.
duration: 2s
setup:
  - pcm.open: { handle: pcm, card: Dummy, device: 0, subdevice: 0, stream: playback }
lanes:
  - name: small
    loop:
      - barrier: go
      - pcm.hw_params: { handle: pcm, format: S16_LE, channels: 2, rate: 48000, period_size: 64, periods: 4 }
  - name: large
    loop:
      - barrier: go
      - pcm.hw_params: { handle: pcm, format: S16_LE, channels: 2, rate: 48000, period_size: 1024, periods: 4 }
  - name: poll
    loop:
      - pcm.status: pcm
      - sleep: 50us
teardown:
  - pcm.close: pcm
`;

class Lab {
  info = $state<LabInfo | null>(null);
  connection = $state<'connecting' | 'open' | 'closed'>('connecting');
  tab = $state<Tab>('setup');
  error = $state<string | null>(null);

  targets = $state<TargetInfo[]>([]);
  target = $state('sim');
  devices = $state<DevicesResult | null>(null);
  devicesError = $state<string | null>(null);
  devicesLoading = $state(false);

  profiles = $state<ProfileSwitch[]>([]);
  presets = $state<PresetEntry[]>([]);
  /** The library preset the editor was loaded from (null for a new one). */
  presetName = $state<string | null>(null);
  presetOrigin = $state<'builtin' | 'user' | null>(null);
  text = $state('');
  savedText = $state('');
  problems = $state<PresetProblem[]>([]);
  outline = $state<ScenarioOutline | null>(null);
  validating = $state(false);
  saveMessage = $state<{ kind: 'ok' | 'error' | 'confirm'; text: string } | null>(null);

  bugs = $state<string[]>([]);
  /** Thresholds typed in the run settings (preset words: "50ms", 0); empty means the preset's. */
  thresholdText = $state<Record<string, string>>({});
  thresholdProblems = $state<PresetProblem[]>([]);
  seed = $state(1);
  /** Afterwards, run the scenario on the fixed simulated kernel and compare (the oracle). */
  oracle = $state(false);
  durationText = $state('');

  runs = $state<RunInfo[]>([]);
  view = $state<RunView | null>(null);
  starting = $state(false);
  historyFilter = $state<HistoryFilter>({ preset: '', target: '', kernel: '', verdict: '', text: '' });
  /** Runs ticked in the history for a comparison, in the order ticked (the first is the baseline). */
  compareIds = $state<string[]>([]);
  comparison = $state<MetricsComparison | null>(null);
  comparing = $state(false);
  compareError = $state<string | null>(null);

  /** Virtual-lab settings, as `stresslab run --target vm` takes them. */
  vm = $state({ kernelVersion: '', patches: '', rebuild: '', memoryDebug: true });
  kernels = $state<KernelListing[]>([]);
  kernelsNote = $state<string | null>(null);
  kernelsLoading = $state(false);
  /** The kernel matrix last started (one run per kernel). */
  matrix = $state<MatrixStatus | null>(null);

  private validateTimer: ReturnType<typeof setTimeout> | null = null;
  private validateSeq = 0;

  get dirty(): boolean {
    return this.text !== this.savedText;
  }

  get durationNs(): number | undefined | 'invalid' {
    return parseDurationText(this.durationText);
  }

  async init(): Promise<void> {
    api.onState((s) => {
      const was = this.connection;
      this.connection = s;
      if (s === 'open' && was === 'closed') {
        this.view?.resume();
        void this.refreshRuns();
      }
    });
    api.onPush((m) => {
      if (m.type === 'runs-changed') {
        void this.refreshRuns();
        if (this.matrix?.state === 'running') void this.refreshMatrix();
      } else this.view?.handle(m);
    });
    try {
      const [info, profiles, presets] = await Promise.all([api.call('lab.info', {}), api.call('profiles.list', {}), api.call('presets.list', {})]);
      this.info = info;
      this.profiles = profiles;
      this.presets = presets;
      const first = presets.find((p) => p.name === 'demo') ?? presets[0];
      if (first) await this.loadPreset(first.name);
    } catch (e) {
      this.error = (e as Error).message;
    }
    void this.refreshTargets();
    void this.refreshRuns();
  }

  async refreshTargets(): Promise<void> {
    try {
      this.targets = await api.call('targets.list', {});
      if (!this.targets.some((t) => t.id === this.target && t.available)) this.target = this.targets.find((t) => t.available)?.id ?? 'sim';
      await this.loadDevices(false);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async selectTarget(id: string): Promise<void> {
    this.target = id;
    if (id === 'vm' && !this.kernels.length) void this.loadKernels(false);
    await this.loadDevices(false);
  }

  async loadKernels(refresh: boolean): Promise<void> {
    this.kernelsLoading = true;
    try {
      const r = await api.call('kernels.list', { refresh });
      this.kernels = r.kernels;
      this.kernelsNote = r.note ?? null;
    } catch (e) {
      this.kernelsNote = (e as Error).message;
    } finally {
      this.kernelsLoading = false;
    }
  }

  /** The settings for run.start; undefined when every field has its default. */
  vmSettings(): VmSettings | undefined {
    const v = this.vm;
    const lines = (t: string) => t.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
    const out: VmSettings = {
      ...(v.kernelVersion.trim() ? { kernelVersion: v.kernelVersion.trim() } : {}),
      ...(lines(v.patches).length ? { patches: lines(v.patches) } : {}),
      ...(lines(v.rebuild).length ? { rebuild: lines(v.rebuild) } : {}),
      ...(v.memoryDebug ? {} : { memoryDebug: false }),
    };
    return Object.keys(out).length ? out : undefined;
  }

  /** "A,B" or "A..B": the run becomes a kernel matrix. */
  get isMatrix(): boolean {
    const k = this.vm.kernelVersion;
    return this.target === 'vm' && (k.includes(',') || k.includes('..'));
  }

  async refreshMatrix(): Promise<void> {
    if (!this.matrix) return;
    try {
      this.matrix = await api.call('matrix.get', { id: this.matrix.id });
    } catch {
      /* refreshed again on the next change */
    }
  }

  async loadDevices(refresh: boolean): Promise<void> {
    const target = this.target;
    this.devicesLoading = true;
    this.devicesError = null;
    try {
      // The devices of the chosen kernel (one kernel: a matrix lists today's)
      const k = this.vm.kernelVersion.trim();
      const vm = target === 'vm' && k && !this.isMatrix ? { vm: { kernelVersion: k } } : {};
      const d = await api.call('devices.list', { target, refresh, ...vm });
      if (this.target === target) this.devices = d;
    } catch (e) {
      if (this.target === target) {
        this.devices = null;
        this.devicesError = (e as Error).message;
      }
    } finally {
      this.devicesLoading = false;
    }
  }

  async refreshPresets(): Promise<void> {
    this.presets = await api.call('presets.list', {});
  }

  async loadPreset(name: string): Promise<void> {
    const p = await api.call('presets.load', { name });
    this.presetName = p.name;
    this.presetOrigin = p.origin;
    this.text = p.text;
    this.savedText = p.text;
    this.saveMessage = null;
    // Every run starts on profile fixed (today's kernel), as `stresslab run` does without
    // --profile: a result in the app reproduces from the CLI with the same words. The
    // preset's historic bug is one click away in the run settings.
    this.bugs = [];
    this.durationText = '';
    this.thresholdText = {};
    this.thresholdProblems = [];
    await this.validateNow();
  }

  newPreset(): void {
    this.presetName = null;
    this.presetOrigin = null;
    this.text = NEW_PRESET;
    this.savedText = '';
    this.bugs = [];
    this.thresholdText = {};
    this.thresholdProblems = [];
    this.saveMessage = null;
    void this.validateNow();
  }

  edit(text: string): void {
    this.text = text;
    this.saveMessage = null;
    if (this.validateTimer !== null) clearTimeout(this.validateTimer);
    this.validateTimer = setTimeout(() => void this.validateNow(), 200);
  }

  private fileLabel(): string {
    return `${this.outline?.name ?? this.presetName ?? 'editor'}.yaml`;
  }

  async validateNow(): Promise<void> {
    const seq = ++this.validateSeq;
    this.validating = true;
    try {
      const r = await api.call('presets.validate', { text: this.text, file: this.fileLabel() });
      if (seq !== this.validateSeq) return;
      this.problems = r.problems;
      if (r.outline) this.outline = r.outline;
      else if (!this.text.trim()) this.outline = null;
    } catch (e) {
      if (seq === this.validateSeq) this.problems = [{ file: this.fileLabel(), path: '(editor)', message: (e as Error).message }];
    } finally {
      if (seq === this.validateSeq) this.validating = false;
    }
  }

  async save(overwrite = false): Promise<void> {
    const name = this.outline?.name;
    if (!name || this.problems.length) {
      this.saveMessage = { kind: 'error', text: 'fix the problems first' };
      return;
    }
    try {
      const entry = await api.call('presets.save', { name, text: this.text, overwrite });
      this.savedText = this.text;
      this.presetName = entry.name;
      this.presetOrigin = 'user';
      this.saveMessage = { kind: 'ok', text: `saved as ${entry.name} in ${this.info?.userPresetDir ?? 'your presets'}` };
      await this.refreshPresets();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'conflict' && /overwrite/.test(e.message)) this.saveMessage = { kind: 'confirm', text: e.message };
      else this.saveMessage = { kind: 'error', text: (e as Error).message };
    }
  }

  /** Thresholds the run settings changed, as typed ("" removes one); none when nothing changed. */
  get thresholdOverrides(): ThresholdValues | undefined {
    const out: ThresholdValues = {};
    let any = false;
    for (const t of THRESHOLDS) {
      const v = this.thresholdText[t.key];
      if (v === undefined) continue;
      out[t.key] = v.trim() === '' ? null : v.trim();
      any = true;
    }
    return any ? out : undefined;
  }

  private thresholdSeq = 0;

  /** Checks the typed thresholds with the preset's own validation (the server's words). */
  async setThreshold(key: keyof Thresholds, text: string): Promise<void> {
    this.thresholdText = { ...this.thresholdText, [key]: text };
    const values = this.thresholdOverrides;
    const seq = ++this.thresholdSeq;
    if (!values) {
      this.thresholdProblems = [];
      return;
    }
    try {
      const r = await api.call('thresholds.check', { values, ...(this.outline?.thresholds ? { base: this.outline.thresholds } : {}) });
      if (seq === this.thresholdSeq) this.thresholdProblems = r.problems;
    } catch (e) {
      if (seq === this.thresholdSeq) this.thresholdProblems = [{ file: 'run settings', path: 'thresholds', message: (e as Error).message }];
    }
  }

  resetThresholds(): void {
    this.thresholdText = {};
    this.thresholdProblems = [];
  }

  /** History rows that pass the filters. */
  get filteredRuns(): RunInfo[] {
    const f = this.historyFilter;
    const text = f.text.trim().toLowerCase();
    return this.runs.filter(
      (r) =>
        (!f.preset || r.preset === f.preset) &&
        (!f.target || r.target === f.target) &&
        (!f.kernel || kernelLabel(r) === f.kernel) &&
        (!f.verdict || (r.state === 'running' ? 'running' : (r.verdict ?? 'incomplete')) === f.verdict) &&
        (!text || `${r.id} ${r.note ?? ''}`.toLowerCase().includes(text)),
    );
  }

  toggleCompare(id: string): void {
    this.compareIds = this.compareIds.includes(id) ? this.compareIds.filter((x) => x !== id) : [...this.compareIds, id];
  }

  async compare(): Promise<void> {
    this.comparing = true;
    this.compareError = null;
    this.tab = 'compare';
    try {
      this.comparison = await api.call('runs.compare', { runIds: [...this.compareIds] });
    } catch (e) {
      this.comparison = null;
      this.compareError = (e as Error).message;
    } finally {
      this.comparing = false;
    }
  }

  async deleteRun(id: string): Promise<void> {
    try {
      await api.call('runs.delete', { runId: id });
      this.compareIds = this.compareIds.filter((x) => x !== id);
      if (this.view?.runId === id) {
        this.view.close();
        this.view = null;
      }
      await this.refreshRuns();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async setNote(id: string, text: string): Promise<void> {
    try {
      await api.call('runs.note', { runId: id, text });
      await this.refreshRuns();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = await api.call('runs.list', {});
    } catch {
      /* the history refreshes on the next change */
    }
  }

  show(view: RunView): void {
    this.view?.close();
    this.view = view;
    this.tab = 'run';
  }

  async openRun(runId: string): Promise<void> {
    const v = new RunView(runId);
    this.show(v);
    await v.open();
  }

  /** The oracle compares one scenario with the fixed model: not a suite, and not a run that already is the fixed model. */
  get oracleAllowed(): boolean {
    return !!this.outline && !this.outline.suite && (this.target !== 'sim' || this.bugs.length > 0) && !this.isMatrix;
  }

  async start(): Promise<void> {
    const d = this.durationNs;
    if (d === 'invalid') {
      this.error = 'duration: write a time such as 500ms, 5s or 2m (or leave it empty for the preset\'s)';
      return;
    }
    if (this.problems.length) {
      this.error = 'the preset has problems; fix them before running';
      return;
    }
    if (this.thresholdProblems.length) {
      this.error = 'a threshold in the run settings is not valid; fix it or reset it to the preset\'s';
      return;
    }
    this.starting = true;
    this.error = null;
    try {
      const unsaved = this.dirty || !this.presetName;
      const source = unsaved ? { text: this.text, name: this.outline?.name ?? 'editor' } : { preset: this.presetName! };
      const oracle = this.oracle && this.oracleAllowed;
      const thresholds = this.outline?.suite ? undefined : this.thresholdOverrides;
      // Kernel profiles are switches of the simulated kernel; a real target runs with none.
      const profile = this.target === 'sim' && this.bugs.length ? [...this.bugs] : ['fixed'];
      const vm = this.target === 'vm' ? this.vmSettings() : undefined;
      const r = await api.call('run.start', { source, target: this.target, profile, seed: this.seed, ...(d !== undefined ? { duration: d } : {}), ...(oracle ? { oracle } : {}), ...(thresholds ? { thresholds } : {}), ...(vm ? { vm } : {}) });
      if (r.matrix) {
        this.matrix = { id: r.matrix, preset: this.outline?.name ?? '', seed: this.seed, state: 'running', rows: [] };
        await this.refreshMatrix();
      }
      await this.openRun(r.runId);
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.starting = false;
    }
  }

  async replay(runId: string, findingId: string, t: number): Promise<void> {
    this.error = null;
    try {
      const started = await api.call('run.replay', { runId, findingId, t });
      const v = new RunView(started.runId);
      v.replayOf = { runId, findingId, started };
      this.show(v);
      await v.open();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}

export const lab = new Lab();
