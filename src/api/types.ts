/** What every route module shares: the API's dependencies, the Hono environment, and the factory that gives each the same validation errors. */
import { OpenAPIHono, type RouteConfig, type RouteConfigToTypedResponse } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { AuthSettings } from '../auth/service.js';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { DeadlineSettings } from '../domain/lifecycle.js';
import type { PackageStorage } from '../storage/index.js';
import type { AuthVariables } from './auth.js';
import { respondValidationError, zodDetails } from './errors.js';

export type ApiEnv = { Variables: AuthVariables };

export interface ApiDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  encryptionKey: Buffer;
  identityTtlMs: number;
  /** Configuration changes are logged at info (keys only, never secrets), unexpected errors at error. */
  logger?: Logger;
  /** Serve /codec for the Temporal Web UI, callable from these browser origins (and at /codec/ui/<uiKey> without a token). */
  codec?: { origins: string[]; uiKey?: string | undefined };
  /** Tokens, logins and their rate limit. */
  auth: AuthSettings & { rateLimitPerMinute: number };
  /** What the HTTP layer accepts: body size, browser origins (CORS), Host names. */
  http?: { maxBodyBytes: number; corsOrigins: string[]; allowedHosts: string[] | '*' };
  /** The largest page the listings answer (DSRFLOW_MAX_PAGE_SIZE); default 50. */
  maxPageSize?: number;
  /** Access package downloads: the configured storage (a bucket needs it) and the public base URL of links. */
  accessPackages?: { storage?: PackageStorage; publicUrl?: string | undefined };
  /** Which data stores connections may point at, and how long a connection test waits. */
  connections?: Config['connections'];
  /** Deadlines at receipt: the time zone and overrides (DSRFLOW_TIME_ZONE…); UTC and the law's periods by default. */
  deadlines?: DeadlineSettings;
  /** The Temporal Web UI's base URL, for the console's links to a request's workflow (DSRFLOW_TEMPORAL_UI_URL). */
  temporalUiUrl?: string | undefined;
  /** Duplicate detection at receipt (off by default). */
  duplicates?: Config['duplicates'];
}


/** An OpenAPIHono whose validation failures answer 422 with every field named. */
export function newRouter() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return respondValidationError(c, zodDetails(result.error, result.target === 'json' ? 'body' : result.target));
      return undefined;
    },
  });
}

/**
 * An answer whose body the OpenAPI document describes outside zod: the dataset routes (JSON
 * Schema components generated from the recursive dataset schema) and the CSV stream. The route's
 * TypeScript types cannot see these bodies; this is the one place that vouches for them.
 */
export const answeredAs = <R extends RouteConfig>(_route: R, response: Response): RouteConfigToTypedResponse<R> => response as unknown as RouteConfigToTypedResponse<R>;
