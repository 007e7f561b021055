/**
 * OAuth2 for machines: `POST /oauth/token` (client credentials, RFC 6749 §4.4) and the clients
 * themselves, created, listed, scoped, rotated and deleted under `/oauth/client`. A client secret
 * is shown once, when it is made; only its scrypt hash is kept. A caller can only hand out scopes
 * it holds, and only change clients whose scopes it holds. The root client (from configuration)
 * cannot be changed through the API.
 */
import { randomBytes } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import type { SchemaObject } from 'openapi3-ts/oas31';
import type { Context } from 'hono';
import { z } from 'zod';
import { ALL_ROLES, ALL_SCOPES, missingScopes, ROLES, SCOPES, type Scope } from '../auth/scopes.js';
import { hashSecret, randomCredential } from '../auth/secrets.js';
import { issueClientToken, type AuthSettings, type IssuedToken, type TokenError } from '../auth/service.js';
import { revokeTokensOfClient } from '../db/access-tokens.js';
import type { Sql } from '../db/client.js';
import { listConfigurationChanges, recordConfigurationChange } from '../db/configuration-changes.js';
import { CONFIGURATION_RESOURCES } from '../domain/configuration.js';
import { deleteClient, findClient, insertClient, listClientPage, setClientScopes, setClientSecret, type OAuthClientSummary } from '../db/oauth-clients.js';
import type { Logger } from '../logger.js';
import { forbidden, open, principal, secured } from './auth.js';
import { pageAnswer } from './bulk.js';
import { listPageRoute, readOneRoute } from './resource-routes.js';
import { errorBody, respondValidationError, zodDetails } from './errors.js';
import { clientAddress, RateLimiter } from './rate-limit.js';
import { ErrorSchema, errorResponses, json, pageOf, pageQuery } from './schemas.js';
import { newRouter } from './types.js';

export interface OAuthDeps {
  sql: Sql;
  logger?: Logger | undefined;
  auth: AuthSettings & {
    /** Token and login calls per minute, per client address and per client id or username. */
    rateLimitPerMinute: number;
  };
}

const TAG = 'Authentication';

export const scopeList = z.array(z.enum(ALL_SCOPES as [Scope, ...Scope[]])).max(ALL_SCOPES.length);

/** Plain JSON Schema, not zod: the handler reads the body itself, to answer RFC 6749's errors rather than 422. */
const tokenRequestSchema: SchemaObject = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', enum: ['client_credentials'] },
    client_id: { type: 'string', description: 'Or send client id and secret with HTTP Basic authentication' },
    client_secret: { type: 'string' },
    scope: { type: 'string', description: 'Space-separated scopes to narrow the token to; default: all the client holds' },
  },
};

export const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().meta({ description: 'Seconds until the token expires' }),
    scope: z.string().meta({ description: 'The scopes the token grants, space-separated' }),
  })
  .meta({ id: 'TokenResponse' });

export const TokenErrorSchema = z
  .object({ error: z.string().meta({ example: 'invalid_client' }), error_description: z.string() })
  .meta({ id: 'TokenError', description: 'RFC 6749 §5.2' });

const tooMany = { description: 'Too many attempts from this address or for this client; try again after Retry-After seconds', content: json(ErrorSchema) };

const tokenRoute = open(
  createRoute({
    method: 'post',
    path: '/oauth/token',
    tags: [TAG],
    summary: 'Get an access token with client credentials',
    description:
      'RFC 6749 §4.4: `grant_type=client_credentials` with `client_id` and `client_secret` in the form (or JSON) body, or with HTTP Basic authentication. ' +
      'The token is opaque; send it as `Authorization: Bearer <token>`. It expires after `expires_in` seconds (DSRFLOW_TOKEN_TTL), and at once when its client is deleted or its secret rotated.',
    request: {
      body: {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: tokenRequestSchema }, 'application/json': { schema: tokenRequestSchema } },
      },
    },
    responses: {
      200: { description: 'A token', content: json(TokenResponseSchema) },
      400: { description: 'invalid_request, unsupported_grant_type, invalid_scope', content: json(TokenErrorSchema) },
      401: { description: 'invalid_client: unknown client or wrong secret', content: json(TokenErrorSchema) },
      415: { description: 'The body is neither a form nor JSON', content: json(ErrorSchema) },
      429: tooMany,
    },
  }),
);

const ClientSchema = z
  .object({
    client_id: z.string(),
    name: z.string().nullable(),
    scopes: z.array(z.string()),
    root: z.boolean().meta({ description: 'The root client from DSRFLOW_ROOT_CLIENT_ID: managed by configuration, not through the API' }),
    created_by: z.string().nullable(),
    created_at: z.string().meta({ format: 'date-time' }),
    secret_rotated_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'OAuthClient' });

