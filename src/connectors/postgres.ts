/** Postgres as a target data store: reads (and later masks) the rows of a data subject. */
import postgres from 'postgres';
import { z } from 'zod';
import { refusedPart, type AllowList, type ConnectionTarget } from './allow-list.js';
import { classifyPostgresError, ConnectorError } from './errors.js';
import { registerArrayTypes } from './postgres-arrays.js';
import { describeAddress, PostgresSockets, type SslMode } from './postgres-sockets.js';
import { postgresValueTypes } from './postgres-values.js';
import type { CollectionDelete, CollectionQuery, CollectionUpdate, Connector, Row } from './types.js';

/** Secrets as Fides names them (host, port, dbname…), or one `url`. */
export const postgresSecretsSchema = z.union([
  z.object({ url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'), db_schema: z.string().optional() }),
  z.object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535).default(5432),
    dbname: z.string().min(1),
    username: z.string().min(1),
    password: z.string().optional(),
    db_schema: z.string().optional(),
    ssl_mode: z.enum(['disable', 'prefer', 'require', 'verify-full']).optional(),
  }),
]);
export type PostgresSecrets = z.infer<typeof postgresSecretsSchema>;

/**
 * A name from configuration as one quoted identifier. postgres.js's own `sql(name)` splits names
 * on dots (`a.b` becomes `"a"."b"`), which would let a collection named `pg_catalog.pg_authid`
 * leave the configured schema; here a dot is just a character of the name.
 */
const ident = (sql: postgres.Sql | postgres.TransactionSql, name: string) => sql.unsafe(`"${name.replace(/"/g, '""')}"`);
const identList = (sql: postgres.Sql | postgres.TransactionSql, names: string[]) => sql.unsafe(names.map((name) => `"${name.replace(/"/g, '""')}"`).join(', '));

/**
 * A value read from (or to be written to) a data store, bound as a parameter. The server casts it
 * to its column's type; postgres.js's parameter type cannot know the row's shape. An array is
 * left untyped too: postgres.js would type it by its first element (`[true, null]` as a boolean,
 * not a boolean[]), where the server knows the column's array type.
 */
const param = (sql: postgres.Sql | postgres.TransactionSql, value: unknown) =>
  (Array.isArray(value) ? sql.typed(value as never, 0) : value) as postgres.SerializableParameter;

/** Where the connector connects, resolved once from the secrets: what the allow-list checks is what it dials. */
export interface PostgresTarget extends ConnectionTarget {
  ssl: SslMode;
  schema: string;
}

