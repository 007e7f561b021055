/**
 * `GET /connection/{key}/test` against data stores that misbehave, as found by probing a
 * running instance from outside:
 * - a Postgres connection whose URL sets `statement_timeout=1` (postgres.js's own type query
 *   failed in a promise nobody handled, and the process ended);
 * - addresses that speak another protocol (NATS, a banner, a server that hangs up), a silent
 *   server and an unroutable address (the test never answered, and postgres.js reconnected
 *   hundreds of times a second until restart);
 * - servers whose bytes must not reach the answer (a banner, an error message of their choosing);
 * - Postgres's own schemas, refused when saved and when connected.
 *
 * The deadline is 2 s here (DSRFLOW_CONNECTION_TEST_TIMEOUT). "No reconnect loop" is checked on
 * both ends: the fake server counts the connections it accepted, and /proc counts this process's
 * sockets to the address, sampled for a while after the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import {
  answeringServer,
  backendMessage,
  bannerServer,
  errorResponse,
  firstBytes,
  hangUpServer,
  int32,
  mostSocketsTo,
  openSocketsTo,
  silentServer,
  type ForeignServer,
} from '../support/foreign-servers.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';

const DEADLINE_MS = 2000;
/** What a test may take beyond its deadline: the HTTP round trip and the database lookups. */
const SLACK_MS = 1500;

let harness: Harness;
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);
const servers: ForeignServer[] = [];

beforeAll(async () => {
  process.on('unhandledRejection', recordUnhandled);
  harness = await createHarness({ example: false, env: { DSRFLOW_CONNECTION_TEST_TIMEOUT: `${DEADLINE_MS}ms` } });
});

afterAll(async () => {
  process.off('unhandledRejection', recordUnhandled);
  await Promise.all(servers.map((server) => server.close()));
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

async function serve<T extends ForeignServer>(server: Promise<T>): Promise<T> {
  const started = await server;
  servers.push(started);
  return started;
}

/** After the answer: no socket of this process to the port, and the server accepted no other connection. */
async function expectNothingLeft(port: number, host: string, server?: ForeignServer) {
  const acceptedAtAnswer = server?.accepted;
  await eventually(async () => ((await openSocketsTo(port, host)) === 0 ? true : undefined), { timeoutMs: 2000, what: `sockets to ${host}:${port} to close` });
  // A reconnect loop opens and closes sockets all the time: sample for a while.
  expect(await mostSocketsTo(port, host)).toBe(0);
  if (server) {
    expect(server.accepted).toBe(acceptedAtAnswer);
    expect(await server.openConnections()).toBe(0);
  }
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
      expect(answer.msg).toMatch(/canceled the query.*SQLSTATE 57014/);
    }
  });
});

describe('an address that speaks another protocol', () => {
  it('NATS: answers at once, in its own words, and leaves no socket behind', async () => {
    // NATS runs on these machines; elsewhere a server that greets the same way stands in.
    const nats = (await firstBytes('127.0.0.1', 4222))?.toString('latin1').startsWith('INFO ')
      ? { port: 4222, server: undefined }
      : await serve(bannerServer('INFO {"server_id":"NDJCWR4G5S4G25K4","server_name":"stand-in","version":"2.9.10"}\r\n')).then((server) => ({ port: server.port, server }));
    const key = await connection({ host: '127.0.0.1', port: nats.port, dbname: 'shop', username: 'postgres' });
    const answer = await test(key);
    expect(answer).toMatchObject({ test_status: 'failed', category: 'not_found' });
    expect(answer.msg).toBe(`The server at the configured address 127.0.0.1:${nats.port} does not speak the Postgres protocol`);
    expect(answer.msg).not.toMatch(/INFO|server_id|nats|version/i);
    expect(answer.ms).toBeLessThan(DEADLINE_MS);
    await expectNothingLeft(nats.port, '127.0.0.1', nats.server);
    await expectAlive();
  });

  it('a banner of its own: none of its bytes reach the answer', async () => {
    const server = await serve(bannerServer('SSH-2.0-OpenSSH_9.6 MARKER-banner-7f3a\r\n'));
    const answer = await test(await connection({ url: server.url }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'not_found' });
    expect(answer.msg).toMatch(/does not speak the Postgres protocol/);
    expect(answer.msg).not.toMatch(/MARKER|SSH|OpenSSH/);
    expect(server.accepted).toBe(1);
    await expectNothingLeft(server.port, '127.0.0.1', server);
  });

  it('a server that hangs up on the startup message: one connection, not a loop', async () => {
    const server = await serve(hangUpServer());
    const answer = await test(await connection({ url: server.url }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'server' });
    expect(answer.msg).toBe(`The server at 127.0.0.1:${server.port} closed the connection without answering`);
    expect(answer.ms).toBeLessThan(DEADLINE_MS);
    expect(server.accepted).toBe(1);
    await expectNothingLeft(server.port, '127.0.0.1', server);
    await expectAlive();
  });

  it('the same over TLS (sslmode=require): the server refuses TLS with garbage', async () => {
    const server = await serve(answeringServer(Buffer.from('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\nMARKER-http')));
    const answer = await test(await connection({ url: `${server.url}?sslmode=require` }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'not_found' });
    expect(answer.msg).not.toMatch(/MARKER|HTTP/);
    await expectNothingLeft(server.port, '127.0.0.1', server);
  });
});

