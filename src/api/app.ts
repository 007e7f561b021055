/**
 * The HTTP API: Hono with zod-validated routes under /api/v1, the OpenAPI document built from
 * the same schemas, and a health endpoint.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { tokenHash } from '../auth/secrets.js';
import { authenticate } from '../auth/service.js';
import { consoleRoutes } from '../console/index.js';
import { errorPage } from '../console/layout.js';
import { revokeToken } from '../db/access-tokens.js';
import type { Config } from '../config.js';
import { createStorage } from '../storage/index.js';
import { accessPackageRoutes, SIGNED_LINK_SCHEME, signedLinkScheme } from './access-packages.js';
import { SECURITY_SCHEME, securitySchemes } from './auth.js';
import { codecRoutes } from './codec.js';
import { isHttps } from './https.js';
import { connectionRoutes } from './connections.js';
import { datasetRoutes } from './datasets.js';
import { saasConfigRoutes } from './saas-configs.js';
import { docsRoutes } from './docs.js';
import { errorBody } from './errors.js';
import { isDatabaseUnavailable } from '../db/client.js';
import { messageTemplateRoutes } from './message-templates.js';
import { oauthRoutes } from './oauth.js';
import { policyRoutes } from './policies.js';
import { privacyRequestRoutes } from './privacy-requests.js';
import { reportingRoutes } from './reporting.js';
import { newRouter, type ApiDeps } from './types.js';
import { userRoutes } from './users.js';
import { verificationRoutes } from './verification.js';
import { webhookRoutes } from './webhooks.js';

export type { ApiDeps };

/** The API's dependencies as the configuration sets them, around the connections the caller opened. */
export function apiDeps(config: Config, opened: Pick<ApiDeps, 'sql' | 'temporal' | 'encryptionKey' | 'logger'>, generated: { codecUiKey?: string | undefined } = {}): ApiDeps {
  return {
    ...opened,
    taskQueue: config.temporal.taskQueue,
    auth: config.auth,
    http: { maxBodyBytes: config.http.maxBodyBytes, corsOrigins: config.http.corsOrigins, allowedHosts: config.http.allowedHosts },
    identityTtlMs: config.identityTtlMs,
    temporalUiUrl: config.temporal.uiUrl,
    deadlines: config.execution.deadlines,
    duplicates: config.duplicates,
    maxPageSize: config.maxPageSize,
    connections: config.connections,
    accessPackages: { storage: createStorage(config.accessPackages.storage), publicUrl: config.accessPackages.publicUrl },
    ...(config.codecEndpoint ? { codec: { ...config.codecEndpoint, uiKey: config.codecEndpoint.uiKey ?? generated.codecUiKey } } : {}),
  };
}

/** The Host header's name without its port, lower-cased: `[::1]:8080` → `[::1]`. */
function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const match = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(host.trim().toLowerCase());
  return match?.[1];
}

/** Answers only to the configured host names (DNS rebinding cannot reach the API under a foreign name). */
function allowedHostsOnly(allowed: string[] | '*'): MiddlewareHandler {
  if (allowed === '*') return async (_c, next) => next();
  const names = new Set(allowed);
  return async (c, next) => {
    if (c.req.path === '/health') return next(); // load balancers probe by address
    const name = hostName(c.req.header('host'));
    if (!name || !names.has(name)) {
      return c.json(errorBody('host_not_allowed', 'This API does not answer to that host name (DSRFLOW_ALLOWED_HOSTS)'), 421);
    }
    return next();
  };
}

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** No-sniff, frame denial, no referrer…; HSTS only where the request came over https; a CSP unless the route set its own. */
function securityHeaders(): MiddlewareHandler {
  const plain = secureHeaders({ strictTransportSecurity: false, xFrameOptions: 'DENY', crossOriginResourcePolicy: false });
  return async (c, next) => {
    let own: string | null = null;
    await plain(c, async () => {
      await next();
      own = c.res.headers.get('referrer-policy');
    });
    // A route's own policy wins: the console needs same-origin (with no-referrer, Chrome sends `Origin: null` on form posts).
    if (own) c.res.headers.set('referrer-policy', own);
    if (!c.res.headers.has('content-security-policy')) c.res.headers.set('content-security-policy', API_CSP);
    if (isHttps(c)) c.res.headers.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
  };
}

