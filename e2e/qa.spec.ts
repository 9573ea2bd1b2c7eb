// A QA engineer's session: watching a target boot before its first
// operation, changing a threshold in the run settings, comparing two runs by
// their metrics, and finding runs again in the history (filters, notes,
// delete). The numbers on screen are checked against summary.json, and every
// screen is photographed at 1440×900 and 1024×700 (e2e/artifacts/qa/).
// The boot is the simulated kernel behind a slow boot (STRESSLAB_TEST_SLOW_BOOT_MS):
// the UI is what is under test here; app/targets/progress.vm.test.ts checks the
// stages a real guest reports.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, browser, repo, serve, type Served } from './harness.js';

const shots = artifacts('qa');
let server: Served;
let ctx: BrowserContext & { dispose(): Promise<void> };
let page: Page;
const errors: string[] = [];

/** The same screen at a desktop and a laptop size. */
async function shot(name: string): Promise<void> {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: join(shots, `${name}-1440x900.png`) });
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.screenshot({ path: join(shots, `${name}-1024x700.png`) });
  await page.setViewportSize({ width: 1440, height: 900 });
}

const count = (n: number) => n.toLocaleString('en-US');

function runDirs(): string[] {
  return readdirSync(server.runsDir).sort();
}

function summaryOf(dir: string) {
  return JSON.parse(readFileSync(join(server.runsDir, dir, 'summary.json'), 'utf8'));
}

async function pickPreset(name: string): Promise<void> {
  await page.click('button[role=tab]:has-text("Scenario")');
  await page.click(`[data-preset="${name}"]`);
  await page.waitForSelector(`[data-testid=validation-status]:has-text("valid")`);
  await page.waitForFunction((n) => document.querySelector('.settings dd.mono')?.textContent?.startsWith(n), name);
}

/** Waits for the verdict and, in the same instant, reads how many points each chart has drawn. */
async function verdictWithPoints(re: RegExp): Promise<{ verdict: string; points: Record<string, string> }> {
  const h = await page.waitForFunction(
    (src) => {
      const v = document.querySelector('[data-testid=verdict]')?.textContent ?? '';
      if (!new RegExp(src).test(v)) return null;
      const points: Record<string, string> = {};
      for (const el of document.querySelectorAll('[data-chart]')) points[el.getAttribute('data-chart')!] = el.getAttribute('data-points') ?? '';
      return { verdict: v, points };
    },
    re.source,
    { timeout: 120_000 },
  );
  return (await h.jsonValue()) as { verdict: string; points: Record<string, string> };
}

beforeAll(async () => {
  server = await serve({ STRESSLAB_TEST_SLOW_BOOT_MS: '8000' });
  ctx = await browser(shots);
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(server.openUrl);
  await page.waitForSelector('button[role=radio][aria-checked=true]:has-text("Simulated kernel")');
});

afterAll(async () => {
  await ctx?.dispose();
  await server?.stop();
});

