/**
 * An access request for customer-1 of the Fides example, end to end over HTTP: real API, real
 * Temporal dev server, real worker, real Postgres for both dsrflow and the target data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleDataset } from '../../src/example/load.js';
import { createHarness, CUSTOMER_1_COUNTS, type Harness } from '../support/harness.js';

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness();
  await harness.startWorker();
});
afterAll(() => harness?.close());

describe('an access request for customer-1@example.com', () => {
  let id: string;

  beforeAll(async () => {
    const response = await harness.postJson('/api/v1/privacy-request', [
      { external_id: 'ticket-1', requested_at: '2026-11-20T09:30:00Z', policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } },
    ]);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { succeeded: { id: string; status: string; external_id: string }[]; failed: unknown[] };
    expect(body.failed).toEqual([]);
    expect(body.succeeded).toHaveLength(1);
    expect(body.succeeded[0]).toMatchObject({ status: 'pending', external_id: 'ticket-1' });
    id = body.succeeded[0]!.id;
    expect(id).toMatch(/^pri_[0-9a-f-]{36}$/);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
  });

  it('is complete, with its processing timestamps, when listed by request_id', async () => {
    const response = await harness.fetch(`/api/v1/privacy-request?request_id=${id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: Record<string, unknown>[]; total: number; page: number; size: number; pages: number };
    expect(body).toMatchObject({ total: 1, page: 1, size: 50, pages: 1 });
    const [request] = body.items;
    expect(request).toMatchObject({ id, status: 'complete', external_id: 'ticket-1', policy_key: 'default_access_policy', action_types: ['access'], requested_at: '2026-11-20T09:30:00.000Z' });
    const started = Date.parse(request!.started_processing_at as string);
    const finished = Date.parse(request!.finished_processing_at as string);
    expect(started).toBeGreaterThanOrEqual(Date.parse(request!.created_at as string));
    expect(finished).toBeGreaterThanOrEqual(started);
  });

  it('found the expected number of rows in each collection', async () => {
    const rows = await harness.sql<{ collection_name: string; count: number }[]>`
      select collection_name, count(*)::int as count from access_result where privacy_request_id = ${id} group by collection_name`;
    const found = Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, rows.find((row) => row.collection_name === name)?.count ?? 0]));
    expect(found).toEqual(CUSTOMER_1_COUNTS);
  });

  it('returns only the columns the dataset declares', async () => {
    const [dataset] = await exampleDataset();
    const declared = Object.fromEntries(dataset!.collections.map((collection) => [collection.name, collection.fields.map((field) => field.name).sort()]));
    const rows = await harness.sql<{ collection_name: string; row: Record<string, unknown> }[]>`
      select collection_name, row from access_result where privacy_request_id = ${id}`;
    for (const { collection_name, row } of rows) {
      expect(Object.keys(row).sort(), collection_name).toEqual(declared[collection_name]);
    }
    // product has description and url columns, orders a payment_card_id: the dataset does not declare them.
    const product = rows.find((row) => row.collection_name === 'product')!.row;
    expect(product).not.toHaveProperty('description');
    expect(rows.find((row) => row.collection_name === 'customer')!.row).toMatchObject({ email: 'customer-1@example.com', name: 'John Customer' });
  });

  it('shows one starting and one completed execution log entry per collection through the log endpoint', async () => {
    const response = await harness.fetch(`/api/v1/privacy-request/${id}/log?size=50`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: { collection_name: string; dataset_name: string; status: string; row_count: number | null; action_type: string }[]; total: number };
    expect(body.total).toBe(22);
    for (const [collection, count] of Object.entries(CUSTOMER_1_COUNTS)) {
      const entries = body.items.filter((item) => item.collection_name === collection);
      expect(entries.map((entry) => entry.status), collection).toEqual(['in_processing', 'complete']);
      expect(entries[1]).toMatchObject({ dataset_name: 'postgres_example_test_dataset', action_type: 'access', row_count: count });
    }
    // Dependency order: a collection completes only after every collection it takes values from.
    const completedAt = (collection: string) => body.items.findIndex((item) => item.collection_name === collection && item.status === 'complete');
    const startedAt = (collection: string) => body.items.findIndex((item) => item.collection_name === collection && item.status === 'in_processing');
    for (const [downstream, upstreams] of Object.entries({ address: ['customer', 'orders', 'payment_card', 'employee'], order_item: ['orders'], product: ['order_item'], login: ['customer'], service_request: ['employee'] })) {
      for (const upstream of upstreams) expect(startedAt(downstream), `${downstream} after ${upstream}`).toBeGreaterThan(completedAt(upstream));
    }
  });

  it('records the approved and finished audit log entries', async () => {
    const rows = await harness.sql<{ action: string; user_id: string }[]>`select action, user_id from audit_log where privacy_request_id = ${id} order by id`;
    expect(rows).toEqual([
      { action: 'approved', user_id: 'system' },
      { action: 'finished', user_id: 'system' },
    ]);
  });

  it('keeps the identity encrypted at rest', async () => {
    const rows = await harness.sql<{ value_encrypted: Buffer }[]>`select value_encrypted from privacy_request_identity where privacy_request_id = ${id}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.value_encrypted.toString('latin1')).not.toContain('customer-1@example.com');
  });

  it('tells the Temporal UI its status, policy and action types through search attributes', async () => {
    const description = await harness.handle(id).describe();
    expect(description.typedSearchAttributes.get({ name: 'DsrStatus', type: 'KEYWORD' } as never)).toBe('complete');
    expect(description.typedSearchAttributes.get({ name: 'DsrPolicyKey', type: 'KEYWORD' } as never)).toBe('default_access_policy');
    expect(description.typedSearchAttributes.get({ name: 'DsrActionTypes', type: 'KEYWORD_LIST' } as never)).toEqual(['access']);
  });
});

describe('the log endpoint', () => {
  it('answers 404 for an unknown request', async () => {
    const response = await harness.fetch('/api/v1/privacy-request/pri_00000000-0000-0000-0000-000000000000/log');
    expect(response.status).toBe(404);
  });
});
