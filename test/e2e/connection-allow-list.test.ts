/**
 * DSRFLOW_CONNECTION_ALLOW, set to admit this file's own databases only
 * (`127.0.0.1:5432/dsrflow_test_*`): a connection to any other database the worker could log
 * in to (`postgres`, or the same database by another host name) is refused when saved (PATCH
 * lists it under `failed` naming the field, PUT …/secret answers 422), and, saved before the
 * allow-list was set, refused when used: the connection test answers `permission`, and the
 * worker fails the collection with `permission`, once, without connecting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { createHarness, CUSTOMER_1_COUNTS, type Harness } from '../support/harness.js';

let harness: Harness;
let database: string;
/** The example database, by a host name the allow-list does not admit. */
let byOtherName: string;

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_CONNECTION_ALLOW: '127.0.0.1:5432/dsrflow_test_*' } });
  await harness.startWorker();
  database = new URL(harness.targetUrl).pathname.slice(1);
  const url = new URL(harness.targetUrl);
  url.hostname = 'localhost';
  byOtherName = url.toString();
});
afterAll(() => harness?.close());

async function send(method: string, path: string, body?: unknown) {
  const response = await harness.fetch(`/api/v1${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const postgresItem = (key: string, secrets: Record<string, unknown>) => ({ key, connection_type: 'postgres', access: 'read', secrets });

describe('when a connection is saved', () => {
  it('accepts an admitted target, and the test connects', async () => {
    const answer = await send('PATCH', '/connection', [postgresItem('allowed', { url: harness.targetUrl })]);
    expect(answer.body.failed).toEqual([]);
    expect((await send('GET', '/connection/allowed/test')).body).toMatchObject({ test_status: 'succeeded' });
  });

  it('lists every other target under failed, naming the field, and saves none of them', async () => {
    const answer = await send('PATCH', '/connection', [
      postgresItem('server_db', { url: 'postgres://postgres@127.0.0.1:5432/postgres' }),
      postgresItem('other_host', { host: 'localhost', port: 5432, dbname: database, username: 'postgres' }),
      postgresItem('other_port', { host: '127.0.0.1', port: 5433, dbname: database, username: 'postgres' }),
      postgresItem('other_db', { host: '127.0.0.1', port: 5432, dbname: 'postgres', username: 'postgres' }),
      postgresItem('fine', { host: '127.0.0.1', port: 5432, dbname: database, username: 'postgres' }),
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body.succeeded.map((item: { key: string }) => item.key)).toEqual(['fine']);
    expect(answer.body.failed.map((item: { message: string }) => item.message)).toEqual([
      'body[0].secrets.url: 127.0.0.1:5432/postgres is not in DSRFLOW_CONNECTION_ALLOW (the database matches no pattern)',
      `body[1].secrets.host: localhost:5432/${database} is not in DSRFLOW_CONNECTION_ALLOW (the host matches no pattern)`,
      `body[2].secrets.port: 127.0.0.1:5433/${database} is not in DSRFLOW_CONNECTION_ALLOW (the port matches no pattern)`,
      'body[3].secrets.dbname: 127.0.0.1:5432/postgres is not in DSRFLOW_CONNECTION_ALLOW (the database matches no pattern)',
    ]);
    for (const key of ['server_db', 'other_host', 'other_port', 'other_db']) expect((await send('GET', `/connection/${key}`)).status, key).toBe(404);
  });

  it('answers 422 to PUT …/secret naming the field, and keeps the stored secrets', async () => {
    const answer = await send('PUT', '/connection/allowed/secret', { url: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(answer.status).toBe(422);
    expect(answer.body.detail).toEqual([{ loc: ['body', 'url'], msg: expect.stringMatching(/not in DSRFLOW_CONNECTION_ALLOW/), type: 'value_error' }]);
    expect((await send('GET', '/connection/allowed/test')).body).toMatchObject({ test_status: 'succeeded' });
  });
});

describe('when a connection saved before the allow-list is used', () => {
  beforeAll(async () => {
    await harness.sql.begin((tx) => upsertConnection(tx, { key: 'saved_before', name: null, connection_type: 'postgres', access: 'read' }, { url: byOtherName }, harness.encryptionKey));
  });

  it('the test answers failed with permission, without connecting', async () => {
    const answer = await send('GET', '/connection/saved_before/test');
    expect(answer.body).toMatchObject({ test_status: 'failed', category: 'permission' });
    expect(answer.body.msg).toBe(`The connection may not be used: url localhost:5432/${database} is not in DSRFLOW_CONNECTION_ALLOW (the host matches no pattern)`);
    const sessions = await harness.sql`select 1 from pg_stat_activity where application_name = 'dsrflow:saved_before'`;
    expect(sessions).toHaveLength(0);
  });

  it('the worker fails the collection with permission, once, and then serves an admitted one', async () => {
    await harness.sql.begin((tx) =>
      upsertConnection(tx, { key: 'postgres_example', name: 'Fides example Postgres', connection_type: 'postgres', access: 'write' }, { url: byOtherName }, harness.encryptionKey),
    );
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    await harness.waitForStatus(id, 'error');
    const response = await harness.fetch(`/api/v1/privacy-request/${id}/tasks`);
    const failed = ((await response.json()) as { items: { status: string; attempts: number; last_error: { category: string; message: string } | null }[] }).items.filter(
      (task) => task.status === 'error',
    );
    expect(failed.length).toBeGreaterThan(0);
    for (const task of failed) {
      expect(task).toMatchObject({ attempts: 1, last_error: { category: 'permission', message: expect.stringMatching(/not in DSRFLOW_CONNECTION_ALLOW/) } });
    }
    expect(await harness.sql`select 1 from access_result where privacy_request_id = ${id}`).toHaveLength(0);

    await harness.resetTarget();
    const next = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(next)).toEqual({ status: 'complete' });
    const rows = await harness.sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${next}`;
    expect(rows[0]!.count).toBe(Object.values(CUSTOMER_1_COUNTS).reduce((sum, count) => sum + count, 0));
  });
});
