// Every built-in preset: the shipped library (presets/, the virtual lab's
// variants included: variant_of), suites expanded into the presets
// they run. The sim-vs-agent checks walk all of those the agent runs: presets
// that drive PortAudio/RtMidi (pa.*, midi.*) run in the application lane, not
// the agent; the simulator's mirror of those libraries is checked against the
// real ones by app/applane/applane.vm.test.ts (the oracle on their ALSA calls).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PresetLibrary, defaultPresetDir } from '../engine/presets.js';
import { allSteps, type Scenario } from '../vocabulary/scenario.js';
import { type Placement, placementOf } from '../vocabulary/placement.js';

export function builtinScenarios(placement: Placement = 'agent'): Scenario[] {
  const lib = new PresetLibrary();
  const out = new Map<string, Scenario>();
  const add = (sc: Scenario) => {
    if (sc.suite) for (const e of sc.suite) add(lib.load(e.preset).scenario);
    else if (placementOf(allSteps(sc)) === placement) out.set(sc.name, sc);
  };
  for (const f of readdirSync(defaultPresetDir()).filter((x) => x.endsWith('.yaml'))) add(lib.load(join(defaultPresetDir(), f)).scenario);
  return [...out.values()];
}
