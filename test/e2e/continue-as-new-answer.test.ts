/**
 * Manual answers that arrive while a request passes its history limit are kept. With the
 * lifecycle machine an accepted answer is part of the state the run hands over whole, so no
 * timing can lose it (the exact seam, an answer in the task that crosses the limit, is covered
 * at every event by test/unit/lifecycle.property.test.ts). Here real requests on a real worker,
 * with a history limit low enough that every one of them continues as new while it waits, take
 * answers sent at different moments around their pause: each stores its rows exactly once and
 * completes. (The legacy workflow once lost such an answer; the API had answered 200 and the
 * request stayed paused.)
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_COLLECTION_CONCURRENCY: '1', DSRFLOW_HISTORY_EVENT_LIMIT: '60' } });
  const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
  await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
  await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
  await harness.startWorker();
});
afterAll(() => harness?.close());

const identity = { email: 'customer-1@example.com' };
const CABINET = 'manual_dataset:filing_cabinet';

it('keeps manual answers that arrive as requests pass their history limit', async () => {
  // Answers sent as soon as the request takes them, and a little later, while runs hand over.
  const delays = [0, 0, 20, 50, 120];
  const ids = await Promise.all(delays.map(() => harness.submit({ policy_key: 'default_access_policy', identity })));
  await Promise.all(
    ids.map(async (id, i) => {
      await harness.waitForStatus(id, 'paused', 60_000);
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
      const answered = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 1, authorized_user: 'Jane Doe', customer_id: 1 }]);
      expect(answered.status, await answered.clone().text()).toBe(200);
      await harness.waitForStatus(id, 'complete', 60_000);
    }),
  );
  for (const id of ids) {
    const runs = [];
    for await (const execution of harness.client.workflow.list({ query: `WorkflowId = "${id}"` })) runs.push(execution.runId);
    expect(runs.length, `${id} continued as new`).toBeGreaterThanOrEqual(2);
    const rows = await harness.sql<{ row: Record<string, unknown> }[]>`
      select row from access_result where privacy_request_id = ${id} and collection_name = 'filing_cabinet'`;
    expect(rows.map((entry) => entry.row)).toEqual([{ id: 1, authorized_user: 'Jane Doe', customer_id: 1 }]);
    const audit = await harness.sql`select message from audit_log where privacy_request_id = ${id} and action = 'manual_input'`;
    expect(audit.map((entry) => entry.message)).toEqual([`1 rows for ${CABINET}`]);
  }
}, 180_000);
