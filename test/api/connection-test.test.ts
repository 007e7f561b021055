/**
 * `GET /connection/{key}/test` against data stores that misbehave, as found by probing a
 * running instance from outside:
 * - a Postgres connection whose URL sets `statement_timeout=1` (postgres.js's own type query
 *   failed in a promise nobody handled, and the process ended).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', recordUnhandled);
  harness = await createHarness({ example: false });
});

afterAll(async () => {
  process.off('unhandledRejection', recordUnhandled);
  await harness?.close();
});

async function send(method: string, path: string, body?: unknown) {
  const response = await harness.fetch(`/api/v1${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

let keys = 0;
/** Saves a postgres connection (through the API) and returns its key. */
async function connection(secrets: Record<string, unknown>): Promise<string> {
  const key = `store_${++keys}`;
  const answer = await send('PATCH', '/connection', [{ key, connection_type: 'postgres', access: 'read', secrets }]);
  expect(answer.body.failed, JSON.stringify(answer.body)).toEqual([]);
  return key;
}

/** Runs the connection test and measures how long it took to answer. */
async function test(key: string) {
  const started = Date.now();
  const answer = await send('GET', `/connection/${key}/test`);
  expect(answer.status).toBe(200);
  return { ...(answer.body as { test_status: string; category: string | null; msg: string }), ms: Date.now() - started };
}

async function expectAlive() {
  expect((await harness.fetch('/health')).status).toBe(200);
  expect(unhandled).toEqual([]);
}

describe('a connection whose URL sets statement_timeout=1', () => {
  it('answers failed (timeout), and the process carries on', async () => {
    const url = new URL(harness.targetUrl);
    url.searchParams.set('options', '-c statement_timeout=1');
    const key = await connection({ url: url.toString() });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await test(key));
    // Let any stray rejection of the attempts surface before looking.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expectAlive();
    for (const answer of answers) {
      expect(answer).toMatchObject({ test_status: 'failed', category: 'timeout' });
      expect(answer.msg).toMatch(/statement timeout/);
    }
  });
});

it('still succeeds against the real database', async () => {
  const key = await connection({ url: harness.targetUrl });
  expect(await test(key)).toMatchObject({ test_status: 'succeeded', category: null, msg: 'Connected and ran a query' });
});
