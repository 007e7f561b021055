/**
 * The console in real Chromium: a privacy officer's day, from signing in to signing out, each
 * step checked in Postgres and in the request's workflow, not only on screen; what a viewer may
 * not do (and the API's refusal when a form is forged anyway); CSRF; every page checked by
 * axe-core at 1280 and 390 px, its weight measured, and a screenshot written under
 * test-output/console/.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { temporal } from '@temporalio/proto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../../src/auth/secrets.js';
import { insertToken } from '../../src/db/access-tokens.js';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { defaultAccessPolicy, EXAMPLE_CONNECTION_KEY, EXAMPLE_ERASURE_POLICY_KEY } from '../../src/example/load.js';
import { createHarness, erasurePolicy, eventually, type Harness } from '../support/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = new URL('../../test-output/console/', import.meta.url).pathname;
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** The harness creates users with this password (harness.userToken). */
const passwordOf = (username: string) => `password-of-${username}`;

let harness: Harness;
let browser: Browser;
let officer: BrowserContext;
let page: Page;
/** Requests the day works on, made in beforeAll. */
const ids = { overdue: '', notDue: '', erasure: '' };

const identity = { email: 'customer-1@example.com' };
const audit = (id: string) => harness.sql<{ action: string; user_id: string | null; message: string | null }[]>`select action, user_id, message from audit_log where privacy_request_id = ${id} order by id`;
/** The names of the updates the workflow accepted, from Temporal's own history. */
async function acceptedUpdates(id: string): Promise<string[]> {
  const history = await harness.handle(id).fetchHistory();
  return (history.events ?? [])
    .filter((event) => event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    .map((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? '');
}

async function signIn(context: BrowserContext, username: string): Promise<Page> {
  const tab = await context.newPage();
  await tab.goto(`${harness.api.url}/console`);
  await tab.waitForURL(/\/console\/login/);
  await tab.getByLabel('Username').fill(username);
  await tab.getByLabel('Password').fill(passwordOf(username));
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.waitForURL(`${harness.api.url}/console`);
  return tab;
}

/** axe-core on the page as it is: no serious or critical violation. */
async function checkAccessibility(tab: Page, what: string) {
  await tab.addScriptTag({ path: AXE });
  const result = (await tab.evaluate(() => (globalThis as unknown as { axe: { run: () => Promise<unknown> } }).axe.run())) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  const serious = result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  expect(serious.map((violation) => `${what}: ${violation.id} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** HTML, CSS and JS bytes the page loaded (the console's own: nothing else may load). */
async function pageWeight(context: BrowserContext, url: string): Promise<{ bytes: number; foreign: string[] }> {
  const tab = await context.newPage();
  let bytes = 0;
  const foreign: string[] = [];
  tab.on('response', async (response) => {
    if (!response.url().startsWith(harness.api.url)) foreign.push(response.url());
    bytes += (await response.body().catch(() => Buffer.alloc(0))).length;
  });
  await tab.goto(url, { waitUntil: 'networkidle' });
  await tab.close();
  return { bytes, foreign };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it) or set CHROMIUM_PATH`);
  harness = await createHarness({ env: { DSRFLOW_TEMPORAL_UI_URL: 'http://127.0.0.1:8233' } });
  await harness.savePolicy({ ...defaultAccessPolicy, key: 'reviewed_access', name: 'Reviewed access', requires_approval: true });
  await harness.startWorker();
  await harness.userToken('dpo', ['approver']);
  await harness.userToken('vera', ['viewer']);
  // A request received under a one-second response period (an app configured so): overdue at once, waiting for review.
  const shortPeriod = harness.createApp({ deadlines: { timeZone: 'UTC', reminderLeadsMs: [], periodOverrideMs: 1000, extensionOverrideMs: null } });
  const submitted = await shortPeriod.request('/api/v1/privacy-request', {
    method: 'POST',
    headers: { host: '127.0.0.1', authorization: `Bearer ${harness.token}`, 'content-type': 'application/json' },
    body: JSON.stringify([{ policy_key: 'reviewed_access', identity, external_id: 'ticket-overdue' }]),
  });
  const answer = (await submitted.json()) as { succeeded?: { id: string }[] };
  if (!answer.succeeded?.[0]) throw new Error(`the short-period request was refused: ${submitted.status} ${JSON.stringify(answer)}`);
  ids.overdue = answer.succeeded[0].id;
  ids.notDue = await harness.submit({ policy_key: 'reviewed_access', identity, external_id: 'ticket-fresh' });
  ids.erasure = await harness.submit({ policy_key: EXAMPLE_ERASURE_POLICY_KEY, identity: { email: 'customer-2@example.com' }, external_id: 'ticket-erasure' });
  await harness.waitForStatus(ids.erasure, 'awaiting_erasure_confirmation');
  await eventually(async () => ((await harness.request(ids.overdue)).days_left as number) < 0 || undefined, { what: 'the short-period request to be overdue' });

  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // axe-core is injected as a script: the console's CSP would refuse it otherwise.
  officer = await browser.newContext({ bypassCSP: true, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

describe("a privacy officer's day", () => {
  it('starts at the sign-in page, readable at both widths', async () => {
    const tab = await officer.newPage();
    for (const width of [1280, 390]) {
      await tab.setViewportSize({ width, height: 800 });
      await tab.goto(`${harness.api.url}/console/login`);
      await tab.screenshot({ path: `${SHOTS}login-${width}.png`, fullPage: true });
      await checkAccessibility(tab, `sign-in page at ${width} px`);
    }
    await tab.close();
  });

  it('signs in, and the inbox shows every request with days left', async () => {
    page = await signIn(officer, 'dpo');
    await expect(page.getByRole('heading', { name: 'Inbox' }).isVisible()).resolves.toBe(true);
    for (const id of Object.values(ids)) await expect(page.getByRole('link', { name: id }).isVisible()).resolves.toBe(true);
    await expect(page.getByText('Signed in as dpo').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: `${SHOTS}inbox-1280.png`, fullPage: true });
    // The cookie cannot be read by scripts, and no other site's page sends it.
    const [cookie] = await officer.cookies();
    expect(cookie).toMatchObject({ name: 'dsrflow_session', httpOnly: true, sameSite: 'Strict', path: '/console' });
    await checkAccessibility(page, 'inbox');
  });

  it('filters the overdue requests: only the one past its due date, with a red badge', async () => {
    await page.getByLabel('Due').selectOption('overdue');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/due=overdue/);
    const rows = page.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().textContent()).resolves.toContain(ids.overdue);
    await expect(rows.first().locator('.badge.red').textContent()).resolves.toMatch(/overdue/);
    const [row] = await harness.sql<{ due_at: Date }[]>`select due_at from privacy_request where id = ${ids.overdue}`;
    expect(row!.due_at.getTime()).toBeLessThan(Date.now());
    await page.screenshot({ path: `${SHOTS}inbox-overdue-1280.png`, fullPage: true });
  });

  it('approves the overdue request, which then runs to completion', async () => {
    await page.getByRole('link', { name: ids.overdue }).click();
    await page.waitForURL(new RegExp(`/console/requests/${ids.overdue}$`));
    await page.getByLabel('Note (optional)').fill('identity checked by phone');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Approved.' }).waitFor();
    expect(await harness.result(ids.overdue)).toEqual({ status: 'complete' });
    expect(await acceptedUpdates(ids.overdue)).toContain('approveUpdate');
    expect(await audit(ids.overdue)).toContainEqual({ action: 'approved', user_id: 'user:dpo', message: 'identity checked by phone' });
  });

  it('reveals the identity, and the reveal is in the timeline under their name', async () => {
    await page.reload();
    await expect(page.locator('#identity').count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Reveal identity' }).click();
    await expect(page.locator('#identity').textContent()).resolves.toContain('customer-1@example.com');
    await expect(page.getByRole('link', { name: 'Workflow in the Temporal UI' }).getAttribute('href')).resolves.toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${ids.overdue}`);
    expect(await audit(ids.overdue)).toContainEqual({ action: 'identity_revealed', user_id: 'user:dpo', message: null });
    await expect(page.locator('ol.timeline').textContent()).resolves.toMatch(/identity revealed\s+by user:dpo/);
  });

  it('downloads the access package of the completed request', async () => {
    await page.goto(`${harness.api.url}/console/requests/${ids.overdue}`);
    await page.locator('#package-link').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#package-link').click()]);
    const zip = await readFile(await download.path());
    expect(zip.subarray(0, 2).toString()).toBe('PK');
    const downloads = await harness.sql`select 1 from access_package_download where privacy_request_id = ${ids.overdue}`;
    expect(downloads).toHaveLength(1);
    await page.screenshot({ path: `${SHOTS}request-complete-1280.png`, fullPage: true });
    await checkAccessibility(page, 'request page');
  });

  it('confirms an erasure after checking the preview counts', async () => {
    await page.goto(`${harness.api.url}/console/requests/${ids.erasure}`);
    const preview = (await harness.request(ids.erasure)).erasure_preview as Record<string, number>;
    const total = Object.values(preview).reduce((sum, count) => sum + count, 0);
    expect(total).toBeGreaterThan(0);
    await expect(page.getByRole('heading', { name: 'Erasure preview' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('#preview-total').textContent()).resolves.toBe(`Confirming changes ${total} ${total === 1 ? 'row' : 'rows'}:`);
    await page.screenshot({ path: `${SHOTS}request-erasure-preview-1280.png`, fullPage: true });
    await checkAccessibility(page, 'erasure preview');
    await page.getByRole('button', { name: 'Confirm erasure' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Erasure confirmed' }).waitFor();
    expect(await harness.result(ids.erasure)).toEqual({ status: 'complete' });
    expect(await acceptedUpdates(ids.erasure)).toContain('confirmErasureUpdate');
    expect(await audit(ids.erasure)).toContainEqual(expect.objectContaining({ action: 'erasure_confirmed', user_id: 'user:dpo' }));
    const [customer] = await harness.target<{ name: string | null }[]>`select name from customer where email = 'customer-2@example.com'`;
    expect(customer!.name).toBeNull();
  });

  it('answers a manual step with the form made from the collection fields', async () => {
    // A filing cabinet searched by hand, for the requests received while it is enabled.
    const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
    await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'read' }, {}, harness.encryptionKey);
    await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
    const id = await harness.submit({ policy_key: 'default_access_policy', identity, external_id: 'ticket-manual' });
    await harness.waitForStatus(id, 'paused');
    await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'read', disabled: true }, {}, harness.encryptionKey);

    await page.goto(`${harness.api.url}/console/requests/${id}`);
    await expect(page.getByRole('heading', { name: /Manual step: manual_dataset:filing_cabinet/ }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: `${SHOTS}request-manual-step-1280.png`, fullPage: true });
    await checkAccessibility(page, 'manual step');
    await page.getByLabel('authorized_user').fill('Jane Customer');
    await page.getByLabel('payment_card_id').fill('pc-1');
    await page.getByRole('button', { name: 'Add another row' }).click();
    await page.locator('input[name="row1.authorized_user"]').fill('John Customer');
    await page.getByRole('button', { name: 'Send rows' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Rows received' }).waitFor();
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await acceptedUpdates(id)).toContain('manualInputUpdate');
    const rows = await harness.sql<{ row: Record<string, unknown> }[]>`
      select row from access_result where privacy_request_id = ${id} and collection_name = 'filing_cabinet' order by row_index`;
    expect(rows.map((entry) => entry.row)).toEqual([{ authorized_user: 'Jane Customer', payment_card_id: 'pc-1' }, { authorized_user: 'John Customer' }]);
    expect(await audit(id)).toContainEqual(expect.objectContaining({ action: 'manual_input', user_id: 'user:dpo' }));
  });

  it('confirms the masking of a manual collection during erasure, with the count of rows masked', async () => {
    // The filing cabinet again, writable this time: erasure asks a person to mask what access found there.
    await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
    await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
    const id = await harness.submit({ policy_key: 'erase_names', identity: { email: 'customer-2@example.com' }, external_id: 'ticket-manual-erasure' });
    await harness.waitForStatus(id, 'paused');
    await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write', disabled: true }, {}, harness.encryptionKey);

    // Access first: the cabinet holds one folder for this person.
    await page.goto(`${harness.api.url}/console/requests/${id}`);
    await page.getByLabel('id', { exact: true }).fill('7');
    await page.getByLabel('authorized_user').fill('Jill Customer');
    await page.getByRole('button', { name: 'Send rows' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Rows received' }).waitFor();
    await harness.waitForStatus(id, 'paused');

    // Then erasure: the page says which folder to mask and how, and takes the count.
    await page.goto(`${harness.api.url}/console/requests/${id}`);
    await expect(page.getByRole('heading', { name: /Manual erasure: manual_dataset:filing_cabinet/ }).isVisible()).resolves.toBe(true);
    await expect(page.locator('.actions').textContent()).resolves.toContain('"authorized_user":null');
    await page.screenshot({ path: `${SHOTS}request-manual-erasure-1280.png`, fullPage: true });
    await page.getByLabel('Rows masked').fill('1');
    await page.getByRole('button', { name: 'Confirm masking' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Masking confirmed' }).waitFor();
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await acceptedUpdates(id)).toEqual(expect.arrayContaining(['manualInputUpdate', 'erasureConfirmUpdate']));
    const [masked] = await harness.sql<{ row_count: number }[]>`
      select row_count from execution_log where privacy_request_id = ${id} and collection_name = 'filing_cabinet' and action_type = 'erasure' and status = 'complete'`;
    expect(masked!.row_count).toBe(1);
  });

  it('retries a failed collection after its connection is fixed', async () => {
    const put = (url: string) => harness.fetch(`/api/v1/connection/${EXAMPLE_CONNECTION_KEY}/secret`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
    const broken = new URL(harness.targetUrl);
    broken.pathname = '/no_such_database';
    expect((await put(broken.toString())).status).toBe(200);
    const id = await harness.submit({ policy_key: 'default_access_policy', identity, external_id: 'ticket-retry' });
    await harness.waitForStatus(id, 'error');
    await page.goto(`${harness.api.url}/console/requests/${id}`);
    await expect(page.locator('td[data-label="Last error"]').first().textContent()).resolves.toMatch(/no_such_database/);
    await page.screenshot({ path: `${SHOTS}request-error-1280.png`, fullPage: true });

    expect((await put(harness.targetUrl)).status).toBe(200);
    await page.getByRole('button', { name: 'Retry failed collections' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Retry started' }).waitFor();
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await audit(id)).toContainEqual(expect.objectContaining({ action: 'retried', user_id: 'user:dpo' }));
  });

  it('extends a due date with a reason', async () => {
    await page.goto(`${harness.api.url}/console/requests/${ids.notDue}`);
    // Review first: the request waits for it, and an approver may extend it meanwhile too.
    await page.getByLabel('Reason for the extension (told to the data subject)').fill('complex request: several systems');
    await page.getByRole('button', { name: 'Extend due date' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Due date extended.' }).waitFor();
    const [row] = await harness.sql<{ due_at: Date; extended_due_at: Date | null; extension_reason: string | null }[]>`
      select due_at, extended_due_at, extension_reason from privacy_request where id = ${ids.notDue}`;
    expect(row!.extended_due_at!.getTime()).toBeGreaterThan(row!.due_at.getTime());
    expect(row!.extension_reason).toBe('complex request: several systems');
    expect(await acceptedUpdates(ids.notDue)).toContain('extendUpdate');
    expect(await audit(ids.notDue)).toContainEqual(expect.objectContaining({ action: 'extended', user_id: 'user:dpo' }));
  });

  it('places and lifts a legal hold, then cancels a request, and denies another, each with its reason', async () => {
    const held = await harness.submit({ policy_key: EXAMPLE_ERASURE_POLICY_KEY, identity: { email: 'customer-3@example.com' } });
    await harness.waitForStatus(held, 'awaiting_erasure_confirmation');
    await page.goto(`${harness.api.url}/console/requests/${held}`);
    await page.getByLabel('Reason for the legal hold').fill('litigation hold 2026-17');
    await page.getByRole('button', { name: 'Place legal hold' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Legal hold placed' }).waitFor();
    expect((await harness.sql<{ legal_hold: boolean }[]>`select legal_hold from privacy_request where id = ${held}`)[0]!.legal_hold).toBe(true);
    await page.getByRole('button', { name: 'Lift legal hold' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Legal hold lifted' }).waitFor();
    await page.getByLabel('Reason for cancelling').fill('the person withdrew the request');
    await page.getByRole('button', { name: 'Cancel request' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Canceled.' }).waitFor();
    expect(await harness.result(held)).toEqual({ status: 'canceled' });
    expect(await acceptedUpdates(held)).toEqual(expect.arrayContaining(['placeLegalHoldUpdate', 'liftLegalHoldUpdate', 'cancelUpdate']));
    expect((await audit(held)).filter((entry) => entry.user_id === 'user:dpo').map((entry) => entry.action)).toEqual(['legal_hold_placed', 'legal_hold_lifted', 'canceled']);

    const denied = await harness.submit({ policy_key: 'reviewed_access', identity, external_id: 'ticket-denied' });
    await harness.waitForStatus(denied, 'pending');
    await page.goto(`${harness.api.url}/console/requests/${denied}`);
    // A denial needs its reason: the browser asks for it before anything is sent.
    await page.getByRole('button', { name: 'Deny' }).click();
    expect(await page.getByLabel('Reason for denial').evaluate((input) => (input as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
    await page.getByLabel('Reason for denial').fill('not a customer of ours');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.locator('.flash.ok').filter({ hasText: 'Denied.' }).waitFor();
    expect(await harness.result(denied)).toEqual({ status: 'denied' });
    expect(await audit(denied)).toContainEqual(expect.objectContaining({ action: 'denied', user_id: 'user:dpo', message: 'not a customer of ours' }));
  });

  it('exports the current filter as CSV', async () => {
    await page.goto(`${harness.api.url}/console?external_id=ticket-`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,external_id,status/);
    expect(lines).toHaveLength(1 + 7);
    expect(lines.slice(1).every((line) => line.includes(',ticket-'))).toBe(true);
  });

  it('signs out: the session ends on the server too', async () => {
    const [cookie] = await officer.cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/login/);
    // The old cookie, replayed, no longer opens the console: its token was revoked.
    const replay = await fetch(`${harness.api.url}/console`, { headers: { cookie: `dsrflow_session=${cookie!.value}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toMatch(/^\/console\/login/);
  });
});

describe('a viewer', () => {
  let viewer: BrowserContext;
  let tab: Page;
  beforeAll(async () => {
    viewer = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 } });
    tab = await signIn(viewer, 'vera');
  });
  afterAll(() => viewer?.close());

  it('sees requests but no actions and no identity', async () => {
    await tab.screenshot({ path: `${SHOTS}inbox-390.png`, fullPage: true });
    await checkAccessibility(tab, 'inbox at 390 px');
    await tab.goto(`${harness.api.url}/console/requests/${ids.notDue}`);
    await expect(tab.getByRole('heading', { name: 'Actions' }).isVisible()).resolves.toBe(true);
    await expect(tab.locator('.actions form').count()).resolves.toBe(0);
    await expect(tab.getByRole('button', { name: 'Reveal identity' }).count()).resolves.toBe(0);
    await tab.screenshot({ path: `${SHOTS}request-390.png`, fullPage: true });
    await checkAccessibility(tab, 'request page at 390 px');
  });

  it('is refused by the API when the form is forged anyway, and nothing changes', async () => {
    const csrf = await tab.locator('input[name="_csrf"]').first().getAttribute('value');
    const before = await audit(ids.notDue);
    const forged = await tab.request.post(`${harness.api.url}/console/requests/${ids.notDue}/deny`, { form: { _csrf: csrf!, reason: 'forged' } });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('privacy-request:review');
    const reveal = await tab.request.post(`${harness.api.url}/console/requests/${ids.notDue}/reveal`, { form: { _csrf: csrf! } });
    expect(reveal.status()).toBe(403);
    expect(await reveal.text()).not.toContain('customer-1@example.com');
    expect(await audit(ids.notDue)).toEqual(before);
    expect((await harness.request(ids.notDue)).status).toBe('pending');
  });
});

describe('cross-site requests', () => {
  it('refuses a form posted from another origin even with the session cookie, and one without the CSRF token', async () => {
    const token = await harness.userToken('dpo');
    const cookie = `dsrflow_session=${token}`;
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const headers = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
    const csrfPage = await (await fetch(`${harness.api.url}/console/requests/${ids.notDue}`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(csrfPage)![1]!;

    const crossSite = await fetch(`${harness.api.url}/console/requests/${ids.notDue}/deny`, {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: form({ _csrf: csrf, reason: 'csrf' }),
      redirect: 'manual',
    });
    expect(crossSite.status).toBe(403);
    const noToken = await fetch(`${harness.api.url}/console/requests/${ids.notDue}/deny`, { method: 'POST', headers, body: form({ reason: 'csrf' }), redirect: 'manual' });
    expect(noToken.status).toBe(403);
    const wrongToken = await fetch(`${harness.api.url}/console/requests/${ids.notDue}/deny`, { method: 'POST', headers, body: form({ _csrf: 'x'.repeat(43), reason: 'csrf' }), redirect: 'manual' });
    expect(wrongToken.status).toBe(403);
    expect((await harness.request(ids.notDue)).status).toBe('pending');
    expect((await audit(ids.notDue)).filter((entry) => entry.action === 'denied')).toEqual([]);
  });

  it('ends a session whose token expired: back to the sign-in page, saying so', async () => {
    const token = `dsr_at_${randomBytes(32).toString('base64url')}`;
    await insertToken(harness.sql, { hash: tokenHash(token), username: 'dpo', scopes: ['privacy-request:read'], expiresAt: new Date(Date.now() - 1000) });
    const expired = await fetch(`${harness.api.url}/console`, { headers: { cookie: `dsrflow_session=${token}` }, redirect: 'manual' });
    expect(expired.status).toBe(303);
    expect(expired.headers.get('location')).toBe('/console/login?next=%2Fconsole&expired=1');
    expect(expired.headers.get('set-cookie')).toMatch(/^dsrflow_session=;.*Max-Age=0/);
  });

  it('marks the session cookie Secure when the console is served over https (behind a TLS proxy)', async () => {
    const login = await fetch(`${harness.api.url}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ username: 'dpo', password: passwordOf('dpo') }).toString(),
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('set-cookie')).toMatch(/^dsrflow_session=dsr_at_[^;]+; Max-Age=\d+; Path=\/console; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('sends no page without a session, and no login from another site', async () => {
    const anonymous = await fetch(`${harness.api.url}/console/requests/${ids.notDue}`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    const login = await fetch(`${harness.api.url}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ username: 'dpo', password: passwordOf('dpo') }).toString(),
    });
    expect(login.status).toBe(403);
    expect(login.headers.get('set-cookie')).toBeNull();
  });
});

describe('weight and what loads', () => {
  it('keeps each page under 200 KB of HTML, CSS and JS, all from the console itself', async () => {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'dsrflow_session', value: await harness.userToken('dpo'), url: `${harness.api.url}/console` }]);
    for (const path of ['/console', `/console/requests/${ids.erasure}`, '/console/login']) {
      const { bytes, foreign } = await pageWeight(context, `${harness.api.url}${path}`);
      expect(foreign).toEqual([]);
      expect(bytes, path).toBeLessThan(200 * 1024);
    }
    await context.close();
  });
});
