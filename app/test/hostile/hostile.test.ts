// The hostile corpus: presets written to break the lab (presets/*.yaml, each
// saying in its "# expect:" line how it must end), damaged journals made from
// a real one, and bad command lines. Every case runs the real binary with a
// wall-clock bound, must end by itself, with the exit code that means what
// happened, and without a stack trace.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTypescript } from '../build-first.js';
import { runCommands } from '../cli-in-process.js';
import { appCommands } from '../../cli/commands/index.js';
import { reportCommand } from '../../../main/commands/report.js';
import { type CliResult, pool, runCli, userFacingProblems } from './run-cli.js';

const here = import.meta.dirname;
const tmp = mkdtempSync(join(tmpdir(), 'stresslab-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(buildTypescript, 180_000);

/** Generous: the machine is shared; a case that hangs is killed at this bound and fails. */
const BOUND_MS = 90_000;

interface Case {
  name: string;
  args: string[];
  exit: number;
  out?: RegExp;
  err?: RegExp;
  noErr?: RegExp;
}

function check(c: Case, r: CliResult): string[] {
  const p = userFacingProblems(r).map((x) => `${c.name}: ${x}`);
  if (r.code !== c.exit) p.push(`${c.name}: exit ${r.code} (signal ${r.signal}), expected ${c.exit}\n  stdout: ${r.out.slice(0, 600)}\n  stderr: ${r.err.slice(0, 600)}`);
  if (c.out && !c.out.test(r.out)) p.push(`${c.name}: stdout does not match ${c.out}: ${r.out.slice(0, 600)}`);
  if (c.err && !c.err.test(r.err)) p.push(`${c.name}: stderr does not match ${c.err}: ${r.err.slice(0, 600)}`);
  if (c.noErr && c.noErr.test(r.err)) p.push(`${c.name}: stderr matches ${c.noErr}`);
  return p;
}

async function runCases(cases: Case[]): Promise<string[]> {
  const results = await pool(cases, 3, (c) => runCli(c.args, { boundMs: BOUND_MS }));
  return cases.flatMap((c, i) => check(c, results[i]!));
}

/**
 * Journal readers in this process (they are streaming and asynchronous, so a
 * bound on the promise is a real bound): many cases, no process start each.
 */
async function runInProcess(cases: Case[]): Promise<string[]> {
  const commands = [...appCommands(), reportCommand];
  const out: string[] = [];
  for (const c of cases) {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      runCommands(commands, c.args).then((x) => ({ ...x, signal: null, timedOut: false })),
      new Promise<{ code: null; out: string; err: string; signal: null; timedOut: true }>((res) => (timer = setTimeout(() => res({ code: null, out: '', err: '', signal: null, timedOut: true }), BOUND_MS))),
    ]);
    clearTimeout(timer);
    out.push(...check(c, { ...r, ms: Date.now() - t0 }));
  }
  return out;
}

function regex(v: string | undefined): RegExp | undefined {
  return v ? new RegExp(v.slice(1, v.lastIndexOf('/')), v.slice(v.lastIndexOf('/') + 1)) : undefined;
}

