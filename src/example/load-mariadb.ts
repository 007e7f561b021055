/**
 * Fides' MariaDB example (src/example/fides-mariadb-example, unchanged files): its schema and
 * rows loaded into a database of the caller's choosing, and a connection plus its dataset
 * registered in dsrflow. The same people, orders and logins as the Postgres example.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { Sql } from '../db/client.js';
import { upsertConnection } from '../db/connections.js';
import { upsertDataset } from '../db/datasets.js';
import { savePolicy } from '../db/policies.js';
import { parseDatasetYaml } from '../domain/datasets.js';
import { quoteIdentifier } from '../connectors/mariadb.js';
import { defaultAccessPolicy, exampleErasurePolicy } from './load.js';

export const MARIADB_EXAMPLE_DIR = fileURLToPath(new URL('./fides-mariadb-example/', import.meta.url));
export const MARIADB_EXAMPLE_CONNECTION_KEY = 'mariadb_example';
export const MARIADB_EXAMPLE_DATASET = 'mariadb_example_test_dataset';

export async function mariadbExampleDataset() {
  return parseDatasetYaml(await readFile(`${MARIADB_EXAMPLE_DIR}/mariadb_example_test_dataset.yml`, 'utf8'));
}

/** Statements that set up Fides' own server (its user, its database), not the example's tables. */
const SERVER_STATEMENT = /^(CREATE\s+USER|GRANT|FLUSH|CREATE\s+DATABASE|USE)\b/i;

/** The statements of one of the example's scripts: comment lines left out, split at `;`, server set-up skipped. */
export function exampleStatements(script: string): string[] {
  return script
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0 && !SERVER_STATEMENT.test(statement));
}

/** `mariadb://user:password@host:port` (any database in the URL is ignored) as mysql2 options. */
function serverOptions(serverUrl: string): mysql.ConnectionOptions {
  const url = new URL(serverUrl);
  return {
    host: decodeURIComponent(url.hostname) || '127.0.0.1',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    connectTimeout: 10_000,
  };
}

/** The URL of a database on the server. */
export function mariadbDatabaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Creates the database (which must not exist) and loads the example's schema and rows into it.
 * The rows' TIMESTAMP values are read as UTC, whatever the server's own time zone.
 */
export async function loadMariadbExample(serverUrl: string, database: string): Promise<string> {
  const [schema, rows] = await Promise.all([readFile(`${MARIADB_EXAMPLE_DIR}/mariadb_example.sql`, 'utf8'), readFile(`${MARIADB_EXAMPLE_DIR}/mariadb_example_data.sql`, 'utf8')]);
  const connection = await mysql.createConnection(serverOptions(serverUrl));
  try {
    await connection.query(`CREATE DATABASE ${quoteIdentifier(database)} CHARACTER SET utf8mb4`);
    await connection.query(`USE ${quoteIdentifier(database)}`);
    await connection.query("SET time_zone = '+00:00'");
    for (const statement of [...exampleStatements(schema), ...exampleStatements(rows)]) await connection.query(statement);
  } finally {
    await connection.end();
  }
  return mariadbDatabaseUrl(serverUrl, database);
}

/** A new database named `<prefix>_<random>` holding the example; returns its name and URL. */
export async function createMariadbExample(serverUrl: string, prefix: string): Promise<{ database: string; url: string }> {
  const database = `${prefix}_${randomBytes(3).toString('hex')}`;
  return { database, url: await loadMariadbExample(serverUrl, database) };
}

export async function dropMariadbDatabase(serverUrl: string, database: string): Promise<void> {
  const connection = await mysql.createConnection(serverOptions(serverUrl));
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`);
  } finally {
    await connection.end();
  }
}

/** Registers a connection to the example database, its dataset, and the example policies. */
export async function registerMariadbExample(sql: Sql, exampleUrl: string, encryptionKey: Buffer, connectionKey = MARIADB_EXAMPLE_CONNECTION_KEY): Promise<void> {
  const [dataset] = await mariadbExampleDataset();
  await sql.begin(async (tx) => {
    await upsertConnection(tx, { key: connectionKey, name: 'Fides example MariaDB', connection_type: 'mariadb', access: 'write' }, { url: exampleUrl }, encryptionKey);
    await upsertDataset(tx, connectionKey, dataset!);
    await savePolicy(tx, defaultAccessPolicy);
    await savePolicy(tx, exampleErasurePolicy);
  });
}
