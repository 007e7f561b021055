/**
 * The task view (GET /privacy-request/{id}/tasks, reference 003's per-integration statuses) and
 * the verbose listing, for requests run by the real workflow on Temporal: a complete access
 * request, an erasure request (both phases), a collection that times out on every attempt until
 * the request is in error and then succeeds on retry, a request not planned yet, and a manual
 * collection awaiting a person, then overdue.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { createHarness, CUSTOMER_1_COUNTS, erasurePolicy, eventually, type Harness } from '../support/harness.js';
import { listPage, requestId, seedRequests } from '../support/reporting.js';

interface Task {
  collection: string;
  connection_key: string;
  dataset_name: string;
  collection_name: string;
  phase: 'access' | 'erasure';
  manual: boolean;
  status: string;
  row_count: number | null;
  attempts: number;
  last_error: { category: string | null; message: string; at: string } | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string | null;
  deadline_at: string | null;
}
interface TaskView {
  privacy_request_id: string;
  status: string;
  planned: boolean;
  items: Task[];
}

const DATASET = 'postgres_example_test_dataset';
const MANUAL_DEADLINE_MS = 5000;
let harness: Harness;

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_MANUAL_DEADLINE: `${MANUAL_DEADLINE_MS}ms`, DSRFLOW_MANUAL_DEADLINE_ACTION: 'wait' } });
  await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
  await harness.startWorker();
});
afterAll(() => harness?.close());

async function tasks(id: string): Promise<TaskView> {
  const response = await harness.fetch(`/api/v1/privacy-request/${id}/tasks`);
  expect(response.status).toBe(200);
  return (await response.json()) as TaskView;
}
const task = (view: TaskView, collection: string, phase: 'access' | 'erasure' = 'access') => {
  const found = view.items.find((item) => item.collection_name === collection && item.phase === phase);
  if (!found) throw new Error(`No ${phase} task for ${collection}: ${JSON.stringify(view.items.map((item) => `${item.phase}:${item.collection}`))}`);
  return found;
};

describe('a complete access request', () => {
  let id: string;
  beforeAll(async () => {
    id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
  });

  it('shows every collection of the plan complete, with the rows found, one attempt and no error', async () => {
    const view = await tasks(id);
    expect(view).toMatchObject({ privacy_request_id: id, status: 'complete', planned: true });
    expect(view.items.map((item) => item.phase)).toEqual(Object.keys(CUSTOMER_1_COUNTS).map(() => 'access'));
    expect(Object.fromEntries(view.items.map((item) => [item.collection_name, item.row_count]))).toEqual(CUSTOMER_1_COUNTS);
    for (const item of view.items) {
      expect(item, item.collection).toMatchObject({
        collection: `${DATASET}:${item.collection_name}`,
        connection_key: 'postgres_example',
        dataset_name: DATASET,
        manual: false,
        status: 'complete',
        attempts: 1,
        last_error: null,
        deadline_at: null,
      });
      expect(Date.parse(item.finished_at!)).toBeGreaterThanOrEqual(Date.parse(item.started_at!));
      expect(item.updated_at).toBe(item.finished_at);
    }
  });

  it('embeds its logs in the verbose listing: approved, the dataset, finished', async () => {
    const body = await listPage<{ results: Record<string, { status: string; collection_name: string | null; user_id: string | null }[]> }>(harness, `request_id=${id}&verbose=true`);
    const { results } = body.items[0]!;
    expect(Object.keys(results)).toEqual(['Request approved', DATASET, 'Request finished']);
    expect(results[DATASET]).toHaveLength(22);
    expect(results[DATASET]!.filter((entry) => entry.status === 'complete').map((entry) => entry.collection_name).sort()).toEqual(Object.keys(CUSTOMER_1_COUNTS).sort());
    expect(results['Request approved']).toEqual([expect.objectContaining({ status: 'approved', user_id: 'system', collection_name: null })]);
    expect(results['Request finished']).toEqual([expect.objectContaining({ status: 'finished', user_id: 'system' })]);
  });
});

describe('an erasure request', () => {
  it('shows both phases: what access found, then what erasure changed or skipped', async () => {
    const id = await harness.submit({ policy_key: 'erase_names', identity: { email: 'customer-2@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const view = await tasks(id);
    const phases = view.items.map((item) => item.phase);
    expect(phases.filter((phase) => phase === 'access')).toHaveLength(11);
    expect(phases.filter((phase) => phase === 'erasure')).toHaveLength(11);
    expect(phases.indexOf('erasure')).toBe(11);
    expect(task(view, 'customer', 'access')).toMatchObject({ status: 'complete', row_count: 1 });
    // customer.name is user.name: masked; collections without a user.name field are skipped.
    expect(task(view, 'customer', 'erasure')).toMatchObject({ status: 'complete', row_count: 1, attempts: 1 });
    expect(task(view, 'login', 'erasure')).toMatchObject({ status: 'skipped', row_count: 0, attempts: 0 });
    for (const item of view.items) expect(['complete', 'skipped'], `${item.phase} ${item.collection}`).toContain(item.status);
  });
});

describe('a collection that times out on every attempt', () => {
  let id: string;
  let cancels = 0;

  it('is in_processing while its query runs', async () => {
    // Hold the login table: login's query waits for the lock until the test cancels it.
    const lock = await harness.target.reserve();
    await lock`begin`;
    await lock`lock table login in access exclusive mode`;
    try {
      id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
      const waiting = async () =>
        harness.target<{ pid: number }[]>`select pid from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%"login"%'`;
      await eventually(async () => ((await waiting()).length ? true : undefined), { what: 'the login query to wait for the lock' });
      const running = await tasks(id);
      expect(running.status).toBe('in_processing');
      expect(task(running, 'login')).toMatchObject({ status: 'in_processing', attempts: 1, finished_at: null, last_error: null });
      expect(task(running, 'customer')).toMatchObject({ status: 'complete', row_count: 1 });

      // Cancel each attempt's query (SQLSTATE 57014: a timeout, so retried) until the retries run out.
      await eventually(
        async () => {
          for (const { pid } of await waiting()) {
            const [cancel] = await harness.target<{ done: boolean }[]>`select pg_cancel_backend(${pid}) as done`;
            if (cancel!.done) cancels += 1;
          }
          const [row] = await harness.sql<{ status: string }[]>`select status from privacy_request where id = ${id}`;
          return row!.status === 'error' ? true : undefined;
        },
        { intervalMs: 50, what: 'the request to end in error' },
      );
    } finally {
      await lock`rollback`;
      lock.release();
    }
    expect(cancels).toBe(harness.config.execution.maxAttempts);
  });

  it('is in error after its retries, with every attempt counted and the category of the last error', async () => {
    const view = await tasks(id);
    expect(view.status).toBe('error');
    const login = task(view, 'login');
    expect(login).toMatchObject({
      status: 'error',
      attempts: harness.config.execution.maxAttempts,
      row_count: null,
      finished_at: null,
      last_error: { category: 'timeout', message: 'canceling statement due to user request', at: expect.any(String) },
    });
    expect(login.updated_at).toBe(login.last_error!.at);
    // A failure stops new work: what had not started yet is still pending, and never ran.
    for (const item of view.items.filter((candidate) => candidate.collection_name !== 'login')) {
      expect(['complete', 'pending'], item.collection).toContain(item.status);
      if (item.status === 'pending') expect(item, item.collection).toMatchObject({ attempts: 0, started_at: null, row_count: null });
    }
    // The log has every attempt and the category in its own field.
    const log = (await (await harness.fetch(`/api/v1/privacy-request/${id}/log?size=50`)).json()) as { items: { collection_name: string; status: string; error_category: string | null }[] };
    expect(log.items.filter((entry) => entry.collection_name === 'login').map((entry) => [entry.status, entry.error_category])).toEqual([
      ['in_processing', null],
      ...Array.from({ length: harness.config.execution.maxAttempts - 1 }, () => ['retrying', null]),
      ['error', 'timeout'],
    ]);
  });

  it('is complete after a retry, keeping the error it recovered from', async () => {
    const retried = await harness.postJson(`/api/v1/privacy-request/${id}/retry`, {});
    expect(retried.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const view = await tasks(id);
    expect(Object.fromEntries(view.items.map((item) => [item.collection_name, [item.status, item.row_count]]))).toEqual(
      Object.fromEntries(Object.entries(CUSTOMER_1_COUNTS).map(([name, count]) => [name, ['complete', count]])),
    );
    expect(task(view, 'login')).toMatchObject({ attempts: harness.config.execution.maxAttempts + 1, last_error: { category: 'timeout' } });
  });
});

describe('a request not planned yet', () => {
  it('has no items, and says so', async () => {
    const id = requestId(1, '55555555');
    await seedRequests(harness.sql, [{ id, external_id: null, policy_key: 'default_access_policy', action_types: ['access'], status: 'pending', created_at: new Date() }]);
    expect(await tasks(id)).toEqual({ privacy_request_id: id, status: 'pending', planned: false, items: [] });
  });

  it('answers 404 for an unknown request', async () => {
    const response = await harness.fetch(`/api/v1/privacy-request/${requestId(2, '55555555')}/tasks`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('a manual collection', () => {
  beforeAll(async () => {
    const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
    await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
    await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
  });

  it('awaits input until its deadline, is paused once the deadline passed, and completes with the answer', async () => {
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    await harness.waitForStatus(id, 'paused');
    const waiting = await tasks(id);
    expect(waiting.status).toBe('paused');
    const cabinet = task(waiting, 'filing_cabinet');
    expect(cabinet).toMatchObject({ collection: 'manual_dataset:filing_cabinet', connection_key: 'filing_cabinet', manual: true, status: 'awaiting_input', attempts: 0, row_count: null, last_error: null });
    expect(Date.parse(cabinet.deadline_at!) - Date.parse(cabinet.started_at!)).toBeGreaterThanOrEqual(MANUAL_DEADLINE_MS - 1000);
    expect(Date.parse(cabinet.deadline_at!)).toBeGreaterThan(Date.now());
    expect(waiting.items.filter((item) => item.collection !== 'manual_dataset:filing_cabinet').every((item) => item.status === 'complete' && !item.manual)).toBe(true);

    // Past the deadline, the request keeps waiting (DSRFLOW_MANUAL_DEADLINE_ACTION=wait): overdue.
    await eventually(async () => ((await tasks(id)).items.some((item) => item.collection_name === 'filing_cabinet' && item.status === 'paused') ? true : undefined), {
      timeoutMs: MANUAL_DEADLINE_MS + 10_000,
      what: 'the manual collection to be overdue',
    });

    const answered = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 7, authorized_user: 'John Customer', customer_id: 1, payment_card_id: 'pay_aaa-aaa' }]);
    expect(answered.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(task(await tasks(id), 'filing_cabinet')).toMatchObject({ status: 'complete', row_count: 1, manual: true });
  });
});
