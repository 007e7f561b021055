/**
 * Access packages end to end: real API, Temporal dev server, worker and Postgres, and the
 * package written to a local directory. The package holds what access found, only for the
 * policy's categories; its signed link works, every download is recorded, a tampered or foreign
 * link is refused, and after a short expiry the link answers 410 and the file is gone.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/domain/datasets.js';
import { linkKey, signDownload } from '../../src/domain/download-links.js';
import type { Policy } from '../../src/domain/policies.js';
import { accessPackageWorkflowId } from '../../workflows/definitions.js';
import { packageOf, parseCsv, unzipText, type PackageView } from '../support/access-packages.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';

const DATASET = 'postgres_example_test_dataset';
const identity = { email: 'customer-1@example.com' };

/** Access to contact data only: email addresses and postal addresses, nothing else. */
const contactPolicy: Policy = {
  key: 'contact_access',
  name: 'Contact data access',
  requires_approval: false,
  requires_erasure_confirmation: false,
  rules: [{ key: 'contact', name: 'Contact data', action_type: 'access', masking_strategy: null, targets: [{ key: 'contact', data_category: 'user.contact' }] }],
};

/** Erasure only: no access rule, so no package. */
const erasureOnlyPolicy: Policy = {
  key: 'erase_names_only',
  name: 'Erase names',
  requires_approval: false,
  requires_erasure_confirmation: false,
  rules: [{ key: 'erase', name: 'Erase names', action_type: 'erasure', masking_strategy: { strategy: 'null_rewrite' }, targets: [{ key: 'names', data_category: 'user.name' }] }],
};

const isContact = (category: string) => category === 'user.contact' || category.startsWith('user.contact.');

const directories: string[] = [];
const harnesses: Harness[] = [];
afterAll(async () => {
  for (const harness of harnesses) await harness.close();
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function setUp(env: Record<string, string>): Promise<Harness> {
  const harness = await createHarness({ env });
  harnesses.push(harness);
  await harness.savePolicy(contactPolicy);
  await harness.savePolicy(erasureOnlyPolicy);
  await harness.startWorker();
  return harness;
}

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'dsrflow-packages-'));
  directories.push(directory);
  return directory;
}

async function completedRequest(harness: Harness, policyKey: string, email = identity.email): Promise<string> {
  const id = await harness.submit({ policy_key: policyKey, identity: { email } });
  expect(await harness.result(id)).toEqual({ status: 'complete' });
  return id;
}

const download = (url: string, userAgent = 'dsrflow-test/1.0') => fetch(url, { headers: { 'user-agent': userAgent } });

