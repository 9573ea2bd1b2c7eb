// Which process runs a preset. Raw-ioctl ops run in the native agent (C, one
// thread per lane, shared file handles); library ops (pa.*, midi.*) run in
// the application lane (Node, naudiodon and midi: native-bridge/applane/).
// A preset is one or the other: a library stream cannot be handed to the
// agent, the agent's barriers align threads of one process, and the event
// stream's completion order (which the detectors rely on) holds within one
// process. Timing ops and device.detach/attach exist in both.
import type { Issue } from './schema.js';
import type { Lane, Step } from './scenario.js';
import { isLibraryOp, opSpec } from './ops.js';

/** Ops the application lane runs besides the library ops. */
export const LIBRARY_LANE_EXTRAS = ['sleep', 'jitter', 'barrier', 'device.detach', 'device.attach'] as const;

export type Placement = 'agent' | 'library';

/** Where a validated scenario's (or a compiled program's) steps run. */
export function placementOf(steps: readonly { op: string }[]): Placement {
  return steps.some((s) => isLibraryOp(s.op)) ? 'library' : 'agent';
}

export function checkLanePlacement(setup: Step[], lanes: Lane[], teardown: Step[], issues: Issue[]): void {
  const all = [...setup, ...lanes.flatMap((l) => l.steps), ...teardown];
  const lib = all.find((s) => isLibraryOp(s.op));
  if (!lib) return;
  const seen = new Set<string>();
  for (const s of all) {
    if (isLibraryOp(s.op) || (LIBRARY_LANE_EXTRAS as readonly string[]).includes(s.op) || seen.has(s.at)) continue;
    seen.add(s.at);
    const fam = opSpec(s.op)?.family;
    issues.push({
      path: pathOf(s.at),
      message: `${s.op} is a raw ${fam === 'timing' ? 'timing' : 'ioctl'} op for the native agent, but this preset also drives libraries (${lib.op} at ${lib.at}), which run in the application lane's own process; a preset uses one or the other (sleep, jitter, barrier and device.detach/attach work in both)`,
    });
  }
}

function pathOf(at: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of at.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)) out.push(m[1] ?? Number(m[2]));
  return out;
}
