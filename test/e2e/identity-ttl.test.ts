/**
 * Identities live for DSRFLOW_IDENTITY_TTL (seconds here): include_identities shows them until
 * then and `{}` afterwards, and the worker's maintenance (every DSRFLOW_MAINTENANCE_INTERVAL)
 * deletes them from storage. Identities that have not expired stay.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertIdentities } from '../../src/db/privacy-requests.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { listPage, requestId, seedRequests } from '../support/reporting.js';

const TTL_MS = 3000;
let harness: Harness;

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_IDENTITY_TTL: `${TTL_MS}ms`, DSRFLOW_MAINTENANCE_INTERVAL: '500ms' } });
  await harness.startWorker();
});
afterAll(() => harness?.close());

const stored = async (id: string) => (await harness.sql<{ field_name: string }[]>`select field_name from privacy_request_identity where privacy_request_id = ${id}`).map((row) => row.field_name);
const identityOf = async (id: string) => (await listPage<{ identity: Record<string, string> }>(harness, `request_id=${id}&include_identities=true`)).items[0]!.identity;

it('shows the identities until their TTL passes, then {}, and the worker purges them from storage', async () => {
  // An identity that lives longer than this test: the purge must leave it.
  const kept = requestId(1, '66666666');
  await seedRequests(harness.sql, [{ id: kept, external_id: null, policy_key: 'default_access_policy', action_types: ['access'], status: 'complete', created_at: new Date() }]);
  await insertIdentities(harness.sql, kept, { email: 'kept@example.com' }, harness.encryptionKey, 3_600_000);

  const submittedAt = Date.now();
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com', phone_number: '+1 212 555 0100' } });
  expect(await identityOf(id)).toEqual({ email: 'customer-1@example.com', phone_number: '+12125550100' });
  expect(await stored(id)).toEqual(['email', 'phone_number']);
  const [row] = await harness.sql<{ expires_at: Date }[]>`select min(expires_at) as expires_at from privacy_request_identity where privacy_request_id = ${id}`;
  expect(row!.expires_at.getTime() - submittedAt).toBeLessThanOrEqual(TTL_MS + 1000);

  await eventually(async () => ((await stored(id)).length === 0 ? true : undefined), { timeoutMs: TTL_MS + 10_000, what: 'the expired identities to be purged' });
  expect(Date.now() - submittedAt).toBeGreaterThanOrEqual(TTL_MS - 500);
  expect(await identityOf(id)).toEqual({});
  expect(await stored(kept)).toEqual(['email']);
  expect(await identityOf(kept)).toEqual({ email: 'kept@example.com' });
});

