/**
 * The HTTP API: Hono with zod-validated routes under /api/v1, the OpenAPI document built from
 * the same schemas, and a health endpoint.
 */
import type { Client } from '@temporalio/client';
import { HTTPException } from 'hono/http-exception';
import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { Config } from '../config.js';
import { createStorage, type PackageStorage } from '../storage/index.js';
import { accessPackageRoutes } from './access-packages.js';
import { codecRoutes } from './codec.js';
import { connectionRoutes } from './connections.js';
import { datasetRoutes } from './datasets.js';
import { docsRoutes } from './docs.js';
import { errorBody } from './errors.js';
import { policyRoutes } from './policies.js';
import { privacyRequestRoutes } from './privacy-requests.js';
import { reportingRoutes } from './reporting.js';
import { newRouter } from './types.js';

export interface ApiDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  encryptionKey: Buffer;
  identityTtlMs: number;
  /** Configuration changes are logged at info (keys only, never secrets), unexpected errors at error. */
  logger?: Logger;
  /** Serve /codec for the Temporal Web UI, callable from these browser origins. */
  codec?: { origins: string[] };
  /** The largest page the listings answer (DSRFLOW_MAX_PAGE_SIZE); default 50. */
  maxPageSize?: number;
  /** Access package downloads: the configured storage (a bucket needs it) and the public base URL of links. */
  accessPackages?: { storage?: PackageStorage; publicUrl?: string | undefined };
  /** Which data stores connections may point at, and how long a connection test waits. */
  connections?: Config['connections'];
}

/** The API's dependencies as the configuration sets them, around the connections the caller opened. */
export function apiDeps(config: Config, opened: Pick<ApiDeps, 'sql' | 'temporal' | 'encryptionKey' | 'logger'>): ApiDeps {
  return {
    ...opened,
    taskQueue: config.temporal.taskQueue,
    identityTtlMs: config.identityTtlMs,
    maxPageSize: config.maxPageSize,
    connections: config.connections,
    accessPackages: { storage: createStorage(config.accessPackages.storage), publicUrl: config.accessPackages.publicUrl },
    ...(config.codecEndpoint ? { codec: config.codecEndpoint } : {}),
  };
}

export function createApp(deps: ApiDeps) {
  const app = newRouter();

  app.get('/health', async (c) => {
    const checks = await Promise.allSettled([deps.sql`select 1`, deps.temporal.connection.workflowService.getSystemInfo({})]);
    const [database, temporal] = checks.map((check) => (check.status === 'fulfilled' ? 'ok' : 'unavailable'));
    const healthy = database === 'ok' && temporal === 'ok';
    return c.json({ status: healthy ? 'ok' : 'degraded', database, temporal }, healthy ? 200 : 503);
  });

  app.route('/api/v1', privacyRequestRoutes(deps));
  app.route('/api/v1', reportingRoutes(deps));
  app.route('/api/v1', connectionRoutes(deps));
  app.route('/api/v1', datasetRoutes(deps));
  app.route('/api/v1', policyRoutes(deps));
  app.route('/api/v1', accessPackageRoutes(deps));
  app.route('/docs', docsRoutes());
  if (deps.codec) app.route('/codec', codecRoutes({ encryptionKey: deps.encryptionKey, origins: deps.codec.origins }));

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
    deps.logger?.error('Unhandled API error', { error: (error as Error).message, path: c.req.path });
    return c.json(errorBody('internal_error', 'Something went wrong on our side; the request was logged'), 500);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
