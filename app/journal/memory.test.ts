// The readers in bounded memory, checked the way it matters: each runs in a
// child process whose JavaScript heap is capped well below the size of the
// journal it reads. A reader that held the file (or a string of it) would die
// of heap exhaustion. bench/journal-1g.js does the same on a 1 GB journal and
// writes the figures down.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTypescript } from '../test/build-first.js';
import { runCli, userFacingProblems } from '../test/hostile/run-cli.js';
import { library } from '../test/sim-harness.js';
import { startRun } from '../engine/run.js';
import { SimTarget } from '../targets/sim/sim-target.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-memory-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(buildTypescript, 180_000);

/** The heap each reader gets, MB: the simulator replaying needs about 20. */
const HEAP_MB = 24;
const capped = { nodeArgs: [`--max-old-space-size=${HEAP_MB}`], boundMs: 300_000 };

describe(`journal readers under a ${HEAP_MB} MB heap`, () => {
  let real: string;
  let big: string;

  beforeAll(async () => {
    // A real run's journal, larger than the heap (about 30 MB; stop-close-race's analysis keeps
    // no per-event state, so the replay's memory is the simulator's and the readers')...
    const out = join(tmp, 'real');
    await startRun({ scenario: library.load('stop-close-race').scenario, target: new SimTarget(), seed: 1, duration: 6.5e9, outDir: out, journalSync: false }).done;
    real = join(out, 'journal.jsonl');
    // ...and one of 80 MB made of its lines (times moved on each round), for the readers that do not re-run it.
    const lines = readFileSync(real, 'utf8').split('\n').filter(Boolean);
    const [header, body] = [lines[0]!, lines.slice(1, -1).filter((l) => !l.startsWith('{"kind":"finding"'))];
    big = join(tmp, 'big', 'journal.jsonl');
    mkdirSync(join(tmp, 'big'));
    const fd = openSync(big, 'w');
    writeSync(fd, header + '\n');
    let size = 0;
    for (let round = 0; size < 80e6; round++) {
      const shift = round * 3e9;
      const chunk = body.map((l) => l.replace(/^\{"kind":"(\w+)","t":(\d+)/, (_m, k: string, t: string) => `{"kind":"${k}","t":${Number(t) + shift}`)).join('\n') + '\n';
      writeSync(fd, chunk);
      size += chunk.length;
    }
    writeSync(fd, '{"kind":"end","t":1,"verdict":"pass","reason":"no findings"}\n');
    closeSync(fd);
  }, 300_000);

  it('report reads an 80 MB journal', async () => {
    expect(statSync(big).size).toBeGreaterThan(3 * HEAP_MB * 1e6);
    const r = await runCli(['report', big, '--out', join(tmp, 'big.html')], capped);
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(tmp, 'big.html'), 'utf8')).toMatch(/stop-close-race/);
  }, 300_000);

  it('compare reads two 80 MB journals', async () => {
    // --steps: a journal this large is otherwise compared by its metrics only.
    const r = await runCli(['compare', big, big, '--steps', '--json'], capped);
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.metrics.runs).toHaveLength(2);
    expect(out.steps.compared).toBeGreaterThan(0);
  }, 300_000);

  it('replay re-runs a real journal larger than the heap and finds it identical', async () => {
    expect(statSync(real).size).toBeGreaterThan(HEAP_MB * 1e6);
    const r = await runCli(['replay', real, '--out', join(tmp, 'replay')], capped);
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/replay identical to the recorded journal/);
  }, 300_000);
});
