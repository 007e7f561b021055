/**
 * `/api/v1/connection/{connection_key}/saas_config`: the Fides saas_config of a SaaS connection,
 * as Fides' `PUT /connection/{key}/saas_config` takes it.
 *
 * The body is the config as kept in files (YAML with `saas_config:`), or JSON (`{saas_config: …}`
 * or the config itself). It is validated whole (src/domain/saas/config.ts): with the connection's
 * dataset of the same fides_key when there is one, and with the stored datasets its references
 * name. A config with problems answers 422 listing each with its YAML line, and nothing changes.
 * `<instance_fides_key>` stands for the connection's key, as when Fides makes a connector from a
 * template. Secured like dataset uploads.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { findConnection } from '../db/connections.js';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import { datasetsWithKeys } from '../db/datasets.js';
import { deleteSaasConfig, getSaasConfig, saveSaasConfig } from '../db/saas-configs.js';
import {
  requestSchema,
  saasConfigFileSchema,
  saasConfigSchema,
  describeSaasProblem,
  instanceKeyFor,
  INSTANCE_KEY_PLACEHOLDER,
  parseSaasConfig,
  SaasConfigValidationError,
  substituteInstanceKey,
  type SaasConfigProblem,
} from '../domain/saas/config.js';
import { readYaml, type Path } from '../domain/yaml.js';
import { principal, secured } from './auth.js';
import { ConnectionKeyParam } from './configuration-schemas.js';
import { errorBody } from './errors.js';
import { findHostileValue } from './hostile-input.js';
import { isJsonType, isYamlType, mediaTypeOf, YAML_TYPES } from './media-types.js';
import { deleteOneRoute, deleteRecorded } from './resource-routes.js';
import { ErrorSchema, errorResponses, json } from './schemas.js';
import { answeredAs, newRouter, type ApiDeps } from './types.js';

const TAG = 'SaaS configs';

export const SaasConfigProblemSchema = z
  .object({
    at: z.string().meta({ example: 'saas_config.endpoints[0].requests.read.path' }),
    line: z.number().int().optional().meta({ description: '1-based line in the YAML (or JSON) body' }),
    message: z.string().meta({ example: 'path uses <user_id>, which nothing supplies: it is not a connector param, a param_value of this request or an identity' }),
  })
  .meta({ id: 'SaasConfigProblem' });

const SaasConfigInvalidSchema = z
  .object({
    error: z.literal('validation_error'),
    message: z.string(),
    detail: z.array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })),
    problems: z.array(SaasConfigProblemSchema),
  })
  .meta({ id: 'SaasConfigInvalid' });

const SaasConfigResponseSchema = z
  .object({
    connection_key: z.string(),
    fides_key: z.string().meta({ description: 'The key its dataset must have (`<instance_fides_key>` filled with the connection key)' }),
    saas_config: z.record(z.string(), z.unknown()).meta({ description: 'The config as validated' }),
    updated_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'SaasConfig' });

const yamlBody = { schema: { type: 'string' as const, description: 'A Fides saas_config file: `saas_config:` at the top' } };

const putRoute = secured(
  'dataset:write',
  createRoute({
    method: 'put',
    path: '/connection/{connection_key}/saas_config',
    tags: [TAG],
    summary: "Create or replace a SaaS connection's saas_config (Fides' YAML, unchanged)",
    description:
      'Validated whole: an unknown strategy (authentication, pagination, postprocessor), a `<placeholder>` nothing supplies, a reference to a dataset field that does not exist, a host that is not a host name, or a body that is not JSON once filled is answered 422 with every problem and its YAML line; nothing is stored. ' +
      "Upload the dataset (PATCH /connection/{key}/dataset) with the config's fides_key. Requests already planned keep the config they were planned with for their graph.",
    request: {
      params: ConnectionKeyParam,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: { oneOf: [{ $ref: '#/components/schemas/SaasConfigFile' }, { $ref: '#/components/schemas/SaasConfigBody' }], description: '`{saas_config: {...}}` or the config itself' },
          },
          ...Object.fromEntries(YAML_TYPES.map((type) => [type, yamlBody])),
        },
      },
    },
    responses: {
      200: { description: 'Stored', content: json(SaasConfigResponseSchema) },
      ...errorResponses,
      404: { description: 'No connection with that key', content: json(ErrorSchema) },
      415: { description: 'The body is neither JSON nor YAML', content: json(ErrorSchema) },
      422: { description: 'The config has problems (each with its YAML line), or the connection is not of type saas', content: json(SaasConfigInvalidSchema) },
    },
  }),
);

const getRoute = secured(
  'dataset:read',
  createRoute({
    method: 'get',
    path: '/connection/{connection_key}/saas_config',
    tags: [TAG],
    summary: "A SaaS connection's saas_config, as validated",
    request: { params: ConnectionKeyParam },
    responses: { 200: { description: 'The config', content: json(SaasConfigResponseSchema) }, 404: { description: 'No connection, or no config', content: json(ErrorSchema) }, 422: errorResponses[422] },
  }),
);

const deleteRoute = deleteOneRoute({
  scope: 'dataset:write',
  path: '/connection/{connection_key}/saas_config',
  tag: TAG,
  summary: "Delete a SaaS connection's saas_config",
  description: 'Its dataset stays; the connection cannot be queried until a config is set again.',
  params: ConnectionKeyParam,
  missing: 'connection or saas_config',
});

/** Every `dataset:` a reference names in the raw document. */
function referencedDatasets(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => referencedDatasets(item, found));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'references' && Array.isArray(item)) {
        for (const reference of item) {
          if (typeof reference === 'string') found.add(reference.split('.')[0]!);
          else if (typeof (reference as { dataset?: unknown })?.dataset === 'string') found.add((reference as { dataset: string }).dataset);
        }
      } else referencedDatasets(item, found);
    }
  }
  return found;
}