const ClientWithSecretSchema = ClientSchema.extend({
  client_secret: z.string().meta({ description: 'Shown this once: store it now. Only a hash is kept.' }),
}).meta({ id: 'OAuthClientWithSecret' });

const ClientCreateSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(255).optional(),
    scopes: scopeList.meta({ description: 'Scopes the client may request; at most those the caller holds' }),
  })
  .meta({ id: 'OAuthClientCreate' });

const ClientScopesSchema = z.strictObject({ scopes: scopeList }).meta({ id: 'OAuthClientScopes' });
const ClientIdParam = z.object({ client_id: z.string().min(1).max(200).meta({ example: 'client_3f2a…' }) });

const notFound = { description: 'No client with that id', content: json(ErrorSchema) };
const conflict = { description: 'The root client is managed by configuration (DSRFLOW_ROOT_CLIENT_ID/SECRET)', content: json(ErrorSchema) };
const forbiddenResponse = { description: 'The client holds (or would get) scopes the caller does not hold', content: json(ErrorSchema) };

const createClientRoute = secured(
  'client:write',
  createRoute({
    method: 'post',
    path: '/oauth/client',
    tags: [TAG],
    summary: 'Create an OAuth client; its secret is shown once',
    request: { body: { required: true, content: json(ClientCreateSchema) } },
    responses: { 201: { description: 'The client and its secret', content: json(ClientWithSecretSchema) }, ...errorResponses },
  }),
);

const listClientsRoute = listPageRoute({ scope: 'client:read', path: '/oauth/client', tag: TAG, summary: 'List OAuth clients (never their secrets)', page: pageOf(ClientSchema, 'OAuthClientPage'), what: 'clients' });

const getClientRoute = readOneRoute({ scope: 'client:read', path: '/oauth/client/{client_id}', tag: TAG, summary: 'An OAuth client (never its secret)', params: ClientIdParam, schema: ClientSchema, what: 'client', missing: 'client' });

const setScopesRoute = secured(
  'client:write',
  createRoute({
    method: 'put',
    path: '/oauth/client/{client_id}/scope',
    tags: [TAG],
    summary: "Replace a client's scopes",
    description: 'Takes effect at once, also for tokens already issued: a token never grants more than its client holds now.',
    request: { params: ClientIdParam, body: { required: true, content: json(ClientScopesSchema) } },
    responses: { 200: { description: 'The client', content: json(ClientSchema) }, 403: forbiddenResponse, 404: notFound, 409: conflict, ...errorResponses },
  }),
);

const rotateRoute = secured(
  'client:write',
  createRoute({
    method: 'post',
    path: '/oauth/client/{client_id}/secret',
    tags: [TAG],
    summary: "Rotate a client's secret; every token it holds is revoked at once",
    request: { params: ClientIdParam },
    responses: { 200: { description: 'The client and its new secret', content: json(ClientWithSecretSchema) }, 403: forbiddenResponse, 404: notFound, 409: conflict, 422: errorResponses[422] },
  }),
);

const deleteClientRoute = secured(
  'client:write',
  createRoute({
    method: 'delete',
    path: '/oauth/client/{client_id}',
    tags: [TAG],
    summary: 'Delete an OAuth client; every token it holds is revoked at once',
    request: { params: ClientIdParam },
    responses: { 204: { description: 'Deleted' }, 403: forbiddenResponse, 404: notFound, 409: conflict, 422: errorResponses[422] },
  }),
);

const ScopeListSchema = z
  .object({
    scopes: z.array(z.object({ scope: z.string(), description: z.string() })),
    roles: z.array(z.object({ role: z.string(), scopes: z.array(z.string()) })),
  })
  .meta({ id: 'ScopeList' });

const scopesRoute = secured(
  'client:read',
  createRoute({
    method: 'get',
    path: '/oauth/scope',
    tags: [TAG],
    summary: 'Every scope, and the scopes of each role',
    responses: { 200: { description: 'Scopes and roles', content: json(ScopeListSchema) } },
  }),
);

const ConfigurationChangeSchema = z
  .object({
    id: z.number().int(),
    resource: z.string(),
    key: z.string(),
    change: z.string(),
    actor: z.string().meta({ description: 'The client (`client:<id>`) or user (`user:<name>`) who made the change' }),
    created_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'ConfigurationChange' });

const changesRoute = secured(
  'configuration-change:read',
  createRoute({
    method: 'get',
    path: '/configuration-change',
    tags: [TAG],
    summary: 'Who changed which configuration, newest first',
    request: {
      query: z.object({
        resource: z.enum(CONFIGURATION_RESOURCES).optional(),
        key: z.string().min(1).max(255).optional(),
        ...pageQuery,
      }),
    },
    responses: { 200: { description: 'A page of changes', content: json(pageOf(ConfigurationChangeSchema, 'ConfigurationChangePage')) }, 422: errorResponses[422] },
  }),
);

