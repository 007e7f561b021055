/**
 * MariaDB for tests: the local server (DSRFLOW_TEST_MARIADB_URL to use another). A test that
 * needs it fails, naming the server, when it does not answer: it never skips silently
 * (`.ci/run` starts the server when it is down).
 */
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { createMariadbExample, dropMariadbDatabase, mariadbDatabaseUrl } from '../../src/example/load-mariadb.js';
import { quoteIdentifier } from '../../src/connectors/mariadb.js';
import { randomBytes } from 'node:crypto';

export const MARIADB_SERVER_URL = process.env.DSRFLOW_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306';

/** Throws a message that says what to do when no MariaDB answers. */
export async function requireMariadb(): Promise<void> {
  const url = new URL(MARIADB_SERVER_URL);
  try {
    const connection = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username) || 'root', password: decodeURIComponent(url.password) || undefined, connectTimeout: 5_000 });
    await connection.end();
  } catch (error) {
    throw new Error(
      `MariaDB does not answer at ${url.host} (${(error as Error).message}): these tests need it. Start it (.ci/run does: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd) or set DSRFLOW_TEST_MARIADB_URL.`,
    );
  }
}

/** A connection to the server for a test's own set-up and checks (several statements per query allowed). */
export async function mariadbAdmin(database?: string): Promise<mysql.Connection> {
  const url = new URL(MARIADB_SERVER_URL);
  const connection = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password) || undefined,
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    ...(database ? { database } : {}),
  });
  await connection.query("SET time_zone = '+00:00'");
  return connection;
}

/** A prefix unique to this test run and file purpose. */
const prefixOf = (purpose: string) => `${inject('runId')}_${purpose}`.slice(0, 50);

/** An empty database of the test's own; drop() removes it. */
export async function createMariadbDatabase(purpose: string): Promise<{ database: string; url: string; drop: () => Promise<void> }> {
  await requireMariadb();
  const database = `${prefixOf(purpose)}_${randomBytes(3).toString('hex')}`;
  const admin = await mariadbAdmin();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(database)} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  return { database, url: mariadbDatabaseUrl(MARIADB_SERVER_URL, database), drop: () => dropMariadbDatabase(MARIADB_SERVER_URL, database) };
}

/** A database holding Fides' MariaDB example; drop() removes it. */
export async function createMariadbExampleDatabase(purpose: string): Promise<{ database: string; url: string; drop: () => Promise<void> }> {
  await requireMariadb();
  const { database, url } = await createMariadbExample(MARIADB_SERVER_URL, prefixOf(purpose));
  return { database, url, drop: () => dropMariadbDatabase(MARIADB_SERVER_URL, database) };
}

/** Every row of every table of a database, ordered, for before/after comparisons. */
export async function snapshotMariadb(database: string): Promise<Record<string, Record<string, unknown>[]>> {
  const admin = await mariadbAdmin(database);
  try {
    const [tables] = await admin.query('select TABLE_NAME as name from information_schema.TABLES where TABLE_SCHEMA = database() order by TABLE_NAME');
    const snapshot: Record<string, Record<string, unknown>[]> = {};
    for (const { name } of tables as { name: string }[]) {
      const [rows] = await admin.query(`select * from ${quoteIdentifier(name)} order by 1, 2`);
      snapshot[name] = rows as Record<string, unknown>[];
    }
    return snapshot;
  } finally {
    await admin.end();
  }
}
