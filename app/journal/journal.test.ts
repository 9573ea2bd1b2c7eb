// The journal survives a kill -9 of the lab mid-run: everything up to the
// last batch parses, a torn last line is tolerated, damage elsewhere is not.
// A bounded journal samples and says so, and its counts stay exact.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildTypescript } from '../test/build-first.js';
import { JournalError, RawLines, parseJournal, readHeader, readJournal } from './reader.js';
import { validateScenario } from '../vocabulary/scenario.js';
import { runPreset } from '../test/sim-harness.js';
import { OracleSide } from '../analysis/oracle.js';
import { RunSeries } from '../api/series.js';
import { startRun } from '../engine/run.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import { library } from '../test/sim-harness.js';
import { compareJournals } from '../cli/commands/replay.js';
import { JournalSchedule } from './schedule.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-journal-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = BIN;
beforeAll(buildTypescript, 180_000);

const scenario = validateScenario({ name: 'x', lanes: [{ name: 'a', loop: [{ sleep: '1ms' }] }] }).scenario!;
const header = JSON.stringify({ kind: 'run', format: 1, preset: 'x', scenario, target: 'sim', profile: ['fixed'], seed: 1, strategy: 'pct', depth: 3, duration: 1e9, tool: 't' });

describe('journal reader', () => {
  it('tolerates a torn last line and reports damage elsewhere with its line number', () => {
    const ok = `${header}\n{"kind":"note","t":1,"level":"info","text":"a"}\n{"kind":"no`;
    const j = parseJournal(ok);
    expect(j.truncated).toBe(true);
    expect(j.events).toHaveLength(1);
    expect(j.trailer).toBeNull();
    expect(() => parseJournal(`${header}\n{"kind":"no\n{"kind":"note","t":1,"level":"info","text":"a"}\n`)).toThrow(/:2: not a JSON line/);
    expect(() => parseJournal('{"kind":"note"}\n')).toThrow(JournalError);
  });

  it('checks every line: shapes, kinds, the header and its scenario as a preset', () => {
    const bad = (line: string) => () => parseJournal(`${header}\n${line}\n{"kind":"end","t":1,"verdict":"pass","reason":"r"}\n`);
    expect(bad('null')).toThrow(/:2: expected an event \(a map with "kind"\), got null/);
    expect(bad('{"kind":"act","t":1}')).toThrow(/:2: "dur" must be a number/);
    expect(bad('{"kind":"finding","t":1,"finding":{"id":"a","type":"nope","severity":"critical","t":1,"message":"m"}}')).toThrow(/"type" must be one of/);
    expect(bad('{"kind":"klog","t":1,"level":3,"text":"x","source":"sim","trace":[{"t":"x"}]}')).toThrow(/"t" must be a number/);
    expect(bad('{"kind":"sched","t":1,"decisions":5}')).toThrow(/"decisions" must be a string/);
    expect(bad('{"kind":"run","t":1}')).toThrow(/a second run header/);
    const h = JSON.parse(header);
    expect(() => parseJournal(JSON.stringify({ ...h, scenario: null }) + '\n')).toThrow(/its scenario does not validate: .*expected a scenario, got null/);
    expect(() => parseJournal(JSON.stringify({ ...h, scenario: { ...scenario, duration: 1e20 } }) + '\n')).toThrow(/its scenario does not validate: duration/);
    expect(() => parseJournal(JSON.stringify({ ...h, scenario: { ...scenario, evil: 1 } }) + '\n')).toThrow(/not one a preset validates to/);
    expect(() => parseJournal(`${header}\n{"kind":"end","t":1,"verdict":"pass","reason":"r"}\n{"kind":"note","t":1,"level":"info","text":"a"}\n`)).toThrow(/:3: a line after the run's closing "end" line/);
    expect(() => parseJournal('')).toThrow(/empty: no run header/);
    expect(() => parseJournal(header.slice(0, 50))).toThrow(/cut inside its first line/);
  });

  it('reads a journal in chunks without holding it (a line split across chunks, a 3 MiB line)', async () => {
    const big = JSON.stringify({ kind: 'finding', t: 1, finding: { id: 'kernel-bug#1', type: 'kernel-bug', severity: 'critical', t: 1, message: 'm', klog: Array.from({ length: 3000 }, () => 'k'.repeat(1000)) } });
    const file = join(tmp, 'chunks.jsonl');
    const events = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ kind: 'note', t: i, level: 'info', text: `line ${i} ${'é'.repeat(i % 7)}` }));
    writeFileSync(file, [header, ...events.slice(0, 10_000), big, ...events.slice(10_000), '{"kind":"end","t":1,"verdict":"pass","reason":"r"}'].join('\n') + '\n');
    const seen: number[] = [];
    const indexes: number[] = [];
    const info = await readJournal(file, (e, i) => {
      indexes.push(i);
      if (e.kind === 'note') seen.push(Number(e.text.split(' ')[1]));
    });
    expect(seen).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(indexes).toEqual(Array.from({ length: 20_001 }, (_, i) => i));
    expect(info.eventCount).toBe(20_001);
    expect(info.trailer?.verdict).toBe('pass');
    expect((await readHeader(file)).preset).toBe('x');
    const raw = new RawLines(file);
    let n = 0;
    while (raw.next() !== undefined) n++;
    expect(n).toBe(20_003);
  });

  it('is readable after kill -9 of the lab, with events from the last 100 ms batch', async () => {
    const out = join(tmp, 'killed');
    const child = spawn(process.execPath, [bin, 'run', 'qa-soak', '--duration', '600s', '--out', out, '--quiet'], { stdio: 'ignore', env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } });
    const file = join(out, 'journal.jsonl');
    // Wait until the run is well under way (journal growing), then kill it hard.
    const t0 = Date.now();
    while (!(existsSync(file) && statSync(file).size > 200_000) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const sizeBefore = statSync(file).size;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const j = parseJournal(readFileSync(file, 'utf8'), file);
    expect(j.header.preset).toBe('qa-soak');
    expect(j.trailer).toBeNull();
    expect(j.events.length).toBeGreaterThan(1000);
    expect(statSync(file).size).toBeGreaterThanOrEqual(sizeBefore);
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
  }, 90_000);
});

