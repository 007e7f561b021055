/**
 * What every configuration resource (connections, datasets, policies, rules, targets) offers
 * besides its bulk upsert: a page of them, one by its key, and deleting one. One builder each, so
 * they are declared, documented and refused alike; deleting records the change in the same
 * transaction.
 */
import { createRoute } from '@hono/zod-openapi';
import type { ReferenceObject, SchemaObject } from 'openapi3-ts/oas31';
import { z, type ZodObject, type ZodRawShape, type ZodType } from 'zod';
import type { Scope } from '../auth/scopes.js';
import type { TransactionSql } from '../db/client.js';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import type { ConfigurationResource } from '../domain/configuration.js';
import { secured } from './auth.js';
import { ErrorSchema, errorResponses, json, pageQuery } from './schemas.js';
import type { ApiDeps } from './types.js';

const NO_PARAMS = z.object({});

interface Route<Path extends string, Params extends ZodObject<ZodRawShape>> {
  scope: Scope;
  path: Path;
  tag: string;
  summary: string;
  description?: string;
  params: Params;
  /** What a 404 says is missing: `connection`, `policy or rule`… */
  missing: string;
}

/** A response body: a zod schema, or a JSON Schema (the dataset components). */
type Body = ZodType | SchemaObject | ReferenceObject;

const notFound = (missing: string) => ({ description: `No ${missing} with that key`, content: json(ErrorSchema) });

/** GET one by its key(s). */
export const readOneRoute = <const Path extends string, Params extends ZodObject<ZodRawShape>, S extends Body>(route: Route<Path, Params> & { schema: S; what: string }) =>
  secured(
    route.scope,
    createRoute({
      method: 'get',
      path: route.path,
      tags: [route.tag],
      summary: route.summary,
      request: { params: route.params },
      responses: { 200: { description: `The ${route.what}`, content: json(route.schema) }, 404: notFound(route.missing), 422: errorResponses[422] },
    }),
  );

/** DELETE one by its key(s). */
export const deleteOneRoute = <const Path extends string, Params extends ZodObject<ZodRawShape>>(route: Route<Path, Params>) =>
  secured(
    route.scope,
    createRoute({
      method: 'delete',
      path: route.path,
      tags: [route.tag],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      request: { params: route.params },
      responses: { 204: { description: 'Deleted' }, 404: notFound(route.missing), 422: errorResponses[422] },
    }),
  );

/** GET a page, by key. */
export const listPageRoute = <const Path extends string, S extends Body>(route: Omit<Route<Path, typeof NO_PARAMS>, 'params' | 'missing'> & { page: S; what: string }) =>
  secured(
    route.scope,
    createRoute({
      method: 'get',
      path: route.path,
      tags: [route.tag],
      summary: route.summary,
      request: { query: z.object(pageQuery) },
      responses: { 200: { description: `A page of ${route.what}`, content: json(route.page) }, 422: errorResponses[422] },
    }),
  );

/** GET a page of what a parent holds (a connection's datasets), by key; 404 when the parent is missing. */
export const listChildrenRoute = <const Path extends string, Params extends ZodObject<ZodRawShape>, S extends Body>(route: Route<Path, Params> & { page: S; what: string }) =>
  secured(
    route.scope,
    createRoute({
      method: 'get',
      path: route.path,
      tags: [route.tag],
      summary: route.summary,
      request: { params: route.params, query: z.object(pageQuery) },
      responses: { 200: { description: `A page of ${route.what}`, content: json(route.page) }, 404: notFound(route.missing), 422: errorResponses[422] },
    }),
  );

/** Deletes in one transaction with its configuration change row; false when there was nothing to delete. */
export function deleteRecorded(deps: Pick<ApiDeps, 'sql'>, change: { resource: ConfigurationResource; key: string; actor: string }, remove: (tx: TransactionSql) => Promise<boolean>): Promise<boolean> {
  return deps.sql.begin(async (tx) => {
    if (!(await remove(tx))) return false;
    await recordConfigurationChange(tx, { ...change, change: 'deleted' });
    return true;
  });
}
