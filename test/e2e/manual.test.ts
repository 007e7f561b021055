/**
 * Manual collections: the request pauses with what a person must do (action_needed), refuses a
 * wrong answer with the reason while staying paused, and resumes with a right one, whether the
 * answer comes through the API or as a raw Temporal signal.
 */
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { signals } from '../../workflows/definitions.js';
import { createHarness, erasurePolicy, eventually, type Harness } from '../support/harness.js';

const CABINET = 'manual_dataset:filing_cabinet';
let harness: Harness;
let external: Client;

beforeAll(async () => {
  harness = await createHarness();
  const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
  await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
  await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
  await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
  await harness.startWorker();
  external = new Client({ connection: await Connection.connect({ address: harness.env.TEMPORAL_ADDRESS! }) });
});
afterAll(async () => {
  await external?.connection.close();
  await harness?.close();
});

const identity = { email: 'customer-1@example.com' };
const cabinetRows = async (id: string) =>
  (await harness.sql<{ row: Record<string, unknown> }[]>`
    select row from access_result where privacy_request_id = ${id} and collection_name = 'filing_cabinet' order by row_index`).map((entry) => entry.row);

describe('a manual collection during access', () => {
  it('pauses with locators and fields to get, refuses a wrong answer, and completes with a right one', async () => {
    const id = await harness.submit({ policy_key: 'default_access_policy', identity });
    const paused = await harness.waitForStatus(id, 'paused');
    expect(paused.stopped_collection_details).toEqual({
      step: 'access',
      collection: CABINET,
      action_needed: [{ locators: { customer_id: [1] }, get: ['id', 'authorized_user', 'customer_id', 'payment_card_id'], update: null }],
    });
    expect(paused.resume_endpoint).toBe(`/privacy-request/${id}/manual_input`);
    // The automated collections did not wait for the person.
    expect((await harness.sql`select 1 from execution_log where privacy_request_id = ${id} and status = 'complete'`).length).toBe(11);

    const wrong = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 7, ssn: '123-45-6789' }]);
    expect(wrong.status).toBe(409);
    expect(((await wrong.json()) as { message: string }).message).toBe(
      `invalid manualInput for ${CABINET}: rows[0]: ssn is not a field of this collection (fields: id, authorized_user, customer_id, payment_card_id)`,
    );
    const notRows = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, { rows: 'none' });
    expect(notRows.status).toBe(422);
    expect((await harness.request(id)).status).toBe('paused');
    expect(await cabinetRows(id)).toEqual([]);

    const right = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 7, authorized_user: 'John Customer', customer_id: 1, payment_card_id: 'pay_aaa-aaa' }]);
    expect(right.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await cabinetRows(id)).toEqual([{ id: 7, authorized_user: 'John Customer', customer_id: 1, payment_card_id: 'pay_aaa-aaa' }]);
    const log = await harness.sql<{ status: string; row_count: number | null }[]>`
      select status, row_count from execution_log where privacy_request_id = ${id} and collection_name = 'filing_cabinet' order by id`;
    expect(log).toEqual([
      { status: 'paused', row_count: null },
      { status: 'complete', row_count: 1 },
    ]);
    const audit = await harness.sql<{ action: string }[]>`select action from audit_log where privacy_request_id = ${id} order by id`;
    expect(audit.map((row) => row.action)).toEqual(['approved', 'action_rejected', 'manual_input', 'finished']);
  });

  it('takes the same answers as raw Temporal signals from an external system', async () => {
    const id = await harness.submit({ policy_key: 'default_access_policy', identity });
    await harness.waitForStatus(id, 'paused');
    const handle = external.workflow.getHandle(id);
    await handle.signal(signals.manualInput, { collection: CABINET, rows: [{ shoe_size: 44 }] });
    await handle.signal(signals.manualInput, { collection: 'manual_dataset:elsewhere', rows: [] });
    await eventually(async () => ((await harness.sql`select 1 from audit_log where privacy_request_id = ${id} and action = 'action_rejected'`).length === 2 ? true : undefined), {
      what: 'both rejections in the audit log',
    });
    const rejections = await harness.sql<{ message: string }[]>`select message from audit_log where privacy_request_id = ${id} and action = 'action_rejected' order by id`;
    expect(rejections.map((row) => row.message)).toEqual([
      `invalid manualInput for ${CABINET}: rows[0]: shoe_size is not a field of this collection (fields: id, authorized_user, customer_id, payment_card_id)`,
      `manualInput refused: collection manual_dataset:elsewhere is not waiting for manual input (waiting: ${CABINET})`,
    ]);
    expect((await harness.request(id)).status).toBe('paused');

    await handle.signal(signals.manualInput, { collection: CABINET, rows: [] });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await cabinetRows(id)).toEqual([]);
  });
});

describe('a manual collection during erasure', () => {
  it('pauses with the values to write, and completes when the person confirms the masked count', async () => {
    const id = await harness.submit({ policy_key: 'erase_names', identity });
    await harness.waitForStatus(id, 'paused');
    await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 7, authorized_user: 'John Customer', customer_id: 1 }]);

    const paused = await eventually(
      async () => {
        const request = await harness.request(id);
        return request.status === 'paused' && (request.stopped_collection_details as { step: string }).step === 'erasure' ? request : undefined;
      },
      { what: 'the erasure pause' },
    );
    expect(paused.stopped_collection_details).toEqual({
      step: 'erasure',
      collection: CABINET,
      action_needed: [{ locators: { id: 7 }, get: null, update: { authorized_user: null } }],
    });
    expect(paused.resume_endpoint).toBe(`/privacy-request/${id}/erasure_confirm`);

    const wrong = await harness.postJson(`/api/v1/privacy-request/${id}/erasure_confirm`, { row_count: -1 });
    expect(wrong.status).toBe(422);
    const accessInput = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 8 }]);
    expect(accessInput.status).toBe(409);

    const confirmed = await harness.postJson(`/api/v1/privacy-request/${id}/erasure_confirm`, { row_count: 1 });
    expect(confirmed.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const [erased] = await harness.sql<{ row_count: number; message: string }[]>`
      select row_count, message from execution_log
      where privacy_request_id = ${id} and collection_name = 'filing_cabinet' and action_type = 'erasure' and status = 'complete'`;
    expect(erased).toEqual({ row_count: 1, message: 'masked manually by client:test-root' });
    const [customer] = await harness.target`select name from customer where id = 1`;
    expect(customer!.name).toBeNull();
  });
});
