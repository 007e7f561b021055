/**
 * The console's configuration pages in real Chromium: connections and their Test button (the
 * outcome, with a failure's category and reason), datasets and a YAML upload whose problems are
 * shown at their line (and nothing saved), policies with their rules and targets, webhook
 * subscriptions and a paged delivery log. A viewer sees no Test button and no upload form, and a
 * forged test is refused by the API; a role without the read scope gets 403. Every page is checked
 * by axe-core at 1280 and 390 px, and a screenshot of each is written under test-output/console/.
 *
 * No worker: nothing here runs a request (the delivery log is written as a worker writes it).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueWebhookEvent, recordDeliveryAttempt } from '../../src/db/webhooks.js';
import { EXAMPLE_CONNECTION_KEY } from '../../src/example/load.js';
import { createHarness, type Harness } from '../support/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = new URL('../../test-output/console/', import.meta.url).pathname;
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WIDTHS = [1280, 390] as const;
const HOOK_URL = 'https://hooks.example.com/dsrflow/configuration-test';

let harness: Harness;
let browser: Browser;
let owner: BrowserContext;
let viewer: BrowserContext;
let webhookId = '';

const passwordOf = (username: string) => `password-of-${username}`;

/** Creates the user through the API (root token) and signs in through the console's form. */
async function signedIn(username: string, roles: string[]): Promise<BrowserContext> {
  const created = await harness.postJson('/api/v1/user', { username, password: passwordOf(username), roles });
  expect(created.status).toBe(201);
  // bypassCSP: axe-core is injected as a script the console's CSP would refuse.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  await tab.goto(`${harness.api.url}/console/login`);
  await tab.getByLabel('Username').fill(username);
  await tab.getByLabel('Password').fill(passwordOf(username));
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.waitForURL(`${harness.api.url}/console`);
  await tab.close();
  return context;
}

async function open(context: BrowserContext, path: string): Promise<Page> {
  const tab = await context.newPage();
  const response = await tab.goto(`${harness.api.url}${path}`);
  expect(response?.status(), path).toBe(200);
  return tab;
}

/**
 * At both widths nothing is wider than the screen (tables scroll in their own region or stack
 * their cells) and a screenshot is written; at the narrow one, where the layout has the most to
 * give, axe-core finds no serious or critical violation (the markup is the same at both widths).
 */
async function checkPage(tab: Page, name: string) {
  await tab.addScriptTag({ path: AXE });
  for (const width of WIDTHS) {
    await tab.setViewportSize({ width, height: 900 });
    if (width === 390) {
      const result = (await tab.evaluate(() => (globalThis as unknown as { axe: { run: () => Promise<unknown> } }).axe.run())) as {
        violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
      };
      const serious = result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
      expect(serious.map((violation) => `${name} at ${width}px: ${violation.id} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)).toEqual([]);
    }
    const overflow = await tab.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(overflow, `${name} is wider than ${width}px`).toBeLessThanOrEqual(width);
    await tab.screenshot({ path: `${SHOTS}configuration-${name}-${width}.png`, fullPage: true });
  }
  await tab.setViewportSize({ width: 1280, height: 900 });
}

const storedDatasets = async (fidesKey: string) => (await harness.sql<{ count: number }[]>`select count(*)::int as count from dataset_config where fides_key = ${fidesKey}`)[0]!.count;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it) or set CHROMIUM_PATH`);
  await mkdir(SHOTS, { recursive: true });
  harness = await createHarness();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  // A connection whose database does not exist, next to the example one (which works).
  const broken = new URL(harness.targetUrl);
  broken.pathname = '/dsrflow_no_such_database';
  const patched = await harness.fetch('/api/v1/connection', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ key: 'broken_db', name: 'Broken database', connection_type: 'postgres', access: 'read', secrets: { url: broken.toString() } }]),
  });
  expect(((await patched.json()) as { succeeded: unknown[] }).succeeded).toHaveLength(1);

  // A subscription, and 51 deliveries of a request's events (two pages), the newest refused by its receiver.
  const created = await harness.postJson('/api/v1/webhook', { url: HOOK_URL, event_types: ['request.received', 'request.completed'], description: 'Ticketing' });
  expect(created.status).toBe(201);
  webhookId = ((await created.json()) as { id: string }).id;
  const requestId = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  let last = '';
  for (let n = 0; n < 51; n++) {
    const type = n === 50 ? 'request.completed' : 'request.received';
    [last] = await enqueueWebhookEvent(harness.sql, { id: `${requestId}:${type}:${n}`, type, privacyRequestId: requestId, occurredAt: new Date().toISOString(), data: { privacy_request_id: requestId } });
  }
  await recordDeliveryAttempt(harness.sql, last!, { statusCode: 503, error: 'the receiver answered 503', durationMs: 41, status: 'pending' });

  owner = await signedIn('cora', ['owner']);
  viewer = await signedIn('vera', ['viewer']);
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