describe('an address that never answers', () => {
  it('a silent server: answers failed (timeout) at the deadline, and closes its socket', async () => {
    const server = await serve(silentServer());
    const answer = await test(await connection({ url: server.url }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'timeout', msg: `No answer from 127.0.0.1:${server.port} within 2s` });
    expect(answer.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(answer.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(server.accepted).toBe(1);
    await expectNothingLeft(server.port, '127.0.0.1', server);
    await expectAlive();
  });

  it('an unroutable address (10.255.255.1): answers within the deadline, and leaves no socket', async () => {
    // Blackholed on most networks; some sandboxes answer it with a proxy's HTTP error instead.
    // Either way: an answer within the deadline, in dsrflow's words, and nothing left open.
    const answer = await test(await connection({ host: '10.255.255.1', port: 5432, dbname: 'shop', username: 'postgres' }));
    expect(answer.test_status).toBe('failed');
    expect(['timeout', 'not_found', 'server']).toContain(answer.category);
    expect(answer.msg).toMatch(/^(No answer from 10\.255\.255\.1:5432|The server at (the configured address )?10\.255\.255\.1:5432|No database server answers at the configured address 10\.255\.255\.1:5432)/);
    expect(answer.msg).not.toMatch(/HTTP|Bad Request/);
    expect(answer.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    await expectNothingLeft(5432, '10.255.255.1');
    await expectAlive();
  });
});

describe('a server that imitates Postgres', () => {
  it('an error message of its choosing stays out of the answer: the SQLSTATE tells what happened', async () => {
    const server = await serve(answeringServer(errorResponse('28P01', 'MARKER-error \u001b[31m click http://evil.example')));
    const answer = await test(await connection({ url: server.url }));
    expect(answer).toEqual({
      connection_key: expect.any(String),
      test_status: 'failed',
      category: 'authentication',
      msg: `The server at 127.0.0.1:${server.port} refused the username or password (SQLSTATE 28P01)`,
      ms: expect.any(Number),
    });
    await expectNothingLeft(server.port, '127.0.0.1', server);
  });

  it('a malformed SCRAM challenge fails the test, and is never answered (it once was a rejection nobody handled)', async () => {
    const sasl = backendMessage('R', int32(10), Buffer.from('SCRAM-SHA-256\0\0'));
    const challenge = backendMessage('R', int32(11), Buffer.from('MARKER-garbage'));
    const server = await serve(answeringServer(sasl, challenge));
    const answer = await test(await connection({ url: server.url.replace('postgres@', 'postgres:secret@') }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'authentication' });
    expect(answer.msg).toBe(`The server at 127.0.0.1:${server.port} sent a SCRAM challenge without a nonce, which dsrflow does not answer`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expectAlive();
  });

  it('a SCRAM challenge asking for billions of iterations is refused before it blocks the process', async () => {
    const sasl = backendMessage('R', int32(10), Buffer.from('SCRAM-SHA-256\0\0'));
    const challenge = backendMessage('R', int32(11), Buffer.from('r=abcdef,s=QSXCR+Q6sek8bf92,i=2000000000'));
    const server = await serve(answeringServer(sasl, challenge));
    const answer = await test(await connection({ url: server.url.replace('postgres@', 'postgres:secret@') }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'authentication' });
    expect(answer.msg).toMatch(/asking for 2000000000 iterations/);
    expect(answer.ms).toBeLessThan(DEADLINE_MS);
  });
});

describe("Postgres's own schemas", () => {
  it.each(['pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_3', 'PG_Catalog'])('refuses db_schema %s when saved', async (schema) => {
    const answer = await send('PATCH', '/connection', [{ key: 'catalog', connection_type: 'postgres', access: 'read', secrets: { url: harness.targetUrl, db_schema: schema } }]);
    expect(answer.status).toBe(200);
    expect(answer.body.succeeded).toEqual([]);
    expect(answer.body.failed).toEqual([{ message: expect.stringMatching(/^body\[0\]\.secrets\.db_schema: .*Postgres's own schemas/), data: expect.objectContaining({ key: 'catalog' }) }]);
  });

  it('refuses db_schema pg_catalog in PUT …/secret with 422 naming the field', async () => {
    const key = await connection({ url: harness.targetUrl });
    const answer = await send('PUT', `/connection/${key}/secret`, { url: harness.targetUrl, db_schema: 'pg_catalog' });
    expect(answer.status).toBe(422);
    expect(answer.body.detail).toEqual([{ loc: ['body', 'db_schema'], msg: expect.stringMatching(/Postgres's own schemas/), type: 'value_error' }]);
  });

  it('answers permission for a connection saved with one before this rule', async () => {
    // Saved straight into the database, as an older version let it be.
    await harness.sql.begin((tx) =>
      upsertConnection(tx, { key: 'old_catalog', name: null, connection_type: 'postgres', access: 'read' }, { url: harness.targetUrl, db_schema: 'pg_catalog' }, harness.encryptionKey),
    );
    const answer = await test('old_catalog');
    expect(answer).toMatchObject({ test_status: 'failed', category: 'permission' });
    expect(answer.msg).toMatch(/db_schema "pg_catalog" is one of Postgres's own schemas/);
  });
});

it('still succeeds against the real database, and closes its connection', async () => {
  const key = await connection({ url: harness.targetUrl });
  const answer = await test(key);
  expect(answer).toMatchObject({ test_status: 'succeeded', category: null, msg: 'Connected and ran a query' });
  const database = new URL(harness.targetUrl).pathname.slice(1);
  await eventually(
    async () => {
      const [row] = await harness.sql<{ count: number }[]>`
        select count(*)::int as count from pg_stat_activity where datname = ${database} and application_name = ${`dsrflow:${key}`}`;
      return row!.count === 0 ? true : undefined;
    },
    { timeoutMs: 3000, what: 'the test connection to close' },
  );
});