describe('bounded journal (journal.max_size)', () => {
  it('samples repetitive lines past sample_after, stays under max_size, and its counts read back exactly', async () => {
    const out = join(tmp, 'bounded');
    // A soak (about 65 kB of journal per virtual second, mostly successful operations) for 200 s.
    const { scenario: sc } = library.load('qa-soak');
    const limits = { maxBytes: 2_000_000, sampleAfter: 500_000 };
    const full = new OracleSide();
    const h = startRun({ scenario: sc, target: new SimTarget(), seed: 2, duration: 200e9, outDir: out, journalSync: false, journalLimits: limits });
    h.subscribe((e) => full.feed(e));
    const s = await h.done;
    const file = join(out, 'journal.jsonl');
    expect(statSync(file).size).toBeLessThanOrEqual(limits.maxBytes + 20_000);
    expect(s.journal_state?.sampled_away).toBeGreaterThan(1000);
    expect(s.journal_state?.full).toBeUndefined();
    // Read back: weights and skipped counts give every step's exact count, and the same outcomes.
    const fromJournal = new OracleSide();
    const series = new RunSeries();
    let keepNotes = 0;
    const info = await readJournal(file, (e, i) => {
      fromJournal.feed(e);
      series.feed([e], i);
      if (e.kind === 'note' && e.journal?.keep) keepNotes++;
    });
    expect(info.keep).toBeGreaterThanOrEqual(4);
    expect(keepNotes).toBeGreaterThanOrEqual(1);
    expect(info.trailer).not.toBeNull();
    const counts = (o: OracleSide) => [...o.stats()].map(([k, v]) => [k, v.count, Object.fromEntries(v.outcomes)]).sort();
    expect(counts(fromJournal)).toEqual(counts(full));
    expect(series.actions).toBe((s.metrics as { actions: number }).actions);
    // The header records the bound, so a replay writes the same sampled journal.
    expect(info.header.journal).toEqual(limits);
  }, 180_000);

  it('stops taking lines at max_size and says so; the trailer still fits', async () => {
    const out = join(tmp, 'full');
    const { scenario: sc } = library.load('seq-pool-resize');
    const s = await startRun({ scenario: sc, target: new SimTarget(), seed: 3, duration: 3e9, outDir: out, journalSync: false, journalLimits: { maxBytes: 1_000_000, sampleAfter: 900_000 } }).done;
    const file = join(out, 'journal.jsonl');
    // The bound is on the events; the header (the scenario) comes on top.
    expect(statSync(file).size).toBeLessThanOrEqual(1_000_000 + 20_000);
    const info = await readJournal(file);
    expect(info.full).toBe(true);
    expect(info.trailer).not.toBeNull();
    expect(s.journal_state?.full).toBe(true);
    expect(s.verdict).toBe('pass');
  }, 180_000);

  it('a replay of a sampled journal writes the same journal, line for line', async () => {
    const dir = join(tmp, 'sampled-orig');
    await runPreset('stop-close-race', ['pcm-no-sync-stop'], 4, { outDir: dir });
    const { scenario: sc } = library.load('stop-close-race');
    const limits = { maxBytes: 1_000_000, sampleAfter: 100_000 };
    const a = join(tmp, 'sampled-a');
    await startRun({ scenario: sc, target: new SimTarget({ profile: ['pcm-no-sync-stop'] }), seed: 4, outDir: a, journalSync: false, journalLimits: limits }).done;
    const b = join(tmp, 'sampled-b');
    const schedule = new JournalSchedule(join(a, 'journal.jsonl'));
    await startRun({ scenario: sc, target: new SimTarget({ profile: ['pcm-no-sync-stop'], replay: schedule }), seed: 4, outDir: b, journalSync: false, journalLimits: limits }).done;
    schedule.close();
    const cmp = compareJournals(join(a, 'journal.jsonl'), join(b, 'journal.jsonl'));
    expect(cmp.first_difference).toBeUndefined();
    expect(cmp.compared).toBeGreaterThan(100);
    expect((await readJournal(join(a, 'journal.jsonl'))).keep).toBeGreaterThan(1);
  }, 180_000);
});