describe('a QA engineer in the app', () => {
  it('sees the target boot stage by stage, with the time so far, before the run starts', async () => {
    // only the notice of the target in use is shown (the sidebar used to list every other target's)
    expect(await page.locator('[data-testid=target-unavailable]').count()).toBe(0);
    await page.click('button[role=radio]:has-text("slow boot")');
    await pickPreset('qa-soak');
    await page.fill('input[aria-label=Duration]', '1s');
    await page.click('button.run');
    const boot = page.locator('[data-testid=boot-progress]');
    await boot.waitFor();
    expect(await page.textContent('[data-testid=verdict]')).toBe('BOOTING');
    expect(await page.textContent('[data-testid=elapsed]')).toMatch(/not started/);
    // the charts say why they are empty instead of staying blank
    expect(await page.locator('[data-chart=ops] [data-testid=chart-empty]').textContent()).toMatch(/waiting for the guest to boot/);
    await page.waitForSelector('[data-testid=boot-progress] li[data-stage=drivers]', { timeout: 60_000 });
    const stages = await boot.locator('li').evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')));
    expect(stages.slice(0, 6)).toEqual(['kernel', 'tools', 'initramfs', 'boot', 'root', 'drivers']);
    expect(await boot.locator('li.current').getAttribute('data-stage')).toBe('drivers');
    expect(await page.textContent('[data-testid=boot-elapsed]')).toMatch(/^\d+\.\d s so far/);
    await shot('01-booting');
    await verdictWithPoints(/PASS|FAIL/);
    // once the run has started the boot panel gives way to the run
    expect(await boot.count()).toBe(0);
    expect(await page.textContent('[data-testid=elapsed]')).toMatch(/of 1\.000 s/);
    await page.click('button[role=radio]:has-text("Simulated kernel")');
  });

  it('edits a threshold in the run settings, with the preset\'s validation; the run is checked against it', async () => {
    await pickPreset('qa-soak');
    const p99 = page.locator('input[data-threshold=latency_p99]');
    expect(await p99.inputValue()).toBe('50ms');
    await p99.fill('20');
    await page.waitForSelector('[data-testid=threshold-problem]');
    expect(await page.textContent('[data-testid=threshold-problem]')).toBe('expect.thresholds.latency_p99: expected a duration like "250ms", "40us" or "2s" (at most 60m), got "20"');
    expect(await page.isDisabled('button.run')).toBe(true);
    await shot('02-threshold-problem');
    await p99.fill('1ms');
    await page.waitForSelector('[data-testid=threshold-problem]', { state: 'detached' });
    await page.fill('input[data-threshold=wakeup_late_p99]', '2ms');
    await page.fill('input[aria-label=Duration]', '2s');
    const before = new Set(runDirs());
    await page.click('button.run');
    const { points } = await verdictWithPoints(/FAIL/);
    // the charts were final when the verdict appeared: nothing is still filling in
    await page.waitForTimeout(1500);
    const later = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map((el) => [el.getAttribute('data-chart'), el.getAttribute('data-points')])));
    expect(later).toEqual(points);
    expect(Number(points.latency)).toBeGreaterThan(0);

    const dir = runDirs().find((d) => !before.has(d))!;
    const s = summaryOf(dir);
    const header = JSON.parse(readFileSync(join(server.runsDir, dir, 'journal.jsonl'), 'utf8').split('\n')[0]!);
    expect(header.scenario.expect.thresholds).toEqual({ xruns: 0, latency_p99: 1e6, wakeup_late_p99: 2e6 });
    expect(s.profile).toEqual(['fixed']);
    // one set of numbers: the run header says what summary.json says
    expect(await page.textContent('[data-testid=op-count]')).toBe(count(s.counts.operations));
    expect(await page.textContent('[data-testid=failed-count]')).toBe(count(s.counts.failed));
    expect(await page.textContent('[data-testid=xrun-count]')).toBe(count(s.counts.xruns));
    expect(await page.textContent('[data-testid=event-count]')).toBe(count(s.counts.events));
    expect(await page.textContent('[data-testid=finding-count]')).toBe(count(s.counts.findings));
    for (const st of s.counts.streams) expect(await page.textContent(`[data-stream="${st.stream}"] [data-testid=stream-xruns]`)).toBe(count(st.xruns));
    // the checks: the edited threshold failed, the one with nothing measured says it was not evaluated
    const row = page.locator('[data-check="threshold.latency_p99"]');
    expect(await row.getAttribute('data-status')).toBe('fail');
    expect(await row.textContent()).toMatch(/failed.*1\.00 ms/);
    expect(await page.locator('[data-check="threshold.wakeup_late_p99"]').textContent()).toMatch(/not evaluated.*0 period wake-up samples/);
    expect(await page.textContent('[data-testid=cli-command]')).toBe('stresslab run qa-soak --seed 1 --duration 2s');
    await page.locator('[data-testid=checks]').scrollIntoViewIfNeeded();
    await shot('03-threshold-run');
    await page.locator('[data-testid=streams]').scrollIntoViewIfNeeded();
    await shot('04-streams');
  });

  it('compares two runs by their metrics, what got worse highlighted, as stresslab compare does', async () => {
    const before = new Set(runDirs());
    for (const duration of ['100ms', '500ms']) {
      await pickPreset('dpcm-route-change');
      await page.fill('input[aria-label=Duration]', duration);
      await page.click('button.run');
      await verdictWithPoints(/PASS|FAIL/);
    }
    const [short, long] = runDirs().filter((d) => !before.has(d));
    expect(summaryOf(long!).counts.xruns).toBeGreaterThan(summaryOf(short!).counts.xruns);
    await page.click('button[role=tab]:has-text("History")');
    await page.check(`tr[data-run="${short}"] input[type=checkbox]`);
    await page.check(`tr[data-run="${long}"] input[type=checkbox]`);
    await page.click('[data-testid=compare-button]');
    await page.waitForSelector('[data-testid=compare-summary]');
    expect(await page.textContent('[data-testid=compare-summary]')).toMatch(/\d+ metrics? worse than the baseline/);
    const xr = page.locator('tr[data-metric="run/xruns"] td.n');
    expect(await xr.nth(0).textContent()).toBe(count(summaryOf(short!).counts.xruns));
    expect(await xr.nth(1).textContent()).toBe(`${count(summaryOf(long!).counts.xruns)} ▲`);
    expect(await xr.nth(1).getAttribute('data-worse')).toBe('yes');
    await shot('05-compare');
    await page.check('[data-testid=only-worse]');
    const worseRows = await page.locator('tr[data-metric]').count();
    expect(worseRows).toBeGreaterThan(0);
    expect(await page.locator('tr[data-metric] td[data-worse=yes]').count()).toBeGreaterThanOrEqual(worseRows);
    await page.uncheck('[data-testid=only-worse]');
    // the command line marks the same row
    const cli = spawnSync(process.execPath, [join(repo, 'bin', 'stresslab.js'), 'compare', join(server.runsDir, short!), join(server.runsDir, long!), '--metrics'], { encoding: 'utf8', env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } });
    expect(cli.status, cli.stderr).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`xruns\\s+${count(summaryOf(short!).counts.xruns)}\\s+${count(summaryOf(long!).counts.xruns)} ▲`));
  });

  it('filters the history, keeps a note on a run and deletes one', async () => {
    await page.click('button[role=tab]:has-text("History")');
    const rows = page.locator('tr[data-run]');
    const all = await rows.count();
    expect(all).toBe(4);
    await page.selectOption('select[data-filter=preset]', 'dpcm-route-change');
    expect(await rows.count()).toBe(2);
    await page.selectOption('select[data-filter=verdict]', 'fail');
    expect(await rows.count()).toBe(0);
    await page.selectOption('select[data-filter=verdict]', '');
    await page.selectOption('select[data-filter=preset]', '');
    await page.selectOption('select[data-filter=verdict]', 'fail');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/qa-soak/);
    await page.selectOption('select[data-filter=verdict]', '');
    expect(await page.locator('select[data-filter=kernel] option').allTextContents()).toEqual(['all', 'simulated']);

    const first = runDirs()[0]!;
    await page.click(`tr[data-run="${first}"] [data-testid=note]`);
    await page.fill(`tr[data-run="${first}"] input[aria-label=note]`, 'baseline before the 6.12 update');
    await page.click(`tr[data-run="${first}"] button[type=submit]`);
    await page.waitForSelector(`tr[data-run="${first}"] [data-testid=note]:has-text("baseline before")`);
    expect(readFileSync(join(server.runsDir, first, 'notes.txt'), 'utf8')).toBe('baseline before the 6.12 update\n');
    await page.fill('input[data-filter=text]', 'baseline');
    expect(await rows.count()).toBe(1);
    await shot('06-history-filtered');
    await page.fill('input[data-filter=text]', '');

    const victim = runDirs()[1]!;
    await page.click(`tr[data-run="${victim}"] button[aria-label="delete ${victim}"]`);
    await page.click(`tr[data-run="${victim}"] button.danger:has-text("delete")`);
    await page.waitForSelector(`tr[data-run="${victim}"]`, { state: 'detached' });
    expect(existsSync(join(server.runsDir, victim))).toBe(false);
    expect(await rows.count()).toBe(3);
    await shot('07-history');
    expect(errors).toEqual([]);
  });
});
