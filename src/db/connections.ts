/** SQL for `connection_config`. Secrets are stored encrypted and only decrypted by the worker. */
import { decrypt, encrypt } from '../crypto.js';
import type { Sql, TransactionSql } from './client.js';

import type { ConnectionAccess, ConnectionType } from '../domain/connections.js';

export type { ConnectionAccess, ConnectionType };

export interface ConnectionRow {
  key: string;
  name: string | null;
  connection_type: ConnectionType;
  access: ConnectionAccess;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface ConnectionInput {
  key: string;
  name?: string | null | undefined;
  connection_type: ConnectionType;
  access: ConnectionAccess;
  disabled?: boolean | undefined;
}

export type ConnectionSecrets = Record<string, unknown>;

const secretsContext = (key: string) => `connection-secrets:${key}`;
const columns = ['key', 'name', 'connection_type', 'access', 'disabled', 'created_at', 'updated_at'] as const;

/** Creates or updates a connection; secrets are replaced only when given. */
export async function upsertConnection(sql: Sql | TransactionSql, input: ConnectionInput, secrets: ConnectionSecrets | undefined, key: Buffer): Promise<ConnectionRow> {
  const sealed = secrets === undefined ? null : encrypt(key, JSON.stringify(secrets), secretsContext(input.key));
  const [row] = await sql<ConnectionRow[]>`
    insert into connection_config (key, name, connection_type, access, disabled, secrets_encrypted)
    values (${input.key}, ${input.name ?? null}, ${input.connection_type}, ${input.access}, ${input.disabled ?? false}, ${sealed})
    on conflict (key) do update set
      name = excluded.name,
      connection_type = excluded.connection_type,
      access = excluded.access,
      disabled = excluded.disabled,
      secrets_encrypted = coalesce(excluded.secrets_encrypted, connection_config.secrets_encrypted),
      updated_at = now()
    returning ${sql(columns)}`;
  return row!;
}

export async function deleteConnection(sql: Sql | TransactionSql, key: string): Promise<boolean> {
  const rows = await sql`delete from connection_config where key = ${key} returning key`;
  return rows.length === 1;
}

/** The connection with its secrets decrypted: for connectors in the worker, never for API responses. */
export async function getConnectionWithSecrets(sql: Sql, connectionKey: string, key: Buffer): Promise<(ConnectionRow & { secrets: ConnectionSecrets }) | undefined> {
  const [row] = await sql<(ConnectionRow & { secrets_encrypted: Buffer | null })[]>`
    select ${sql(columns)}, secrets_encrypted from connection_config where key = ${connectionKey}`;
  if (!row) return undefined;
  const { secrets_encrypted, ...connection } = row;
  const secrets = secrets_encrypted ? (JSON.parse(decrypt(key, secrets_encrypted, secretsContext(connectionKey))) as ConnectionSecrets) : {};
  return { ...connection, secrets };
}

/** Connection key → type, for the planner to tell manual collections apart. */
export async function connectionTypes(sql: Sql, keys: string[]): Promise<Map<string, ConnectionType>> {
  if (!keys.length) return new Map();
  const rows = await sql<{ key: string; connection_type: ConnectionType }[]>`
    select key, connection_type from connection_config where key = any(${sql.array(keys)})`;
  return new Map(rows.map((row) => [row.key, row.connection_type]));
}

/** A connection as the API shows it: whether secrets are set, never the secrets themselves. */
export interface ConnectionSummary extends ConnectionRow {
  secrets_configured: boolean;
}

/** The values of a connection as they are to be stored (the caller merges a partial update). */
export interface ConnectionValues {
  key: string;
  name: string | null;
  connection_type: ConnectionType;
  access: ConnectionAccess;
  disabled: boolean;
}

/** One connection without its secrets; `forUpdate` locks the row for the caller's transaction. */
export async function findConnection(sql: Sql | TransactionSql, key: string, options: { forUpdate?: boolean } = {}): Promise<ConnectionSummary | undefined> {
  const [row] = await sql<ConnectionSummary[]>`
    select ${sql(columns)}, secrets_encrypted is not null as secrets_configured
    from connection_config where key = ${key}
    ${options.forUpdate ? sql`for update` : sql``}`;
  return row;
}

/** A page of connections by key, without their secrets. */
export async function listConnectionPage(sql: Sql, page: number, size: number): Promise<{ items: ConnectionSummary[]; total: number }> {
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from connection_config`;
  const items = await sql<ConnectionSummary[]>`
    select ${sql(columns)}, secrets_encrypted is not null as secrets_configured
    from connection_config order by key limit ${size} offset ${(page - 1) * size}`;
  return { items, total: count!.total };
}

/**
 * Inserts or updates a connection with exactly these values. Secrets: `undefined` keeps the
 * stored ones, `null` removes them, an object replaces them (encrypted here).
 */
export async function saveConnection(sql: Sql | TransactionSql, values: ConnectionValues, secrets: ConnectionSecrets | null | undefined, key: Buffer): Promise<ConnectionSummary> {
  const sealed = secrets ? encrypt(key, JSON.stringify(secrets), secretsContext(values.key)) : null;
  const [row] = await sql<ConnectionSummary[]>`
    insert into connection_config (key, name, connection_type, access, disabled, secrets_encrypted)
    values (${values.key}, ${values.name}, ${values.connection_type}, ${values.access}, ${values.disabled}, ${sealed})
    on conflict (key) do update set
      name = excluded.name,
      connection_type = excluded.connection_type,
      access = excluded.access,
      disabled = excluded.disabled,
      secrets_encrypted = ${secrets === undefined ? sql`connection_config.secrets_encrypted` : sql`excluded.secrets_encrypted`},
      updated_at = now()
    returning ${sql(columns)}, secrets_encrypted is not null as secrets_configured`;
  return row!;
}

/** Replaces a connection's secrets (null removes them); undefined when there is no such connection. */
export async function setConnectionSecrets(sql: Sql | TransactionSql, connectionKey: string, secrets: ConnectionSecrets | null, key: Buffer): Promise<ConnectionSummary | undefined> {
  const sealed = secrets ? encrypt(key, JSON.stringify(secrets), secretsContext(connectionKey)) : null;
  const [row] = await sql<ConnectionSummary[]>`
    update connection_config set secrets_encrypted = ${sealed}, updated_at = now() where key = ${connectionKey}
    returning ${sql(columns)}, secrets_encrypted is not null as secrets_configured`;
  return row;
}
