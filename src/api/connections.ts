/**
 * `/api/v1/connection`: the data stores dsrflow reads and erases, with their secrets.
 *
 * Secrets are write-only: they are validated against the connection type, stored encrypted
 * (src/crypto.ts), and never appear in a response or a log line; responses say only whether
 * secrets are set. `GET /connection/{key}/test` connects with the real connector and answers
 * with a category and a reason when it cannot, with secret values masked out of the reason.
 */
import { createRoute } from '@hono/zod-openapi';
import { testConnection as runConnectionTest } from '../connectors/connection-test.js';
import { refuseSecrets } from '../connectors/registry.js';
import { refuseSaasSecrets } from '../connectors/saas-secrets.js';
import { getSaasConfig } from '../db/saas-configs.js';
import {
  deleteConnection,
  findConnection,
  listConnectionPage,
  saveConnection,
  setConnectionSecrets,
  type ConnectionSecrets,
  type ConnectionSummary,
} from '../db/connections.js';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import type { ApiDeps } from './types.js';
import { applyEach, issuesMessage, ItemRejected, pageAnswer } from './bulk.js';
import {
  BulkConnectionResponseSchema,
  ConnectionKeyParam,
  ConnectionSchema,
  ConnectionTestSchema,
  ConnectionUpsertListSchema,
  SecretsQuery,
  SecretsSchema,
  secretsSchemaFor,
  SecretsUpdateResponseSchema,
  type ConnectionUpsert,
} from './configuration-schemas.js';
import { principal, secured } from './auth.js';
import { deleteOneRoute, deleteRecorded, listPageRoute, readOneRoute } from './resource-routes.js';
import { errorBody, respondValidationError, zodDetails } from './errors.js';
import { ErrorSchema, errorResponses, json, pageOf } from './schemas.js';
import { newRouter } from './types.js';
import { z } from 'zod';

const TAG = 'Connections';
const notFoundResponse = (what: string) => ({ description: `No ${what} with that key`, content: json(ErrorSchema) });
const unsupportedMediaType = { description: 'The body is not JSON', content: json(ErrorSchema) };
const noConnection = (key: string) => errorBody('not_found', `No connection with key ${key}`);

