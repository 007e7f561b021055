/**
 * postgres.js, as patched at install (scripts/patch-postgres.mjs), when the connection under a
 * query is lost: the query fails with a connection error, the pool serves the next query on a new
 * connection, and `sql.end()` finishes. Unpatched, `end()` waited forever after either loss
 * (porsager/postgres#1097, #1130): a worker could not shut down after its Postgres restarted, and
 * the suite's own teardown hung (e2e/own-database-outage, on CI).
 */
import { createServer, Socket, type Server } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/client.js';
import { serverUrl } from '../support/databases.js';

let admin: postgres.Sql;
beforeAll(() => {
  admin = postgres(serverUrl('postgres'), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await admin.end();
});

/** Resolves to 'ended' when end() finishes within the time, 'hung' otherwise. */
async function endsWithin(sql: postgres.Sql, ms: number): Promise<'ended' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([sql.end().then(() => 'ended' as const), hung]);
  } finally {
    clearTimeout(timer);
  }
}

async function backendOf(applicationName: string): Promise<number> {
  for (let i = 0; i < 100; i += 1) {
    const [row] = await admin<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${applicationName} and state = 'active'`;
    if (row) return row.pid;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no active backend for ${applicationName}`);
}

it('fails the query and still ends when the server terminates the backend under it', async () => {
  const applicationName = `connection-loss-${process.pid}-terminate`;
  const sql = postgres(serverUrl('postgres'), { max: 2, onnotice: () => {}, connection: { application_name: applicationName } });
  const sleeping = sql`select pg_sleep(30)`.then(
    () => undefined,
    (error: unknown) => error,
  );
  await admin`select pg_terminate_backend(${await backendOf(applicationName)})`;
  const error = await sleeping;
  expect(isDatabaseUnavailable(error)).toBe(true);
  // The pool goes on with a new connection.
  expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
  expect(await endsWithin(sql, 5_000)).toBe('ended');
});

it('fails the query and still ends when the connection is reset under it', async () => {
  // A TCP proxy in front of Postgres that resets (RST) every connection it carries on demand.
  const upstream = new URL(serverUrl('postgres'));
  const carried = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const server = new Socket();
    server.connect(Number(upstream.port || 5432), upstream.hostname);
    client.pipe(server).pipe(client);
    const drop = () => {
      client.destroy();
      server.destroy();
    };
    client.on('error', drop);
    server.on('error', drop);
    carried.add(client);
    client.on('close', () => carried.delete(client));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  if (!address || typeof address === 'string') throw new Error('proxy without a port');
  const applicationName = `connection-loss-${process.pid}-reset`;
  const url = new URL(serverUrl('postgres'));
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {}, connection: { application_name: applicationName } });
  try {
    const sleeping = sql`select pg_sleep(30)`.then(
      () => undefined,
      (error: unknown) => error,
    );
    const pid = await backendOf(applicationName);
    for (const socket of carried) socket.resetAndDestroy();
    const error = (await sleeping) as { code?: string };
    expect(error.code).toBe('ECONNRESET');
    expect(isDatabaseUnavailable(error)).toBe(true);
    await admin`select pg_terminate_backend(${pid})`;
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
    expect(await endsWithin(sql, 5_000)).toBe('ended');
  } finally {
    for (const socket of carried) socket.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  }
});