/** A connection whose secrets cannot be a connection: names the field. */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The target of a `url` as postgres.js reads it: one host (a comma-separated list is refused: with
 * several hosts, postgres.js swallows connection errors and cycles through them forever), the
 * port (5432), the database (else the user's name, which is what the server picks), and TLS from
 * `sslmode` (or `ssl`), as postgres.js maps them.
 */
function targetOfUrl(text: string): Omit<PostgresTarget, 'schema'> {
  const authority = text.slice(text.indexOf('://') + 3).split(/[/?#]/)[0]!;
  if (authority.slice(authority.lastIndexOf('@') + 1).includes(',')) {
    throw new TargetRefused('url', 'one host per connection: several hosts in one URL are not supported');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetRefused('url', 'is not a valid postgres:// URL');
  }
  const mode = url.searchParams.get('sslmode') ?? url.searchParams.get('ssl');
  const ssl: SslMode =
    url.searchParams.get('sslrootcert') === 'system'
      ? 'verify-full'
      : mode === null || mode === 'disable' || mode === 'false'
        ? 'disable'
        : mode === 'prefer'
          ? 'prefer'
          : mode === 'require' || mode === 'allow'
            ? 'require'
            : 'verify-full';
  return {
    // A percent-encoded path (`%2Fvar%2Frun%2Fpostgresql`) is the directory of a Unix-domain socket.
    host: decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username),
    ssl,
  };
}

export function postgresTarget(secrets: PostgresSecrets): PostgresTarget {
  const schema = secrets.db_schema ?? 'public';
  if ('url' in secrets) return { ...targetOfUrl(secrets.url), schema };
  return {
    host: secrets.host,
    port: secrets.port,
    database: secrets.dbname,
    // `prefer` has always meant `require` for these secrets.
    ssl: secrets.ssl_mode === undefined || secrets.ssl_mode === 'disable' ? 'disable' : secrets.ssl_mode === 'verify-full' ? 'verify-full' : 'require',
    schema,
  };
}

/** Postgres's own schemas: the catalog holds password hashes and every other database's names. */
export function isSystemSchema(schema: string): boolean {
  return /^(pg_|information_schema$)/i.test(schema);
}

/**
 * Why dsrflow must not connect to this target, naming the secret to change; undefined when it
 * may. Checked when secrets are saved and again when the connector is created, since the
 * allow-list may be set after a connection was saved.
 */
export function refusePostgresTarget(secrets: PostgresSecrets, allow: AllowList | undefined): TargetRefused | undefined {
  let target: PostgresTarget;
  try {
    target = postgresTarget(secrets);
  } catch (error) {
    if (error instanceof TargetRefused) return error;
    throw error;
  }
  if (isSystemSchema(target.schema)) {
    return new TargetRefused('db_schema', `"${target.schema}" is one of Postgres's own schemas, which dsrflow never reads`);
  }
  const part = refusedPart(target, allow);
  if (!part) return undefined;
  const where = `${describeAddress(target)}/${target.database}`;
  const field = 'url' in secrets ? 'url' : { host: 'host', port: 'port', database: 'dbname' }[part];
  return new TargetRefused(field, `${where} is not in DSRFLOW_CONNECTION_ALLOW (the ${part} matches no pattern)`);
}

export interface PostgresConnectorOptions {
  max?: number;
  applicationName?: string;
  /** DSRFLOW_CONNECTION_ALLOW; undefined: any target. */
  allow?: AllowList | undefined;
  /** Bounds TCP, TLS and the startup exchange, each (default 10 s). */
  connectTimeoutMs?: number;
}

export class PostgresConnector implements Connector {
  private readonly sql: postgres.Sql;
  private readonly sockets: PostgresSockets;
  private readonly schema: string;
  private arrayTypes: Promise<void> | undefined;

  /** Throws ConnectorError('permission') for a target dsrflow must not connect to: nothing is dialled. */
  constructor(secrets: PostgresSecrets, options: PostgresConnectorOptions = {}) {
    const refused = refusePostgresTarget(secrets, options.allow);
    if (refused) throw new ConnectorError('permission', `The connection may not be used: ${refused.field} ${refused.message}`);
    const target = postgresTarget(secrets);
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.sockets = new PostgresSockets(target, connectTimeoutMs);
    const common = {
      max: options.max ?? 4,
      onnotice: () => {},
      connect_timeout: connectTimeoutMs / 1000,
      // Fail at once when the store is unreachable: Temporal's retry policy paces the retries
      // (and records them); postgres.js's own reconnect backoff would stack seconds of waiting
      // inside one attempt.
      backoff: () => 0,
      // Registered by this connector instead (postgres-arrays.ts): postgres.js's own fetch is a
      // promise nobody handles, and its failure ends the process.
      fetch_types: false,
      // Every socket comes from this connector (postgres-sockets.ts), TLS included; the target
      // is the one resolved above, never postgres.js's PGHOST/PGPORT/PGDATABASE fallbacks.
      socket: this.sockets.open,
      ssl: false,
      host: target.host,
      port: target.port,
      ...(target.database ? { database: target.database } : {}),
      // ISO dates whatever the database's or role's default DateStyle: postgres-values.ts reads that form.
      connection: { application_name: options.applicationName ?? 'dsrflow-connector', DateStyle: 'ISO, MDY' },
      // Values as stored (postgres-values.ts): int8 and numeric exact as text, dates and
      // timestamps as ISO text without an invented zone, bytea as base64.
      types: postgresValueTypes,
    };
    if ('url' in secrets) {
      this.sql = postgres(secrets.url, common as postgres.Options<Record<string, postgres.PostgresType>>);
    } else {
      this.sql = postgres({
        ...common,
        username: secrets.username,
        ...(secrets.password !== undefined ? { password: secrets.password } : {}),
      } as postgres.Options<Record<string, postgres.PostgresType>>);
    }
    this.schema = target.schema;
  }

  /** The array types, once per connector; a failure is retried by the next operation. */
  private ready(): Promise<void> {
    this.arrayTypes ??= registerArrayTypes(this.sql).catch((error: unknown) => {
      this.arrayTypes = undefined;
      throw error;
    });
    return this.arrayTypes;
  }

  async retrieve(query: CollectionQuery): Promise<Row[]> {
    const filters = query.filters.filter((filter) => filter.values.length > 0);
    if (filters.length === 0) return []; // nothing to look for: never read a whole table
    const sql = this.sql;
    const where = filters
      // The server infers the array's element type from the column, so keys of any type compare
      // with their index (int ids, varchar ids, uuids).
      .map((filter) => sql`${ident(sql, filter.field)} = any(${param(sql, filter.values)})`)
      .reduce((all, condition) => sql`${all} or ${condition}`);
    try {
      await this.ready();
      return await sql<Row[]>`select ${identList(sql, query.fields)} from ${ident(sql, this.schema)}.${ident(sql, query.collection)} where ${where}`;
    } catch (error) {
      throw classifyPostgresError(error);
    }
  }

  async mask({ collection, rows }: CollectionUpdate): Promise<number> {
    if (rows.length === 0) return 0;
    const sql = this.sql;
    try {
      await this.ready();
      return await sql.begin(async (tx) => {
        let changed = 0;
        for (const { key, values } of rows) {
          const where = matchKey(tx, key);
          if (Object.keys(values).length === 0) continue; // nothing to write in this row
          const assignments = Object.entries(values)
            .map(([column, value]) => tx`${ident(tx, column)} = ${param(tx, value)}`)
            .reduce((all, assignment) => tx`${all}, ${assignment}`);
          const result = await tx`update ${ident(tx, this.schema)}.${ident(tx, collection)} set ${assignments} where ${where}`;
          changed += result.count;
        }
        return changed;
      });
    } catch (error) {
      throw classifyPostgresError(error);
    }
  }

  async deleteRows({ collection, keys }: CollectionDelete): Promise<number> {
    if (keys.length === 0) return 0;
    try {
      await this.ready();
      return await this.sql.begin(async (tx) => {
        let deleted = 0;
        for (const key of keys) {
          const result = await tx`delete from ${ident(tx, this.schema)}.${ident(tx, collection)} where ${matchKey(tx, key)}`;
          deleted += result.count;
        }
        return deleted;
      });
    } catch (error) {
      throw classifyPostgresError(error);
    }
  }

  async test(): Promise<void> {
    try {
      // The catalog query every operation needs first, then a trivial one.
      await this.ready();
      await this.sql`select 1`;
    } catch (error) {
      throw classifyPostgresError(error);
    }
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
    this.sockets.destroyAll();
  }

  destroy(): void {
    this.sockets.destroyAll();
    // Rejects the queries still waiting for a connection; nothing waits for this.
    this.sql.end({ timeout: 0 }).catch(() => undefined);
  }

  /** Sockets open now: for tests that check a connector leaves none behind. */
  get openSockets(): number {
    return this.sockets.size;
  }
}

/** `a = $1 and b = $2` for a primary key; the server casts each value to its column's type. */
function matchKey(sql: postgres.TransactionSql, key: Row) {
  const entries = Object.entries(key);
  if (entries.length === 0) throw new ConnectorError('bad_data', 'A row cannot be addressed without its primary key');
  return entries
    .map(([field, value]) => (value === null ? sql`${ident(sql, field)} is null` : sql`${ident(sql, field)} = ${param(sql, value)}`))
    .reduce((all, condition) => sql`${all} and ${condition}`);
}

export function parsePostgresSecrets(secrets: unknown): PostgresSecrets {
  const parsed = postgresSecretsSchema.safeParse(secrets);
  if (!parsed.success) throw new ConnectorError('authentication', `The connection's secrets are incomplete: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'secrets'} ${issue.message}`).join('; ')}`);
  return parsed.data;
}
