// The preset library: presets/*.yaml shipped with the lab, plus any path a
// user gives. Names resolve to files; files are parsed and validated.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PresetError, type ParsedPreset, parsePreset } from '../vocabulary/preset-file.js';

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
    return parsePreset(text, file);
  }
}
