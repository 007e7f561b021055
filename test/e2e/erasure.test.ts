/**
 * Erasure on the Fides example: exactly the targeted values change, confirmation gates the
 * masking, and a database constraint that refuses the mask is an error that retry resumes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, erasurePolicy, snapshotTables, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
  await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
  await harness.savePolicy(
    erasurePolicy('erase_names_confirmed', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }, { requires_erasure_confirmation: true }),
  );
  await harness.startWorker();
});
afterAll(() => harness?.close());
beforeEach(async () => {
  await harness.resetTarget();
});

const customer1 = { email: 'customer-1@example.com' };

async function logStatuses(id: string, actionType: 'access' | 'erasure') {
  const rows = await harness.sql<{ collection_name: string; status: string; row_count: number | null; message: string | null }[]>`
    select collection_name, status, row_count, message from execution_log where privacy_request_id = ${id} and action_type = ${actionType} order by id`;
  return rows;
}

describe('erasure with a null_rewrite policy on user.name', () => {
  it('sets exactly customer-1 name to NULL and changes nothing else', async () => {
    const before = await snapshotTables(harness.target);
    const id = await harness.submit({ policy_key: 'erase_names', identity: customer1 });
    await harness.waitForStatus(id, 'complete');
    const after = await snapshotTables(harness.target);

    const expected = structuredClone(before);
    const customer = expected.customer!.find((row) => row.id === 1)!;
    expect(customer.name).toBe('John Customer');
    customer.name = null;
    expect(after).toEqual(expected);

    const erasure = await logStatuses(id, 'erasure');
    const completed = erasure.filter((row) => row.status === 'complete').map(({ collection_name, row_count }) => ({ collection_name, row_count }));
    expect(completed.sort((a, b) => a.collection_name.localeCompare(b.collection_name))).toEqual([
      { collection_name: 'customer', row_count: 1 },
      { collection_name: 'employee', row_count: 0 },
    ]);
    // Collections without a targeted field are skipped and say why.
    expect(erasure.find((row) => row.collection_name === 'login')).toMatchObject({ status: 'skipped', message: expect.stringContaining('no field of this collection is targeted') });
    // Erasure ran after every access step.
    const [order] = await harness.sql<{ last_access: number; first_erasure: number }[]>`
      select max(id) filter (where action_type = 'access') as last_access, min(id) filter (where action_type = 'erasure') as first_erasure
      from execution_log where privacy_request_id = ${id}`;
    expect(order!.first_erasure).toBeGreaterThan(order!.last_access);
    const audit = await harness.sql<{ action: string }[]>`select action from audit_log where privacy_request_id = ${id} order by id`;
    expect(audit.map((row) => row.action)).toEqual(['approved', 'finished']);
  });
});

describe('erasure that cannot reach every collection', () => {
  it('completes with warnings naming what it left in place: visit has no primary key and keeps the email', async () => {
    await harness.savePolicy(erasurePolicy('erase_contact', { targets: ['user.contact'], masking_strategy: { strategy: 'null_rewrite' } }));
    const id = await harness.submit({ policy_key: 'erase_contact', identity: customer1 });
    await harness.waitForStatus(id, 'complete');
    const request = await harness.request(id);
    expect(request.warnings).toEqual([{ phase: 'erasure', collection: 'postgres_example_test_dataset:visit', reason: expect.stringMatching(/no primary key/) }]);
    // Collections the policy does not target are skipped without a warning; visit still holds the email.
    const [visit] = await harness.target`select email from visit where email = 'customer-1@example.com'`;
    expect(visit).toBeDefined();

    const listed = (await (await harness.fetch(`/api/v1/privacy-request?has_warnings=true&request_id=${id}`)).json()) as { items: { id: string }[] };
    expect(listed.items.map((item) => item.id)).toEqual([id]);
    const without = (await (await harness.fetch(`/api/v1/privacy-request?has_warnings=false&request_id=${id}`)).json()) as { items: unknown[] };
    expect(without.items).toEqual([]);
    const csv = await (await harness.fetch(`/api/v1/privacy-request?download_csv=true&request_id=${id}`)).text();
    expect(csv.split('\r\n')[0]!.split(',')).toContain('warnings');
    expect(csv).toMatch(/erasure postgres_example_test_dataset:visit: the dataset declares no primary key/);
    const audit = await harness.sql<{ action: string; message: string }[]>`select action, message from audit_log where privacy_request_id = ${id} and action = 'warning'`;
    expect(audit).toEqual([{ action: 'warning', message: expect.stringContaining('erasure postgres_example_test_dataset:visit') }]);
    const tasks = (await (await harness.fetch(`/api/v1/privacy-request/${id}/tasks`)).json()) as { items: { phase: string; collection_name: string; status: string; skipped_reason: string | null }[] };
    expect(tasks.items.find((task) => task.phase === 'erasure' && task.collection_name === 'visit')).toMatchObject({ status: 'skipped', skipped_reason: expect.stringMatching(/no primary key/) });
  });

  it('completes without warnings when everything targeted was erased', async () => {
    const id = await harness.submit({ policy_key: 'erase_names', identity: customer1 });
    await harness.waitForStatus(id, 'complete');
    expect((await harness.request(id)).warnings).toEqual([]);
  });
});

describe('erasure confirmation', () => {
  it('waits with the count per collection, masks nothing before confirm, then erases', async () => {
    const before = await snapshotTables(harness.target);
    const id = await harness.submit({ policy_key: 'erase_names_confirmed', identity: customer1 });
    const waiting = await harness.waitForStatus(id, 'awaiting_erasure_confirmation');
    expect(waiting.erasure_preview).toMatchObject({ 'postgres_example_test_dataset:customer': 1, 'postgres_example_test_dataset:employee': 0, 'postgres_example_test_dataset:login': 0 });
    // Once the workflow rests, still nothing masked.
    await harness.waitUntilIdle(id);
    expect(await snapshotTables(harness.target)).toEqual(before);
    expect(await logStatuses(id, 'erasure')).toEqual([]);

    const response = await harness.postJson(`/api/v1/privacy-request/${id}/confirm_erasure`, {});
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('in_processing');
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const [customer] = await harness.target`select name from customer where id = 1`;
    expect(customer!.name).toBeNull();
    const audit = await harness.sql<{ action: string; user_id: string }[]>`select action, user_id from audit_log where privacy_request_id = ${id} order by id`;
    expect(audit).toContainEqual({ action: 'erasure_confirmed', user_id: 'client:test-root' });
  });

  it('asked for by the request itself, and canceled: the data stays untouched', async () => {
    const before = await snapshotTables(harness.target);
    const id = await harness.submit({ policy_key: 'erase_names', identity: customer1, requires_erasure_confirmation: true });
    await harness.waitForStatus(id, 'awaiting_erasure_confirmation');

    const missingReason = await harness.fetch('/api/v1/privacy-request/administrate/cancel', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_ids: [id] }),
    });
    expect(missingReason.status).toBe(422);

    const canceled = await harness.fetch('/api/v1/privacy-request/administrate/cancel', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_ids: [id], reason: 'the customer withdrew the request' }),
    });
    expect(canceled.status).toBe(200);
    const body = (await canceled.json()) as { succeeded: { id: string; status: string }[]; failed: unknown[] };
    expect(body.succeeded).toEqual([expect.objectContaining({ id, status: 'canceled' })]);
    expect(await harness.result(id)).toEqual({ status: 'canceled' });
    expect(await snapshotTables(harness.target)).toEqual(before);
    const request = await harness.request(id);
    expect(request.canceled_at).toEqual(expect.any(String));
    const audit = await harness.sql<{ action: string; user_id: string; message: string }[]>`
      select action, user_id, message from audit_log where privacy_request_id = ${id} and action = 'canceled'`;
    expect(audit).toEqual([{ action: 'canceled', user_id: 'client:test-root', message: 'the customer withdrew the request' }]);

    // A finished request refuses further actions.
    const again = await harness.postJson(`/api/v1/privacy-request/${id}/confirm_erasure`, {});
    expect(again.status).toBe(409);
  });
});

describe('a database constraint that refuses the mask', () => {
  it('ends in error naming the collection, and retry finishes once fixed, without redoing finished work', async () => {
    await harness.target`alter table customer alter column name set not null`;
    const id = await harness.submit({ policy_key: 'erase_names', identity: customer1 });
    const failed = await harness.waitForStatus(id, 'error');
    expect(failed.stopped_collection_details).toEqual({ step: 'erasure', collection: 'postgres_example_test_dataset:customer', action_needed: null });
    expect(failed.resume_endpoint).toBe(`/privacy-request/${id}/retry`);
    const [errorLog] = await harness.sql<{ message: string }[]>`
      select message from execution_log where privacy_request_id = ${id} and status = 'error'`;
    expect(errorLog!.message).toMatch(/^bad_data: .*null value in column "name" of relation "customer" violates not-null constraint/);

    // Retrying without fixing fails again, as a second run.
    await harness.postJson(`/api/v1/privacy-request/${id}/retry`, {});
    await harness.waitForStatus(id, 'error');

    await harness.target`alter table customer alter column name drop not null`;
    const retried = await harness.postJson(`/api/v1/privacy-request/${id}/retry`, {});
    expect(retried.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const [customer] = await harness.target`select name from customer where id = 1`;
    expect(customer!.name).toBeNull();

    const customerErasure = (await logStatuses(id, 'erasure')).filter((row) => row.collection_name === 'customer').map((row) => row.status);
    expect(customerErasure).toEqual(['in_processing', 'error', 'in_processing', 'error', 'in_processing', 'complete']);
    // Access ran once per collection: retry only re-runs what failed.
    const accessCompletions = (await logStatuses(id, 'access')).filter((row) => row.status === 'complete');
    expect(accessCompletions).toHaveLength(11);
    const audit = await harness.sql<{ action: string }[]>`select action from audit_log where privacy_request_id = ${id} order by id`;
    expect(audit.map((row) => row.action)).toEqual(['approved', 'error', 'retried', 'error', 'retried', 'finished']);
  });

  it('refuses retry when the request is not in error', async () => {
    const id = await harness.submit({ policy_key: 'erase_names', identity: customer1 });
    await harness.result(id);
    const response = await harness.postJson(`/api/v1/privacy-request/${id}/retry`, {});
    expect(response.status).toBe(409);
    expect(((await response.json()) as { message: string }).message).toMatch(/the request is complete/);
  });
});
