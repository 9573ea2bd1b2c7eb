// A new user's first session, in the headless server's UI: open the lab,
// look at the simulated kernel's devices, try the editor, run the demo with
// its bug profiles on, watch the charts fill, open a finding and its
// interleaving, find the kernel-log line and what was in flight, export the
// report, and replay the finding. Screenshots go to e2e/artifacts/demo/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, browser, serve, type Served } from './harness.js';

const shots = artifacts('demo');
let server: Served;
let ctx: BrowserContext & { dispose(): Promise<void> };
let page: Page;
const errors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });

beforeAll(async () => {
  server = await serve();
  ctx = await browser(shots);
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
});

afterAll(async () => {
  await ctx?.dispose();
  await server?.stop();
});

/** Waits until a chart has drawn more than `min` points (the chart components expose the count they drew). */
async function chartFills(kind: string, min: number): Promise<void> {
  await page.waitForFunction(([k, n]) => Number(document.querySelector(`[data-chart="${k}"]`)?.getAttribute('data-points') ?? 0) > Number(n), [kind, min] as const);
}

describe('a new user on the headless server', () => {
  it('opens the app with the printed URL; the token moves into a cookie', async () => {
    await page.goto(server.openUrl);
    expect(page.url()).toBe(server.base);
    await expect(page.title()).resolves.toBe('Audio Stress Lab');
    await page.waitForSelector('button[role=radio][aria-checked=true]:has-text("Simulated kernel")');
    const devices = await page.textContent('[data-testid=device-list]');
    expect(devices).toContain('**** List of PLAYBACK Hardware Devices ****');
    expect(devices).toMatch(/card 0: Dummy \[Dummy\], device 0: Dummy PCM \[Dummy PCM\]/);
    await page.click('button:has-text("aconnect -l")');
    expect(await page.textContent('[data-testid=device-list]')).toMatch(/client \d+: '/);
    await page.click('button:has-text("aplay -l")');
    await shot('01-open');
  });

  it('validates a preset live, with file:line:col and the path', async () => {
    await page.click('[data-preset="stop-close-race"]');
    await page.waitForSelector('[data-testid=validation-status]:has-text("valid")');
    // Runs start on profile fixed, as `stresslab run` does; the preset's historic bug is one click away.
    expect(await page.isChecked('input[data-switch="pcm-no-sync-stop"]')).toBe(false);
    expect(await page.textContent('label.hint:has([data-testid=historic-bug])')).toContain('pcm-no-sync-stop');
    expect(await page.textContent('[data-testid=profile-now]')).toBe('profile: fixed');
    const editor = page.locator('textarea[aria-label="Preset YAML"]');
    const text = await editor.inputValue();
    await editor.fill(text.replace('      - pcm.prepare: a\n', '      - pcm.prepare: { handle: a, when: now }\n'));
    const problem = page.locator('[data-testid=problems] button').first();
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/^stop-close-race\.yaml:\d+:\d+: lanes\[0\]\.loop\[1\]/);
    expect(await page.textContent('[data-testid=validation-status]')).toMatch(/1 problem/);
    await shot('02-editor-problem');
  });

  it('runs the demo on the simulated kernel, each phase with its bug on, and the charts fill', async () => {
    await page.click('[data-preset="demo"]');
    await page.waitForSelector('[data-testid=validation-status]:has-text("valid")');
    const phases = await page.locator('table.phases tbody tr').allTextContents();
    expect(phases.length).toBe(5);
    expect(phases.join('\n')).toMatch(/pcm-unlocked-hw-params[\s\S]*seq-fifo-stale-cell[\s\S]*dpcm-unlocked-be-list[\s\S]*pcm-no-sync-stop[\s\S]*detach-without-drain/);
    await page.click('button.run');
    await page.waitForSelector('[data-testid=verdict]');
    await chartFills('ops', 0);
    await shot('03-running');
    await page.waitForSelector('[data-testid=verdict]:has-text("FAIL")', { timeout: 120_000 });
    await chartFills('ops', 10);
    await chartFills('ioctl', 10);
    await chartFills('latency', 5);
    await chartFills('xruns', 10);
    await chartFills('klog', 2);
    // Every event of the run reached the page: the count matches the journal.
    const [runDir] = readdirSync(server.runsDir);
    const journalEvents = readFileSync(join(server.runsDir, runDir!, 'journal.jsonl'), 'utf8').trim().split('\n').length - 2;
    await page.waitForFunction((n) => document.querySelector('[data-testid=event-count]')?.textContent?.replace(/,/g, '') === String(n), journalEvents);
    expect(journalEvents).toBeGreaterThan(10_000);
    const findings = await page.locator('[data-finding]').allTextContents();
    // Five: the panic that ends the interrupt-context oops is that oops, not a finding of its own (app/analysis/detectors/klog.ts).
    expect(findings.length).toBe(5);
    expect(findings.join('\n')).toMatch(/torn-hw-params[\s\S]*hang[\s\S]*use-after-free[\s\S]*null-deref/);
    await shot('04-run-done');
  });

  it('opens a finding: the interleaving step by step per task, and the kernel log it caused', async () => {
    await page.click('[data-finding="use-after-free#1"] >> nth=0');
    const detail = page.locator('[data-testid=finding-detail]');
    await detail.waitFor();
    const heads = await detail.locator('[data-testid=interleaving] thead th').allTextContents();
    expect(heads[0]).toMatch(/step/);
    // The involved tasks first, the faulting one leading; by default only their steps.
    expect(heads.join(' | ')).toMatch(/player[\s\S]*faulting[\s\S]*router[\s\S]*involved/);
    const involvedRows = await detail.locator('[data-testid=interleaving] tbody tr').count();
    expect(involvedRows).toBeGreaterThan(2);
    // Every task: the period interrupt's column and its steps appear.
    await detail.locator('[data-testid=involved-only]').uncheck();
    const allHeads = await detail.locator('[data-testid=interleaving] thead th').allTextContents();
    expect(allHeads.join(' | ')).toMatch(/player[\s\S]*router[\s\S]*irq\/pcmC1D0p:0/);
    expect(await detail.locator('[data-testid=interleaving] tbody tr').count()).toBeGreaterThan(involvedRows);
    expect(await detail.locator('td.step.ctx-irq').count()).toBeGreaterThan(0);
    expect(await detail.locator('[data-testid=finding-klog]').textContent()).toContain('BUG: KASAN: slab-use-after-free in dpcm_be_dai_trigger');
    await page.setViewportSize({ width: 1440, height: 2200 });
    await detail.scrollIntoViewIfNeeded();
    await shot('05-finding-interleaving');
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  it('finds the kernel-log line and sees which actions were in flight', async () => {
    await page.fill('input[aria-label="Filter kernel log lines"]', 'BUG: KASAN');
    const line = page.locator('[data-testid=klog-lines] button', { hasText: 'BUG: KASAN: slab-use-after-free in dpcm_be_dai_trigger' });
    await line.click();
    const panel = page.locator('[data-testid=inflight]');
    await panel.locator('table.lanes tbody tr').first().waitFor();
    const rows = await panel.locator('table.lanes tbody tr').allTextContents();
    expect(rows.join('\n')).toMatch(/player|router/);
    // Only this phase's lanes: the next phase's setup starts at the same instant but is not in flight here.
    expect(rows.filter((r) => r.startsWith('setup') && r.includes('in flight'))).toEqual([]);
    expect(await panel.locator('[data-testid=interleaving]').count()).toBe(1);
    await page.setViewportSize({ width: 1440, height: 1800 });
    await panel.scrollIntoViewIfNeeded();
    await shot('06-klog-inflight');
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  it('exports the report: one self-contained HTML file with the charts and the JSON summary', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export report")')]);
    const file = join(shots, download.suggestedFilename());
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^stresslab-report_.*_demo_sim\.html$/);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('class="verdict v-fail">FAIL<');
    expect([...html.matchAll(/<svg /g)].length).toBe(5);
    expect(html).toContain('BUG: KASAN: slab-use-after-free');
    const json = JSON.parse(/<script type="application\/json" id="stresslab-summary">([\s\S]*?)<\/script>/.exec(html)![1]!);
    expect(json).toMatchObject({ verdict: 'fail', preset: 'demo', target: 'sim' });
    expect(json.findings.length).toBe(5);
    await page.waitForSelector('[data-testid=exported]');
    const runDir = (await page.textContent('[data-testid=exported] .mono'))!.replace(/\/report\.html$/, '');
    expect(existsSync(join(runDir, 'summary.json'))).toBe(true);
    // The report opens on its own in the browser: render it and look.
    const report = await ctx.newPage();
    await report.goto(`file://${file}`);
    await report.screenshot({ path: join(shots, '07-report.png'), fullPage: true });
    await report.close();
  });

  it('replays the finding on the simulated kernel and gets the identical finding back', async () => {
    await page.click('[data-finding="torn-hw-params#1"]');
    await page.click('[data-testid=finding-detail] button:has-text("Replay")');
    const banner = page.locator('[data-testid=replay-banner]');
    await banner.waitFor();
    await page.waitForSelector('[data-testid=replay-banner] .good', { timeout: 60_000 });
    expect(await banner.textContent()).toMatch(/reproduced, identical finding/);
    await shot('08-replay');
  });

  it('lists both runs in the history, and reopens one from its journal', async () => {
    await page.click('button[role=tab]:has-text("History")');
    await page.waitForSelector('tr[data-run]');
    const rows = await page.locator('tr[data-run]').allTextContents();
    expect(rows.length).toBe(2);
    expect(rows.join('\n')).toMatch(/parallel-hw-params[\s\S]*demo/);
    await shot('09-history');
    await page.click('tr[data-run*="_demo_sim"]');
    await page.waitForSelector('[data-testid=verdict]:has-text("FAIL")');
    await page.waitForFunction(() => document.querySelectorAll('[data-finding]').length === 5);
    expect(errors).toEqual([]);
  });

  it('checks a run with its bug on against the fixed model: the oracle names the torn readback', async () => {
    await page.click('button[role=tab]:has-text("Scenario")');
    await page.click('[data-preset="parallel-hw-params"]');
    await page.waitForSelector('[data-testid=validation-status]:has-text("valid")');
    // on the fixed kernel (the default) there is nothing to compare with
    expect(await page.isChecked('input[data-switch="pcm-unlocked-hw-params"]')).toBe(false);
    expect(await page.isDisabled('[data-testid=oracle]')).toBe(true);
    await page.check('[data-testid=historic-bug]');
    expect(await page.isChecked('input[data-switch="pcm-unlocked-hw-params"]')).toBe(true);
    await page.check('[data-testid=oracle]');
    await page.click('button.run');
    const panel = page.locator('[data-testid=oracle-panel]');
    await panel.waitFor({ timeout: 60_000 });
    expect(await page.textContent('[data-testid=verdict]')).toBe('FAIL');
    expect(await page.textContent('[data-testid=oracle-divergences]')).toMatch(/^\s*1 divergence\s*$/);
    expect(await panel.textContent()).toMatch(/small loop#4 pcm\.readback on pcm: the sim \(pcm-unlocked-hw-params\) answered/);
    await panel.scrollIntoViewIfNeeded();
    await shot('10-oracle');
    expect(errors).toEqual([]);
  });
});
