/**
 * Who may call what. Every route of the API is declared through `secured` (or, for the few that
 * take no credential, `open`), which puts the scope in the OpenAPI document (`security`) and the
 * check in front of the route (`middleware`) from the same value, so the two cannot drift apart.
 *
 * The check runs before anything reads the body: a call without the right credential is refused
 * with 401 (no usable token: RFC 6750 `WWW-Authenticate`) or 403 (a token without the scope),
 * and nothing is parsed, written or started.
 */
import type { RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { SCOPES, type Scope } from '../auth/scopes.js';
import type { AuthenticationFailure, Principal } from '../auth/service.js';
import { errorBody } from './errors.js';
import { hostileInputGuard } from './hostile-input.js';
import { ErrorSchema } from './schemas.js';

export type Authenticator = (token: string) => Promise<Principal | AuthenticationFailure>;

/** What the app's first middleware puts in every request's context. */
export interface AuthVariables {
  authenticator: Authenticator;
  principal?: Principal;
}

export const SECURITY_SCHEME = 'OAuth2';

/** The OpenAPI security schemes: OAuth2 client credentials, with every scope described. */
export const securitySchemes = {
  [SECURITY_SCHEME]: {
    type: 'oauth2' as const,
    description:
      'Send `Authorization: Bearer <access_token>`. Get a token from `POST /api/v1/oauth/token` with a client id and secret (client credentials), or from `POST /api/v1/login` as a user.',
    flows: { clientCredentials: { tokenUrl: '/api/v1/oauth/token', scopes: { ...SCOPES } } },
  },
};

const json = { 'application/json': { schema: ErrorSchema } };
export const authResponses = {
  401: { description: 'No usable credential: the bearer token is missing, malformed, expired or revoked; nothing changed', content: json },
  403: { description: 'The credential lacks the scope this operation needs; nothing changed', content: json },
};

const FAILURE_MESSAGES: Record<AuthenticationFailure, string> = {
  missing: 'This operation needs a bearer token: send Authorization: Bearer <token> (POST /api/v1/oauth/token gives one)',
  malformed: 'The bearer token is malformed',
  unknown: 'The bearer token is not valid: it was revoked, or never issued',
  expired: 'The bearer token expired: get a new one from POST /api/v1/oauth/token',
};

export function unauthorized(c: Context, failure: AuthenticationFailure) {
  const header = failure === 'missing' ? 'Bearer realm="dsrflow"' : `Bearer realm="dsrflow", error="invalid_token", error_description="${FAILURE_MESSAGES[failure]}"`;
  c.header('www-authenticate', header);
  c.header('cache-control', 'no-store');
  return c.json(errorBody('unauthorized', FAILURE_MESSAGES[failure]), 401);
}

export function forbidden(c: Context, scopes: readonly Scope[]) {
  c.header('www-authenticate', `Bearer realm="dsrflow", error="insufficient_scope", scope="${scopes.join(' ')}"`);
  return c.json(errorBody('forbidden', `This operation needs the scope ${scopes.join(' and ')}, which this credential does not have`), 403);
}

/** The bearer token of a request; undefined when there is none, '' when the header is not a bearer token. */
export function bearerToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header === undefined) return undefined;
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  return match ? match[1]! : '';
}

/** Authenticates the request and sets its principal; undefined and an answer when it cannot. */
export async function principalOf(c: Context<{ Variables: AuthVariables }>): Promise<Principal | Response> {
  const known = c.get('principal');
  if (known) return known;
  const token = bearerToken(c);
  if (token === undefined) return unauthorized(c, 'missing');
  if (token === '') return unauthorized(c, 'malformed');
  const result = await c.get('authenticator')(token);
  if (typeof result === 'string') return unauthorized(c, result);
  c.set('principal', result);
  return result;
}

/** Refuses the call unless its bearer token grants every one of the scopes. */
export function requireScopes(scopes: readonly Scope[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const principal = await principalOf(c);
    if (principal instanceof Response) return principal;
    if (!scopes.every((scope) => principal.scopes.has(scope))) return forbidden(c, scopes);
    await next();
  };
}

/** The principal of a call that passed `requireScopes`. */
export function principal(c: Context): Principal {
  const value = (c as Context<{ Variables: AuthVariables }>).get('principal');
  if (!value) throw new Error('principal() on a route that is not secured');
  return value;
}

/** Whether the caller (already authenticated) also holds this scope, for fields shown only to some. */
export const holds = (c: Context, scope: Scope) => principal(c).scopes.has(scope);

/** A route with the 401 and 403 answers of a credential check added to what it declares. */
export type WithAuthResponses<R extends RouteConfig> = Omit<R, 'responses'> & { responses: R['responses'] & typeof authResponses };

/** A route that needs a bearer token with these scopes: declared in OpenAPI and enforced, from one value. */
export function secured<R extends RouteConfig>(scopes: Scope | Scope[], route: R): WithAuthResponses<R> {
  const list = Array.isArray(scopes) ? scopes : [scopes];
  // The middleware is left out of the returned type: handlers keep the environment they declare.
  return {
    ...route,
    security: [{ [SECURITY_SCHEME]: list }],
    middleware: [requireScopes(list), hostileInputGuard()],
    responses: { ...route.responses, ...authResponses },
  } as WithAuthResponses<R>;
}

/** A route anyone may call (token and login endpoints): no credential, the same input guard. */
export function open<R extends RouteConfig>(route: R): R {
  return { ...route, security: [], middleware: [hostileInputGuard()] } as R;
}

/** A route with its own credential check (for example a signed link), declared with the given alternatives. */
export function custom<R extends RouteConfig>(security: Record<string, string[]>[], check: MiddlewareHandler<{ Variables: AuthVariables }>, route: R): WithAuthResponses<R> {
  return { ...route, security, middleware: [check, hostileInputGuard()], responses: { ...route.responses, ...authResponses } } as WithAuthResponses<R>;
}
