/**
 * People: users with a password and roles (owner, approver, analyst, viewer, respondent), and
 * `POST /login`, which gives them a token like a client's. Passwords are kept as scrypt hashes
 * with a salt of their own; repeated failed logins lock the account for a while
 * (DSRFLOW_LOGIN_MAX_FAILURES, DSRFLOW_LOGIN_LOCKOUT). A caller can only grant roles whose
 * scopes it holds, and only change users whose scopes it holds.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { ALL_ROLES, missingScopes, scopesOfRoles, type Role } from '../auth/scopes.js';
import { hashSecret } from '../auth/secrets.js';
import { issueUserToken } from '../auth/service.js';
import { revokeTokensOfUser } from '../db/access-tokens.js';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import { deleteUser, findUser, insertUser, listUserPage, updateUser, type UserSummary } from '../db/users.js';
import { forbidden, open, principal, secured } from './auth.js';
import { pageAnswer } from './bulk.js';
import { listPageRoute, readOneRoute } from './resource-routes.js';
import { errorBody } from './errors.js';
import { tooManyAttempts, TokenErrorSchema, TokenResponseSchema, type OAuthDeps } from './oauth.js';
import { clientAddress, RateLimiter } from './rate-limit.js';
import { ErrorSchema, errorResponses, json, pageOf } from './schemas.js';
import { newRouter } from './types.js';

const TAG = 'Authentication';

const username = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, 'letters, digits and . _ @ + - only')
  .meta({ example: 'dpo@shop.example' });
const password = z.string().min(12, 'at least 12 characters').max(256, 'at most 256 characters').meta({ format: 'password', writeOnly: true });
const roles = z
  .array(z.enum(ALL_ROLES as [Role, ...Role[]]))
  .min(1, 'give at least one role')
  .max(ALL_ROLES.length)
  .meta({ description: 'owner: everything; approver: work and decide requests; analyst: work requests; viewer: read; respondent: answer manual steps' });

const UserSchema = z
  .object({
    username: z.string(),
    roles: z.array(z.string()),
    scopes: z.array(z.string()).meta({ description: 'What the roles grant' }),
    disabled: z.boolean(),
    locked_until: z.string().nullable().meta({ format: 'date-time', description: 'Set after repeated failed logins' }),
    created_by: z.string().nullable(),
    created_at: z.string().meta({ format: 'date-time' }),
    updated_at: z.string().meta({ format: 'date-time' }),
    password_changed_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'User' });

const UserCreateSchema = z.strictObject({ username, password, roles }).meta({ id: 'UserCreate' });
const UserUpdateSchema = z
  .strictObject({
    roles: roles.optional(),
    password: password.optional().meta({ description: 'A new password; revokes every token of the user and lifts a lockout' }),
    disabled: z.boolean().optional().meta({ description: 'A disabled user cannot log in, and their tokens stop working' }),
  })
  .meta({ id: 'UserUpdate' });
const LoginSchema = z
  .strictObject({
    username: z.string().min(1).max(128),
    password: z.string().min(1).max(256).meta({ format: 'password' }),
    scope: z.string().max(2000).optional().meta({ description: 'Space-separated scopes to narrow the token to' }),
  })
  .meta({ id: 'Login' });
const UsernameParam = z.object({ username: z.string().min(1).max(128) });

const notFound = { description: 'No user with that name', content: json(ErrorSchema) };
const forbiddenResponse = { description: 'The user holds (or would get) scopes the caller does not hold', content: json(ErrorSchema) };

const loginRoute = open(
  createRoute({
    method: 'post',
    path: '/login',
    tags: [TAG],
    summary: 'Log in as a user: a token with the scopes of their roles',
    description: 'After DSRFLOW_LOGIN_MAX_FAILURES failed attempts in a row the account is locked for DSRFLOW_LOGIN_LOCKOUT.',
    request: { body: { required: true, content: json(LoginSchema) } },
    responses: {
      200: { description: 'A token', content: json(TokenResponseSchema) },
      400: { description: 'invalid_grant: unknown user, wrong password, locked or disabled account; invalid_scope', content: json(TokenErrorSchema) },
      422: errorResponses[422],
      429: { description: 'Too many attempts from this address or for this user', content: json(ErrorSchema) },
    },
  }),
);

const createUserRoute = secured(
  'user:write',
  createRoute({
    method: 'post',
    path: '/user',
    tags: [TAG],
    summary: 'Create a user',
    request: { body: { required: true, content: json(UserCreateSchema) } },
    responses: { 201: { description: 'The user', content: json(UserSchema) }, 403: forbiddenResponse, 409: { description: 'The username is taken', content: json(ErrorSchema) }, ...errorResponses },
  }),
);

const listUsersRoute = listPageRoute({ scope: 'user:read', path: '/user', tag: TAG, summary: 'List users', page: pageOf(UserSchema, 'UserPage'), what: 'users' });

const getUserRoute = readOneRoute({ scope: 'user:read', path: '/user/{username}', tag: TAG, summary: 'A user', params: UsernameParam, schema: UserSchema, what: 'user', missing: 'user' });

const updateUserRoute = secured(
  'user:write',
  createRoute({
    method: 'patch',
    path: '/user/{username}',
    tags: [TAG],
    summary: "Change a user's roles, password or disabled flag",
    request: { params: UsernameParam, body: { required: true, content: json(UserUpdateSchema) } },
    responses: { 200: { description: 'The user', content: json(UserSchema) }, 403: forbiddenResponse, 404: notFound, ...errorResponses },
  }),
);

const deleteUserRoute = secured(
  'user:write',
  createRoute({
    method: 'delete',
    path: '/user/{username}',
    tags: [TAG],
    summary: 'Delete a user; their tokens are revoked at once',
    request: { params: UsernameParam },
    responses: { 204: { description: 'Deleted' }, 403: forbiddenResponse, 404: notFound, 422: errorResponses[422] },
  }),
);

export const toUserResponse = (row: UserSummary): z.infer<typeof UserSchema> => ({
  username: row.username,
  roles: row.roles,
  scopes: scopesOfRoles(row.roles),
  disabled: row.disabled,
  locked_until: row.locked_until && row.locked_until.getTime() > Date.now() ? row.locked_until.toISOString() : null,
  created_by: row.created_by,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
  password_changed_at: row.password_changed_at.toISOString(),
});

export function userRoutes(deps: OAuthDeps) {
  const limiter = new RateLimiter(deps.auth.rateLimitPerMinute);
  const beyondCaller = (c: Context, granted: readonly string[]) => missingScopes(scopesOfRoles(granted), principal(c).scopes);
  const noUser = (c: Context, name: string) => c.json(errorBody('not_found', `No user ${name}`), 404);

  return newRouter()
    .openapi(loginRoute, async (c) => {
      const body = c.req.valid('json');
      const wait = limiter.take([`address:${clientAddress(c) ?? 'unknown'}`, `user:${body.username.toLowerCase()}`]);
      if (wait !== undefined) return tooManyAttempts(c, wait);
      const result = await issueUserToken(deps.sql, deps.auth, { username: body.username, password: body.password, scope: body.scope });
      c.header('cache-control', 'no-store');
      if ('error' in result) {
        deps.logger?.warn('Login refused', { error: result.error });
        return c.json(result, 400);
      }
      return c.json(result, 200);
    })
    .openapi(createUserRoute, async (c) => {
      const body = c.req.valid('json');
      const beyond = beyondCaller(c, body.roles);
      if (beyond.length) return forbidden(c, beyond);
      const actor = principal(c).actor;
      const passwordHash = await hashSecret(body.password);
      const row = await deps.sql.begin(async (tx) => {
        const created = await insertUser(tx, { username: body.username, passwordHash, roles: [...new Set(body.roles)], createdBy: actor });
        if (created) await recordConfigurationChange(tx, { resource: 'user', key: body.username, change: 'created', actor });
        return created;
      });
      if (!row) return c.json(errorBody('conflict', `The username ${body.username} is taken`), 409);
      deps.logger?.info('User created', { username: body.username, roles: body.roles, actor });
      return c.json(toUserResponse(row), 201);
    })
    .openapi(listUsersRoute, async (c) => {
      const { page, size } = c.req.valid('query');
      return c.json(pageAnswer(await listUserPage(deps.sql, page, size), { page, size }, toUserResponse), 200);
    })
    .openapi(getUserRoute, async (c) => {
      const { username: name } = c.req.valid('param');
      const row = await findUser(deps.sql, name);
      if (!row) return noUser(c, name);
      return c.json(toUserResponse(row), 200);
    })
    .openapi(updateUserRoute, async (c) => {
      const { username: name } = c.req.valid('param');
      const change = c.req.valid('json');
      const actor = principal(c).actor;
      const passwordHash = change.password === undefined ? undefined : await hashSecret(change.password);
      const outcome = await deps.sql.begin(async (tx) => {
        const row = await findUser(tx, name, { forUpdate: true });
        if (!row) return noUser(c, name);
        const beyond = beyondCaller(c, [...row.roles, ...(change.roles ?? [])]);
        if (beyond.length) return forbidden(c, beyond);
        const updated = await updateUser(tx, name, { roles: change.roles ? [...new Set(change.roles)] : undefined, passwordHash, disabled: change.disabled });
        if (passwordHash) await revokeTokensOfUser(tx, name);
        await recordConfigurationChange(tx, { resource: 'user', key: name, change: 'updated', actor });
        return c.json(toUserResponse(updated!), 200);
      });
      deps.logger?.info('User updated', { username: name, actor, password_changed: passwordHash !== undefined });
      return outcome;
    })
    .openapi(deleteUserRoute, async (c) => {
      const { username: name } = c.req.valid('param');
      const actor = principal(c).actor;
      const outcome = await deps.sql.begin(async (tx) => {
        const row = await findUser(tx, name, { forUpdate: true });
        if (!row) return noUser(c, name);
        const beyond = beyondCaller(c, row.roles);
        if (beyond.length) return forbidden(c, beyond);
        await deleteUser(tx, name);
        await recordConfigurationChange(tx, { resource: 'user', key: name, change: 'deleted', actor });
        return c.body(null, 204);
      });
      deps.logger?.info('User deleted', { username: name, actor });
      return outcome;
    });
}
