/**
 * A target table made unavailable in the middle of a request: the request ends in `error`
 * naming the collection; once fixed, `retry` finishes it and the collections that had completed
 * are not queried again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { collectionActivities } from '../support/collection-activities.js';
import { createHarness, CUSTOMER_1_COUNTS, eventually, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
  await harness.startWorker();
});
afterAll(() => harness?.close());

/**
 * How many times the workflow scheduled each collection's access step, from Temporal's own history:
 * alone (accessCollection) or in a batch with others of its connection (runCollections).
 */
async function scheduledAccess(id: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { phase, collections } of (await collectionActivities(harness, id)).scheduled.values()) {
    if (phase !== 'access') continue;
    for (const collection of collections) {
      const name = collection.split(':')[1]!;
      counts[name] = (counts[name] ?? 0) + 1;
    }
  }
  return counts;
}

it('ends in error naming the collection, and retry finishes without re-running completed collections', async () => {
  // Hold the request at its first collection while the login table disappears.
  const lock = await harness.target.reserve();
  await lock`begin`;
  await lock`lock table customer in access exclusive mode`;
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  await eventually(
    async () => ((await harness.target`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%"customer"%'`).length ? true : undefined),
    { what: 'the customer query to wait' },
  );
  await harness.target`alter table login rename to login_gone`;
  await lock`rollback`;
  lock.release();

  const failed = await harness.waitForStatus(id, 'error');
  expect(failed.stopped_collection_details).toEqual({ step: 'access', collection: 'postgres_example_test_dataset:login', action_needed: null });
  expect(failed.resume_endpoint).toBe(`/privacy-request/${id}/retry`);
  expect(failed.errored_at).toEqual(expect.any(String));
  const [error] = await harness.sql<{ message: string }[]>`select message from execution_log where privacy_request_id = ${id} and status = 'error'`;
  expect(error!.message).toBe('not_found: relation "public.login" does not exist');
  // Not found is not transient: one attempt, no retries.
  expect(await harness.sql`select 1 from execution_log where privacy_request_id = ${id} and status = 'retrying'`).toHaveLength(0);

  const completedBefore = (await harness.sql<{ collection_name: string }[]>`
    select collection_name from execution_log where privacy_request_id = ${id} and status = 'complete'`).map((row) => row.collection_name);
  expect(completedBefore).toContain('customer');
  expect(completedBefore).not.toContain('login');

  await harness.target`alter table login_gone rename to login`;
  const retried = await harness.postJson(`/api/v1/privacy-request/${id}/retry`, {});
  expect(retried.status).toBe(200);
  expect(((await retried.json()) as { status: string }).status).toBe('in_processing');
  expect(await harness.result(id)).toEqual({ status: 'complete' });

  // Temporal scheduled each completed collection once, and login twice (the failed run and the retry).
  const scheduled = await scheduledAccess(id);
  for (const name of completedBefore) expect(scheduled[name], name).toBe(1);
  expect(scheduled.login).toBe(2);
  expect(Object.keys(scheduled).sort()).toEqual(Object.keys(CUSTOMER_1_COUNTS).sort());

  const stored = await harness.sql<{ collection_name: string; count: number }[]>`
    select collection_name, count(*)::int as count from access_result where privacy_request_id = ${id} group by 1`;
  expect(Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, stored.find((row) => row.collection_name === name)?.count ?? 0]))).toEqual(CUSTOMER_1_COUNTS);
  const loginLog = await harness.sql<{ status: string }[]>`select status from execution_log where privacy_request_id = ${id} and collection_name = 'login' order by id`;
  expect(loginLog.map((row) => row.status)).toEqual(['in_processing', 'error', 'in_processing', 'complete']);
  const audit = await harness.sql<{ action: string; user_id: string }[]>`select action, user_id from audit_log where privacy_request_id = ${id} order by id`;
  expect(audit).toEqual([
    { action: 'approved', user_id: 'system' },
    { action: 'error', user_id: 'system' },
    { action: 'retried', user_id: 'client:test-root' },
    { action: 'finished', user_id: 'system' },
  ]);
});

