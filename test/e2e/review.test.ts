/**
 * Review: policies that require approval wait in `pending` until approved or denied; each
 * decision is an audit row with who and why. Signals straight to Temporal are validated like
 * API calls, and a rejected one changes nothing but leaves an audit row saying why.
 */
import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAccessPolicy } from '../../src/example/load.js';
import { signals } from '../../workflows/definitions.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';

let harness: Harness;
/** An external system's client: no codec, plain JSON payloads. */
let external: Client;

beforeAll(async () => {
  harness = await createHarness();
  await harness.savePolicy({ ...defaultAccessPolicy, key: 'reviewed_access', name: 'Reviewed access', requires_approval: true });
  await harness.startWorker();
  external = new Client({ connection: await Connection.connect({ address: harness.env.TEMPORAL_ADDRESS! }) });
});
afterAll(async () => {
  await external?.connection.close();
  await harness?.close();
});

const identity = { email: 'customer-1@example.com' };
/** Acts as the user (who the audit log then names), or as the test's root client. */
const patch = async (path: string, body: unknown, as?: string) =>
  harness.fetch(`/api/v1/privacy-request/administrate/${path}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...(as ? { authorization: `Bearer ${await harness.userToken(as)}` } : {}) },
    body: JSON.stringify(body),
  });
const audit = (id: string) =>
  harness.sql<{ action: string; user_id: string | null; message: string | null }[]>`select action, user_id, message from audit_log where privacy_request_id = ${id} order by id`;

describe('a policy that requires approval', () => {
  it('waits in pending, then runs once approved, recording the reviewer and reason', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity });
    await harness.waitUntilIdle(id);
    expect((await harness.request(id)).status).toBe('pending');
    expect(await harness.sql`select 1 from execution_log where privacy_request_id = ${id}`).toHaveLength(0);

    const response = await patch('approve', { request_ids: [id, 'pri_00000000-0000-0000-0000-000000000000'], reason: 'identity checked' }, 'alice@shop.example');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { succeeded: { id: string; reviewed_by: string }[]; failed: { message: string; data: { id: string } }[] };
    expect(body.succeeded).toEqual([expect.objectContaining({ id, reviewed_by: 'user:alice@shop.example' })]);
    expect(body.failed).toEqual([{ message: 'No privacy request with id pri_00000000-0000-0000-0000-000000000000', data: { id: 'pri_00000000-0000-0000-0000-000000000000' } }]);

    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const request = await harness.request(id);
    expect(request.reviewed_at).toEqual(expect.any(String));
    expect(await audit(id)).toEqual([
      { action: 'approved', user_id: 'user:alice@shop.example', message: 'identity checked' },
      { action: 'finished', user_id: 'system', message: null },
    ]);
  });

  it('ends denied with the reason; a denial without a reason is refused and changes nothing', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity });
    const noReason = await patch('deny', { request_ids: [id] }, 'bob@shop.example');
    expect(noReason.status).toBe(422);
    expect(((await noReason.json()) as { message: string }).message).toMatch(/reason/);

    const denied = await patch('deny', { request_ids: [id], reason: 'not the account holder' }, 'bob@shop.example');
    expect(denied.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'denied' });
    const request = await harness.request(id);
    expect(request).toMatchObject({ status: 'denied', reviewed_by: 'user:bob@shop.example', denial_reason: 'not the account holder' });
    expect(await audit(id)).toEqual([{ action: 'denied', user_id: 'user:bob@shop.example', message: 'not the account holder' }]);
    expect(await harness.sql`select 1 from execution_log where privacy_request_id = ${id}`).toHaveLength(0);

    const again = await patch('approve', { request_ids: [id] }, 'alice@shop.example');
    expect(((await again.json()) as { failed: { message: string }[] }).failed[0]!.message).toMatch(/the request is denied/);
  });

  it('can be canceled while pending, with a reason', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity });
    const response = await patch('cancel', { request_ids: [id], reason: 'duplicate of ticket 12' }, 'carol@shop.example');
    expect(((await response.json()) as { succeeded: { status: string }[] }).succeeded[0]!.status).toBe('canceled');
    expect(await harness.result(id)).toEqual({ status: 'canceled' });
    expect(await audit(id)).toEqual([{ action: 'canceled', user_id: 'user:carol@shop.example', message: 'duplicate of ticket 12' }]);
  });
});

describe('configuration that requires approval for every request', () => {
  it('holds a request whose policy needs no review until it is approved', async () => {
    const strict = await createHarness({ env: { DSRFLOW_REQUIRE_APPROVAL: 'true' } });
    try {
      await strict.startWorker();
      const id = await strict.submit({ policy_key: 'default_access_policy', identity });
      await strict.waitUntilIdle(id);
      expect((await strict.request(id)).status).toBe('pending');
      await strict.fetch('/api/v1/privacy-request/administrate/approve', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_ids: [id] }),
      });
      expect(await strict.result(id)).toEqual({ status: 'complete' });
    } finally {
      await strict.close();
    }
  });
});

describe('signals sent straight to Temporal', () => {
  it('are validated like the API: a bad one leaves an audit row and changes nothing, a good one takes effect', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity });
    const handle = external.workflow.getHandle(id);
    await handle.signal(signals.deny, { reviewer: 'mallory' } as never); // no reason
    await handle.signal(signals.retry, {}); // not in error
    await eventually(async () => ((await audit(id)).length === 2 ? true : undefined), { what: 'two rejection audit rows' });
    expect(await audit(id)).toEqual([
      // A refused action names who it claims to come from.
      { action: 'action_rejected', user_id: 'mallory', message: "invalid deny: reason: is required" },
      { action: 'action_rejected', user_id: null, message: 'retry refused: the request is not in error (status pending)' },
    ]);
    expect((await harness.request(id)).status).toBe('pending');

    await handle.signal(signals.approve, { reviewer: 'alice@shop.example' });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect((await audit(id)).map((row) => row.action)).toEqual(['action_rejected', 'action_rejected', 'approved', 'finished']);
  });

  it('work from the Temporal CLI, as the README shows', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity });
    await promisify(execFile)(inject('temporalCliPath'), [
      'workflow', 'signal', '--address', harness.env.TEMPORAL_ADDRESS!, '--workflow-id', id, '--name', 'approve', '--input', '{"reviewer": "cli@shop.example"}',
    ]);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect((await audit(id))[0]).toEqual({ action: 'approved', user_id: 'cli@shop.example', message: null });
  });

  it('refuse approval of a request that needs none', async () => {
    const id = await harness.submit({ policy_key: 'default_access_policy', identity });
    await harness.result(id);
    const response = await patch('approve', { request_ids: [id] }, 'alice@shop.example');
    expect(((await response.json()) as { failed: { message: string }[] }).failed[0]!.message).toMatch(/refused: the request is complete/);
  });
});