export const toClientResponse = (row: OAuthClientSummary): z.infer<typeof ClientSchema> => ({
  client_id: row.id,
  name: row.name,
  scopes: row.scopes,
  root: row.root,
  created_by: row.created_by,
  created_at: row.created_at.toISOString(),
  secret_rotated_at: row.secret_rotated_at.toISOString(),
});

/** Answers a token request: 200, 400, or 401 (RFC 6749 §5). */
export function tokenAnswer(c: Context, result: IssuedToken | TokenError, basic = false) {
  c.header('cache-control', 'no-store');
  c.header('pragma', 'no-cache');
  if ('access_token' in result) return c.json(result, 200);
  if (result.error === 'invalid_client') {
    if (basic) c.header('www-authenticate', 'Basic realm="dsrflow"');
    return c.json(result, 401);
  }
  return c.json(result, 400);
}

export function tooManyAttempts(c: Context, retryAfter: number) {
  c.header('retry-after', String(retryAfter));
  return c.json(errorBody('too_many_requests', `Too many attempts; try again in ${retryAfter} s`), 429);
}

/** Reads a form or JSON body into a record, or answers why it cannot. */
export async function readCredentialsBody(c: Context) {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') {
    const form = await c.req.parseBody({ all: false }).catch(() => undefined);
    if (!form) return { answer: c.json({ error: 'invalid_request', error_description: 'the body is not a valid form' }, 400) };
    return { body: form as Record<string, unknown> };
  }
  if (/^application\/([a-z0-9.+-]*\+)?json$/.test(type)) {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { answer: c.json({ error: 'invalid_request', error_description: 'the body must be a JSON object' }, 400) };
    return { body: body as Record<string, unknown> };
  }
  return { answer: c.json(errorBody('unsupported_media_type', 'Send application/x-www-form-urlencoded (or application/json)'), 415) };
}

/** A credential field as sent: text of 1 to `max` characters without NUL (Postgres could not even look it up). */
const text = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= max && !value.includes('\0') ? value : undefined;

/** HTTP Basic client authentication (RFC 6749 §2.3.1): form-urlencoded id and secret. */
function basicCredentials(c: Context): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(c.req.header('authorization') ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const id = text(decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), 200);
    const secret = text(decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')), 500);
    return id && secret ? { id, secret } : { id: '', secret: '' };
  } catch {
    return { id: '', secret: '' };
  }
}

