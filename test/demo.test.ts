/**
 * The interactive demo (`npm run demo`) in headless Chromium, used as a person would: a random
 * sine wave's points and clicks in the plot, characters drawn with the mouse, and what the page
 * then shows. Screenshots go to build/screenshots/. Needs a Chromium (`apt-get install
 * chromium`, or CHROME=…); CI installs one, elsewhere the file is skipped with that reason.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
// @ts-expect-error plain JavaScript scripts, no declarations
import { findChrome } from '../scripts/chrome.mjs';
// @ts-expect-error plain JavaScript scripts, no declarations
import { demoServer } from '../scripts/demo.mjs';

const chrome = findChrome() as string | undefined;
const shots = new URL('../build/screenshots/', import.meta.url).pathname;
let browser: Browser;
let server: import('node:http').Server;
let page: Page;
const errors: string[] = [];

describe.skipIf(chrome === undefined)('the demo page in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    server = demoServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // --no-sandbox: Chromium refuses its sandbox as root, which CI machines often are.
    browser = await chromium.launch({ executablePath: chrome, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1000, height: 1500 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await page.goto(`http://127.0.0.1:${port}/demo/?seed=3`);
    await page.waitForSelector('#status[data-ready="true"]', { timeout: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  test('the page loads the weights in its worker and says what it runs', async () => {
    expect(await page.textContent('#status')).toMatch(/^Ready: kernels (relaxed-simd|simd); Omniglot network: MAML 5-way 1-shot, 60,000 meta-iterations\.$/);
    expect(errors).toEqual([]);
  });

  test('a random sine wave: every network adapts step by step, MAML and Reptile far better than joint training', async () => {
    await page.click('#random');
    await page.waitForSelector('#plot[data-adapted="10"]', { timeout: 30_000 });
    expect(await page.locator('#plot circle.point').count()).toBe(10);
    expect(await page.locator('#plot path.truth').count()).toBe(1);
    expect(await page.textContent('#step')).toBe('step 10 of 10');
    const loss = async (net: string, col: 'before' | 'after') => Number(await page.textContent(`#sine-table tr[data-net="${net}"] td.${col}`));
    for (const net of ['maml', 'reptile', 'joint']) expect(await loss(net, 'after')).toBeLessThan(await loss(net, 'before'));
    expect(await loss('maml', 'after')).toBeLessThan((await loss('joint', 'after')) / 4);
    expect(await loss('reptile', 'after')).toBeLessThan((await loss('joint', 'after')) / 4);
    // Scrubbing back to step 0 shows the curves and losses before adaptation.
    await page.locator('#steps').fill('0');
    expect(await page.textContent('#step')).toBe('step 0 of 10');
    expect(await loss('maml', 'after')).toBe(await loss('maml', 'before'));
    await page.screenshot({ path: `${shots}demo-sine.png` });
  });

  test('clicking in the plot adds points that the networks then fit', async () => {
    await page.click('#clear');
    await expect.poll(() => page.locator('#plot circle.point').count()).toBe(0);
    const box = (await page.locator('#plot').boundingBox())!;
    // Three points on a line through the plot's middle (x = -2.5, 0, 2.5 → y = -2.5, 0, 2.5).
    for (const f of [0.3, 0.53, 0.76]) await page.mouse.click(box.x + box.width * f, box.y + box.height * (1 - f));
    await page.waitForSelector('#plot[data-adapted="3"]', { timeout: 30_000 });
    expect(await page.locator('#plot circle.point').count()).toBe(3);
    const after = Number(await page.textContent('#sine-table tr[data-net="maml"] td.after'));
    const before = Number(await page.textContent('#sine-table tr[data-net="maml"] td.before'));
    expect(after).toBeLessThan(before);
    expect(errors).toEqual([]);
  });

  /** Draws `strokes` (lists of points in 0…1 of the pad) on pad `i` with the mouse. */
  async function draw(i: number, strokes: [number, number][][]): Promise<void> {
    const b = (await page.locator('.pad canvas').nth(i).boundingBox())!;
    for (const stroke of strokes) {
      const [x0, y0] = stroke[0]!;
      await page.mouse.move(b.x + x0 * b.width, b.y + y0 * b.height);
      await page.mouse.down();
      for (const [x, y] of stroke.slice(1)) await page.mouse.move(b.x + x * b.width, b.y + y * b.height, { steps: 6 });
      await page.mouse.up();
    }
  }
  const circle = (cx: number, cy: number, r: number): [number, number][] => Array.from({ length: 25 }, (_, k) => [cx + r * Math.cos((2 * Math.PI * k) / 24), cy + r * Math.sin((2 * Math.PI * k) / 24)]);
  const symbols: [number, number][][][] = [
    [[[0.5, 0.15], [0.5, 0.85]], [[0.2, 0.5], [0.8, 0.5]]], // a plus
    [circle(0.5, 0.5, 0.3)], // a ring
    [[[0.2, 0.2], [0.8, 0.8]], [[0.8, 0.2], [0.2, 0.8]]], // a cross
    [[[0.2, 0.8], [0.5, 0.2], [0.8, 0.8], [0.2, 0.8]]], // a triangle
    [[[0.2, 0.25], [0.8, 0.25]], [[0.2, 0.5], [0.8, 0.5]], [[0.2, 0.75], [0.8, 0.75]]], // three bars
  ];

  test('five drawn symbols and a new drawing of one: the page names it, with the probabilities', async () => {
    expect(await page.isDisabled('#classify')).toBe(true);
    for (const [i, s] of symbols.entries()) await draw(i, s);
    expect(await page.isDisabled('#classify')).toBe(true); // the last box is still empty
    for (const target of [1, 3]) {
      await page.locator('.pad button').nth(5).click(); // clear the last box
      // The same symbol drawn again, smaller and off-centre, as a second drawer would.
      await draw(5, symbols[target]!.map((stroke) => stroke.map(([x, y]) => [0.1 + 0.8 * x, 0.05 + 0.8 * y] as [number, number])));
      await page.click('#classify');
      await page.waitForSelector('#prediction[data-best]', { timeout: 30_000 });
      expect(await page.getAttribute('#prediction', 'data-best')).toBe(String(target + 1));
      const probs = await page.locator('#probabilities .bar .p').allTextContents();
      expect(probs).toHaveLength(5);
      const values = probs.map((p) => Number(p.replace('%', '')));
      expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
      expect(Math.max(...values)).toBe(values[target]);
      await page.screenshot({ path: `${shots}demo-omniglot-${target + 1}.png` });
      await page.click('#clear-all');
      for (const [i, s] of symbols.entries()) await draw(i, s);
    }
    expect(errors).toEqual([]);
  }, 90_000);
});
