/**
 * Independent collections run side by side, never more at once than DSRFLOW_COLLECTION_CONCURRENCY.
 * Measured from Temporal's history (scheduled versus finished activities), not from timing.
 */
import proto from '@temporalio/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { EncryptionCodec, payloadKey } from '../../src/temporal/codec.js';
import { createHarness, CUSTOMER_1_COUNTS, type Harness } from '../support/harness.js';

const { EventType } = proto.temporal.api.enums.v1;
const harnesses: Harness[] = [];
afterAll(async () => {
  for (const harness of harnesses) await harness.close();
});

/** The most collections the workflow had in flight at once: alone (accessCollection) or in batches (runCollections). */
async function maxInFlight(harness: Harness, id: string): Promise<number> {
  const history = await harness.handle(id).fetchHistory();
  const codec = new EncryptionCodec([payloadKey(harness.encryptionKey)]);
  const collectionActivities = new Map<string, number>();
  let inFlight = 0;
  let max = 0;
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    const activity = scheduled?.activityType?.name;
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && (activity === 'accessCollection' || activity === 'runCollections')) {
      const [payload] = await codec.decode(scheduled!.input!.payloads!);
      const input = JSON.parse(Buffer.from(payload!.data!).toString()) as { steps?: unknown[] };
      const collections = input.steps?.length ?? 1;
      collectionActivities.set(String(event.eventId), collections);
      max = Math.max(max, (inFlight += collections));
    }
    const finished = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (finished) inFlight -= collectionActivities.get(String(finished.scheduledEventId)) ?? 0;
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
    const activities = ((await harness.handle(id).fetchHistory()).events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name);
    const collectionActivities = activities.filter((name) => name === 'accessCollection' || name === 'runCollections');
    if (batches === 'true') {
      expect(collectionActivities.every((name) => name === 'runCollections')).toBe(true);
      // One collection at a time makes batches of one; eight at a time, fewer batches than collections.
      if (limit === '1') expect(collectionActivities).toHaveLength(Object.keys(CUSTOMER_1_COUNTS).length);
      else expect(collectionActivities.length).toBeLessThan(Object.keys(CUSTOMER_1_COUNTS).length);
    } else expect(collectionActivities).toEqual(Object.keys(CUSTOMER_1_COUNTS).map(() => 'accessCollection'));
    const [count] = await harness.sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${id}`;
    expect(count!.count).toBe(Object.values(CUSTOMER_1_COUNTS).reduce((sum, n) => sum + n, 0));
  });
});
