/** SQL for `access_token`: issued bearer tokens, by the SHA-256 of their value. */
import type { Sql, TransactionSql } from './client.js';

export async function insertToken(
  sql: Sql | TransactionSql,
  token: { hash: Buffer; clientId?: string | undefined; username?: string | undefined; scopes: string[]; expiresAt: Date },
): Promise<void> {
  await sql`
    insert into access_token (token_hash, client_id, username, scopes, expires_at)
    values (${token.hash}, ${token.clientId ?? null}, ${token.username ?? null}, ${sql.array(token.scopes)}::text[], ${token.expiresAt})`;
}

export interface TokenHolder {
  client_id: string | null;
  username: string | null;
  /** The scopes the token was issued with. */
  scopes: string[];
  expires_at: Date;
  /** What its client holds now (clients), or the roles of its user now (users). */
  client_scopes: string[] | null;
  user_roles: string[] | null;
  user_disabled: boolean | null;
}

/** The token and what its holder holds now; undefined when it was never issued or was revoked. */
export async function findToken(sql: Sql, hash: Buffer): Promise<TokenHolder | undefined> {
  const [row] = await sql<TokenHolder[]>`
    select t.client_id, t.username, t.scopes, t.expires_at,
           c.scopes as client_scopes, u.roles as user_roles, u.disabled as user_disabled
    from access_token t
    left join oauth_client c on c.id = t.client_id
    left join app_user u on u.username = t.username
    where t.token_hash = ${hash}`;
  return row;
}

export async function revokeTokensOfClient(sql: Sql | TransactionSql, clientId: string): Promise<number> {
  return (await sql`delete from access_token where client_id = ${clientId}`).count;
}

export async function revokeTokensOfUser(sql: Sql | TransactionSql, username: string): Promise<number> {
  return (await sql`delete from access_token where username = ${username}`).count;
}

export async function revokeToken(sql: Sql | TransactionSql, hash: Buffer): Promise<boolean> {
  return (await sql`delete from access_token where token_hash = ${hash}`).count === 1;
}

/** Deletes tokens that expired (they are refused from their expiry on; this frees the rows). */
export async function purgeExpiredTokens(sql: Sql, now = new Date()): Promise<number> {
  return (await sql`delete from access_token where expires_at <= ${now}`).count;
}
