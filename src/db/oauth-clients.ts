/** SQL for `oauth_client`: OAuth2 clients (client credentials grant), their scopes and secret hashes. */
import type { Sql, TransactionSql } from './client.js';

export interface OAuthClientRow {
  id: string;
  name: string | null;
  secret_hash: string;
  scopes: string[];
  root: boolean;
  created_by: string | null;
  created_at: Date;
  secret_rotated_at: Date;
}

export type OAuthClientSummary = Omit<OAuthClientRow, 'secret_hash'>;

const summary = ['id', 'name', 'scopes', 'root', 'created_by', 'created_at', 'secret_rotated_at'] as const;

export async function insertClient(
  sql: Sql | TransactionSql,
  client: { id: string; name: string | null; secretHash: string; scopes: string[]; createdBy: string | null },
): Promise<OAuthClientSummary | undefined> {
  const [row] = await sql<OAuthClientSummary[]>`
    insert into oauth_client (id, name, secret_hash, scopes, created_by)
    values (${client.id}, ${client.name}, ${client.secretHash}, ${sql.array(client.scopes)}::text[], ${client.createdBy})
    on conflict (id) do nothing
    returning ${sql(summary)}`;
  return row;
}

/** The root client from configuration: created, or its secret hash and scopes brought up to date. */
export async function upsertRootClient(sql: Sql | TransactionSql, client: { id: string; secretHash: string; scopes: string[] }): Promise<void> {
  await sql`
    insert into oauth_client (id, name, secret_hash, scopes, root, created_by)
    values (${client.id}, 'root (DSRFLOW_ROOT_CLIENT_ID)', ${client.secretHash}, ${sql.array(client.scopes)}::text[], true, 'configuration')
    on conflict (id) do update set secret_hash = excluded.secret_hash, scopes = excluded.scopes, root = true, secret_rotated_at = now()`;
}

export async function findClient(sql: Sql | TransactionSql, id: string, options: { forUpdate?: boolean } = {}): Promise<OAuthClientRow | undefined> {
  const [row] = options.forUpdate
    ? await sql<OAuthClientRow[]>`select * from oauth_client where id = ${id} for update`
    : await sql<OAuthClientRow[]>`select * from oauth_client where id = ${id}`;
  return row;
}

export async function listClientPage(sql: Sql, page: number, size: number): Promise<{ items: OAuthClientSummary[]; total: number }> {
  const items = await sql<OAuthClientSummary[]>`select ${sql(summary)} from oauth_client order by id limit ${size} offset ${(page - 1) * size}`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from oauth_client`;
  return { items, total: count!.total };
}

export async function setClientScopes(sql: Sql | TransactionSql, id: string, scopes: string[]): Promise<OAuthClientSummary | undefined> {
  const [row] = await sql<OAuthClientSummary[]>`update oauth_client set scopes = ${sql.array(scopes)}::text[] where id = ${id} returning ${sql(summary)}`;
  return row;
}

/** Replaces the secret hash; the caller revokes the client's tokens in the same transaction. */
export async function setClientSecret(sql: Sql | TransactionSql, id: string, secretHash: string): Promise<OAuthClientSummary | undefined> {
  const [row] = await sql<OAuthClientSummary[]>`
    update oauth_client set secret_hash = ${secretHash}, secret_rotated_at = now() where id = ${id} returning ${sql(summary)}`;
  return row;
}

/** Deletes the client; its tokens go with it (on delete cascade). */
export async function deleteClient(sql: Sql | TransactionSql, id: string): Promise<boolean> {
  return (await sql`delete from oauth_client where id = ${id} returning id`).length === 1;
}
