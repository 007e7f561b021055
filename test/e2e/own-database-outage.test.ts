/**
 * dsrflow's own Postgres refuses connections while a collection is being read: the step waits for
 * it instead of spending the request's attempts (this harness allows 3, 100 ms apart, which an
 * outage of a few seconds would exhaust), and the request completes with every collection done
 * exactly once.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseName } from '../../src/db/client.js';
import { CUSTOMER_1_COUNTS, createHarness, eventually, type Harness } from '../support/harness.js';

let harness: Harness;
let admin: postgres.Sql;
let database: string;

beforeAll(async () => {
  harness = await createHarness();
  await harness.startWorker();
  const { name, maintenanceUrl } = databaseName(harness.config.databaseUrl);
  database = name;
  admin = postgres(maintenanceUrl, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await admin?.unsafe(`alter database "${database}" with allow_connections true`).catch(() => undefined);
  await admin?.end();
  await harness?.close();
});

it('waits out an outage of its own database in the middle of a collection, then completes it once', async () => {
  // Hold the request at its first collection (a lock in the target database) while the outage begins.
  const lock = await harness.target.reserve();
  await lock`begin`;
  await lock`lock table customer in access exclusive mode`;
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  await eventually(async () => ((await harness.sql`select 1 from execution_log where privacy_request_id = ${id} and collection_name = 'customer'`).length ? true : undefined), {
    what: 'the customer collection to start',
  });

  // The outage: no new connection is accepted, and every open one is closed.
  await admin.unsafe(`alter database "${database}" with allow_connections false`);
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
  await lock`rollback`;
  lock.release();
  // Three attempts 100 ms apart would have failed well within this.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const described = await harness.handle(id).describe();
  expect(described.status.name).toBe('RUNNING');
  await admin.unsafe(`alter database "${database}" with allow_connections true`);

  expect(await harness.result(id)).toEqual({ status: 'complete' });
  const completed = await harness.sql<{ collection_name: string; count: number }[]>`
    select collection_name, count(*)::int as count from execution_log where privacy_request_id = ${id} and status = 'complete' group by 1`;
  expect(completed).toHaveLength(11);
  expect(completed.every((row) => row.count === 1)).toBe(true);
  expect(await harness.sql`select 1 from execution_log where privacy_request_id = ${id} and status = 'error'`).toHaveLength(0);
  const stored = await harness.sql<{ collection_name: string; count: number }[]>`
    select collection_name, count(*)::int as count from access_result where privacy_request_id = ${id} group by 1`;
  expect(Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, stored.find((row) => row.collection_name === name)?.count ?? 0]))).toEqual(CUSTOMER_1_COUNTS);
});