describe('the access package of a request whose policy targets user.contact', () => {
  let harness: Harness;
  let directory: string;
  let id: string;
  let view: PackageView;
  let files: Record<string, string>;
  let zip: Uint8Array;

  beforeAll(async () => {
    directory = await temporaryDirectory();
    harness = await setUp({ DSRFLOW_ACCESS_PACKAGE_STORAGE: directory });
    id = await completedRequest(harness, contactPolicy.key);
    const { status, body } = await packageOf(harness, id);
    expect(status).toBe(200);
    view = body;
  });

  it('is available with a signed link that expires with it, after 7 days by default', () => {
    expect(view).toMatchObject({ privacy_request_id: id, status: 'available', downloaded_at: null, deleted_at: null, failed_at: null, error: null, download_count: 0, downloads: [] });
    const created = Date.parse(view.created_at!);
    const available = Date.parse(view.available_at!);
    expect(available).toBeGreaterThanOrEqual(created);
    expect(Date.parse(view.expires_at!) - available).toBe(7 * 24 * 3600 * 1000);
    const url = new URL(view.download_url!);
    expect(url.pathname).toBe(`/api/v1/access-package/${id}/download`);
    expect(Number(url.searchParams.get('expires'))).toBe(Math.floor(Date.parse(view.expires_at!) / 1000));
    expect(url.searchParams.get('signature')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The file is in the configured directory, readable by its owner only.
    expect(existsSync(join(directory, `${id}.zip`))).toBe(true);
  });

  it('downloads through the link as a valid zip', async () => {
    const response = await download(view.download_url!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${id}-access-package.zip"`);
    zip = new Uint8Array(await response.arrayBuffer());
    expect(zip.byteLength).toBe(view.size_bytes);
    const file = join(directory, 'downloaded.zip');
    await writeFile(file, zip);
    if (existsSync('/usr/bin/unzip')) {
      const { stdout } = await promisify(execFile)('unzip', ['-t', file]);
      expect(stdout).toContain('No errors detected');
    }
    files = unzipText(zip);
  });

  it('holds one JSON document and one CSV per collection with contact fields, and nothing else', async () => {
    const [{ datasets }] = await harness.sql<{ datasets: Record<string, Dataset> }[]>`select datasets from privacy_request_plan where privacy_request_id = ${id}`;
    const withContact = datasets[DATASET]!.collections.filter((collection) => collection.fields.some((field) => (field.data_categories ?? []).some(isContact))).map((collection) => collection.name);
    // address, customer, employee, report, service_request, visit; not login, orders, order_item, payment_card, product.
    expect(withContact.sort()).toEqual(['address', 'customer', 'employee', 'report', 'service_request', 'visit']);
    expect(Object.keys(files).sort()).toEqual(['access-results.json', ...withContact.map((name) => `${DATASET}/${name}.csv`)].sort());
    const document = JSON.parse(files['access-results.json']!) as { privacy_request_id: string; policy_key: string; data_categories: string[]; results: Record<string, Record<string, unknown>[]> };
    expect(document).toMatchObject({ privacy_request_id: id, policy_key: contactPolicy.key, data_categories: ['user.contact'] });
    expect(Object.keys(document.results).sort()).toEqual(withContact.map((name) => `${DATASET}:${name}`).sort());
  });

  it('holds exactly the contact fields of what access found, in the JSON and in each CSV', async () => {
    const [{ datasets }] = await harness.sql<{ datasets: Record<string, Dataset> }[]>`select datasets from privacy_request_plan where privacy_request_id = ${id}`;
    const document = JSON.parse(files['access-results.json']!) as { results: Record<string, Record<string, unknown>[]> };
    for (const collection of datasets[DATASET]!.collections) {
      const contactFields = collection.fields.filter((field) => (field.data_categories ?? []).some(isContact)).map((field) => field.name);
      if (!contactFields.length) continue;
      const stored = await harness.sql<{ row: Record<string, unknown> }[]>`
        select row from access_result where privacy_request_id = ${id} and dataset_name = ${DATASET} and collection_name = ${collection.name} order by row_index`;
      const expected = stored.map(({ row }) => Object.fromEntries(contactFields.filter((field) => field in row).map((field) => [field, row[field]])));
      expect(document.results[`${DATASET}:${collection.name}`], collection.name).toEqual(expected);

      const [header, ...lines] = parseCsv(files[`${DATASET}/${collection.name}.csv`]!);
      expect(header, collection.name).toEqual(contactFields);
      expect(lines.map((cells) => Object.fromEntries(cells.map((cell, i) => [contactFields[i], cell]))), collection.name).toEqual(
        expected.map((row) => Object.fromEntries(contactFields.map((field) => [field, row[field] === null || row[field] === undefined ? '' : String(row[field])]))),
      );
    }
    // Concretely: customer-1's email and street are there; ids, names, and system.operations fields are not.
    expect(document.results[`${DATASET}:customer`]).toEqual([{ email: 'customer-1@example.com' }]);
    expect(document.results[`${DATASET}:address`]!.length).toBe(2);
    const everything = JSON.stringify(document.results);
    expect(everything).not.toContain('John Customer');
    for (const rows of Object.values(document.results)) {
      for (const row of rows) for (const field of ['id', 'name', 'address_id', 'created', 'closed', 'opened', 'last_visit', 'month', 'year']) expect(row).not.toHaveProperty(field);
    }
    expect(view.collections).toEqual(Object.fromEntries(Object.entries(document.results).map(([key, rows]) => [key, rows.length])));
  });

  it('records each download with its time and client, and stays downloadable', async () => {
    let after = (await packageOf(harness, id)).body;
    expect(after.status).toBe('downloaded');
    expect(after.download_count).toBe(1);
    expect(after.downloads[0]).toMatchObject({ user_agent: 'dsrflow-test/1.0' });
    expect(after.downloads[0]!.ip_address).toMatch(/127\.0\.0\.1$/);
    expect(after.downloaded_at).toBe(after.downloads[0]!.downloaded_at);
    const first = Date.parse(after.downloaded_at!);

    const again = await download(after.download_url!, 'another-client/2.0');
    expect(again.status).toBe(200);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(zip);
    after = (await packageOf(harness, id)).body;
    expect(after.status).toBe('downloaded');
    expect(after.download_count).toBe(2);
    expect(after.downloads.map((entry) => entry.user_agent)).toEqual(['dsrflow-test/1.0', 'another-client/2.0']);
    expect(Date.parse(after.downloaded_at!)).toBeGreaterThanOrEqual(first);
    expect(after.downloaded_at).toBe(after.downloads[1]!.downloaded_at);
  });

  it('answers a HEAD without counting it as a download', async () => {
    const response = await fetch(view.download_url!, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect((await packageOf(harness, id)).body.download_count).toBe(2);
  });

  it('refuses a tampered link, a link made for another request, and a stretched expiry (403), and records nothing', async () => {
    const other = await completedRequest(harness, contactPolicy.key, 'customer-2@example.com');
    const otherUrl = new URL((await packageOf(harness, other)).body.download_url!);
    const url = new URL(view.download_url!);
    const signature = url.searchParams.get('signature')!;
    const expires = url.searchParams.get('expires')!;
    const attempt = (params: Record<string, string>, requestId = id) =>
      harness.fetch(`/api/v1/access-package/${requestId}/download?${new URLSearchParams(params)}`);

    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    const refusals = [
      await attempt({ expires, signature: flipped }),
      await attempt({ expires, signature: signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A') }),
      await attempt({ expires: otherUrl.searchParams.get('expires')!, signature: otherUrl.searchParams.get('signature')! }),
      await attempt({ expires, signature }, other),
      await attempt({ expires: String(Number(expires) + 86_400), signature }),
      await attempt({ expires, signature: 'not-a-signature' }),
    ];
    for (const response of refusals) {
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'invalid_signature' });
    }
    // Missing parameters are a validation error.
    expect((await attempt({ expires })).status).toBe(422);
    // The other request's own link works for it.
    expect((await download(otherUrl.toString())).status).toBe(200);
    expect((await packageOf(harness, id)).body.download_count).toBe(2);
  });

  it('answers 410 for a correctly signed link whose expiry has passed', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const response = await harness.fetch(`/api/v1/access-package/${id}/download?expires=${past}&signature=${signDownload(linkKey(harness.encryptionKey), id, past)}`);
    expect(response.status).toBe(410);
    expect((await packageOf(harness, id)).body.download_count).toBe(2);
  });

  it('does not exist for a policy without access rules', async () => {
    const erased = await completedRequest(harness, erasureOnlyPolicy.key, 'customer-2@example.com');
    const { status, body } = await packageOf(harness, erased);
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: 'not_found' });
    expect(await harness.sql`select 1 from access_package where privacy_request_id = ${erased}`).toHaveLength(0);
    expect(existsSync(join(directory, `${erased}.zip`))).toBe(false);
    await expect(harness.client.workflow.getHandle(accessPackageWorkflowId(erased)).describe()).rejects.toThrow();
  });

  it('is preparing while the request has not finished access, and never comes when it is denied', async () => {
    await harness.savePolicy({ ...contactPolicy, key: 'reviewed_contact_access', requires_approval: true });
    const pending = await harness.submit({ policy_key: 'reviewed_contact_access', identity });
    await harness.waitForStatus(pending, 'pending');
    const { status, body } = await packageOf(harness, pending);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'preparing', created_at: null, expires_at: null, download_url: null, download_count: 0 });
    const denied = await harness.fetch('/api/v1/privacy-request/administrate/deny', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_ids: [pending], reason: 'not the data subject' }),
    });
    expect(denied.status).toBe(200);
    expect(await harness.result(pending)).toEqual({ status: 'denied' });
    expect((await packageOf(harness, pending)).status).toBe(404);
  });

  it('answers 404 for an unknown request', async () => {
    expect((await packageOf(harness, 'pri_00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('an access package with a short expiry', () => {
  it('answers 410 after the expiry, and the workers\' sweep deletes the file', async () => {
    const directory = await temporaryDirectory();
    const harness = await setUp({ DSRFLOW_ACCESS_PACKAGE_STORAGE: directory, DSRFLOW_ACCESS_PACKAGE_EXPIRY: '8s', DSRFLOW_MAINTENANCE_INTERVAL: '1s' });
    const id = await completedRequest(harness, contactPolicy.key);
    const { body } = await packageOf(harness, id);
    expect(body.status).toBe('available');
    expect(Date.parse(body.expires_at!) - Date.parse(body.available_at!)).toBe(8000);
    expect(existsSync(join(directory, `${id}.zip`))).toBe(true);
    expect((await download(body.download_url!)).status).toBe(200);

    // The request's workflow is done, and left no workflow behind for the package (issue 14: a
    // child workflow per request cost more than the request's own steps); the sweep deletes it.
    await expect(harness.client.workflow.getHandle(accessPackageWorkflowId(id)).describe()).rejects.toThrow(/not found/i);

    const deleted = await eventually(
      async () => {
        const current = (await packageOf(harness, id)).body;
        return current.status === 'deleted' ? current : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 250, what: 'the package to be deleted' },
    );
    expect(Date.parse(deleted.deleted_at!)).toBeGreaterThanOrEqual(Date.parse(deleted.expires_at!));
    expect(deleted.downloaded_at).not.toBeNull();
    expect(deleted.download_url).toBeNull();
    expect(await readdir(directory)).toEqual([]);

    const response = await download(body.download_url!);
    expect(response.status).toBe(410);
    expect(await response.json()).toMatchObject({ error: 'gone' });
    expect((await packageOf(harness, id)).body.download_count).toBe(1);
  });
});

describe('an access package that cannot be written', () => {
  it('is failed, with the reason, and the request still completes', async () => {
    // The configured storage is below a regular file: every write fails (ENOTDIR), as with a missing volume.
    const directory = await temporaryDirectory();
    const blocker = join(directory, 'not-a-directory');
    await writeFile(blocker, '');
    const harness = await setUp({ DSRFLOW_ACCESS_PACKAGE_STORAGE: join(blocker, 'packages') });
    const id = await completedRequest(harness, contactPolicy.key);
    const { status, body } = await packageOf(harness, id);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'failed', download_url: null, available_at: null, expires_at: null });
    expect(body.failed_at).not.toBeNull();
    expect(body.error).toMatch(/ENOTDIR|not a directory/i);
    await expect(harness.client.workflow.getHandle(accessPackageWorkflowId(id)).describe()).rejects.toThrow();
  });
});
