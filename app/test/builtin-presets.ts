// Every built-in preset: the shipped library (presets/) and the virtual lab's
// variants (app/targets/agent/vm-presets/), suites expanded into the presets
// they run. The sim-vs-agent checks walk all of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PresetLibrary, defaultPresetDir } from '../engine/presets.js';
import { repoRoot } from '../targets/agent/binary.js';
import { parsePreset } from '../vocabulary/preset-file.js';
import type { Scenario } from '../vocabulary/scenario.js';

export function builtinScenarios(): Scenario[] {
  const lib = new PresetLibrary();
  const out = new Map<string, Scenario>();
  const add = (sc: Scenario) => {
    if (sc.suite) for (const e of sc.suite) add(lib.load(e.preset).scenario);
    else out.set(sc.name, sc);
  };
  for (const f of readdirSync(defaultPresetDir()).filter((x) => x.endsWith('.yaml'))) add(lib.load(join(defaultPresetDir(), f)).scenario);
  const vm = join(repoRoot(), 'app', 'targets', 'agent', 'vm-presets');
  for (const f of readdirSync(vm).filter((x) => x.endsWith('.yaml'))) add(parsePreset(readFileSync(join(vm, f), 'utf8'), f).scenario);
  return [...out.values()];
}