const invalid = (c: Context, problems: SaasConfigProblem[]) =>
  c.json(
    {
      error: 'validation_error' as const,
      message: problems.map(describeSaasProblem).join('; '),
      detail: problems.map((problem) => ({ loc: ['body', ...problem.at.split(/\.|\[|\]/).filter(Boolean).map((part) => (/^\d+$/.test(part) ? Number(part) : part))], msg: `${problem.message}${problem.line !== undefined ? ` (line ${problem.line})` : ''}`, type: 'saas_config_invalid' })),
      problems,
    },
    422,
  );

/**
 * OpenAPI components for the config, generated from the zod schemas the parser validates with.
 * Strategy configurations are checked per strategy after the schema (`configuration` is any object here).
 */
export function saasConfigComponents(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string; description?: string }>();
  registry.add(saasConfigFileSchema, { id: 'SaasConfigFile', description: "A Fides saas_config file: `saas_config:` at the top" });
  registry.add(saasConfigSchema, { id: 'SaasConfigBody', description: 'A Fides saas_config (keys dsrflow does not use are accepted and ignored)' });
  registry.add(requestSchema, { id: 'SaasRequest', description: 'A request template: `<placeholders>` are filled from connector params, param_values and identities' });
  const generated = z.toJSONSchema(registry, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(generated.schemas).map(([id, { $schema: _schema, $id: _id, ...rest }]) => [id, rest]));
}

