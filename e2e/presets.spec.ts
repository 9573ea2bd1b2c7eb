// The preset library as a person sees it: each variant under the preset it
// adapts, what every preset needs, and a run the target cannot map refused
// before it starts with the same words as `stresslab run`.
import type { BrowserContext, Page } from 'playwright-core';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, browser, serve, type Served } from './harness.js';

const shots = artifacts('presets');
let server: Served;
let ctx: BrowserContext & { dispose(): Promise<void> };
let page: Page;
const errors: string[] = [];
const runCount = () => (existsSync(server.runsDir) ? readdirSync(server.runsDir).length : 0);

beforeAll(async () => {
  server = await serve();
  ctx = await browser(shots);
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(server.openUrl);
  await page.waitForSelector('button[role=radio][aria-checked=true]:has-text("Simulated kernel")', { timeout: 120_000 });
});

afterAll(async () => {
  await ctx?.dispose();
  await server?.stop();
});

describe('presets and the hardware they need', () => {
  it('lists each variant right under its preset, with what each needs', async () => {
    await page.click('button[role=tab]:has-text("Scenario")');
    await page.waitForSelector('[data-preset="dpcm-route-change-ac97"]');
    const order = await page.$$eval('[data-preset]', (els) => els.map((e) => e.getAttribute('data-preset')));
    const after = (base: string, n: number) => order.slice(order.indexOf(base) + 1, order.indexOf(base) + 1 + n).sort();
    expect(after('dpcm-route-change', 2)).toEqual(['dpcm-route-change-ac97', 'dpcm-route-change-stressdpcm']);
    expect(after('detach-while-open', 2)).toEqual(['detach-while-open-dummy', 'detach-while-open-usb']);
    const v = page.locator('[data-preset="dpcm-route-change-ac97"]');
    expect(await v.locator('[data-testid=variant-of]').textContent()).toBe('variant of dpcm-route-change');
    expect(await v.locator('[data-testid=preset-needs]').textContent()).toBe('needs: pcm I82801AAICH');
    expect(await page.locator('[data-preset="seq-pool-resize"] [data-testid=preset-needs]').textContent()).toBe('needs: sequencer');
    await page.click('[data-preset="dpcm-route-change"]');
    await page.waitForSelector('[data-testid=outline-needs]');
    expect(await page.locator('[data-testid=outline-needs]').textContent()).toContain('card "SimSoC" (soc-dpcm; playback; controls "Speaker Switch", "Headphone Switch")');
    await page.screenshot({ path: `${shots}/library-1440x900.png` });
  });

  it('a variant for the virtual lab is refused on the simulated kernel before it starts, naming the card and the preset that runs there', async () => {
    const before = runCount();
    await page.click('[data-preset="dpcm-route-change-ac97"]');
    await page.waitForSelector('[data-testid=validation-status]:has-text("valid")');
    await page.waitForFunction(() => document.querySelector('.settings dd.mono')?.textContent?.startsWith('dpcm-route-change-ac97'));
    await page.click('button.primary.run');
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toMatch(/dpcm-route-change-ac97 needs hardware that the simulated kernel does not have:\s+card "I82801AAICH" \(pcm; playback\+capture; controls "Capture Source", "Master Playback Switch"\): no card of that name/);
    expect(text).toMatch(/variants that run on sim: dpcm-route-change, dpcm-route-change-stressdpcm/);
    expect(runCount()).toBe(before);
    await page.screenshot({ path: `${shots}/refused-1440x900.png` });
    expect(errors).toEqual([]);
  });
});
