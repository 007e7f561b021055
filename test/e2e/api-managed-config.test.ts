/**
 * The Fides example configured entirely through the configuration API (a connection, the
 * example dataset as YAML, a policy with an access rule and its targets) runs the access request
 * of the first end-to-end test. A configuration change while a request runs does not change
 * that request: it keeps the plan it made, while a request made after the change uses the new
 * configuration.
 *
 * The running request is held mid-run by an ACCESS EXCLUSIVE lock on the target's `login` table
 * (as in worker-crash.test.ts): its login query provably waits while the configuration changes.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { EXAMPLE_DIR } from '../../src/example/load.js';
import { createHarness, CUSTOMER_1_COUNTS, eventually, type Harness } from '../support/harness.js';

const POLICY = 'api_access_policy';
const DATASET = 'postgres_example_test_dataset';
const CUSTOMER_1 = { email: 'customer-1@example.com' };

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness({ example: false });
  await harness.startWorker();
});
afterAll(() => harness?.close());

async function send(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const response = await harness.fetch(`/api/v1${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType } }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Sends a bulk upsert and expects every item to succeed. */
async function upsert(path: string, body: unknown, contentType?: string) {
  const answer = await send('PATCH', path, body, contentType);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.failed).toEqual([]);
  return answer.body.succeeded as unknown[];
}

async function rowCounts(id: string): Promise<Record<string, number>> {
  const rows = await harness.sql<{ collection_name: string; count: number }[]>`
    select collection_name, count(*)::int as count from access_result where privacy_request_id = ${id} group by collection_name`;
  return Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, rows.find((row) => row.collection_name === name)?.count ?? 0]));
}

async function completedLog(id: string) {
  return harness.sql<{ collection_name: string; row_count: number; fields_affected: { data_categories: string[] }[] }[]>`
    select collection_name, row_count, fields_affected from execution_log where privacy_request_id = ${id} and status = 'complete' order by id`;
}

const categoriesOf = (entries: { fields_affected: { data_categories: string[] }[] }[]) =>
  new Set(entries.flatMap((entry) => entry.fields_affected.flatMap((field) => field.data_categories)));

describe('a privacy request from API-managed configuration', () => {
  let exampleYaml: string;

  beforeAll(async () => {
    exampleYaml = await readFile(`${EXAMPLE_DIR}/postgres_example_test_dataset.yml`, 'utf8');
    await upsert('/connection', [{ key: 'shop', name: 'Fides example shop', connection_type: 'postgres', access: 'write', secrets: { url: harness.targetUrl } }]);
    expect((await send('GET', '/connection/shop/test')).body).toMatchObject({ test_status: 'succeeded' });
    await upsert('/connection/shop/dataset', exampleYaml, 'application/x-yaml');
    await upsert('/dsr/policy', [{ key: POLICY, name: 'Access via the API' }]);
    await upsert(`/dsr/policy/${POLICY}/rule`, [{ key: 'access_all', name: 'Access all data', action_type: 'access' }]);
    await upsert(`/dsr/policy/${POLICY}/rule/access_all/target`, [
      { key: 'all_user', data_category: 'user' },
      { key: 'all_system', data_category: 'system' },
    ]);
  });

  it('completes with the same rows per collection as with the example loaded directly', async () => {
    const id = await harness.submit({ policy_key: POLICY, identity: CUSTOMER_1 });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await rowCounts(id)).toEqual(CUSTOMER_1_COUNTS);
    const log = await completedLog(id);
    expect(log.map((entry) => entry.collection_name).sort()).toEqual(Object.keys(CUSTOMER_1_COUNTS).sort());
  });

  it('keeps the plan of a running request when the configuration changes, and a new request uses the new configuration', async () => {
    const lock = await harness.target.reserve();
    let locked = true;
    try {
      await lock`begin`;
      await lock`lock table login in access exclusive mode`;

      const running = await harness.submit({ policy_key: POLICY, identity: CUSTOMER_1 });
      await eventually(
        async () => {
          const waiting = await harness.target`
            select 1 from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query ilike '%"login"%'`;
          return waiting.length > 0 ? true : undefined;
        },
        { what: 'the login query to wait on the lock', timeoutMs: 60_000 },
      );
      const [status] = await harness.sql<{ status: string }[]>`select status from privacy_request where id = ${running}`;
      expect(status!.status).toBe('in_processing');

      // Mid-run: drop the visit collection from the dataset, and the system target from the rule.
      const [dataset] = parseDatasetYaml(exampleYaml);
      const withoutVisit = { ...dataset!, collections: dataset!.collections.filter((collection) => collection.name !== 'visit') };
      await upsert('/connection/shop/dataset', [withoutVisit]);
      expect((await send('DELETE', `/dsr/policy/${POLICY}/rule/access_all/target/all_system`)).status).toBe(204);
      const stored = await send('GET', `/connection/shop/dataset/${DATASET}`);
      expect(stored.body.collections.map((collection: { name: string }) => collection.name)).not.toContain('visit');
      expect((await send('GET', `/dsr/policy/${POLICY}`)).body.rules[0].targets.map((target: { key: string }) => target.key)).toEqual(['all_user']);

      await lock`rollback`;
      locked = false;
      lock.release();

      // The running request finishes with the plan it made: visit queried, same counts, system categories targeted.
      expect(await harness.result(running)).toEqual({ status: 'complete' });
      expect(await rowCounts(running)).toEqual(CUSTOMER_1_COUNTS);
      const runningLog = await completedLog(running);
      expect(runningLog.find((entry) => entry.collection_name === 'visit')).toMatchObject({ row_count: 1 });
      expect([...categoriesOf(runningLog)].some((category) => category.startsWith('system.'))).toBe(true);
      const [snapshot] = await harness.sql<{ datasets: Record<string, { collections: { name: string }[] }> }[]>`
        select datasets from privacy_request_plan where privacy_request_id = ${running}`;
      expect(snapshot!.datasets[DATASET]!.collections.map((collection) => collection.name)).toContain('visit');

      // A request made after the change: no visit, and no system categories among the fields it reports.
      const after = await harness.submit({ policy_key: POLICY, identity: CUSTOMER_1 });
      expect(await harness.result(after)).toEqual({ status: 'complete' });
      const { visit: _visit, ...withoutVisitCounts } = CUSTOMER_1_COUNTS;
      expect(await rowCounts(after)).toEqual({ ...withoutVisitCounts, visit: 0 });
      const afterLog = await completedLog(after);
      expect(afterLog.map((entry) => entry.collection_name)).not.toContain('visit');
      expect(afterLog).toHaveLength(Object.keys(CUSTOMER_1_COUNTS).length - 1);
      const categories = [...categoriesOf(afterLog)];
      expect(categories.length).toBeGreaterThan(0);
      expect(categories.filter((category) => category.startsWith('system.'))).toEqual([]);
    } finally {
      if (locked) {
        await lock`rollback`.catch(() => undefined);
        lock.release();
      }
    }
  });
});
