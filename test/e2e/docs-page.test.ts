/**
 * /docs renders the OpenAPI document in a real browser (headless Chromium): Swagger UI loads
 * from the API itself, lists the operations, and shows no error.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let harness: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it) or set CHROMIUM_PATH`);
  harness = await createHarness();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

it('renders every documented operation from /openapi.json', async () => {
  const page = await browser.newPage();
  const failed: string[] = [];
  page.on('requestfailed', (request) => failed.push(request.url()));
  page.on('pageerror', (error) => failed.push(error.message));
  const response = await page.goto(`${harness.api.url}/docs`);
  expect(response!.status()).toBe(200);
  await page.waitForSelector('.opblock', { timeout: 20_000 });

  const spec = (await (await harness.fetch('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.values(spec.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0);
  expect(await page.locator('.opblock').count()).toBe(documented);
  await expect(page.locator('.opblock-summary-path').filter({ hasText: /^\/api\/v1\/privacy-request$/ }).first().isVisible()).resolves.toBe(true);
  expect(await page.locator('.title').first().textContent()).toContain('dsrflow');
  expect(failed).toEqual([]);
  await page.close();
});