export function toConnectionResponse(row: ConnectionSummary): z.infer<typeof ConnectionSchema> {
  return {
    key: row.key,
    name: row.name,
    connection_type: row.connection_type,
    access: row.access,
    disabled: row.disabled,
    secrets_configured: row.secrets_configured,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** What a failed item echoes: the item without its secrets. */
const failureData = ({ secrets: _secrets, ...item }: ConnectionUpsert) => item;

const isEmpty = (value: object) => Object.keys(value).length === 0;

const patchRoute = secured('connection:write', createRoute({
  method: 'patch',
  path: '/connection',
  tags: [TAG],
  summary: 'Create or update connections (at most 50 per call)',
  description:
    'Each connection applies whole or not at all, in its own transaction. A malformed body (a bad field, more than 50 items, a key twice) is refused with 422 and changes nothing. ' +
    'A connection whose secrets do not fit its type, or whose type changes while it holds secrets for the old type and no new ones are sent, is listed under `failed` with the field named, and is not applied. ' +
    'Fields left out keep their stored values; secrets are replaced only when sent. Secrets are never returned.',
  request: { body: { required: true, content: json(ConnectionUpsertListSchema) } },
  responses: {
    200: { description: 'Per connection: succeeded or failed', content: json(BulkConnectionResponseSchema) },
    ...errorResponses,
    415: unsupportedMediaType,
  },
}));

const listRoute = listPageRoute({ scope: 'connection:read', path: '/connection', tag: TAG, summary: 'List connections by key', page: pageOf(ConnectionSchema, 'ConnectionPage'), what: 'connections' });

const getRoute = readOneRoute({ scope: 'connection:read', path: '/connection/{connection_key}', tag: TAG, summary: 'A connection (never its secrets)', params: ConnectionKeyParam, schema: ConnectionSchema, what: 'connection', missing: 'connection' });

const deleteRoute = deleteOneRoute({
  scope: 'connection:write',
  path: '/connection/{connection_key}',
  tag: TAG,
  summary: 'Delete a connection and its datasets',
  description: 'Requests already planned keep their snapshot of the datasets, but can no longer query this connection.',
  params: ConnectionKeyParam,
  missing: 'connection',
});

const secretRoute = secured('connection:write', createRoute({
  method: 'put',
  path: '/connection/{connection_key}/secret',
  tags: [TAG],
  summary: "Replace a connection's secrets",
  description: "The secrets are validated against the connection's type (422 naming the field) and stored encrypted. They are never returned. `?verify=true` also tests the connection.",
  request: { params: ConnectionKeyParam, query: SecretsQuery, body: { required: true, content: json(SecretsSchema) } },
  responses: {
    200: { description: 'Secrets stored', content: json(SecretsUpdateResponseSchema) },
    404: notFoundResponse('connection'),
    ...errorResponses,
    415: unsupportedMediaType,
  },
}));

const testRoute = secured('connection:write', createRoute({
  method: 'get',
  path: '/connection/{connection_key}/test',
  tags: [TAG],
  summary: 'Test that dsrflow can connect with the stored secrets',
  description:
    'Connects with the real connector and runs a trivial query. A failure answers 200 with `test_status: failed`, a `category` (authentication, not_found for an unknown database or host or a port nothing listens on, timeout…) and the reason, with secret values masked. Manual connections, and types dsrflow cannot query yet, are `skipped`.',
  request: { params: ConnectionKeyParam },
  responses: { 200: { description: 'The result of the test', content: json(ConnectionTestSchema) }, 404: notFoundResponse('connection') },
}));

/** The connection test runs in src/connectors/connection-test.ts, with the configured allow-list and deadline. */
const testConnection = (deps: ApiDeps, key: string) =>
  runConnectionTest(deps.sql, deps.encryptionKey, key, { allow: deps.connections?.allow, timeoutMs: deps.connections?.testTimeoutMs, loopbackHttp: deps.connections?.saasLoopbackHttp });

export function connectionRoutes(deps: ApiDeps) {
  return newRouter()
    .openapi(patchRoute, async (c) => {
      const items = c.req.valid('json');
      const actor = principal(c).actor;
      const result = await applyEach(
        deps,
        items,
        async (tx, item, index) => {
          const existing = await findConnection(tx, item.key, { forUpdate: true });
          let secrets: ConnectionSecrets | null | undefined;
          if (item.secrets !== undefined) {
            const parsed = secretsSchemaFor(item.connection_type, item.secrets).safeParse(item.secrets);
            if (!parsed.success) throw new ItemRejected(issuesMessage(parsed.error, ['body', index, 'secrets']));
            const value = parsed.data as ConnectionSecrets;
            const refused = refuseSecrets(item.connection_type, value, deps.connections) ?? (item.connection_type === 'saas' ? refuseSaasSecrets((await getSaasConfig(tx, item.key))?.config, value, deps.connections?.allow) : undefined);
            if (refused) throw new ItemRejected(`body[${index}].secrets.${refused.field}: ${refused.message}`);
            secrets = isEmpty(value) ? null : value;
          } else if (existing?.secrets_configured && existing.connection_type !== item.connection_type) {
            if (item.connection_type !== 'manual') {
              throw new ItemRejected(
                `body[${index}].secrets: the connection changes from ${existing.connection_type} to ${item.connection_type}; send secrets for ${item.connection_type} with it`,
              );
            }
            secrets = null; // manual connections hold no secrets
          }
          const row = await saveConnection(
            tx,
            {
              key: item.key,
              name: item.name !== undefined ? item.name : (existing?.name ?? null),
              connection_type: item.connection_type,
              access: item.access,
              disabled: item.disabled ?? existing?.disabled ?? false,
            },
            secrets,
            deps.encryptionKey,
          );
          await recordConfigurationChange(tx, { resource: 'connection', key: item.key, change: existing ? 'updated' : 'created', actor });
          if (existing && secrets !== undefined) await recordConfigurationChange(tx, { resource: 'connection_secrets', key: item.key, change: 'updated', actor });
          return { row, secretsChanged: secrets !== undefined, created: !existing };
        },
        failureData,
      );
      for (const { row, secretsChanged, created } of result.succeeded) {
        deps.logger?.info(created ? 'Connection created' : 'Connection updated', { connection_key: row.key, connection_type: row.connection_type, secrets_changed: secretsChanged, actor });
      }
      return c.json({ succeeded: result.succeeded.map(({ row }) => toConnectionResponse(row)), failed: result.failed }, 200);
    })
    .openapi(listRoute, async (c) => {
      const { page, size } = c.req.valid('query');
      return c.json(pageAnswer(await listConnectionPage(deps.sql, page, size), { page, size }, toConnectionResponse), 200);
    })
    .openapi(getRoute, async (c) => {
      const { connection_key: key } = c.req.valid('param');
      const connection = await findConnection(deps.sql, key);
      if (!connection) return c.json(noConnection(key), 404);
      return c.json(toConnectionResponse(connection), 200);
    })
    .openapi(deleteRoute, async (c) => {
      const { connection_key: key } = c.req.valid('param');
      const actor = principal(c).actor;
      if (!(await deleteRecorded(deps, { resource: 'connection', key, actor }, (tx) => deleteConnection(tx, key)))) return c.json(noConnection(key), 404);
      deps.logger?.info('Connection deleted', { connection_key: key, actor });
      return c.body(null, 204);
    })
    .openapi(secretRoute, async (c) => {
      const { connection_key: key } = c.req.valid('param');
      const { verify } = c.req.valid('query');
      const body = c.req.valid('json');
      const connection = await findConnection(deps.sql, key);
      if (!connection) return c.json(noConnection(key), 404);
      const parsed = secretsSchemaFor(connection.connection_type, body).safeParse(body);
      if (!parsed.success) return respondValidationError(c, zodDetails(parsed.error, 'body'));
      const value = parsed.data as ConnectionSecrets;
      const refused =
        refuseSecrets(connection.connection_type, value, deps.connections) ??
        (connection.connection_type === 'saas' ? refuseSaasSecrets((await getSaasConfig(deps.sql, key))?.config, value, deps.connections?.allow) : undefined);
      if (refused) return respondValidationError(c, [{ loc: ['body', refused.field], msg: refused.message, type: 'value_error' }]);
      const actor = principal(c).actor;
      const row = await deps.sql.begin(async (tx) => {
        const updated = await setConnectionSecrets(tx, key, isEmpty(value) ? null : value, deps.encryptionKey);
        if (updated) await recordConfigurationChange(tx, { resource: 'connection_secrets', key, change: 'updated', actor });
        return updated;
      });
      if (!row) return c.json(noConnection(key), 404);
      deps.logger?.info('Connection secrets replaced', { connection_key: key, actor });
      const test = verify ? await testConnection(deps, key) : undefined;
      return c.json({ msg: `Secrets updated for connection ${key}`, connection: toConnectionResponse(row), ...(test ? { test } : {}) }, 200);
    })
    .openapi(testRoute, async (c) => {
      const { connection_key: key } = c.req.valid('param');
      const result = await testConnection(deps, key);
      if (!result) return c.json(noConnection(key), 404);
      deps.logger?.info('Connection tested', { connection_key: key, test_status: result.test_status, category: result.category });
      return c.json(result, 200);
    });
}
