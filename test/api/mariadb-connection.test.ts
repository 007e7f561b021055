/**
 * MariaDB connections through the API: secrets validated per field (Fides' form or a URL), the
 * server's own databases refused when saved, and `GET /connection/{key}/test` against the real
 * server and against addresses that misbehave, answering in dsrflow's own words within the
 * deadline, never with a secret, and leaving no socket behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bannerServer, openSocketsTo, silentServer, type ForeignServer } from '../support/foreign-servers.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { createMariadbDatabase, MARIADB_SERVER_URL } from '../support/mariadb.js';

const DEADLINE_MS = 2000;
const PASSWORD = 'pa55-w0rd-7d1e';

let harness: Harness;
let database: Awaited<ReturnType<typeof createMariadbDatabase>>;
const servers: ForeignServer[] = [];
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);
const server = new URL(MARIADB_SERVER_URL);
const host = server.hostname;
const port = Number(server.port || 3306);
const username = decodeURIComponent(server.username) || 'root';

beforeAll(async () => {
  process.on('unhandledRejection', recordUnhandled);
  database = await createMariadbDatabase('mapi');
  harness = await createHarness({ example: false, env: { DSRFLOW_CONNECTION_TEST_TIMEOUT: `${DEADLINE_MS}ms` } });
});

afterAll(async () => {
  process.off('unhandledRejection', recordUnhandled);
  await Promise.all(servers.map((started) => started.close()));
  await harness?.close();
  await database?.drop();
});

async function send(method: string, path: string, body?: unknown) {
  const response = await harness.fetch(`/api/v1${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

let keys = 0;
async function connection(secrets: Record<string, unknown>): Promise<string> {
  const key = `maria_${++keys}`;
  const answer = await send('PATCH', '/connection', [{ key, connection_type: 'mariadb', access: 'write', secrets }]);
  expect(answer.body.failed, JSON.stringify(answer.body)).toEqual([]);
  return key;
}

async function test(key: string) {
  const started = Date.now();
  const answer = await send('GET', `/connection/${key}/test`);
  expect(answer.status).toBe(200);
  return { ...(answer.body as { test_status: string; category: string | null; msg: string }), ms: Date.now() - started };
}

describe('secrets', () => {
  it('are checked per field, in the form they take', async () => {
    const answer = await send('PATCH', '/connection', [
      { key: 'm_parts', connection_type: 'mariadb', access: 'read', secrets: { host, username } },
      { key: 'm_url', connection_type: 'mariadb', access: 'read', secrets: { url: 'postgres://db/shop' } },
    ]);
    expect(answer.body.succeeded).toEqual([]);
    expect(answer.body.failed.map((failure: { message: string }) => failure.message)).toEqual([
      expect.stringMatching(/^body\[0\]\.secrets\.dbname: /),
      expect.stringMatching(/^body\[1\]\.secrets\.url: must be a mariadb:\/\/ or mysql:\/\/ URL/),
    ]);
  });

  it("refuse the server's own databases when saved", async () => {
    const answer = await send('PATCH', '/connection', [{ key: 'm_grants', connection_type: 'mariadb', access: 'read', secrets: { host, port, dbname: 'mysql', username } }]);
    expect(answer.body.failed).toEqual([{ message: expect.stringMatching(/^body\[0\]\.secrets\.dbname: .*server's own databases/), data: expect.objectContaining({ key: 'm_grants' }) }]);
  });
});

describe('the connection test', () => {
  it('succeeds against the real server, from Fides-style secrets or a URL', async () => {
    expect(await test(await connection({ host, port, dbname: database.database, username }))).toMatchObject({ test_status: 'succeeded', category: null });
    expect(await test(await connection({ url: database.url.replace(/^mariadb:/, 'mysql:') }))).toMatchObject({ test_status: 'succeeded' });
  });

  it('names a wrong password (authentication) without the password, and an unknown database (not_found)', async () => {
    const wrong = await test(await connection({ host, port, dbname: database.database, username, password: PASSWORD }));
    expect(wrong).toMatchObject({ test_status: 'failed', category: 'authentication', msg: `The server at ${host}:${port} refused the username or password (error 1045)` });
    const viaUrl = await test(await connection({ url: `mariadb://${username}:${PASSWORD}@${host}:${port}/${database.database}` }));
    expect(viaUrl).toMatchObject({ test_status: 'failed', category: 'authentication' });
    expect(viaUrl.msg).not.toContain(PASSWORD);
    const missing = await test(await connection({ host, port, dbname: `${database.database}_missing`, username }));
    expect(missing).toMatchObject({ test_status: 'failed', category: 'not_found', msg: `The database "${database.database}_missing" does not exist on the server at ${host}:${port} (error 1049)` });
  });

  it('a port nothing listens on: not_found, at once', async () => {
    const answer = await test(await connection({ host: '127.0.0.1', port: 1, dbname: 'shop', username }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'not_found', msg: 'No database server answers at the configured address 127.0.0.1:1 (ECONNREFUSED)' });
  });

  it('a silent server: timeout at the deadline, and no socket left', async () => {
    const silent = await silentServer();
    servers.push(silent);
    const answer = await test(await connection({ host: '127.0.0.1', port: silent.port, dbname: 'shop', username }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'timeout', msg: `No answer from 127.0.0.1:${silent.port} within 2s` });
    expect(answer.ms).toBeLessThan(DEADLINE_MS + 1500);
    await eventually(async () => ((await openSocketsTo(silent.port, '127.0.0.1')) === 0 ? true : undefined), { timeoutMs: 2000, what: 'the socket to close' });
  });

  it('a server that speaks another protocol: not_found at once, in dsrflow words, none of its bytes in the answer', async () => {
    const banner = await bannerServer('SSH-2.0-OpenSSH_9.6 MARKER-banner-7f3a\r\n');
    servers.push(banner);
    const answer = await test(await connection({ host: '127.0.0.1', port: banner.port, dbname: 'shop', username }));
    expect(answer).toMatchObject({ test_status: 'failed', category: 'not_found', msg: `The server at the configured address 127.0.0.1:${banner.port} does not speak the MariaDB/MySQL protocol` });
    expect(answer.msg).not.toMatch(/SSH|MARKER|OpenSSH/);
    expect(answer.ms).toBeLessThan(DEADLINE_MS);
    expect((await harness.fetch('/health')).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});