/** A preset file's own description of how it must end: "# expect: exit=N out=/re/ err=/re/ noerr=/re/", "# args: ...", "# command: validate". */
function presetCase(file: string): Case {
  const text = readFileSync(file, 'latin1');
  const expect = /^# expect: (.*)$/m.exec(text)?.[1] ?? '';
  const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(/(?:[^/\\\\]|\\\\.)*/[a-z]*|\\S+)`).exec(expect)?.[1];
  const args = /^# args: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  const command = /^# command: (\w+)$/m.exec(text)?.[1] ?? 'run';
  const name = file.split('/').pop()!.replace(/\.yaml$/, '');
  return {
    name,
    args: command === 'run' ? ['run', file, '--quiet', '--out', join(tmp, 'runs', name), ...args] : [command, file, ...args],
    exit: Number(field('exit') ?? 'NaN'),
    ...(field('out') ? { out: regex(field('out'))! } : {}),
    ...(field('err') ? { err: regex(field('err'))! } : {}),
    ...(field('noerr') ? { noErr: regex(field('noerr'))! } : {}),
  };
}

describe('hostile presets', () => {
  it('each ends within its bound with the exit code its "# expect:" line names, and no stack trace', async () => {
    const dir = join(here, 'presets');
    const cases = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => presetCase(join(dir, f)));
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const c of cases) expect(Number.isInteger(c.exit), `${c.name} has an "# expect: exit=N" line`).toBe(true);
    expect(await runCases(cases)).toEqual([]);
  }, 600_000);
});

describe('bad command lines and output paths', () => {
  it('are usage errors (exit 2) with a clear message, checked before anything runs', async () => {
    const out = join(tmp, 'cli');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'a-file'), 'x');
    const huge = '9'.repeat(401);
    const cases: Case[] = [
      { name: 'out-proc', args: ['run', 'stop-close-race', '--out', '/proc/x'], exit: 2, err: /--out \/proc\/x: \/proc is on a proc filesystem/ },
      { name: 'out-proc-deep', args: ['run', 'stop-close-race', '--out', '/proc/x/y/z'], exit: 2, err: /proc filesystem/ },
      { name: 'out-sys', args: ['run', 'stop-close-race', '--out', '/sys/x'], exit: 2, err: /sysfs filesystem/ },
      { name: 'out-is-a-file', args: ['run', 'stop-close-race', '--out', join(out, 'a-file')], exit: 2, err: /exists and is not a directory/ },
      { name: 'out-under-a-file', args: ['run', 'stop-close-race', '--out', join(out, 'a-file', 'x')], exit: 2, err: /not a directory|cannot create/ },
      { name: 'junit-proc', args: ['run', 'stop-close-race', '--junit', '/proc/junit.xml', '--out', join(out, 'j1')], exit: 2, err: /--junit \/proc\/junit\.xml: \/proc is on a proc filesystem/ },
      { name: 'junit-missing-parent', args: ['run', 'stop-close-race', '--junit', join(out, 'nope', 'j.xml'), '--out', join(out, 'j2')], exit: 2, err: /its directory .* does not exist/ },
      { name: 'junit-is-a-directory', args: ['run', 'stop-close-race', '--junit', out, '--out', join(out, 'j3')], exit: 2, err: /is a directory/ },
      { name: 'duration-401-digits', args: ['run', 'stop-close-race', '--duration', huge], exit: 2, err: /--duration must be a time/ },
      { name: 'duration-401-digits-unit', args: ['run', 'stop-close-race', '--duration', `${huge}s`], exit: 2, err: /--duration must be a time/ },
      { name: 'duration-zero', args: ['run', 'stop-close-race', '--duration', '0s'], exit: 2, err: /--duration/ },
      { name: 'duration-over-a-week', args: ['run', 'stop-close-race', '--duration', '200h'], exit: 2, err: /--duration must be at most 168 h/ },
      { name: 'duration-negative', args: ['run', 'stop-close-race', '--duration', '-5s'], exit: 2, err: /--duration/ },
      { name: 'wall-limit-garbage', args: ['run', 'stop-close-race', '--wall-limit', 'soon'], exit: 2, err: /--wall-limit must be a time/ },
      { name: 'journal-max-tiny', args: ['run', 'stop-close-race', '--journal-max', '10kB'], exit: 2, err: /--journal-max must be a size between 1MB and 1TiB/ },
      { name: 'seed-negative', args: ['run', 'stop-close-race', '--seed', '-1'], exit: 2, err: /--seed must be between 0 and/ },
      { name: 'seed-huge', args: ['run', 'stop-close-race', '--seed', huge], exit: 2, err: /--seed must be between 0 and/ },
      { name: 'strategy-unknown', args: ['run', 'stop-close-race', '--strategy', 'fifo'], exit: 2, err: /--strategy must be pct or random/ },
      { name: 'profile-unknown', args: ['run', 'stop-close-race', '--profile', 'nope'], exit: 2, err: /unknown kernel profile "nope"/ },
      { name: 'option-unknown', args: ['run', 'stop-close-race', '--bogus'], exit: 2, err: /unknown option --bogus/ },
      { name: 'command-unknown', args: ['frobnicate'], exit: 2, err: /unknown command "frobnicate"/ },
      { name: 'preset-missing', args: ['run', 'no-such-preset'], exit: 2, err: /no preset named "no-such-preset"/ },
      { name: 'validate-missing-file', args: ['validate', join(out, 'nope.yaml')], exit: 2, err: /no such preset file/ },
      { name: 'report-missing', args: ['report', join(out, 'nope')], exit: 2, err: /does not exist/ },
      { name: 'replay-missing', args: ['replay', join(out, 'nope.jsonl')], exit: 2, err: /cannot read journal/ },
      { name: 'compare-one', args: ['compare', join(out, 'x.jsonl')], exit: 2, err: /expected two or more runs/ },
      { name: 'help', args: ['--help'], exit: 0, out: /Exit status: 0 pass, 1 findings, 2 bad input or usage, 3 target failure, 4 the run could not be recorded .*70 internal error, 130 interrupted/ },
    ];
    expect(await runCases(cases)).toEqual([]);
  }, 600_000);

  it('a run past its wall-clock limit is stopped and written off as a target failure (exit 3), summary written', async () => {
    const dir = join(tmp, 'wall');
    const r = await runCli(['run', 'qa-soak', '--duration', '100h', '--wall-limit', '2s', '--quiet', '--out', dir], { boundMs: BOUND_MS });
    expect(userFacingProblems(r)).toEqual([]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/wall-clock limit of 2 s/);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(s).toMatchObject({ status: 'error', failure: 'wall-limit', verdict: 'error' });
    expect(readFileSync(join(dir, 'journal.jsonl'), 'utf8')).toMatch(/"kind":"end"/);
  }, 120_000);
});

describe('damaged journals', () => {
  let base: string;
  let lines: string[];
  const jdir = join(tmp, 'journals');

  beforeAll(async () => {
    mkdirSync(jdir, { recursive: true });
    const r = await runCli(['run', 'stop-close-race', '--profile', 'pcm-no-sync-stop', '--seed', '3', '--quiet', '--out', join(jdir, 'base')], { boundMs: BOUND_MS });
    expect(r.code).toBe(1);
    base = join(jdir, 'base', 'journal.jsonl');
    lines = readFileSync(base, 'utf8').split('\n').filter(Boolean);
  }, 120_000);

  /** A copy of the base journal, changed; returns its path. */
  function damaged(name: string, f: (l: string[]) => string[] | string): string {
    const d = join(jdir, name);
    mkdirSync(d, { recursive: true });
    const v = f([...lines]);
    writeFileSync(join(d, 'journal.jsonl'), typeof v === 'string' ? v : v.join('\n') + '\n');
    return join(d, 'journal.jsonl');
  }
  const header = () => JSON.parse(lines[0]!);
  const withHeader = (h: object) => (l: string[]) => [JSON.stringify(h), ...l.slice(1)];

  it('replay, report and compare refuse a damaged journal with its line and what is wrong (exit 2), in bounded time', async () => {
    const mid = Math.floor(lines.length / 2);
    const bad: [string, (l: string[]) => string[] | string, RegExp][] = [
      ['null-line', (l) => (l.splice(mid, 0, 'null'), l), new RegExp(`:${mid + 1}: expected an event \\(a map with "kind"\\), got null`)],
      ['list-line', (l) => (l.splice(mid, 0, '[1,2]'), l), /expected an event .* got a list/],
      ['garbage-line', (l) => (l.splice(mid, 0, '{"kind":"act",'), l), /not a JSON line/],
      ['unknown-kind', (l) => (l.splice(mid, 0, '{"kind":"evil","t":1}'), l), /unknown kind "evil"/],
      ['finding-without-type', (l) => (l.splice(mid, 0, '{"kind":"finding","t":1,"finding":{"id":"x","severity":"critical","t":1,"message":"m"}}'), l), /"type" must be one of/],
      ['trace-not-a-list', (l) => (l.splice(mid, 0, '{"kind":"klog","t":1,"level":3,"text":"x","source":"sim","trace":"x"}'), l), /"trace" must be a list/],
      ['act-bad-ret', (l) => (l.splice(mid, 0, '{"kind":"act","t":1,"dur":0,"lane":"a","iter":0,"step":0,"op":"x","ret":"0"}'), l), /"ret" must be an integer/],
      ['deep-nesting-line', (l) => (l.splice(mid, 0, '['.repeat(100_000) + ']'.repeat(100_000)), l), /expected an event|not a JSON line/],
      ['header-without-scenario', (l) => withHeader({ ...header(), scenario: undefined })(l), /its scenario does not validate: .*expected a scenario/],
      ['header-null', (l) => ['null', ...l.slice(1)], /does not start with a run header/],
      ['header-format-2', (l) => withHeader({ ...header(), format: 2 })(l), /journal format 2 is not one this version reads/],
      ['header-unknown-arg', (l) => { const h = header(); h.scenario.lanes[0].steps[0].args.evil = 1; return withHeader(h)(l); }, /its scenario does not validate: lanes\[0\]\.loop\[0\].*unknown key "evil"/],
      ['header-200-lanes', (l) => { const h = header(); h.scenario.lanes = Array.from({ length: 200 }, (_, i) => ({ ...h.scenario.lanes[0], name: `x${i}` })); return withHeader(h)(l); }, /its scenario does not validate/],
      ['header-huge-duration', (l) => withHeader({ ...header(), duration: 1e30 })(l), /"duration" is out of range/],
      ['header-scenario-renamed', (l) => { const h = header(); h.scenario.name = 'other'; return withHeader(h)(l); }, /named "other" but the header says/],
      ['header-proto', (l) => [lines[0]!.replace('"kind":"run"', '"kind":"run","__proto__":{"polluted":1}'), ...l.slice(1)], /./],
      ['line-after-end', (l) => [...l, l[1]!], /a line after the run's closing "end" line/],
      ['empty-file', () => '', /empty: no run header/],
      ['binary-garbage', () => '\u0000\u0001\u00ff'.repeat(1000), /not a JSON line|cut inside its first line/],
      ['cut-inside-header', () => lines[0]!.slice(0, 100), /cut inside its first line/],
      ['bom', (l) => ['\ufeff' + l[0], ...l.slice(1)], /not a JSON line/],
    ];
    const cases: Case[] = [];
    for (const [name, f, msg] of bad) {
      const j = damaged(name, f);
      // header-proto only needs to be harmless: __proto__ is a key like any other to JSON.parse.
      const exit = name === 'header-proto' ? 1 : 2;
      for (const cmd of ['replay', 'report', 'compare'] as const) {
        const args = cmd === 'compare' ? ['compare', j, base] : cmd === 'replay' ? ['replay', j, '--out', join(jdir, `${name}-replay`)] : ['report', j, '--out', join(jdir, `${name}.html`)];
        cases.push({ name: `${cmd} ${name}`, args, exit: cmd === 'report' && exit === 1 ? 0 : cmd === 'compare' && exit === 1 ? 0 : exit, ...(exit === 2 ? { err: msg } : {}) });
      }
    }
    expect(await runInProcess(cases)).toEqual([]);
  }, 600_000);

  it('replay of a journal cut anywhere reproduces it up to the cut and says so (not DIVERGED)', async () => {
    const endless = (l: string[]) => l.filter((x) => !x.startsWith('{"kind":"end"'));
    const cut = (n: number) => (l: string[]) => l.slice(0, n);
    const cases: Case[] = [
      { name: 'complete', args: ['replay', base, '--out', join(jdir, 'r-complete')], exit: 1, out: /replay identical to the recorded journal/ },
      { name: 'no-trailer', args: ['replay', damaged('no-trailer', endless), '--out', join(jdir, 'r-no-trailer')], exit: 1, out: /reproduced the recorded journal up to its cut/ },
      { name: 'cut-at-a-line-10%', args: ['replay', damaged('cut10', cut(Math.floor(lines.length / 10))), '--out', join(jdir, 'r-cut10')], exit: 1, out: /reproduced the recorded journal up to its cut/ },
      { name: 'cut-at-a-line-60%', args: ['replay', damaged('cut60', cut(Math.floor(lines.length * 0.6))), '--out', join(jdir, 'r-cut60')], exit: 1, out: /reproduced the recorded journal up to its cut/ },
      { name: 'cut-mid-line', args: ['replay', damaged('cutmid', (l) => l.slice(0, Math.floor(l.length / 3)).join('\n') + '\n' + l[Math.floor(l.length / 3)]!.slice(0, 25)), '--out', join(jdir, 'r-cutmid')], exit: 1, out: /reproduced the recorded journal up to its cut/ },
      { name: 'cut-after-header', args: ['replay', damaged('cut1', cut(1)), '--out', join(jdir, 'r-cut1')], exit: 1, out: /reproduced the recorded journal up to its cut/ },
      { name: 'report-cut', args: ['report', damaged('cut-report', cut(Math.floor(lines.length / 2))), '--out', join(jdir, 'cut.html')], exit: 0, out: /report:/ },
      { name: 'compare-cut', args: ['compare', damaged('cut-compare', cut(Math.floor(lines.length / 2))), base], exit: 1, err: /the journal of cut-compare was cut short \(at a line boundary, no closing line\): compared as far as it goes/ },
    ];
    expect(await runInProcess(cases)).toEqual([]);
    expect(readFileSync(join(jdir, 'cut.html'), 'utf8')).toMatch(/cut at a line boundary/);
  }, 600_000);

  it('replay with a damaged or doctored schedule: bad encoding is bad input, an impossible decision a divergence, a doctored scenario bounded', async () => {
    const sched = lines.findIndex((l) => l.startsWith('{"kind":"sched"'));
    const setSched = (text: string) => (l: string[]) => (l.splice(sched, 1, JSON.stringify({ kind: 'sched', t: 0, decisions: text })), l);
    const spin = (l: string[]) => {
      const h = header();
      h.scenario.lanes = [{ name: 'a', steps: [{ op: 'barrier', args: { name: 'b' }, at: 'lanes[0].loop[0]' }] }];
      h.scenario.setup = [];
      h.scenario.teardown = [];
      h.scenario.barriers = { b: 1 };
      return withHeader(h)(l);
    };
    const cases: Case[] = [
      { name: 'bad-encoding', args: ['replay', damaged('sched-bad', setSched('0*x;')), '--out', join(jdir, 'r-sched-bad')], exit: 2, out: /bad schedule encoding/ },
      { name: 'impossible-decision', args: ['replay', damaged('sched-99', setSched('{99}'.repeat(50))), '--out', join(jdir, 'r-sched-99')], exit: 3, out: /no longer follows the recorded schedule/ },
      // A valid but different scenario: it runs (bounded: the live-lock ends it) and cannot follow the record.
      { name: 'doctored-spin', args: ['replay', damaged('doctored-spin', spin), '--out', join(jdir, 'r-spin')], exit: 3, out: /DIVERGED|no longer follows/ },
      { name: 'damaged-summary', args: ['report', join(damaged('summary', (l) => l), '..'), '--out', join(jdir, 's.html')], exit: 0, err: /summary\.json is (not JSON|damaged)/ },
      { name: 'report-out-proc', args: ['report', base, '--out', '/proc/report.html'], exit: 2, err: /proc filesystem/ },
      { name: 'replay-out-proc', args: ['replay', base, '--out', '/proc/x'], exit: 2, err: /proc filesystem/ },
    ];
    writeFileSync(join(jdir, 'summary', 'summary.json'), '{"verdict":"pass","findings":[{"x":1}]');
    expect(await runInProcess(cases)).toEqual([]);
  }, 600_000);

  // root ignores permission bits: as root, a read-only mount is the test (app/journal/disk.test.ts).
  it.skipIf(process.getuid?.() === 0)('a read-only --out is refused before the run (exit 2) [unprivileged only]', async () => {
    const ro = join(tmp, 'ro');
    mkdirSync(ro, { recursive: true });
    copyFileSync(base, join(ro, 'x'));
    chmodSync(ro, 0o555);
    try {
      const r = await runCli(['run', 'stop-close-race', '--out', join(ro, 'run')], { boundMs: BOUND_MS });
      expect(userFacingProblems(r)).toEqual([]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/permission denied/);
    } finally {
      chmodSync(ro, 0o755);
    }
  }, 120_000);
});
