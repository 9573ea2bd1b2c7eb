// Stopping a run from outside, as Ctrl-C and service managers do: SIGINT or
// SIGTERM stop it cleanly (the journal ends with its closing line, summary.json
// says "aborted"), a second signal stops it without waiting for the target,
// and the command exits 130 either way. On the simulator (a run that spins
// as hard as it can) and on this machine's native agent (timing ops need no
// sound card). The virtual lab's test is signals.vm.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildTypescript } from '../test/build-first.js';
import { type CliResult, startCli, userFacingProblems } from '../test/hostile/run-cli.js';
import { parseJournal } from '../journal/reader.js';
import { ensureAgent } from '../targets/agent/binary.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-signals-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(buildTypescript, 180_000);

/** Waits until the run's journal holds this many bytes (the run is well under way). */
async function journalGrows(file: string, bytes: number, boundMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(existsSync(file) && statSync(file).size >= bytes)) {
    if (Date.now() - t0 > boundMs) throw new Error(`${file} did not reach ${bytes} bytes within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectCleanStop(r: CliResult, out: string, signal: string): void {
  expect(userFacingProblems(r)).toEqual([]);
  expect(r.code).toBe(130);
  expect(r.err).toMatch(new RegExp(`${signal}: stopping the run`));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(summary.status).toBe('stopped');
  expect(summary.reason).toMatch(new RegExp(`interrupted by ${signal}|second signal`));
  const j = parseJournal(readFileSync(join(out, 'journal.jsonl'), 'utf8'));
  expect(j.trailer).not.toBeNull();
  expect(j.eventCount).toBeGreaterThan(0);
}

const spin = `
name: busy-64
duration: 3600s
setup:
  - pcm.open: { handle: p, card: 0 }
lanes:
  - name: a
    replicas: 32
    loop:
      - pcm.status: p
  - name: b
    replicas: 32
    loop:
      - pcm.hw_refine: p
`;

describe('signals on the simulator', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s stops a busy 64-lane run cleanly: journal closed, summary written, exit 130', async (sig) => {
    const preset = join(tmp, 'busy-64.yaml');
    writeFileSync(preset, spin);
    const out = join(tmp, `sim-${sig}`);
    const { child, done } = startCli(['run', preset, '--quiet', '--out', out], { boundMs: 120_000 });
    await journalGrows(join(out, 'journal.jsonl'), 300_000);
    child.kill(sig);
    expectCleanStop(await done, out, sig);
  }, 180_000);

  it('a second SIGINT stops at once, still with the journal flushed and a summary', async () => {
    const out = join(tmp, 'sim-twice');
    const { child, done } = startCli(['run', 'qa-soak', '--duration', '3600s', '--quiet', '--out', out], { boundMs: 120_000 });
    await journalGrows(join(out, 'journal.jsonl'), 300_000);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const r = await done;
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(130);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
    expect(parseJournal(readFileSync(join(out, 'journal.jsonl'), 'utf8')).trailer).not.toBeNull();
  }, 180_000);
});

describe('signals on the native agent (this machine)', () => {
  it('SIGINT stops a run on the local target: the agent is stopped through the protocol, exit 130', async () => {
    const agent = ensureAgent({});
    const out = join(tmp, 'local');
    // The local target needs /dev/snd to call itself available; timing ops do not, so this
    // drives the same engine and the same signal handling as `stresslab run --target local`.
    const script = join(tmp, 'local-run.mjs');
    writeFileSync(
      script,
      `
import { startRun } from '${ROOT}/dist/app/engine/run.js';
import { LocalTarget } from '${ROOT}/dist/app/targets/local.js';
import { parsePreset } from '${ROOT}/dist/app/vocabulary/preset-file.js';
import { supervise, runExitCode } from '${ROOT}/dist/app/cli/supervise.js';
import { nodeIo } from '${ROOT}/dist/app/cli/main.js';
const { scenario } = parsePreset(\`
name: local-timing
duration: 600s
lanes:
  - name: a
    loop:
      - sleep: 1ms
  - name: b
    loop:
      - jitter: { min: 100us, max: 2ms }
\`, 'local.yaml');
const target = new LocalTarget({ agentPath: ${JSON.stringify(agent)} });
const h = startRun({ scenario, target, seed: 1, outDir: ${JSON.stringify(out)} });
const sup = supervise(h, nodeIo());
const s = await h.done;
sup.dispose();
process.exitCode = runExitCode(s, sup.signal !== null);
`,
    );
    const { child, done } = startCli([], { script, boundMs: 120_000 });
    await journalGrows(join(out, 'journal.jsonl'), 20_000);
    child.kill('SIGINT');
    const r = await done;
    expectCleanStop(r, out, 'SIGINT');
    const j = parseJournal(readFileSync(join(out, 'journal.jsonl'), 'utf8'));
    // Stopped by the protocol: the agent reported its end, it did not die under the run.
    expect(j.events.some((e) => e.kind === 'note' && /agent exited during the run|killed/.test(e.text))).toBe(false);
  }, 180_000);
});
