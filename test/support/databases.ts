/** Test databases on the local Postgres server (DSRFLOW_TEST_POSTGRES_URL to use another). */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

const SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function serverUrl(database: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A new database copied from a template; returns its URL. */
export async function cloneDatabase(template: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(serverUrl('postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin`create database ${admin(name)} template ${admin(template)}`;
  } finally {
    await admin.end();
  }
  return serverUrl(name);
}

export async function dropDatabasesWithPrefix(admin: postgres.Sql, prefix: string): Promise<void> {
  const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${prefix + '%'}`;
  for (const { datname } of rows) await admin`drop database if exists ${admin(datname)} with (force)`;
}
