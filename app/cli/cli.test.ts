// The CLI as CI uses it: exit 0 with no findings, 1 with findings, 2 for bad
// input (with a message naming what is wrong), 3 when the target fails; and
// summary.json with the fields reports rely on.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildTypescript } from '../test/build-first.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = BIN;
beforeAll(buildTypescript, 120_000);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('stresslab CLI', () => {
  it('run: exit 1 with findings, and summary.json says what, where and when', () => {
    const out = join(tmp, 'torn');
    const r = cli('run', 'parallel-hw-params', '--profile', 'pcm-unlocked-hw-params', '--seed', '4', '--out', out);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/^FAIL: parallel-hw-params on sim/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s).toMatchObject({ verdict: 'fail', preset: 'parallel-hw-params', target: 'sim', profile: ['pcm-unlocked-hw-params'], seed: 4 });
    expect(s.findings[0]).toMatchObject({ type: 'torn-hw-params', severity: 'critical' });
    expect(typeof s.findings[0].t).toBe('number');
    expect(s.findings[0].message).toMatch(/matches none/);
    expect(s.metrics.actions).toBeGreaterThan(0);
  });

  it('run --junit and --ktap write one test case per check: the run, each detector (per suite phase), findings as failures', () => {
    const xml = join(tmp, 'demo.xml');
    const tap = join(tmp, 'demo.ktap');
    const r = cli('run', 'demo', '--out', join(tmp, 'demo'), '--junit', xml, '--ktap', tap, '--quiet');
    expect(r.code, r.err).toBe(1);
    const text = readFileSync(xml, 'utf8');
    expect(text).toMatch(/^<\?xml version="1.0"/);
    // 1 run check + 5 phases x 7 detectors; each phase's bug fails exactly one detector, and
    // stop-close-race's null dereference panics the simulated kernel, which fails the run check
    expect(text).toMatch(/<testsuites name="stresslab" tests="36" failures="6" errors="0" skipped="\d+"/);
    expect(text).toMatch(/name="run"[^>]*>\n\s+<failure type="run" message="the target crashed: kernel panic"/);
    expect(text.match(/<testcase /g)).toHaveLength(36);
    expect(text.match(/<testsuite /g)).toHaveLength(6);
    expect(text).toMatch(/<testcase classname="stresslab.sim.stop-close-race" name="detector.kernel-log" time="[\d.]+">\n\s+<failure type="null-deref" message="\d finding\(s\): NULL pointer dereference/);
    expect(text).toMatch(/<testcase classname="stresslab.sim.parallel-hw-params" name="detector.torn-hw-params"[^>]*>\n\s+<failure type="torn-hw-params"/);
    expect(text).toMatch(/<testcase classname="stresslab.sim.seq-pool-resize" name="detector.hang"[^>]*>\n\s+<failure type="hang"/);
    expect(text).toMatch(/name="detector.success-after-detach"[^>]*>\n\s+<skipped message="not evaluated: no card was detached"\/>/);
    expect(text).not.toMatch(/[\u0000-\u0008]/);
    const k = readFileSync(tap, 'utf8').split('\n');
    expect(k[0]).toBe('KTAP version 1');
    expect(k).toContain('1..6');
    expect(k).toContain('not ok 1 run');
    expect(k).toContain('not ok 4 dpcm-route-change');
    expect(k).toContain('  # Subtest: dpcm-route-change');
    expect(k).toContain('  not ok 1 detector.kernel-log');
    expect(k).toContain('  ok 3 detector.torn-hw-params # SKIP not evaluated: no HW_PARAMS was read back');
    // every result line is numbered in order within its level
    const top = k.filter((l) => /^(not )?ok /.test(l)).map((l) => Number(/ok (\d+)/.exec(l)![1]));
    expect(top).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('run --ktap - prints KTAP on stdout and the report on stderr; a threshold never evaluated says so', () => {
    const r = cli('run', 'qa-soak', '--out', join(tmp, 'soak-ktap'), '--duration', '300ms', '--threshold', 'wakeup_late_p99=2ms', '--threshold', 'latency_p99=1ms', '--ktap', '-', '--quiet');
    expect(r.code, r.err).toBe(1);
    expect(r.out.split('\n')[0]).toBe('KTAP version 1');
    expect(r.out).toMatch(/^not ok \d+ threshold.latency_p99$/m);
    expect(r.out).toMatch(/^ok \d+ threshold.wakeup_late_p99 # SKIP not evaluated: 0 period wake-up samples$/m);
    expect(r.err).toMatch(/^FAIL: qa-soak on sim/);
    expect(r.err).toMatch(/– threshold.wakeup_late_p99: not evaluated: 0 period wake-up samples/);
    const s = JSON.parse(readFileSync(join(tmp, 'soak-ktap', 'summary.json'), 'utf8'));
    expect(s.checks.find((c: { id: string }) => c.id === 'threshold.wakeup_late_p99')).toMatchObject({ status: 'skip', limit: 2e6 });
  });

  it('run: exit 0 on a clean run', () => {
    const r = cli('run', 'parallel-hw-params', '--out', join(tmp, 'clean'), '--duration', '50ms');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^PASS/);
  });

  it('bad input exits 2 and names the problem', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nlanes:\n  - name: a\n    loop:\n      - pcm.open: { handle: p, card: Dummy, stream: sideways }\n');
    const cases: [string[], RegExp][] = [
      [['run', 'no-such-preset'], /no preset named "no-such-preset"/],
      [['run', bad], /bad\.yaml:5:\d+: .*stream: expected one of "playback", "capture", got "sideways"/],
      [['run', 'parallel-hw-params', '--profile', 'pcm-bogus'], /unknown kernel profile "pcm-bogus"/],
      [['run', 'parallel-hw-params', '--profile', 'fixed,pcm-no-sync-stop'], /cannot be combined/],
      [['run', 'parallel-hw-params', '--target', 'mars'], /unknown target "mars"; known targets: sim/],
      [['run', 'parallel-hw-params', '--seed', 'x'], /--seed must be an integer/],
      [['run', 'parallel-hw-params', '--duration', 'soon'], /--duration must be a time/],
      [['run', 'parallel-hw-params', '--frobnicate'], /unknown option --frobnicate/],
      [['run'], /expected exactly one preset/],
      [['bogus'], /unknown command "bogus"/],
      [['replay', join(tmp, 'missing.jsonl')], /cannot read journal/],
      [['validate', bad], /stream: expected one of/],
      [['run', 'stop-close-race', '--target', 'vm', '--hw', 'dummy,bogus'], /unknown virtual hardware "bogus"; choose from: dummy, aloop/],
      [['run', 'stop-close-race', '--target', 'vm', '--kernel', join(tmp, 'no-bzImage')], /kernel image not found or unreadable: .*no-bzImage \(no such file or directory\)/],
      [['run', 'stop-close-race', '--hw', 'dummy'], /--hw only applies to --target vm/],
      [['compare', join(tmp, 'missing.jsonl')], /expected two or more runs/],
      [['run', 'qa-soak', '--threshold', 'latency_p99=20'], /--threshold: expect.thresholds.latency_p99: expected a duration like "250ms", "40us" or "2s" \(at most 60m\), got "20"/],
      [['run', 'qa-soak', '--threshold', 'jitter=1ms'], /--threshold: expect.thresholds.jitter: unknown threshold; known: xruns, latency_p99/],
      [['run', 'qa-soak', '--threshold', 'xruns'], /--threshold must be NAME=VALUE/],
      [['run', 'demo', '--threshold', 'xruns=1'], /demo is a suite/],
      [['run', 'qa-soak', '--target', 'local', '--profile', 'pcm-no-sync-stop'], /--profile: profile pcm-no-sync-stop cannot run on local: this machine runs its own kernel/],
      [['run', 'parallel-hw-params', '--out', join(tmp, 'clean')], /--out .*clean already holds a run/],
    ];
    for (const [args, re] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(re);
    }
  });

  it('lists presets, profiles and ops', () => {
    const p = cli('presets');
    expect(p.code).toBe(0);
    for (const n of ['seq-pool-resize', 'dpcm-route-change', 'parallel-hw-params', 'detach-while-open', 'stop-close-race', 'qa-soak', 'demo']) expect(p.out).toContain(n);
    const f = cli('profiles');
    for (const n of ['fixed', 'seq-fifo-stale-cell', 'dpcm-unlocked-be-list', 'pcm-unlocked-hw-params', 'detach-without-drain', 'pcm-no-sync-stop']) expect(f.out).toContain(n);
    expect(cli('ops').out).toMatch(/seq\.set_client_pool .*SNDRV_SEQ_IOCTL_SET_CLIENT_POOL/);
  });

  it('replay re-runs a journal and confirms it is identical', () => {
    const out = join(tmp, 'torn');
    const r = cli('replay', join(out, 'journal.jsonl'), '--out', join(tmp, 'replayed'));
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/replay identical to the recorded journal/);
  });

  it('replay of a journal from before resolved programs runs the preset again with its seed and compares the findings', () => {
    const out = join(tmp, 'torn');
    const lines = readFileSync(join(out, 'journal.jsonl'), 'utf8').split('\n');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    delete header.program;
    const old = join(tmp, 'old-journal');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'journal.jsonl'), [JSON.stringify(header), ...lines.slice(1)].join('\n'));
    const r = cli('replay', join(old, 'journal.jsonl'), '--out', join(tmp, 'replayed-old'));
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/recorded before runs executed a resolved program/);
    expect(r.out).toMatch(/same findings as recorded: torn-hw-params/);
  });

  it('run --oracle runs the fixed kernel beside the run and records where the two diverge', () => {
    const out = join(tmp, 'oracle');
    const r = cli('run', 'parallel-hw-params', '--profile', 'pcm-unlocked-hw-params', '--seed', '4', '--out', out, '--quiet', '--oracle');
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/oracle: \d+ step\(s\) compared with the simulated kernel \(fixed\): 1 divergence\(s\)/);
    expect(r.out).toMatch(/\[result\] small loop#4 pcm\.readback on pcm: the sim \(pcm-unlocked-hw-params\) answered/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.oracle).toMatchObject({ against: 'sim (profile fixed)', divergences: 1, report: 'oracle.json', journal: 'oracle/journal.jsonl' });
    expect(s.verdict).toBe('fail');
    const report = JSON.parse(readFileSync(join(out, 'oracle.json'), 'utf8'));
    expect(report.divergences[0]).toMatchObject({ kind: 'result', op: 'pcm.readback', significant: true });
    const model = JSON.parse(readFileSync(join(out, 'oracle', 'summary.json'), 'utf8'));
    expect(model).toMatchObject({ verdict: 'pass', profile: ['fixed'], seed: 4 });

    // compare: the same two journals, exit 1; a journal against itself, exit 0; not a journal, exit 2
    const c = cli('compare', join(out, 'journal.jsonl'), join(out, 'oracle', 'journal.jsonl'));
    expect(c.code, c.err).toBe(1);
    expect(c.out).toMatch(/compared between sim \(pcm-unlocked-hw-params\) and sim \(fixed\): 1 divergence/);
    expect(cli('compare', join(out, 'oracle', 'journal.jsonl'), join(out, 'oracle', 'journal.jsonl')).code).toBe(0);
    const bad = cli('compare', join(out, 'summary.json'), join(out, 'journal.jsonl'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/summary\.json:1: not a JSON line/);
  });

  it('run --oracle refuses what it cannot compare', () => {
    const fixed = cli('run', 'stop-close-race', '--oracle', '--out', join(tmp, 'o2'));
    expect(fixed.code).toBe(2);
    expect(fixed.err).toMatch(/already is one/);
    const suite = cli('run', 'demo', '--oracle', '--out', join(tmp, 'o3'));
    expect(suite.code).toBe(2);
    expect(suite.err).toMatch(/demo is a suite/);
  });
});
