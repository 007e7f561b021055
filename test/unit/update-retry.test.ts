/**
 * Temporal refuses an update (gRPC FAILED_PRECONDITION, "unexpected workflow task failure") while
 * the workflow's last workflow task failed or timed out, which a loaded machine causes (found: the
 * API answered `retry` with 500 in e2e/replay under CPU load). The API sends it again with the same
 * update id, and answers 503 once the delays are spent; any other error is not retried.
 */
import { ServiceError } from '@temporalio/client';
import { expect, it } from 'vitest';
import { sendUpdate } from '../../src/service/actions.js';

const refusal = () => new ServiceError('Workflow Update failed', { cause: new Error('9 FAILED_PRECONDITION: Unable to perform workflow execution update due to unexpected workflow task failure.') });

it('sends the update again after transient refusals, with the same update id', async () => {
  const ids: string[] = [];
  const outcome = await sendUpdate(async (updateId) => {
    ids.push(updateId);
    if (ids.length < 3) throw refusal();
  }, [0, 0, 0]);
  expect(outcome).toBe('sent');
  expect(ids).toHaveLength(3);
  expect(new Set(ids).size).toBe(1);
});

it('gives up as unavailable once the delays are spent', async () => {
  let calls = 0;
  const outcome = await sendUpdate(async () => {
    calls += 1;
    throw refusal();
  }, [0, 0]);
  expect(outcome).toBe('unavailable');
  expect(calls).toBe(3);
});

it('does not retry any other error', async () => {
  let calls = 0;
  const other = new ServiceError('Workflow Update failed', { cause: new Error('5 NOT_FOUND: workflow execution not found') });
  await expect(
    sendUpdate(async () => {
      calls += 1;
      throw other;
    }, [0, 0]),
  ).rejects.toBe(other);
  expect(calls).toBe(1);
});
