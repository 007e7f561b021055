/**
 * A bookkeeping batch run again after its first run's answer was lost (its worker SIGKILLed, the
 * Temporal server gone before the workflow task completed, the database gone later in the batch)
 * still reports the deliveries the first run wrote, so they get their attempt and their delivery
 * workflow. Before, the second run found the outbox rows already there, reported none, and those
 * deliveries stayed `pending`, never sent (found by the chaos run, docs/chaos.md).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectorRegistry } from '../../src/connectors/registry.js';
import { recordBookkeeping, type BookkeepingEntry } from '../../src/execution/bookkeeping.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness({ example: false });
});
afterAll(() => harness?.close());

it('reports the deliveries an earlier run of the same batch wrote, while they are pending', async () => {
  const subscribed = await harness.postJson('/api/v1/webhook', { url: 'http://127.0.0.1:9/hooks', event_types: ['request.received'] });
  expect(subscribed.status).toBe(201);
  await harness.sql`insert into privacy_request (id, status, policy_key, action_types) values ('pri_batch_retry', 'pending', 'none', '{access}')`;
  const context = { sql: harness.sql, connectors: new ConnectorRegistry(harness.sql, harness.encryptionKey), encryptionKey: harness.encryptionKey };
  const entries: BookkeepingEntry[] = [{ type: 'notify', at: new Date().toISOString(), key: 'received:1', event: 'received', data: { status: 'pending' } }];

  const first = await recordBookkeeping(context, { privacyRequestId: 'pri_batch_retry', entries });
  expect(first.deliveries).toHaveLength(1);
  // The answer is lost; the workflow runs the batch again.
  const again = await recordBookkeeping(context, { privacyRequestId: 'pri_batch_retry', entries });
  expect(again.deliveries).toEqual(first.deliveries);
  expect(await harness.sql`select id from webhook_delivery where privacy_request_id = 'pri_batch_retry'`).toHaveLength(1);

  // Once delivered, a third run has nothing left to send.
  await harness.sql`update webhook_delivery set status = 'delivered' where id = ${first.deliveries[0]!}`;
  expect((await recordBookkeeping(context, { privacyRequestId: 'pri_batch_retry', entries })).deliveries).toEqual([]);
});
