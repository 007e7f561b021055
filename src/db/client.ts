/**
 * Connections to the service's own Postgres database.
 *
 * `postgres` (porsager) with tagged-template SQL; every query in dsrflow goes through a `Sql`
 * created here, and the queries for each table live together in one module of `src/db/`.
 */
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/**
 * A value for a jsonb column. What dsrflow stores as JSON is plain data (parsed JSON, validated
 * configuration, rows read from a data store), which postgres.js's JSON type cannot see through
 * interfaces: this is the one place that says so.
 */
export const asJson = (value: unknown): postgres.JSONValue => value as postgres.JSONValue;

export interface ConnectOptions {
  /** Pool size; the API and the worker each keep one pool. */
  max?: number;
  /** Shown in pg_stat_activity, which makes a stuck query easy to trace back. */
  applicationName?: string;
}

export function connect(databaseUrl: string, options: ConnectOptions = {}): Sql {
  return postgres(databaseUrl, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'dsrflow' },
    // int8 ids and counts of dsrflow's own tables fit in a JS number.
    types: { int8: { to: 20, from: [20], serialize: (value: number) => String(value), parse: Number } },
  });
}

/** Splits a database URL into the URL of the server's maintenance database and the database name. */
export function databaseName(databaseUrl: string): { name: string; maintenanceUrl: string } {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  return { name, maintenanceUrl: url.toString() };
}

/** Creates the database named in the URL when it does not exist yet; returns whether it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { name, maintenanceUrl } = databaseName(databaseUrl);
  const admin = postgres(maintenanceUrl, { max: 1, onnotice: () => {} });
  try {
    const [existing] = await admin`select 1 from pg_database where datname = ${name}`;
    if (existing) return false;
    try {
      await admin`create database ${admin(name)}`;
    } catch (error) {
      // Another process created it between the check and the create (42P04, or 23505 when both
      // inserted into pg_database at the same moment): that is fine.
      const code = (error as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw error;
      return false;
    }
    return true;
  } finally {
    await admin.end();
  }
}

/** Socket and postgres.js codes of a connection that could not be made or was lost. */
const CONNECTION_LOST = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED']);

/**
 * Whether an error means the service's own database is unreachable for now (stopped, restarting,
 * failing over, refusing connections), rather than that a statement was wrong: SQLSTATE class 08
 * (connection exception), 57P01–57P03 (shut down, crashed, starting up), 53300 (too many
 * connections), a database that does not accept connections for now, and lost sockets.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string') return false;
  if (CONNECTION_LOST.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  return code === '55000' && typeof message === 'string' && /not currently accepting connections/.test(message);
}
