/**
 * A manual answer that arrives in the very workflow task that takes the request past its history
 * limit is kept: the request continues as new and the next run stores the answer. (Before the
 * fix, the answer was taken by the old run and lost; the API had answered 200 and the request
 * stayed paused.)
 *
 * The window is one workflow task wide, so the test aims at it: with one collection at a time,
 * a request reaches its pause at nearly the same history length every time. One worker measures
 * that length; a second worker's limit is set to it, so the task that delivers the answer is the
 * first one past the limit. Requests that pause off the window are canceled and another is tried;
 * the test checks from the history that the window was hit. With the fix the request keeps the
 * answer and finishes in the same run; without it, the run continued as new without the answer.
 */
import { readFile } from 'node:fs/promises';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_COLLECTION_CONCURRENCY: '1' } });
  const [dataset] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
  await upsertConnection(harness.sql, { key: 'filing_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
  await upsertDataset(harness.sql, 'filing_cabinet', dataset!);
});
afterAll(() => harness?.close());

const identity = { email: 'customer-1@example.com' };
const CABINET = 'manual_dataset:filing_cabinet';

/** Submits a request and waits until it is paused at the manual collection; answers its history length then. */
async function pausedRequest(): Promise<{ id: string; length: number }> {
  const id = await harness.submit({ policy_key: 'default_access_policy', identity });
  await harness.waitForStatus(id, 'paused');
  // Paused is recorded by the last task before the workflow waits; let that task complete.
  let length = 0;
  for (let stable = 0; stable < 3; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = (await harness.handle(id).describe()).historyLength;
    stable = now === length ? stable + 1 : 0;
    length = now;
  }
  return { id, length };
}

/** The ids of the patches whose markers are in these events. */
function patchesIn(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events.flatMap((event) => {
    const payload = event.markerRecordedEventAttributes?.markerName === 'core_patch' ? event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    if (!payload) return [];
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'base64') : Buffer.from(payload);
    return [(JSON.parse(bytes.toString('utf8')) as { id: string }).id];
  });
}

const cancel = (id: string) =>
  harness.fetch('/api/v1/privacy-request/administrate/cancel', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_ids: [id], reason: 'off the window' }),
  });

it('keeps a manual answer that arrives as the request passes its history limit', async () => {
  const measuring = await harness.startWorker();
  const lengths: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const { id, length } = await pausedRequest();
    lengths.push(length);
    await cancel(id);
    await harness.result(id);
  }
  await measuring.shutdown();
  // The most common length: the answer's task starts two events later, past this limit.
  const limit = [...lengths].sort((a, b) => lengths.filter((x) => x === b).length - lengths.filter((x) => x === a).length)[0]!;
  await harness.startWorker({ historyEventLimit: limit });

  for (let attempt = 1; ; attempt += 1) {
    const { id, length } = await pausedRequest();
    // The answer's task must be the first past the limit: paused within one event of it.
    if (Math.abs(length - limit) > 1) {
      expect(attempt, `paused at ${length} events, off the window around ${limit} (${lengths.join(', ')})`).toBeLessThan(6);
      await cancel(id);
      await harness.result(id);
      continue;
    }
    const runId = (await harness.handle(id).describe()).runId;
    const answered = await harness.postJson(`/api/v1/privacy-request/${id}/manual_input`, [{ id: 1, authorized_user: 'Jane Doe', customer_id: 1 }]);
    expect(answered.status).toBe(200);
    await harness.waitForStatus(id, 'complete', 20_000);

    // The window was hit: the task that delivered the answer was past the limit, and the workflow
    // kept the answer (the patch marker is recorded where it decides so) instead of handing over.
    const events = (await harness.client.workflow.getHandle(id, runId).fetchHistory()).events ?? [];
    const accepted = events.findIndex((event) => event.workflowExecutionUpdateAcceptedEventAttributes);
    const taskStarted = events.slice(0, accepted).findLast((event) => event.workflowTaskStartedEventAttributes);
    expect(Number(taskStarted?.eventId), `limit ${limit}, paused at ${length}`).toBeGreaterThan(limit);
    expect(patchesIn(events.slice(accepted))).toContain('manual-answer-before-continue');
    const rows = await harness.sql<{ row: Record<string, unknown> }[]>`
      select row from access_result where privacy_request_id = ${id} and collection_name = 'filing_cabinet'`;
    expect(rows.map((entry) => entry.row)).toEqual([{ id: 1, authorized_user: 'Jane Doe', customer_id: 1 }]);
    const audit = await harness.sql`select message from audit_log where privacy_request_id = ${id} and action = 'manual_input'`;
    expect(audit.map((entry) => entry.message)).toEqual([`1 rows for ${CABINET}`]);
    return;
  }
}, 120_000);
