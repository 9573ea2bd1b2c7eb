// The preset library as the UI sees it: the lab's built-in presets (read-only,
// shipped with the app) and the user's own, saved next to the user's runs.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PresetLibrary, suiteIssues } from '../../app/engine/presets.js';
import { checkPreset, PresetError, formatProblem, type PresetProblem } from '../../app/vocabulary/preset-file.js';
import type { Scenario } from '../../app/vocabulary/scenario.js';
import { ApiError } from '../../app/api/validate.js';
import type { PresetEntry, PresetText, ScenarioOutline, ValidateResult } from '../../app/api/types.js';

export class PresetStore {
  private readonly builtin: PresetLibrary;
  private readonly user: PresetLibrary;

  constructor(
    readonly builtinDir: string,
    readonly userDir: string,
  ) {
    this.builtin = new PresetLibrary(builtinDir);
    // A user's suite may name built-in presets as well as the user's own.
    this.user = new PresetLibrary(userDir, (n) => this.find(n));
  }

  /** A suite entry: built-in first, as locate() does. */
  private find(name: string): ReturnType<PresetLibrary['find']> {
    const b = this.builtin.find(name);
    return 'scenario' in b || !b.error.startsWith('no preset named') ? b : this.user.find(name);
  }

  /** Validation as the editor, run.start and save see it: the preset, and a suite's entries. */
  check(text: string, file: string): { scenario?: Scenario; problems: PresetProblem[] } {
    return checkPreset(text, file, (sc) => (sc.suite ? suiteIssues(sc, (n) => this.find(n)) : []));
  }

  list(): PresetEntry[] {
    const seen = new Set<string>();
    const out: PresetEntry[] = [];
    for (const [lib, origin] of [[this.builtin, 'builtin'], [this.user, 'user']] as const) {
      for (const p of lib.list()) {
        const shadowed = seen.has(p.name);
        seen.add(p.name);
        out.push({
          name: p.name,
          origin,
          description: p.description,
          suite: p.suite,
          ...(p.family ? { family: p.family } : {}),
          ...(p.bugProfile ? { bugProfile: p.bugProfile } : {}),
          ...(p.error ? { error: p.error.split('\n')[0]! } : shadowed ? { error: `a built-in preset is also named "${p.name}"; this copy is not used` } : {}),
        });
      }
    }
    return out;
  }

  /** Built-in first: a user file can never silently replace a shipped preset. */
  private locate(name: string): { lib: PresetLibrary; origin: 'builtin' | 'user'; file: string } {
    for (const [lib, origin] of [[this.builtin, 'builtin'], [this.user, 'user']] as const) {
      for (const ext of ['.yaml', '.yml', '.json']) {
        const file = join(lib.dir, name + ext);
        if (existsSync(file)) return { lib, origin, file };
      }
    }
    throw new ApiError('not-found', `no preset named "${name}"`);
  }

  load(name: string): PresetText {
    const { lib, origin, file } = this.locate(name);
    try {
      const p = lib.load(file);
      return { name, origin, file: `${name}${file.slice(file.lastIndexOf('.'))}`, text: p.text };
    } catch (e) {
      if (!(e instanceof PresetError)) throw e;
      // An invalid file still opens in the editor, so it can be fixed there.
      return { name, origin, file: `${name}${file.slice(file.lastIndexOf('.'))}`, text: readFileSync(file, 'utf8') };
    }
  }

  scenario(name: string): Scenario {
    const { lib, file } = this.locate(name);
    return lib.load(file).scenario;
  }

  validate(text: string, file = 'editor'): ValidateResult {
    const r = this.check(text, file);
    return r.scenario ? { ok: true, problems: [], outline: outline(r.scenario) } : { ok: false, problems: r.problems };
  }

  /** Saves under the preset's own `name:`, so the file name and the name runs report always agree. */
  save(name: string, text: string, overwrite: boolean): PresetEntry {
    const r = this.check(text, `${name}.yaml`);
    if (!r.scenario) throw new ApiError('bad-request', `the preset does not validate:\n${r.problems.slice(0, 5).map(formatProblem).join('\n')}`);
    if (r.scenario.name !== name) throw new ApiError('bad-request', `the preset says name: ${r.scenario.name}; save it as "${r.scenario.name}" or change its name: line`);
    const existing = (() => {
      try {
        return this.locate(name);
      } catch {
        return null;
      }
    })();
    if (existing?.origin === 'builtin') throw new ApiError('conflict', `"${name}" is a built-in preset and is read-only; change its name: line to save your own copy`);
    if (existing && !overwrite) throw new ApiError('conflict', `you already have a preset named "${name}"; overwrite it?`);
    mkdirSync(this.userDir, { recursive: true });
    const file = existing?.file ?? join(this.userDir, `${name}.yaml`);
    // Write then rename: a crash mid-save never leaves half a preset.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text.endsWith('\n') ? text : text + '\n');
    renameSync(tmp, file);
    const s = r.scenario;
    return {
      name,
      origin: 'user',
      description: s.description.trim(),
      suite: Boolean(s.suite),
      ...(s.family ? { family: s.family } : {}),
      ...(s.sim.bugProfile ? { bugProfile: s.sim.bugProfile } : {}),
    };
  }
}

export function outline(s: Scenario): ScenarioOutline {
  return {
    name: s.name,
    description: s.description.trim(),
    duration: s.duration,
    lanes: s.lanes.map((l) => l.name),
    ...(s.family ? { family: s.family } : {}),
    ...(s.sim.bugProfile ? { bugProfile: s.sim.bugProfile } : {}),
    ...(s.suite ? { suite: s.suite.map((e) => ({ preset: e.preset, profile: e.profile ?? ['fixed'], ...(e.duration !== undefined ? { duration: e.duration } : {}) })) } : {}),
    ...(Object.keys(s.expect.thresholds).length ? { thresholds: { ...s.expect.thresholds } } : {}),
  };
}
