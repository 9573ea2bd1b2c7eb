// The preset library: presets/*.yaml shipped with the lab, plus any path a
// user gives. Names resolve to files; files are parsed and validated.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PresetError, type ParsedPreset, parsePreset } from '../vocabulary/preset-file.js';
import type { Issue } from '../vocabulary/schema.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { ProfileError, simProfile } from '../targets/sim/options.js';

/** How a suite's entries are found: a scenario, or why there is none. */
export type PresetLookup = (name: string) => { scenario: Scenario } | { error: string };

/**
 * A suite is checked before it runs: every entry names a preset that exists,
 * validates and is not itself a suite (suites do not nest, so no suite can
 * reach itself through another), and names kernel profiles that exist.
 */
export function suiteIssues(sc: Scenario, lookup: PresetLookup): Issue[] {
  const issues: Issue[] = [];
  (sc.suite ?? []).forEach((e, i) => {
    const path = ['suite', i, 'preset'];
    if (e.preset === sc.name) {
      issues.push({ path, message: `the suite includes itself` });
      return;
    }
    const r = lookup(e.preset);
    if ('error' in r) issues.push({ path, message: r.error });
    else if (r.scenario.suite) issues.push({ path, message: `"${e.preset}" is a suite itself; suites do not nest` });
    if (e.profile) {
      try {
        simProfile(e.profile);
      } catch (err) {
        if (!(err instanceof ProfileError)) throw err;
        issues.push({ path: ['suite', i, 'profile'], message: err.message });
      }
    }
  });
  return issues;
}

/** presets/ at the repository root (works from app/ sources and dist/app/ builds). */
export function defaultPresetDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'presets');
    if (existsSync(join(p, 'demo.yaml'))) return p;
    dir = dirname(dir);
  }
  return resolve('presets');
}

export interface PresetInfo {
  name: string;
  file: string;
  family?: string;
  description: string;
  suite: boolean;
  bugProfile?: string[];
  error?: string;
}

export class PresetLibrary {
  /** `lookup`: where suite entries are found (default: this library). */
  constructor(
    readonly dir: string = defaultPresetDir(),
    private readonly lookup?: PresetLookup,
  ) {}

  /** A preset of this library by name, for suite checks (entries are not themselves cross-checked: suites do not nest). */
  find(name: string): { scenario: Scenario } | { error: string } {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) return { error: `"${name}" is not a preset name` };
    for (const ext of ['.yaml', '.yml', '.json']) {
      const p = join(this.dir, name + ext);
      if (!existsSync(p)) continue;
      try {
        return { scenario: parsePreset(readFileSync(p, 'utf8'), p).scenario };
      } catch (e) {
        if (e instanceof PresetError) return { error: `preset "${name}" does not validate: ${e.problems[0]?.message ?? e.message}` };
        return { error: `preset "${name}" cannot be read: ${(e as Error).message}` };
      }
    }
    return { error: `no preset named "${name}"` };
  }

  files(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => join(this.dir, f));
  }

  list(): PresetInfo[] {
    return this.files().map((file) => {
      try {
        const { scenario } = this.load(file);
        return {
          name: scenario.name,
          file,
          ...(scenario.family ? { family: scenario.family } : {}),
          description: scenario.description.trim(),
          suite: Boolean(scenario.suite),
          ...(scenario.sim.bugProfile ? { bugProfile: scenario.sim.bugProfile } : {}),
        };
      } catch (e) {
        return { name: basename(file, extname(file)), file, description: '', suite: false, error: (e as Error).message };
      }
    });
  }

  /** A preset name from the library, or a path to a file. */
  resolve(ref: string): string {
    if (/[/\\]|\.(ya?ml|json)$/.test(ref)) {
      const p = resolve(ref);
      if (!existsSync(p) || !statSync(p).isFile()) throw new PresetError([{ file: ref, path: '(file)', message: 'no such preset file' }]);
      return p;
    }
    for (const ext of ['.yaml', '.yml', '.json']) {
      const p = join(this.dir, ref + ext);
      if (existsSync(p)) return p;
    }
    const known = this.files().map((f) => basename(f, extname(f)));
    throw new PresetError([{ file: ref, path: '(name)', message: `no preset named "${ref}" in ${this.dir}; known: ${known.join(', ')}` }]);
  }

  load(ref: string): ParsedPreset {
    const file = this.resolve(ref);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new PresetError([{ file, path: '(file)', message: `cannot read: ${(e as Error).message}` }]);
    }
    return parsePreset(text, file, (sc) => (sc.suite ? suiteIssues(sc, this.lookup ?? ((n) => this.find(n))) : []));
  }
}
