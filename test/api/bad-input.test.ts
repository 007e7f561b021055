/**
 * Bad submissions are refused with a 4xx that names the field, and change nothing: no row in
 * any table, no workflow on the task queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(() => harness?.close());

const TABLES = ['privacy_request', 'privacy_request_identity', 'privacy_request_plan', 'execution_log', 'audit_log', 'access_result'] as const;

async function snapshot() {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const [row] = await harness.sql<{ count: number }[]>`select count(*)::int as count from ${harness.sql(table)}`;
    counts[table] = row!.count;
  }
  const workflows = await harness.client.workflow.count(`TaskQueue = "${harness.config.temporal.taskQueue}"`);
  return { counts, workflows: workflows.count };
}

const valid = { policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } };

async function post(body: string | unknown) {
  const response = await harness.fetch('/api/v1/privacy-request', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { error: string; message: string; detail: { loc: (string | number)[]; msg: string }[] } };
}

const cases: { name: string; body: string | unknown; status: number; loc: (string | number)[]; message: RegExp }[] = [
  { name: 'malformed JSON', body: '[{"policy_key": "default_access_policy", ', status: 400, loc: ['body'], message: /not valid JSON/ },
  { name: 'an unknown policy', body: [{ ...valid, policy_key: 'no_such_policy' }], status: 422, loc: ['body', 0, 'policy_key'], message: /no policy with key no_such_policy/ },
  { name: '51 items', body: Array.from({ length: 51 }, () => valid), status: 422, loc: ['body'], message: /at most 50/ },
  { name: 'no identity', body: [{ policy_key: 'default_access_policy' }], status: 422, loc: ['body', 0, 'identity'], message: /required/ },
  { name: 'an empty identity', body: [{ ...valid, identity: {} }], status: 422, loc: ['body', 0, 'identity'], message: /at least one identity/ },
  { name: 'a policy key that is a number', body: [{ ...valid, policy_key: 42 }], status: 422, loc: ['body', 0, 'policy_key'], message: /string/ },
  { name: 'an email that is not an email', body: [{ ...valid, identity: { email: 'not-an-email' } }], status: 422, loc: ['body', 0, 'identity', 'email'], message: /email/ },
  { name: 'a date that is not a date', body: [{ ...valid, requested_at: 'yesterday' }], status: 422, loc: ['body', 0, 'requested_at'], message: /datetime|date/i },
  { name: 'an object instead of a list', body: valid, status: 422, loc: ['body'], message: /array/ },
  { name: 'an unknown field', body: [{ ...valid, identities: [{ email: 'a@b.c' }] }], status: 422, loc: ['body', 0], message: /identities/ },
  { name: 'a valid item next to an invalid one', body: [valid, { ...valid, identity: { phone_number: 'call me' } }], status: 422, loc: ['body', 1, 'identity', 'phone_number'], message: /phone number/ },
];

describe('POST /api/v1/privacy-request refuses bad input and changes nothing', () => {
  it.each(cases)('$name', async ({ body, status, loc, message }) => {
    const before = await snapshot();
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(response.body.detail.map((detail) => detail.loc)).toContainEqual(loc);
    expect(response.body.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it('accepts the valid item on its own (the snapshot above can see a change)', async () => {
    const before = await snapshot();
    const response = await post([valid]);
    expect(response.status).toBe(200);
    const after = await snapshot();
    expect(after.counts.privacy_request).toBe(before.counts.privacy_request + 1);
    expect(after.counts.privacy_request_identity).toBe(before.counts.privacy_request_identity + 1);
    expect(after.workflows).toBe(before.workflows + 1);
    // No worker polls this file's task queue: stop the workflow so it does not wait around.
    const { id } = ((await response.body) as unknown as { succeeded: { id: string }[] }).succeeded[0]!;
    await harness.handle(id).terminate('test done');
  });
});
