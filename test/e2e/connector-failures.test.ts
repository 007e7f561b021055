/**
 * The worker against target stores that misbehave: every failure becomes the collection's
 * ConnectorError (with its category, retried only when transient), the request ends in `error`
 * with the category in its task view, and the worker keeps serving: the next, healthy request
 * completes.
 *
 * - `statement_timeout=1` in the connection URL used to end the worker (postgres.js's own type
 *   query failed in a promise nobody handled), and again 0.2 s after each restart, as Temporal
 *   retried the activity.
 * - An address that speaks another protocol used to keep the activity reconnecting in a loop.
 * - A dataset over `pg_catalog.pg_authid` used to put password hashes in an access package.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { bannerServer, mostSocketsTo, type ForeignServer } from '../support/foreign-servers.js';
import { createHarness, CUSTOMER_1_COUNTS, type Harness } from '../support/harness.js';

interface Task {
  collection_name: string;
  status: string;
  attempts: number;
  last_error: { category: string | null; message: string } | null;
}

const CUSTOMER_1 = { email: 'customer-1@example.com' };
let harness: Harness;
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', recordUnhandled);
  harness = await createHarness();
  await harness.startWorker();
});

afterAll(async () => {
  process.off('unhandledRejection', recordUnhandled);
  await harness?.close();
});

/** Points the example connection at another URL, as an operator editing it would. */
async function pointExampleAt(url: string) {
  await harness.sql.begin((tx) =>
    upsertConnection(tx, { key: 'postgres_example', name: 'Fides example Postgres', connection_type: 'postgres', access: 'write' }, { url }, harness.encryptionKey),
  );
}

async function tasks(id: string): Promise<Task[]> {
  const response = await harness.fetch(`/api/v1/privacy-request/${id}/tasks`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Task[] }).items;
}

/** The request ends in error; returns its failed tasks. */
async function failedTasks(id: string): Promise<Task[]> {
  await harness.waitForStatus(id, 'error', 60_000);
  return (await tasks(id)).filter((task) => task.status === 'error');
}

/** A healthy request afterwards completes: the worker is still serving. */
async function expectWorkerServes() {
  await harness.resetTarget();
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: CUSTOMER_1 });
  expect(await harness.result(id)).toEqual({ status: 'complete' });
  const rows = await harness.sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${id}`;
  expect(rows[0]!.count).toBe(Object.values(CUSTOMER_1_COUNTS).reduce((sum, count) => sum + count, 0));
  expect(unhandled).toEqual([]);
}

describe('a connection whose URL sets statement_timeout=1', () => {
  it('ends the request in error with the timeout category, after its retries; the worker keeps serving', async () => {
    const url = new URL(harness.targetUrl);
    url.searchParams.set('options', '-c statement_timeout=1');
    await pointExampleAt(url.toString());
    // A query can finish inside 1 ms on a warm server; one that waits for a lock cannot. The
    // example's tables stay locked until the request has failed, so every attempt times out.
    const locker = postgres(harness.targetUrl, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = locker.begin(async (tx) => {
      const tables = await tx<{ name: string }[]>`select quote_ident(schemaname) || '.' || quote_ident(tablename) as name from pg_tables where schemaname = 'public'`;
      expect(tables.length).toBeGreaterThan(0);
      await tx.unsafe(`lock table ${tables.map((table) => table.name).join(', ')} in access exclusive mode`);
      locked();
      await released;
    });
    try {
      await isLocked;
      const id = await harness.submit({ policy_key: 'default_access_policy', identity: CUSTOMER_1 });
      const [failed] = await failedTasks(id);
      expect(failed).toMatchObject({ status: 'error', attempts: 3, last_error: { category: 'timeout', message: expect.stringMatching(/statement timeout/) } });
    } finally {
      release();
      await holding;
      await locker.end();
    }
    await expectWorkerServes();
  });
});

describe('a connection to a server that speaks another protocol', () => {
  let server: ForeignServer;
  beforeAll(async () => {
    server = await bannerServer('INFO {"server_id":"MARKER-nats","version":"2.9.10"}\r\n');
  });
  afterAll(() => server?.close());

  it('fails the collection at once as not_found, without retries, loops or the server\'s bytes; the worker keeps serving', async () => {
    await pointExampleAt(server.url);
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: CUSTOMER_1 });
    const [failed] = await failedTasks(id);
    expect(failed).toMatchObject({ attempts: 1, last_error: { category: 'not_found' } });
    expect(failed!.last_error!.message).toBe(`The server at the configured address 127.0.0.1:${server.port} does not speak the Postgres protocol`);
    // At most one connection per collection that started (those the identity reaches directly,
    // at the same time), and none left open or reopening afterwards.
    const accepted = server.accepted;
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(Object.keys(CUSTOMER_1_COUNTS).length);
    expect(await mostSocketsTo(server.port, '127.0.0.1')).toBe(0);
    expect(await server.openConnections()).toBe(0);
    expect(server.accepted).toBe(accepted);
    await expectWorkerServes();
  });
});

describe("a dataset over Postgres's own catalog", () => {
  const CATALOG_DATASET = `
dataset:
  - fides_key: catalog_dataset
    name: Postgres roles
    collections:
      - name: pg_authid
        fields:
          - name: rolname
            data_categories: [user.account.username]
            fides_meta:
              identity: role
              data_type: string
          - name: rolpassword
            data_categories: [user.authorization.credentials]
`;

  afterAll(async () => {
    await harness.fetch('/api/v1/connection/catalog', { method: 'DELETE' });
  });

  it('is refused before any query (permission, no retries), and no password hash is stored', async () => {
    await harness.resetTarget();
    // Saved as an older version let it be saved: the API now refuses db_schema pg_catalog.
    await harness.sql.begin((tx) =>
      upsertConnection(tx, { key: 'catalog', name: null, connection_type: 'postgres', access: 'read' }, { url: harness.targetUrl, db_schema: 'pg_catalog' }, harness.encryptionKey),
    );
    const saved = await harness.fetch('/api/v1/connection/catalog/dataset', { method: 'PATCH', body: CATALOG_DATASET, headers: { 'content-type': 'application/x-yaml' } });
    expect(saved.status, await saved.clone().text()).toBe(200);
    expect(((await saved.json()) as { failed: unknown[] }).failed).toEqual([]);

    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { ...CUSTOMER_1, role: 'postgres' } });
    const failed = await failedTasks(id);
    expect(failed).toEqual([expect.objectContaining({ collection_name: 'pg_authid', attempts: 1, last_error: expect.objectContaining({ category: 'permission' }) })]);
    expect(failed[0]!.last_error!.message).toMatch(/db_schema "pg_catalog" is one of Postgres's own schemas/);
    const stored = await harness.sql`select 1 from access_result where privacy_request_id = ${id} and collection_name = 'pg_authid'`;
    expect(stored).toHaveLength(0);
    expect(unhandled).toEqual([]);
  });
});
