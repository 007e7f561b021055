/**
 * What Temporal keeps: the full history of a finished request holds no identity value and no row
 * data in plain text (rows live in Postgres; every payload is encrypted by the codec), and a
 * request whose history grows past the limit continues as new without redoing any work.
 */
import { readFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { createHarness, CUSTOMER_1_COUNTS, erasurePolicy, eventually, type Harness } from '../support/harness.js';

const harnesses: Harness[] = [];
afterAll(async () => {
  for (const harness of harnesses) await harness.close();
});

async function historyBytes(harness: Harness, workflowId: string, runId?: string): Promise<Buffer> {
  const history = await harness.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
}

describe('the Temporal history of a finished request', () => {
  it('holds no identity value and no row data in plain text, and neither do the log lines', async () => {
    // Every log line of the worker (SDK, workflow, activities), at the most detailed level.
    const logLines: string[] = [];
    const harness = await createHarness({
      runtimeLogger: new DefaultLogger('TRACE', ({ level, message, meta }) => void logLines.push(`${level} ${message} ${JSON.stringify(meta ?? {}, (_key, value) => (typeof value === 'bigint' ? String(value) : value))}`)),
    });
    harnesses.push(harness);
    const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
    await upsertConnection(harness.sql, { key: 'filing_cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
    await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
    await harness.savePolicy(erasurePolicy('erase_contact', { targets: ['user.name', 'user.contact.email'], masking_strategy: { strategy: 'string_rewrite', configuration: { rewrite_value: 'MASKED' } } }));
    await harness.startWorker();

    const id = await harness.submit({ policy_key: 'erase_contact', identity: { email: 'customer-1@example.com', phone_number: '+1 212 555 0100', loyalty_id: 'CH-2' } });
    await harness.waitForStatus(id, 'paused');
    await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 31, authorized_user: 'Filing Cabinet Person', customer_id: 1, payment_card_id: 'pay_cabinet-777' }]);
    await eventually(async () => ((await harness.request(id)).stopped_collection_details as { step?: string } | null)?.step === 'erasure' || undefined, {
      what: 'the erasure pause of the cabinet',
    });
    await harness.postJson(`/api/v1/privacy-request/${id}/erasure_confirm`, { row_count: 1 });
    expect(await harness.result(id)).toEqual({ status: 'complete' });

    const history = await historyBytes(harness, id);
    // Values the request handled: identities, rows found by access, manual rows, masked originals.
    const secrets = [
      'customer-1@example.com',
      '+12125550100',
      'CH-2',
      'John Customer',
      'Example Street',
      'Exampletown',
      'pay_aaa-aaa',
      'ord_ccc-ccc',
      'Filing Cabinet Person',
      'pay_cabinet-777',
      'customer-1-alt@example.com',
    ];
    for (const secret of secrets) expect(history.includes(Buffer.from(secret)), secret).toBe(false);
    // The logs saw the whole request, and none of its personal data.
    expect(logLines.some((line) => line.includes(id))).toBe(true);
    for (const secret of secrets) expect(logLines.filter((line) => line.includes(secret)), secret).toEqual([]);
    // The history is encrypted rather than empty: the codec's marker is there, and so are the ids.
    expect(history.includes(Buffer.from('binary/encrypted'))).toBe(true);
    expect(history.includes(Buffer.from(id))).toBe(true);
    // The data really went through: the customer was erased and the cabinet's rows were stored.
    const [customer] = await harness.target`select name, email from customer where id = 1`;
    expect(customer).toEqual({ name: 'MASKED', email: 'MASKED' });
  });
});

describe('a request that outgrows the history limit', () => {
  it('continues as new, carrying what is done, so no collection runs twice', async () => {
    // Collections two at a time (one batch of two, or two alone, at once), so that the request's
    // history runs past the smallest limit even with its collections in batches.
    const harness = await createHarness({ env: { DSRFLOW_HISTORY_EVENT_LIMIT: '50', DSRFLOW_COLLECTION_CONCURRENCY: '2' } });
    harnesses.push(harness);
    await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
    await harness.startWorker();

    const id = await harness.submit({ policy_key: 'erase_names', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });

    const runs: string[] = [];
    for await (const execution of harness.client.workflow.list({ query: `WorkflowId = "${id}"` })) runs.push(execution.runId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const runId of runs) {
      const history = await harness.client.workflow.getHandle(id, runId).fetchHistory();
      // Each run stays near the limit instead of growing with the request: past the limit it only
      // finishes what is in flight, at most 2 collections (DSRFLOW_COLLECTION_CONCURRENCY) of some
      // six events each (the activity's three, the workflow task that takes its result), and the
      // bookkeeping batch that records them.
      expect(history.events!.length).toBeLessThan(50 + 2 * 6 + 12);
    }

    const perCollection = await harness.sql<{ action_type: string; collection_name: string; status: string; count: number }[]>`
      select action_type, collection_name, status, count(*)::int as count from execution_log
      where privacy_request_id = ${id} group by 1, 2, 3`;
    expect(perCollection.filter((row) => row.count !== 1)).toEqual([]);
    expect(perCollection.filter((row) => row.action_type === 'access' && row.status === 'complete')).toHaveLength(Object.keys(CUSTOMER_1_COUNTS).length);
    expect(perCollection.filter((row) => row.action_type === 'erasure' && ['complete', 'skipped'].includes(row.status))).toHaveLength(Object.keys(CUSTOMER_1_COUNTS).length);
    const [customer] = await harness.target`select name from customer where id = 1`;
    expect(customer!.name).toBeNull();
    const audit = await harness.sql<{ action: string }[]>`select action from audit_log where privacy_request_id = ${id} order by id`;
    expect(audit.map((row) => row.action)).toEqual(['approved', 'finished']);
  });
});
