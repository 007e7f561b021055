/** Run-wide cleanup of MariaDB test databases (no vitest imports: test/global-setup.ts uses it). */
import mysql from 'mysql2/promise';
import { quoteIdentifier } from '../../src/connectors/mariadb.js';

/** Drops every database whose name starts with the prefix (a test run's leftovers). */
export async function dropMariadbDatabasesWithPrefix(prefix: string, serverUrl = process.env.DSRFLOW_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306'): Promise<void> {
  const url = new URL(serverUrl);
  const admin = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username) || 'root', password: decodeURIComponent(url.password) || undefined, connectTimeout: 5_000 });
  try {
    const [rows] = await admin.query('select SCHEMA_NAME as name from information_schema.SCHEMATA where SCHEMA_NAME like ?', [`${prefix.replace(/[\\%_]/g, '\\$&')}%`]);
    for (const { name } of rows as { name: string }[]) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
  } finally {
    await admin.end();
  }
}
