/**
 * Credentials in, tokens out; tokens in, principals out.
 *
 * Tokens are opaque (docs/decisions.md: "Opaque bearer tokens, checked in Postgres on every
 * call"): a random value the caller holds, whose SHA-256 is a row naming its client or user, its
 * scopes and its expiry. Deleting a client or user, rotating a secret, changing a password, or
 * narrowing scopes takes effect on the very next call, on every API process.
 */
import type { Sql } from '../db/client.js';
import { findToken, insertToken, revokeTokensOfClient } from '../db/access-tokens.js';
import { findClient, upsertRootClient } from '../db/oauth-clients.js';
import { findUser, insertUser, recordFailedLogin, recordSuccessfulLogin } from '../db/users.js';
import { ALL_SCOPES, isScope, scopesOfRoles, type Scope } from './scopes.js';
import { decoyHash, hashSecret, randomCredential, tokenHash, verifySecret } from './secrets.js';

/** Who is calling, as every route sees it. */
export interface Principal {
  kind: 'client' | 'user';
  id: string;
  /** How audit rows and configuration changes name them: `client:<id>` or `user:<username>`. */
  actor: string;
  scopes: ReadonlySet<Scope>;
}

export interface AuthSettings {
  tokenTtlMs: number;
  /** Consecutive failed logins that lock a user out, and for how long. */
  loginMaxFailures: number;
  loginLockoutMs: number;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/** RFC 6749 §5.2 error codes. */
export type TokenError = { error: 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'invalid_request'; error_description: string };

export const actorOf = (kind: Principal['kind'], id: string) => `${kind}:${id}`;

const TOKEN_PREFIX = 'dsr_at';

/** The scopes to put in a token: what was asked for (space-separated, RFC 6749 §3.3), within what is held. */
function grantedScopes(requested: string | undefined, held: readonly string[]): Scope[] | TokenError {
  const holds = held.filter(isScope);
  if (requested === undefined || requested.trim() === '') return holds;
  const asked = [...new Set(requested.trim().split(/\s+/))];
  const unknown = asked.filter((scope) => !isScope(scope));
  if (unknown.length) return { error: 'invalid_scope', error_description: `unknown scope: ${unknown.join(' ')}` };
  const beyond = asked.filter((scope) => !holds.includes(scope as Scope));
  if (beyond.length) return { error: 'invalid_scope', error_description: `not granted to this credential: ${beyond.join(' ')}` };
  return asked as Scope[];
}

async function issue(sql: Sql, settings: AuthSettings, holder: { clientId?: string; username?: string }, scopes: Scope[]): Promise<IssuedToken> {
  const token = randomCredential(TOKEN_PREFIX);
  const ttlSeconds = Math.max(1, Math.floor(settings.tokenTtlMs / 1000));
  await insertToken(sql, { hash: tokenHash(token), ...holder, scopes, expiresAt: new Date(Date.now() + ttlSeconds * 1000) });
  return { access_token: token, token_type: 'bearer', expires_in: ttlSeconds, scope: scopes.join(' ') };
}

const badClient: TokenError = { error: 'invalid_client', error_description: 'unknown client or wrong secret' };

/** Client credentials grant (RFC 6749 §4.4). */
export async function issueClientToken(sql: Sql, settings: AuthSettings, request: { clientId: string; clientSecret: string; scope?: string | undefined }): Promise<IssuedToken | TokenError> {
  const client = await findClient(sql, request.clientId);
  // An unknown client costs the same scrypt as a known one: timing does not tell which ids exist.
  const valid = await verifySecret(request.clientSecret, client?.secret_hash ?? (await decoyHash()));
  if (!client || !valid) return badClient;
  const scopes = grantedScopes(request.scope, client.scopes);
  if ('error' in scopes) return scopes;
  return issue(sql, settings, { clientId: client.id }, scopes);
}

const badLogin: TokenError = { error: 'invalid_grant', error_description: 'unknown user or wrong password' };

/** A person's login; repeated failures lock the account for a while. */
export async function issueUserToken(sql: Sql, settings: AuthSettings, request: { username: string; password: string; scope?: string | undefined }): Promise<IssuedToken | TokenError> {
  const user = await findUser(sql, request.username);
  const valid = await verifySecret(request.password, user?.password_hash ?? (await decoyHash()));
  if (!user) return badLogin;
  if (user.locked_until && user.locked_until.getTime() > Date.now()) {
    // Checked after the hash, so a locked account answers no faster than any other.
    return { error: 'invalid_grant', error_description: `the account is locked after repeated failed logins until ${user.locked_until.toISOString()}` };
  }
  if (!valid) {
    await recordFailedLogin(sql, user.username, settings.loginMaxFailures, new Date(Date.now() + settings.loginLockoutMs));
    return badLogin;
  }
  if (user.disabled) return { error: 'invalid_grant', error_description: 'the account is disabled' };
  await recordSuccessfulLogin(sql, user.username);
  const scopes = grantedScopes(request.scope, scopesOfRoles(user.roles));
  if ('error' in scopes) return scopes;
  return issue(sql, settings, { username: user.username }, scopes);
}

export type AuthenticationFailure = 'missing' | 'malformed' | 'unknown' | 'expired';

/** The principal a bearer token stands for, with the scopes it grants now. */
export async function authenticate(sql: Sql, token: string): Promise<Principal | AuthenticationFailure> {
  if (!/^dsr_at_[A-Za-z0-9_-]{43}$/.test(token)) return 'malformed';
  const row = await findToken(sql, tokenHash(token));
  if (!row) return 'unknown';
  if (row.expires_at.getTime() <= Date.now()) return 'expired';
  if (row.client_id !== null) {
    if (row.client_scopes === null) return 'unknown';
    const now = new Set(row.client_scopes);
    return { kind: 'client', id: row.client_id, actor: actorOf('client', row.client_id), scopes: new Set(row.scopes.filter((scope) => isScope(scope) && now.has(scope))) as Set<Scope> };
  }
  if (row.username === null || row.user_roles === null || row.user_disabled) return 'unknown';
  const now = new Set<string>(scopesOfRoles(row.user_roles));
  return { kind: 'user', id: row.username, actor: actorOf('user', row.username), scopes: new Set(row.scopes.filter((scope) => isScope(scope) && now.has(scope))) as Set<Scope> };
}

/**
 * The root client from DSRFLOW_ROOT_CLIENT_ID/SECRET: every scope. When the configured secret no
 * longer matches the stored hash, the hash is replaced and the tokens issued with the old one revoked.
 */
export async function ensureRootClient(sql: Sql, root: { id: string; secret: string }): Promise<'created' | 'unchanged' | 'rotated'> {
  const existing = await findClient(sql, root.id);
  if (existing?.root && (await verifySecret(root.secret, existing.secret_hash))) {
    if (existing.scopes.length !== ALL_SCOPES.length || !ALL_SCOPES.every((scope) => existing.scopes.includes(scope))) {
      await upsertRootClient(sql, { id: root.id, secretHash: existing.secret_hash, scopes: ALL_SCOPES });
    }
    return 'unchanged';
  }
  const secretHash = await hashSecret(root.secret);
  await sql.begin(async (tx) => {
    await upsertRootClient(tx, { id: root.id, secretHash, scopes: ALL_SCOPES });
    await revokeTokensOfClient(tx, root.id);
  });
  return existing ? 'rotated' : 'created';
}

/** Creates the first owner when no user of that name exists; an existing account is left as it is. */
export async function ensureFirstOwner(sql: Sql, owner: { username: string; password: string }): Promise<'created' | 'exists'> {
  if (await findUser(sql, owner.username)) return 'exists';
  const created = await insertUser(sql, { username: owner.username, passwordHash: await hashSecret(owner.password), roles: ['owner'], createdBy: 'system' });
  return created ? 'created' : 'exists';
}
