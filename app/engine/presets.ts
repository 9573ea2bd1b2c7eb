// The preset library: presets/*.yaml shipped with the lab, plus any path a
// user gives. Names resolve to files; files are parsed and validated.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PresetError, type ParsedPreset, parsePreset } from '../vocabulary/preset-file.js';
import { type HardwareNeeds, needsOf, needsSummary } from '../vocabulary/hardware.js';
import type { Scenario } from '../vocabulary/scenario.js';

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
  /** The preset this one adapts to other hardware. */
  variantOf?: string;
  /** What hardware it needs (stated, or implied by its steps), and the same in a few words. */
  requires?: HardwareNeeds;
  needs?: string;
  error?: string;
}

/** What the library says of one preset (listings, the app's preset view). */
export function presetInfo(scenario: Scenario, file: string): PresetInfo {
  const needs = scenario.suite ? undefined : needsOf(scenario);
  return {
    name: scenario.name,
    file,
    ...(scenario.family ? { family: scenario.family } : {}),
    description: scenario.description.trim(),
    suite: Boolean(scenario.suite),
    ...(scenario.sim.bugProfile ? { bugProfile: scenario.sim.bugProfile } : {}),
    ...(scenario.variantOf ? { variantOf: scenario.variantOf } : {}),
    ...(needs ? { requires: needs, needs: needsSummary(needs) } : {}),
  };
}

/** The presets a run of `scenario` could use instead: its family's (its variants, the preset it adapts, their siblings). */
export function relatedPresets(scenario: Scenario, all: readonly { name: string; scenario: Scenario }[]): { name: string; scenario: Scenario }[] {
  const base = scenario.variantOf ?? scenario.name;
  return all.filter((p) => p.name !== scenario.name && !p.scenario.suite && ((p.scenario.variantOf ?? p.name) === base || (scenario.family !== undefined && p.scenario.family === scenario.family)));
}

export class PresetLibrary {
  constructor(readonly dir: string = defaultPresetDir()) {}

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
        return presetInfo(this.load(file).scenario, file);
      } catch (e) {
        return { name: basename(file, extname(file)), file, description: '', suite: false, error: (e as Error).message };
      }
    });
  }

  /** Every valid preset of the library with its scenario (invalid files are left out: `presets` lists them). */
  scenarios(): { name: string; scenario: Scenario }[] {
    const out: { name: string; scenario: Scenario }[] = [];
    for (const f of this.files()) {
      try {
        const { scenario } = this.load(f);
        out.push({ name: scenario.name, scenario });
      } catch {
        /* listed as invalid by list() */
      }
    }
    return out;
  }

  /** Presets of the same family as `scenario` (variants first), offered when a target cannot run it. */
  related(scenario: Scenario): { name: string; scenario: Scenario }[] {
    return relatedPresets(scenario, this.scenarios());
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
    return parsePreset(text, file);
  }
}
