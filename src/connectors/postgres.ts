/** Postgres as a target data store: reads (and later masks) the rows of a data subject. */
import postgres from 'postgres';
import { z } from 'zod';
import { classifyPostgresError, ConnectorError } from './errors.js';
import { registerArrayTypes } from './postgres-arrays.js';
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

/** int8 and numeric come back as text: keep them exact, but as numbers when that loses nothing. */
function exactNumber(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) && String(value) === text ? value : text;
}

export class PostgresConnector implements Connector {
  private readonly sql: postgres.Sql;
  private readonly schema: string;
  private arrayTypes: Promise<void> | undefined;

  constructor(secrets: PostgresSecrets, options: { max?: number; applicationName?: string } = {}) {
    const common = {
      max: options.max ?? 4,
      onnotice: () => {},
      connect_timeout: 10,
      // Fail at once when the store is unreachable: Temporal's retry policy paces the retries
      // (and records them); postgres.js's own reconnect backoff would stack seconds of waiting
      // inside one attempt.
      backoff: () => 0,
      // Registered by this connector instead (postgres-arrays.ts): postgres.js's own fetch is a
      // promise nobody handles, and its failure ends the process.
      fetch_types: false,
      connection: { application_name: options.applicationName ?? 'dsrflow-connector' },
      types: { int8: { to: 20, from: [20], serialize: String, parse: exactNumber } },
    };
    if ('url' in secrets) {
      this.sql = postgres(secrets.url, common);
    } else {
      this.sql = postgres({
        ...common,
        host: secrets.host,
        port: secrets.port,
        database: secrets.dbname,
        username: secrets.username,
        ...(secrets.password !== undefined ? { password: secrets.password } : {}),
        ...(secrets.ssl_mode && secrets.ssl_mode !== 'disable' ? { ssl: secrets.ssl_mode === 'verify-full' ? 'verify-full' : 'require' } : {}),
      });
    }
    this.schema = secrets.db_schema ?? 'public';
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
      .map((filter) => sql`${sql(filter.field)} = any(${filter.values as never})`)
      .reduce((all, condition) => sql`${all} or ${condition}`);
    try {
      await this.ready();
      return await sql<Row[]>`select ${sql(query.fields)} from ${sql(this.schema)}.${sql(query.collection)} where ${where}`;
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
          const result = await tx`update ${tx(this.schema)}.${tx(collection)} set ${tx(values)} where ${where}`;
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
          const result = await tx`delete from ${tx(this.schema)}.${tx(collection)} where ${matchKey(tx, key)}`;
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
  }
}

/** `a = $1 and b = $2` for a primary key; the server casts each value to its column's type. */
function matchKey(sql: postgres.TransactionSql, key: Row) {
  const entries = Object.entries(key);
  if (entries.length === 0) throw new ConnectorError('bad_data', 'A row cannot be addressed without its primary key');
  return entries
    .map(([field, value]) => (value === null ? sql`${sql(field)} is null` : sql`${sql(field)} = ${value as never}`))
    .reduce((all, condition) => sql`${all} and ${condition}`);
}

export function parsePostgresSecrets(secrets: unknown): PostgresSecrets {
  const parsed = postgresSecretsSchema.safeParse(secrets);
  if (!parsed.success) throw new ConnectorError('authentication', `The connection's secrets are incomplete: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'secrets'} ${issue.message}`).join('; ')}`);
  return parsed.data;
}
