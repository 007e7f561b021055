/**
 * The deadline of a manual collection (default 14 days; seconds here): configured to skip, the
 * collection is recorded as skipped and the request goes on; configured to wait, the log says the
 * deadline passed and the request keeps waiting for the person.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';

const harnesses: Harness[] = [];
afterAll(async () => {
  for (const harness of harnesses) await harness.close();
});

async function harnessWithCabinet(action: 'skip' | 'wait'): Promise<Harness> {
  const harness = await createHarness({ env: { DSRFLOW_MANUAL_DEADLINE: '2s', DSRFLOW_MANUAL_DEADLINE_ACTION: action } });
  harnesses.push(harness);
  const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
  await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
  await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
  await harness.startWorker();
  return harness;
}

const cabinetLog = (harness: Harness, id: string) =>
  harness.sql<{ status: string; message: string }[]>`
    select status, message from execution_log where privacy_request_id = ${id} and collection_name = 'filing_cabinet' order by id`;

describe('a manual collection past its deadline', () => {
  it('is skipped, recorded as skipped, and the request completes', async () => {
    const harness = await harnessWithCabinet('skip');
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    await harness.waitForStatus(id, 'paused');
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(await cabinetLog(harness, id)).toEqual([
      { status: 'paused', message: expect.stringMatching(/^waiting for manual input until /) },
      { status: 'skipped', message: 'skipped: no response before the deadline' },
    ]);
    const [task] = await harness.sql<{ status: string; deadline_at: Date; created_at: Date }[]>`select status, deadline_at, created_at from manual_task where privacy_request_id = ${id}`;
    expect(task!.status).toBe('skipped');
    expect(task!.deadline_at.getTime() - task!.created_at.getTime()).toBeLessThan(3000);
  });

  it('keeps waiting when configured to, and still takes the answer', async () => {
    const harness = await harnessWithCabinet('wait');
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    await harness.waitForStatus(id, 'paused');
    await eventually(async () => ((await cabinetLog(harness, id)).some((row) => row.message === 'the deadline passed; still waiting') ? true : undefined), {
      what: 'the overdue entry',
      timeoutMs: 10_000,
    });
    expect((await harness.request(id)).status).toBe('paused');
    const answered = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, []);
    expect(answered.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect((await cabinetLog(harness, id)).map((row) => row.status)).toEqual(['paused', 'paused', 'complete']);
  });
});
