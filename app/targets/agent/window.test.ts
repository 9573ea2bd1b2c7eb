// The agent's race windows (window.c) on a machine without sound cards: a
// held step whose kernel path is never reached (the handle never opened)
// still meets its barrier once, after the step, so the lane waiting there is
// released and the run ends; its record says `held: false`. Without the
// privilege userfaultfd needs for kernel-mode faults, the RUN is refused
// before any lane starts, saying why.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionEvent, RunEvent } from '../../events/types.js';
import { parsePreset } from '../../vocabulary/preset-file.js';
import { compileProgram } from '../../program/compile.js';
import { ensureAgent } from './binary.js';
import { spawnAgent, type SpawnedAgent } from './process.js';
import { encodeProgram } from './program.js';
import { AgentSession } from './session.js';

let bin: string;
const live: SpawnedAgent[] = [];
beforeAll(() => {
  bin = ensureAgent();
});
afterEach(async () => {
  for (const a of live.splice(0)) {
    a.kill();
    await a.exited;
  }
});

const YAML = `name: w
setup:
  - seq.open: { handle: q }
lanes:
  - name: held
    iterations: 3
    loop:
      - seq.read: { handle: q, bytes: 28, hold: go, expect: [EBADF] }
      - seq.send: { handle: q, to: "q:0", type: sysex, size: 40, hold: go, hold_from: 56, expect: [EBADF] }
      - seq.read: { handle: q, unmapped_from: 28, expect: [EBADF] }
  - name: other
    iterations: 3
    loop:
      - barrier: go
      - barrier: go
`;

async function runAs(as: { uid?: number; gid?: number }) {
  const agent = spawnAgent(bin, [], as);
  live.push(agent);
  const s = new AgentSession(agent);
  await s.start();
  const program = encodeProgram(compileProgram(parsePreset(YAML, 'w.yaml').scenario!, { seed: 1, duration: 20e9 }), { flags: 0 });
  const events: RunEvent[] = [];
  const res = await s.run(program, { signal: new AbortController().signal, emit: (e) => events.push(e) });
  return { res, acts: events.filter((e): e is ActionEvent => e.kind === 'act') };
}

const root = process.getuid?.() === 0;
const unprivilegedOff = existsSync('/proc/sys/vm/unprivileged_userfaultfd') && readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8').trim() === '0';

describe('race windows in the agent, no sound hardware needed', () => {
  it.skipIf(!root)('a held step the kernel never reaches meets its barrier after the call: the other lane is released every iteration', async () => {
    const { res, acts } = await runAs({});
    expect(res.status).toBe('completed');
    const held = acts.filter((a) => a.lane === 'held' && a.op !== 'barrier');
    expect(held.map((a) => [a.op, a.errno, a.data?.held])).toEqual(
      Array.from({ length: 3 }, () => [
        ['seq.read', 'EBADF', false],
        ['seq.send', 'EBADF', false],
        ['seq.read', 'EBADF', undefined],
      ]).flat(),
    );
    const barriers = acts.filter((a) => a.lane === 'other' && a.op === 'barrier');
    expect(barriers.map((a) => a.ret)).toEqual([0, 0, 0, 0, 0, 0]);
    // the program says what it asked for: hold is the barrier's index, edge the byte
    expect(acts.find((a) => a.op === 'seq.send')!.args).toBeUndefined();
  });

  it.skipIf(!root || !unprivilegedOff)('refuses a RUN that holds buffers when userfaultfd is refused (an unprivileged agent), naming EPERM and the remedy', async () => {
    await expect(runAs({ uid: 65534, gid: 65534 })).rejects.toThrow(/refused the run: .*userfaultfd\(\) was refused \(EPERM\).*root/);
  });
});
