/** SQL for `connection_config`. Secrets are stored encrypted and only decrypted by the worker. */
import { decrypt, encrypt } from '../crypto.js';
import type { Sql, TransactionSql } from './client.js';

export const CONNECTION_TYPES = ['postgres', 'mariadb', 'http', 'manual'] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];
export type ConnectionAccess = 'read' | 'write';

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

export async function getConnection(sql: Sql, key: string): Promise<ConnectionRow | undefined> {
  const [row] = await sql<ConnectionRow[]>`select ${sql(columns)} from connection_config where key = ${key}`;
  return row;
}

export async function listConnections(sql: Sql): Promise<ConnectionRow[]> {
  return sql<ConnectionRow[]>`select ${sql(columns)} from connection_config order by key`;
}

export async function deleteConnection(sql: Sql, key: string): Promise<boolean> {
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
