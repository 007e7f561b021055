/**
 * Requests that started on the workflow of before the lifecycle machine (`privacyRequestWorkflow`,
 * workflows/legacy/) finish on today's workers: a request waiting for a person when dsrflow is
 * upgraded takes the answer through today's API and completes, and its task rows (which that
 * workflow does not write itself) follow from its execution log.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { insertIdentities, insertPrivacyRequest } from '../../src/db/privacy-requests.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { newPrivacyRequestId } from '../../src/domain/privacy-requests.js';
import { LEGACY_PRIVACY_REQUEST_WORKFLOW, SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import { CUSTOMER_1_COUNTS, createHarness, type Harness } from '../support/harness.js';

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness();
  const [cabinet] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
  await upsertConnection(harness.sql, { key: 'filing_cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
  await upsertDataset(harness.sql, 'filing_cabinet', cabinet!);
  await harness.startWorker();
});
afterAll(() => harness?.close());

/** A request as the API stored and started it before the upgrade: its row, and the old workflow type. */
async function startedBeforeTheUpgrade(): Promise<string> {
  const id = newPrivacyRequestId();
  await harness.sql.begin(async (tx) => {
    await insertPrivacyRequest(tx, { id, external_id: null, policy_key: 'default_access_policy', action_types: ['access'], requested_at: null });
    await insertIdentities(tx, id, { email: 'customer-1@example.com' }, harness.encryptionKey, 86_400_000);
  });
  await harness.client.workflow.start(LEGACY_PRIVACY_REQUEST_WORKFLOW, {
    workflowId: id,
    taskQueue: harness.config.temporal.taskQueue,
    args: [{ privacyRequestId: id }],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.status, value: 'pending' }],
  });
  return id;
}

it('waits for a person on the old workflow, takes the answer through the API, and completes', async () => {
  const id = await startedBeforeTheUpgrade();
  await harness.waitForStatus(id, 'paused');
  const waiting = (await (await harness.fetch(`/api/v1/privacy-request/${id}/tasks`)).json()) as { items: { collection_name: string; status: string }[] };
  expect(waiting.items.find((task) => task.collection_name === 'filing_cabinet')?.status).toBe('awaiting_input');
  expect(waiting.items.find((task) => task.collection_name === 'customer')?.status).toBe('complete');

  const answered = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 1, authorized_user: 'Jane' }]);
  expect(answered.status).toBe(200);
  expect(await harness.result(id)).toEqual({ status: 'complete' });
  expect((await harness.handle(id).describe()).type).toBe(LEGACY_PRIVACY_REQUEST_WORKFLOW);

  const done = (await (await harness.fetch(`/api/v1/privacy-request/${id}/tasks`)).json()) as { items: { collection_name: string; status: string; row_count: number | null; manual: boolean }[] };
  for (const task of done.items) expect(task.status, task.collection_name).toBe('complete');
  expect(Object.fromEntries(done.items.filter((task) => task.collection_name in CUSTOMER_1_COUNTS).map((task) => [task.collection_name, task.row_count]))).toEqual(CUSTOMER_1_COUNTS);
  expect(done.items.find((task) => task.collection_name === 'filing_cabinet')).toMatchObject({ manual: true, row_count: 1 });
});