export function oauthRoutes(deps: OAuthDeps) {
  const limiter = new RateLimiter(deps.auth.rateLimitPerMinute);

  /** The caller may act on a client only when it holds every scope that client holds. */
  const outranks = (c: Context, scopes: readonly string[]) => missingScopes(scopes as Scope[], principal(c).scopes);

  return newRouter()
    .openapi(tokenRoute, async (c) => {
      const read = await readCredentialsBody(c);
      if (read.answer) return read.answer;
      const body = read.body!;
      const basic = basicCredentials(c);
      // Basic credentials that are not usable text count as missing (a 400, never a lookup).
      const clientId = basic ? basic.id || undefined : text(body.client_id, 200);
      const clientSecret = basic ? basic.secret || undefined : text(body.client_secret, 500);
      const wait = limiter.take([`address:${clientAddress(c) ?? 'unknown'}`, ...(clientId ? [`client:${clientId}`] : [])]);
      if (wait !== undefined) return tooManyAttempts(c, wait);
      if (body.grant_type !== 'client_credentials') {
        const error = body.grant_type === undefined ? 'invalid_request' : 'unsupported_grant_type';
        return c.json({ error, error_description: 'grant_type must be client_credentials' }, 400);
      }
      if (!clientId || !clientSecret) return c.json({ error: 'invalid_request', error_description: 'client_id and client_secret are required (form body or HTTP Basic)' }, 400);
      if (body.scope !== undefined && text(body.scope, 2000) === undefined) return c.json({ error: 'invalid_scope', error_description: 'scope must be a space-separated list' }, 400);
      const result = await issueClientToken(deps.sql, deps.auth, { clientId, clientSecret, scope: body.scope as string | undefined });
      if ('error' in result) deps.logger?.warn('Token refused', { client_id_length: clientId.length, error: result.error });
      return tokenAnswer(c, result, basic !== undefined);
    })
    .openapi(scopesRoute, async (c) =>
      c.json(
        {
          scopes: ALL_SCOPES.map((scope) => ({ scope, description: SCOPES[scope] })),
          roles: ALL_ROLES.map((role) => ({ role, scopes: [...ROLES[role]] })),
        },
        200,
      ),
    )
    .openapi(createClientRoute, async (c) => {
      const { name, scopes } = c.req.valid('json');
      const beyond = outranks(c, scopes);
      if (beyond.length) return forbidden(c, beyond);
      const actor = principal(c).actor;
      const secret = randomCredential('dsr_cs');
      const secretHash = await hashSecret(secret);
      const id = `client_${randomBytes(12).toString('hex')}`;
      const row = await deps.sql.begin(async (tx) => {
        const created = await insertClient(tx, { id, name: name ?? null, secretHash, scopes: [...new Set(scopes)], createdBy: actor });
        await recordConfigurationChange(tx, { resource: 'oauth_client', key: id, change: 'created', actor });
        return created!;
      });
      deps.logger?.info('OAuth client created', { client_id: id, actor });
      return c.json({ ...toClientResponse(row), client_secret: secret }, 201);
    })
    .openapi(listClientsRoute, async (c) => {
      const { page, size } = c.req.valid('query');
      return c.json(pageAnswer(await listClientPage(deps.sql, page, size), { page, size }, toClientResponse), 200);
    })
    .openapi(getClientRoute, async (c) => {
      const { client_id: id } = c.req.valid('param');
      const row = await findClient(deps.sql, id);
      if (!row) return c.json(errorBody('not_found', `No client with id ${id}`), 404);
      return c.json(toClientResponse(row), 200);
    })
    .openapi(setScopesRoute, async (c) => {
      const { client_id: id } = c.req.valid('param');
      const { scopes } = c.req.valid('json');
      const actor = principal(c).actor;
      const outcome = await deps.sql.begin(async (tx) => {
        const row = await findClient(tx, id, { forUpdate: true });
        if (!row) return c.json(errorBody('not_found', `No client with id ${id}`), 404);
        if (row.root) return c.json(errorBody('conflict', 'The root client holds every scope; it is managed by DSRFLOW_ROOT_CLIENT_ID/SECRET'), 409);
        const beyond = outranks(c, [...row.scopes, ...scopes]);
        if (beyond.length) return forbidden(c, beyond);
        const updated = await setClientScopes(tx, id, [...new Set(scopes)]);
        await recordConfigurationChange(tx, { resource: 'oauth_client', key: id, change: 'scopes_changed', actor });
        return c.json(toClientResponse(updated!), 200);
      });
      return outcome;
    })
    .openapi(rotateRoute, async (c) => {
      const { client_id: id } = c.req.valid('param');
      const actor = principal(c).actor;
      const secret = randomCredential('dsr_cs');
      const secretHash = await hashSecret(secret);
      const outcome = await deps.sql.begin(async (tx) => {
        const row = await findClient(tx, id, { forUpdate: true });
        if (!row) return c.json(errorBody('not_found', `No client with id ${id}`), 404);
        if (row.root) return c.json(errorBody('conflict', 'The root client is managed by DSRFLOW_ROOT_CLIENT_ID/SECRET: change it there'), 409);
        const beyond = outranks(c, row.scopes);
        if (beyond.length) return forbidden(c, beyond);
        const updated = await setClientSecret(tx, id, secretHash);
        const revoked = await revokeTokensOfClient(tx, id);
        await recordConfigurationChange(tx, { resource: 'oauth_client', key: id, change: 'secret_rotated', actor });
        deps.logger?.info('OAuth client secret rotated', { client_id: id, actor, tokens_revoked: revoked });
        return c.json({ ...toClientResponse(updated!), client_secret: secret }, 200);
      });
      return outcome;
    })
    .openapi(deleteClientRoute, async (c) => {
      const { client_id: id } = c.req.valid('param');
      const actor = principal(c).actor;
      const outcome = await deps.sql.begin(async (tx) => {
        const row = await findClient(tx, id, { forUpdate: true });
        if (!row) return c.json(errorBody('not_found', `No client with id ${id}`), 404);
        if (row.root) return c.json(errorBody('conflict', 'The root client is managed by DSRFLOW_ROOT_CLIENT_ID/SECRET: unset them to retire it'), 409);
        const beyond = outranks(c, row.scopes);
        if (beyond.length) return forbidden(c, beyond);
        await deleteClient(tx, id);
        await recordConfigurationChange(tx, { resource: 'oauth_client', key: id, change: 'deleted', actor });
        deps.logger?.info('OAuth client deleted', { client_id: id, actor });
        return c.body(null, 204);
      });
      return outcome;
    })
    .openapi(changesRoute, async (c) => {
      const { page, size, resource, key } = c.req.valid('query');
      return c.json(pageAnswer(await listConfigurationChanges(deps.sql, { resource, key }, page, size), { page, size }, (row) => ({ ...row, created_at: row.created_at.toISOString() })), 200);
    });
}

/** For routes that must validate JSON they read themselves. */
export const validationFailure = (c: Context, error: z.ZodError) => respondValidationError(c, zodDetails(error, 'body'));