export function saasConfigRoutes(deps: ApiDeps) {
  const router = newRouter();
  for (const [name, schema] of Object.entries(saasConfigComponents())) router.openAPIRegistry.registerComponent('schemas', name, schema);
  return router
    .openapi(putRoute, async (c) => {
      const { connection_key: connectionKey } = c.req.valid('param');
      const connection = await findConnection(deps.sql, connectionKey);
      if (!connection) return c.json(errorBody('not_found', `No connection with key ${connectionKey}`), 404);
      if (connection.connection_type !== 'saas') {
        return answeredAs(putRoute, invalid(c, [{ at: 'connection_type', message: `connection ${connectionKey} is of type ${connection.connection_type}; a saas_config belongs to a connection of type saas` }]));
      }
      const essence = mediaTypeOf(c.req.header('content-type'));
      if (!isJsonType(essence) && !isYamlType(essence)) {
        return c.json(errorBody('unsupported_media_type', `Send the saas_config as YAML (${YAML_TYPES.join(', ')}) or application/json, not ${essence || 'a body without content-type'}`), 415);
      }
      const source = await c.req.text();
      // JSON is YAML: one reader gives lines for both.
      const reading = readYaml(source);
      if (!reading.ok) return answeredAs(putRoute, invalid(c, [{ at: 'body', message: reading.problem, ...(reading.line ? { line: reading.line } : {}) }]));
      let document = reading.document.value;
      let lineOf = reading.document.lineOf;
      const hostile = findHostileValue(document);
      if (hostile) return answeredAs(putRoute, invalid(c, [{ at: ['body', ...hostile.path].join('.'), message: hostile.msg }]));
      const wrapped = typeof document === 'object' && document !== null && 'saas_config' in document;
      if (!wrapped) {
        // The config itself (as Fides' API takes it): its lines are where they are.
        document = { saas_config: document };
        const inner = lineOf;
        lineOf = (path: Path) => inner(path.slice(1));
      }
      const rawKey = (document as { saas_config?: { fides_key?: unknown } }).saas_config?.fides_key;
      const fidesKey = instanceKeyFor(typeof rawKey === 'string' ? rawKey : undefined, connectionKey);
      document = substituteInstanceKey(document, fidesKey);

      const names = [...referencedDatasets(document), fidesKey];
      const stored = await datasetsWithKeys(deps.sql, names);
      const own = stored.find((row) => row.fides_key === fidesKey && row.connection_key === connectionKey)?.dataset;
      const otherDatasets = new Map(stored.filter((row) => row.fides_key !== fidesKey).map((row) => [row.fides_key, row.dataset]));
      let config;
      try {
        config = parseSaasConfig(document, { lineOf, dataset: own, otherDatasets });
      } catch (error) {
        if (error instanceof SaasConfigValidationError) return answeredAs(putRoute, invalid(c, error.problems));
        throw error;
      }
      if (typeof rawKey === 'string' && rawKey === INSTANCE_KEY_PLACEHOLDER) config = { ...config, fides_key: fidesKey };
      const actor = principal(c).actor;
      const row = await deps.sql.begin(async (tx) => {
        const existing = await getSaasConfig(tx, connectionKey);
        const saved = await saveSaasConfig(tx, connectionKey, config, source);
        await recordConfigurationChange(tx, { resource: 'saas_config', key: connectionKey, change: existing ? 'updated' : 'created', actor });
        return saved;
      });
      deps.logger?.info('SaaS config saved', { connection_key: connectionKey, fides_key: config.fides_key, actor });
      return c.json({ connection_key: connectionKey, fides_key: row.fides_key, saas_config: row.config as unknown as Record<string, unknown>, updated_at: row.updated_at.toISOString() }, 200);
    })
    .openapi(getRoute, async (c) => {
      const { connection_key: connectionKey } = c.req.valid('param');
      const row = await getSaasConfig(deps.sql, connectionKey);
      if (!row) return c.json(errorBody('not_found', `Connection ${connectionKey} has no saas_config (or does not exist)`), 404);
      return c.json({ connection_key: connectionKey, fides_key: row.fides_key, saas_config: row.config as unknown as Record<string, unknown>, updated_at: row.updated_at.toISOString() }, 200);
    })
    .openapi(deleteRoute, async (c) => {
      const { connection_key: connectionKey } = c.req.valid('param');
      const actor = principal(c).actor;
      const deleted = await deleteRecorded(deps, { resource: 'saas_config', key: connectionKey, actor }, (tx) => deleteSaasConfig(tx, connectionKey));
      if (!deleted) return c.json(errorBody('not_found', `Connection ${connectionKey} has no saas_config (or does not exist)`), 404);
      return c.body(null, 204);
    });
}