describe('an owner', () => {
  it('sees every connection, and Test shows the outcome: succeeded, or the category and reason', async () => {
    const tab = await open(owner, '/console/connections');
    const example = tab.locator(`#connection-${EXAMPLE_CONNECTION_KEY}`);
    await expect(example.textContent()).resolves.toContain('Fides example Postgres');
    await expect(tab.locator('#connection-broken_db').textContent()).resolves.toContain('Broken database');
    await checkPage(tab, 'connections');

    await example.getByRole('button', { name: `Test ${EXAMPLE_CONNECTION_KEY}` }).click();
    await tab.waitForLoadState();
    await expect(tab.locator(`#connection-${EXAMPLE_CONNECTION_KEY} .test-outcome`).getAttribute('data-status')).resolves.toBe('succeeded');
    await expect(tab.locator('.flash.ok').textContent()).resolves.toContain('the test succeeded');

    await tab.locator('#connection-broken_db').getByRole('button', { name: 'Test broken_db' }).click();
    await tab.waitForLoadState();
    const outcome = tab.locator('#connection-broken_db .test-outcome');
    await expect(outcome.getAttribute('data-status')).resolves.toBe('failed');
    const text = await outcome.textContent();
    expect(text).toContain('not found');
    expect(text).toContain('dsrflow_no_such_database');
    expect(await tab.locator(`#connection-${EXAMPLE_CONNECTION_KEY} .test-outcome`).count()).toBe(0);
    await checkPage(tab, 'connections-tested');
    await tab.close();
  });

  it('uploads YAML: problems are shown at their line and nothing is saved; a fixed file is saved and listed', async () => {
    const tab = await open(owner, '/console/datasets');
    await expect(tab.locator(`#datasets-of-${EXAMPLE_CONNECTION_KEY} + .table-wrap`).textContent()).resolves.toContain('postgres_example_test_dataset');
    await checkPage(tab, 'datasets');

    const broken = [
      'dataset:',
      '  - fides_key: console_upload',
      '    name: Console upload',
      '    collections:',
      '      - name: customer',
      '        fields:',
      '          - name: email',
      '            data_categories: [user.contact.email]',
      '            fides_meta:',
      '              identity: email',
      '              data_type: strin',
      '      - name: orders',
      '        fields:',
      '          - data_categories: [user]',
      '',
    ].join('\n');
    await tab.getByLabel('Connection').selectOption(EXAMPLE_CONNECTION_KEY);
    await tab.getByLabel('Fideslang YAML').fill(broken);
    await tab.getByRole('button', { name: 'Upload datasets' }).click();
    await tab.waitForLoadState();
    const problems = tab.locator('#upload-problems li.problem');
    expect(await problems.count()).toBe(2);
    expect(await problems.nth(0).textContent()).toMatch(/^Line 11: collection customer, field email: fides_meta\.data_type: must be one of/);
    expect(await problems.nth(0).locator('mark').textContent()).toMatch(/^11 \| +data_type: strin$/);
    expect(await problems.nth(1).textContent()).toMatch(/^Line 14: collection orders, field #1: name: is required/);
    // The YAML is back in the text area, line for line, to be fixed.
    expect((await tab.getByLabel('Fideslang YAML').inputValue()).replaceAll('\r\n', '\n')).toBe(broken);
    expect(await tab.getByLabel('Connection').inputValue()).toBe(EXAMPLE_CONNECTION_KEY);
    expect(await storedDatasets('console_upload')).toBe(0);
    await checkPage(tab, 'datasets-problems');

    // YAML that does not parse: the API's 400, shown the same way, at its line.
    await tab.getByLabel('Fideslang YAML').fill('dataset:\n  - fides_key: console_upload\n    collections: [unclosed\n');
    await tab.getByRole('button', { name: 'Upload datasets' }).click();
    await tab.waitForLoadState();
    expect(await tab.locator('#upload-problems li.problem').count()).toBe(1);
    expect(await tab.locator('#upload-problems li.problem').textContent()).toMatch(/^Line \d+: /);

    // A file that is not UTF-8 text is refused before anything is sent.
    await tab.getByLabel(/Or a YAML file/).setInputFiles({ name: 'latin1.yml', mimeType: 'application/yaml', buffer: Buffer.from([0x64, 0x61, 0x74, 0x61, 0xe9, 0x0a]) });
    await tab.getByRole('button', { name: 'Upload datasets' }).click();
    await tab.waitForLoadState();
    await expect(tab.locator('.flash.error').textContent()).resolves.toContain('latin1.yml is not UTF-8 text');

    // The fixed file: it wins over the text area, and is saved and listed.
    const fixed = broken.replace('data_type: strin', 'data_type: string').replace('          - data_categories: [user]', '          - name: id\n            data_categories: [system.operations]');
    await tab.getByLabel('Fideslang YAML').fill('not: [what is sent');
    await tab.getByLabel(/Or a YAML file/).setInputFiles({ name: 'console.yml', mimeType: 'application/yaml', buffer: Buffer.from(fixed) });
    await tab.getByRole('button', { name: 'Upload datasets' }).click();
    await tab.waitForLoadState();
    await expect(tab.locator('.flash.ok').textContent()).resolves.toContain('Saved console_upload');
    expect(await tab.locator('#upload-problems').count()).toBe(0);
    expect(await tab.getByLabel('Fideslang YAML').inputValue()).toBe('');
    const row = tab.locator(`#datasets-of-${EXAMPLE_CONNECTION_KEY} + .table-wrap tr`, { hasText: 'console_upload' });
    expect(await row.locator('td[data-label="Collections"]').textContent()).toBe('2');
    expect(await row.locator('td[data-label="Collection names"]').textContent()).toBe('customer, orders');
    expect(await storedDatasets('console_upload')).toBe(1);
    await checkPage(tab, 'datasets-saved');
    await tab.close();
  });

  it('reads the example policies with their rules, masking strategies and targets', async () => {
    const tab = await open(owner, '/console/policies');
    const access = tab.locator('#policy-default_access_policy');
    expect(await access.locator('h2').textContent()).toContain('Default access policy');
    expect(await access.locator('tbody tr').textContent()).toMatch(/Access all data.*access/s);
    expect(await access.locator('td[data-label="Targets (data categories)"] code').allTextContents()).toEqual(['system', 'user']);
    const erasure = tab.locator('#policy-example_erasure_policy tr', { hasText: 'erase_names' });
    expect(await erasure.locator('td[data-label="Masking strategy"]').textContent()).toContain('null_rewrite');
    expect(await erasure.locator('td[data-label="Targets (data categories)"]').textContent()).toContain('user.name');
    await checkPage(tab, 'policies');
    await tab.close();
  });

  it('lists webhook subscriptions, and a subscription\'s delivery log page by page', async () => {
    const tab = await open(owner, '/console/webhooks');
    const row = tab.locator(`[id="webhook-${webhookId}"]`);
    expect(await row.locator('td[data-label="URL"]').textContent()).toBe(HOOK_URL);
    expect(await row.locator('td[data-label="Events"]').textContent()).toBe('request.received, request.completed');
    expect(await row.locator('td[data-label="Enabled"]').textContent()).toBe('yes');
    await checkPage(tab, 'webhooks');

    await row.getByRole('link', { name: `Deliveries to ${HOOK_URL}` }).click();
    await tab.waitForURL(`${harness.api.url}/console/webhooks/${webhookId}`);
    expect(await tab.getByRole('status').textContent()).toBe('51 deliveries, newest first; page 1 of 2.');
    const rows = tab.locator('tbody tr');
    expect(await rows.count()).toBe(50);
    const newest = rows.first();
    expect(await newest.locator('td[data-label="Event"]').textContent()).toBe('request.completed');
    expect(await newest.locator('td[data-label="Status"]').textContent()).toBe('pending');
    expect(await newest.locator('td[data-label="Last response"]').textContent()).toBe('503 the receiver answered 503');
    await newest.locator('summary').click();
    expect(await newest.locator('ol.attempts li').textContent()).toMatch(/UTC: 503 the receiver answered 503 \(41 ms\)/);
    await checkPage(tab, 'webhook-deliveries');

    await tab.getByRole('link', { name: 'Older →' }).click();
    await tab.waitForURL(/\?page=2$/);
    expect(await rows.count()).toBe(1);
    expect(await tab.getByRole('link', { name: '← Newer' }).count()).toBe(1);
    await tab.close();
  });
});

describe('a viewer', () => {
  it('reads the configuration without Test buttons or the upload form, and a forged test is refused by the API', async () => {
    const connections = await open(viewer, '/console/connections');
    expect(await connections.locator(`#connection-${EXAMPLE_CONNECTION_KEY}`).count()).toBe(1);
    expect(await connections.getByRole('button', { name: /^Test/ }).count()).toBe(0);
    await checkPage(connections, 'connections-viewer');
    const datasets = await open(viewer, '/console/datasets');
    expect(await datasets.locator('form[action="/console/datasets"]').count()).toBe(0);
    expect(await datasets.locator('textarea, input[type="file"]').count()).toBe(0);
    await checkPage(datasets, 'datasets-viewer');

    // The form the page does not show, posted with the session's real CSRF token: the API refuses.
    const csrf = await connections.locator('input[name="_csrf"]').first().inputValue();
    const forged = await connections.request.post(`${harness.api.url}/console/connections/${EXAMPLE_CONNECTION_KEY}/test`, { form: { _csrf: csrf } });
    expect(forged.status()).toBe(403);
    const page = await forged.text();
    expect(page).toContain('Not tested: This operation needs the scope connection:write');
    expect(page).not.toContain('test-outcome');
    const upload = await connections.request.post(`${harness.api.url}/console/datasets`, { multipart: { _csrf: csrf, connection_key: EXAMPLE_CONNECTION_KEY, yaml: 'dataset:\n  - fides_key: forged\n    collections: []\n' } });
    expect(upload.status()).toBe(403);
    expect(await upload.text()).toContain('This operation needs the scope dataset:write');
    expect(await storedDatasets('forged')).toBe(0);
    await connections.close();
    await datasets.close();
  });

  it('is refused a page whose read scope the role lacks', async () => {
    const respondent = await signedIn('rhea', ['respondent']);
    const tab = await respondent.newPage();
    for (const path of ['/console/connections', '/console/datasets', '/console/policies', '/console/webhooks', `/console/webhooks/${webhookId}`]) {
      const response = await tab.goto(`${harness.api.url}${path}`);
      expect(response?.status(), path).toBe(403);
      expect(await tab.locator('h1').textContent()).toBe('Not allowed');
    }
    await checkPage(tab, 'forbidden');
    await respondent.close();
  });
});