export function createApp(deps: ApiDeps) {
  const app = newRouter();
  const http = deps.http ?? { maxBodyBytes: 1024 * 1024, corsOrigins: [], allowedHosts: '*' as const };

  app.use('*', async (c, next) => {
    c.set('authenticator', (token) => authenticate(deps.sql, token));
    await next();
  });
  app.use('*', securityHeaders());
  app.use('*', allowedHostsOnly(http.allowedHosts));
  if (http.corsOrigins.length) {
    app.use('/api/*', cors({ origin: http.corsOrigins, allowHeaders: ['authorization', 'content-type'], allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], maxAge: 600 }));
  }
  app.use(
    '*',
    bodyLimit({
      maxSize: http.maxBodyBytes,
      // The rest of the body is not read: the connection cannot carry another request after it.
      onError: (c) => {
        const message = `The body is larger than ${http.maxBodyBytes} bytes (DSRFLOW_MAX_BODY_SIZE); nothing was read`;
        if (c.req.path.startsWith('/console')) return c.html(errorPage(undefined, 413, `${message}.`), 413, { connection: 'close' });
        return c.json(errorBody('payload_too_large', message), 413, { connection: 'close' });
      },
    }),
  );

  app.get('/health', async (c) => {
    const checks = await Promise.allSettled([deps.sql`select 1`, deps.temporal.connection.workflowService.getSystemInfo({})]);
    const [database, temporal] = checks.map((check) => (check.status === 'fulfilled' ? 'ok' : 'unavailable'));
    const healthy = database === 'ok' && temporal === 'ok';
    return c.json({ status: healthy ? 'ok' : 'degraded', database, temporal }, healthy ? 200 : 503);
  });

  app.route('/api/v1', oauthRoutes({ sql: deps.sql, logger: deps.logger, auth: deps.auth }));
  app.route('/api/v1', userRoutes({ sql: deps.sql, logger: deps.logger, auth: deps.auth }));
  app.route('/api/v1', privacyRequestRoutes(deps));
  app.route('/api/v1', verificationRoutes(deps));
  app.route('/api/v1', reportingRoutes(deps));
  app.route('/api/v1', connectionRoutes(deps));
  app.route('/api/v1', datasetRoutes(deps));
  app.route('/api/v1', saasConfigRoutes(deps));
  app.route('/api/v1', policyRoutes(deps));
  app.route('/api/v1', accessPackageRoutes(deps));
  app.route('/api/v1', messageTemplateRoutes(deps));
  app.route('/api/v1', webhookRoutes(deps));
  app.route('/docs', docsRoutes());
  app.route(
    '/console',
    consoleRoutes({
      // The console calls the API's own routes in this process, with the signed-in user's token.
      fetchApi: (request, env) => app.fetch(request, env as never),
      authenticate: (token) => authenticate(deps.sql, token),
      revoke: async (token) => {
        await revokeToken(deps.sql, tokenHash(token));
      },
      temporalUiUrl: deps.temporalUiUrl,
      namespace: deps.temporal.options.namespace,
      maxBodyBytes: http.maxBodyBytes,
    }),
  );
  if (deps.codec) app.route('/codec', codecRoutes({ encryptionKey: deps.encryptionKey, ...deps.codec }));

  app.openAPIRegistry.registerComponent('securitySchemes', SECURITY_SCHEME, securitySchemes[SECURITY_SCHEME]);
  app.openAPIRegistry.registerComponent('securitySchemes', SIGNED_LINK_SCHEME, signedLinkScheme);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'dsrflow',
      version: '0.1.0',
      description: 'Durable execution of privacy requests (data subject access and erasure requests) on Temporal and Postgres.',
    },
  });

  app.notFound((c) => c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      if (error.status === 400 && /JSON/i.test(error.message)) {
        return c.json({ ...errorBody('malformed_request', 'body: not valid JSON'), detail: [{ loc: ['body'], msg: 'not valid JSON', type: 'json_invalid' }] }, 400);
      }
      return c.json(errorBody('http_error', error.message), error.status);
    }
    if (isDatabaseUnavailable(error)) {
      // dsrflow's own Postgres is restarting or unreachable: nothing was done, and the caller may try again.
      deps.logger?.warn("dsrflow's database is unavailable", { error: (error as Error).message, path: c.req.path });
      c.header('retry-after', '5');
      return c.json(errorBody('unavailable', "dsrflow's database is unavailable; try again in a few seconds"), 503);
    }
    deps.logger?.error('Unhandled API error', { error: (error as Error).message, path: c.req.path });
    return c.json(errorBody('internal_error', 'Something went wrong on our side; the request was logged'), 500);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
