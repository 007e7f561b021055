/**
 * The API while dsrflow's own Postgres cannot be reached (a restart, a failover): every call is
 * answered 503 with Retry-After and says why, instead of 500 "something went wrong" (the chaos
 * run's listings met this during its Postgres outage), and the process goes on answering.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listen } from '../../src/api/server.js';
import { connect, type Sql } from '../../src/db/client.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
let unreachable: Sql;

beforeAll(async () => {
  harness = await createHarness({ example: false });
  // Nothing listens on port 1: every connection is refused.
  unreachable = connect('postgres://postgres@127.0.0.1:1/dsrflow', { max: 1 });
});
afterAll(async () => {
  await unreachable?.end({ timeout: 1 });
  await harness?.close();
});

it('answers 503 with Retry-After, and nothing else, while its database is unreachable', async () => {
  const logged: string[] = [];
  const app = harness.createApp({ sql: unreachable, logger: { debug: () => {}, info: () => {}, warn: (message) => logged.push(message), error: (message) => logged.push(`error: ${message}`) } });
  const api = await listen(app, '127.0.0.1', 0);
  const authorization = { authorization: `Bearer ${harness.token}` };
  const calls: [string, RequestInit][] = [
    ['/api/v1/privacy-request', { headers: authorization }],
    [
      '/api/v1/privacy-request',
      {
        method: 'POST',
        headers: { ...authorization, 'content-type': 'application/json' },
        body: JSON.stringify([{ policy_key: 'default_access_policy', identity: { email: 'nobody@example.com' } }]),
      },
    ],
    ['/api/v1/dsr/policy', { headers: authorization }],
  ];
  for (const [path, init] of calls) {
    const response = await fetch(`${api.url}${path}`, init);
    expect(response.status, `${init.method ?? 'GET'} ${path}`).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({ error: 'unavailable', message: "dsrflow's database is unavailable; try again in a few seconds" });
  }
  await api.close();
  expect(logged).toHaveLength(3);
  expect(logged.every((line) => line === "dsrflow's database is unavailable")).toBe(true);
  // Nothing was stored, and the API on its reachable database answers as before.
  expect(await harness.sql`select 1 from privacy_request`).toHaveLength(0);
  expect((await harness.fetch('/api/v1/privacy-request')).status).toBe(200);
});
