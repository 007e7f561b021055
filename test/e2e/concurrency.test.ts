/**
 * Independent collections run side by side, never more at once than DSRFLOW_COLLECTION_CONCURRENCY.
 * Measured from Temporal's history (scheduled versus finished activities), not from timing.
 */
import proto from '@temporalio/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { collectionActivities } from '../support/collection-activities.js';
import { createHarness, CUSTOMER_1_COUNTS, type Harness } from '../support/harness.js';

const { EventType } = proto.temporal.api.enums.v1;
const harnesses: Harness[] = [];
afterAll(async () => {
  for (const harness of harnesses) await harness.close();
});

/** The most collections the workflow had in flight at once: alone (accessCollection) or in batches (runCollections). */
async function maxInFlight(harness: Harness, id: string): Promise<number> {
  const { history, scheduled } = await collectionActivities(harness, id);
  let inFlight = 0;
  let max = 0;
  for (const event of history.events ?? []) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) max = Math.max(max, (inFlight += scheduled.get(String(event.eventId))?.collections.length ?? 0));
    const finished = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (finished) inFlight -= scheduled.get(String(finished.scheduledEventId))?.collections.length ?? 0;
  }
  return max;
}

describe.each([
  { limit: '1', batches: 'true', expectMax: (max: number) => expect(max).toBe(1) },
  { limit: '8', batches: 'true', expectMax: (max: number) => expect(max).toBeGreaterThanOrEqual(4) },
  // One activity per collection, as requests planned before batches run.
  { limit: '8', batches: 'false', expectMax: (max: number) => expect(max).toBeGreaterThanOrEqual(4) },
])('with DSRFLOW_COLLECTION_CONCURRENCY=$limit and DSRFLOW_COLLECTION_BATCHES=$batches', ({ limit, batches, expectMax }) => {
  it('keeps collections in flight within the limit and still finds everything', async () => {
    const harness = await createHarness({ env: { DSRFLOW_COLLECTION_CONCURRENCY: limit, DSRFLOW_COLLECTION_BATCHES: batches } });
    harnesses.push(harness);
    await harness.startWorker();
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expectMax(await maxInFlight(harness, id));
    const kinds = [...(await collectionActivities(harness, id)).scheduled.values()].map((scheduled) => scheduled.activity);
    if (batches === 'true') {
      expect(kinds.every((name) => name === 'runCollections')).toBe(true);
      // One collection at a time makes batches of one; eight at a time, fewer batches than collections.
      if (limit === '1') expect(kinds).toHaveLength(Object.keys(CUSTOMER_1_COUNTS).length);
      else expect(kinds.length).toBeLessThan(Object.keys(CUSTOMER_1_COUNTS).length);
    } else expect(kinds).toEqual(Object.keys(CUSTOMER_1_COUNTS).map(() => 'accessCollection'));
    const [count] = await harness.sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${id}`;
    expect(count!.count).toBe(Object.values(CUSTOMER_1_COUNTS).reduce((sum, n) => sum + n, 0));
  });
});