it('retries a transient failure with backoff up to the limit, then waits; retry finishes once the store is back', async () => {
  const closedPort = await freePort();
  await upsertConnection(
    harness.sql,
    { key: 'postgres_example', name: 'Fides example Postgres', connection_type: 'postgres', access: 'write' },
    { url: `postgres://postgres@127.0.0.1:${closedPort}/nowhere` },
    harness.encryptionKey,
  );
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  const failed = await harness.waitForStatus(id, 'error');
  expect(failed.stopped_collection_details).toMatchObject({ step: 'access', collection: 'postgres_example_test_dataset:customer' });
  const customer = await harness.sql<{ status: string; message: string; created_at: Date }[]>`
    select status, message, created_at from execution_log where privacy_request_id = ${id} and collection_name = 'customer' order by id`;
  // Three attempts (DSRFLOW_ACTIVITY_MAX_ATTEMPTS=3 here): two retries, each logged, then the error.
  expect(customer.map((row) => row.status)).toEqual(['in_processing', 'retrying', 'retrying', 'error']);
  expect(customer.at(-1)!.message).toMatch(/^server: .*ECONNREFUSED/);
  // Backoff: the second wait (200 ms) is longer than the first (100 ms).
  const [, first, second] = customer.map((row) => row.created_at.getTime());
  expect(second! - first!).toBeGreaterThanOrEqual(150);

  await harness.resetTarget(); // the store is back
  expect((await harness.postJson(`/api/v1/privacy-request/${id}/retry`, {})).status).toBe(200);
  expect(await harness.result(id)).toEqual({ status: 'complete' });
  const [count] = await harness.sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${id}`;
  expect(count!.count).toBe(Object.values(CUSTOMER_1_COUNTS).reduce((sum, n) => sum + n, 0));
});

it('retries a collection that failed once alone, while the others of its batch go on, counting its attempts on', async () => {
  await harness.resetTarget();
  // visit answers through a function that refuses its first call with a transient error.
  await harness.target.unsafe(`
    alter table visit rename to visit_rows;
    create sequence visit_calls;
    create function visit_once() returns setof visit_rows language plpgsql as $$
    begin
      if nextval('visit_calls') = 1 then raise exception 'visit is busy, try again'; end if;
      return query select * from visit_rows;
    end $$;
    create view visit as select * from visit_once();
  `);
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  expect(await harness.result(id)).toEqual({ status: 'complete' });

  const log = await harness.sql<{ collection_name: string; status: string; message: string }[]>`
    select collection_name, status, message from execution_log where privacy_request_id = ${id} order by id`;
  const statuses = (name: string) => log.filter((row) => row.collection_name === name).map((row) => row.status);
  expect(statuses('visit')).toEqual(['in_processing', 'retrying', 'complete']);
  expect(log.find((row) => row.collection_name === 'visit' && row.status === 'retrying')!.message).toBe('attempt 2');
  // Its batch-mates (the collections looked up by email) ran once each, and nothing went to error.
  for (const name of ['customer', 'employee', 'report']) expect(statuses(name), name).toEqual(['in_processing', 'complete']);
  expect(log.filter((row) => row.status === 'error')).toEqual([]);
  const tasks = await harness.sql<{ collection: string; attempts: number; status: string }[]>`
    select collection, attempts, status from request_task where privacy_request_id = ${id} and action_type = 'access'`;
  expect(tasks.find((task) => task.collection.endsWith(':visit'))).toMatchObject({ attempts: 2, status: 'complete' });
  expect(tasks.filter((task) => !task.collection.endsWith(':visit')).every((task) => task.attempts === 1 && task.status === 'complete')).toBe(true);

  // In Temporal: the collections ran in batches (fewer activities than collections), visit once more alone.
  const scheduled = await scheduledAccess(id);
  expect(scheduled.visit).toBe(2);
  for (const name of Object.keys(CUSTOMER_1_COUNTS).filter((name) => name !== 'visit')) expect(scheduled[name], name).toBe(1);
  const activities = [...(await collectionActivities(harness, id)).scheduled.values()].map((scheduled) => scheduled.activity);
  expect(activities.filter((name) => name === 'runCollections').length).toBeLessThan(Object.keys(CUSTOMER_1_COUNTS).length / 2);
  expect(activities.filter((name) => name === 'accessCollection')).toEqual(['accessCollection']);
  const [count] = await harness.sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${id}`;
  expect(count!.count).toBe(Object.values(CUSTOMER_1_COUNTS).reduce((sum, n) => sum + n, 0));
});
