/**
 * `/api/v1/connection/{connection_key}/dataset`: the fideslang datasets bound to a connection.
 *
 * `PATCH` takes a JSON list of datasets (or `{dataset: [...]}`), or fideslang YAML as it is kept
 * in files (`application/x-yaml`, `application/yaml`, `text/yaml`). Each dataset is validated by
 * the dataset parser (src/domain/datasets.ts) on its own: a dataset with problems is listed under
 * `failed` with each problem located (dataset, collection, field, and the YAML line), and the
 * others are saved, each in its own transaction.
 */
import { createRoute } from '@hono/zod-openapi';
import type { SchemaObject } from 'openapi3-ts/oas31';
import type { Context } from 'hono';
import { findConnection } from '../db/connections.js';
import { deleteDataset, getDataset, listDatasetPage, saveDatasetOfConnection } from '../db/datasets.js';
import { DatasetValidationError, describeProblem, parseDatasets, type Dataset, type DatasetProblem } from '../domain/datasets.js';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import { applyEach, ItemRejected, pageAnswer } from './bulk.js';
import { ConnectionKeyParam, datasetComponents, datasetRef, DatasetParam, MAX_CONFIGURATION_ITEMS_PER_CALL } from './configuration-schemas.js';
import { principal, secured } from './auth.js';
import { deleteOneRoute, deleteRecorded, listChildrenRoute, readOneRoute } from './resource-routes.js';
import { errorBody, respondValidationError } from './errors.js';
import { readYaml, type Path } from '../domain/yaml.js';
import { getSaasConfig } from '../db/saas-configs.js';
import { instanceKeyFor, parseSaasConfig, SaasConfigValidationError, substituteInstanceKey } from '../domain/saas/config.js';
import { findHostileValue } from './hostile-input.js';
import { isJsonType, isYamlType, mediaTypeOf, YAML_TYPES } from './media-types.js';
import { ErrorSchema, errorResponses, json } from './schemas.js';
import { answeredAs, newRouter, type ApiDeps } from './types.js';

const TAG = 'Datasets';
const notFound = { description: 'No connection (or dataset) with that key', content: json(ErrorSchema) };


const datasetList = { type: 'array', items: datasetRef, minItems: 1, maxItems: MAX_CONFIGURATION_ITEMS_PER_CALL } as const;
const yamlBody = {
  schema: {
    type: 'string',
    description: 'fideslang YAML, as in a dataset file: a `dataset:` list',
    example: 'dataset:\n  - fides_key: app_dataset\n    collections:\n      - name: customer\n        fields:\n          - name: email\n            data_categories: [user.contact.email]\n            fides_meta:\n              identity: email\n',
  },
};

const patchRoute = secured('dataset:write', createRoute({
  method: 'patch',
  path: '/connection/{connection_key}/dataset',
  tags: [TAG],
  summary: "Create or replace a connection's datasets (at most 50 per call), from JSON or fideslang YAML",
  description:
    'Each dataset is validated on its own and saved in its own transaction, replacing the stored dataset with the same fides_key. ' +
    'A dataset with problems is listed under `failed` with every problem located (dataset, collection, field, and the line for YAML), and nothing of it is saved. ' +
    'A fides_key that another connection holds is refused the same way. A body that is not JSON or YAML answers 400, a body that is not a list of datasets 422. ' +
    'Requests already planned keep the datasets they were planned with.',
  request: {
    params: ConnectionKeyParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: { oneOf: [datasetList, { type: 'object', required: ['dataset'], properties: { dataset: datasetList } }] },
        },
        ...Object.fromEntries(YAML_TYPES.map((type) => [type, yamlBody])),
      },
    },
  },
  responses: {
    200: { description: 'Per dataset: succeeded or failed', content: json({ $ref: '#/components/schemas/BulkDatasetResponse' }) },
    ...errorResponses,
    404: notFound,
    415: { description: 'The body is neither JSON nor YAML', content: json(ErrorSchema) },
  },
}));

const datasetPage: SchemaObject = {
  type: 'object',
  required: ['items', 'total', 'page', 'size', 'pages'],
  properties: { items: { type: 'array', items: datasetRef }, total: { type: 'integer' }, page: { type: 'integer' }, size: { type: 'integer' }, pages: { type: 'integer' } },
};

const listRoute = listChildrenRoute({
  scope: 'dataset:read',
  path: '/connection/{connection_key}/dataset',
  tag: TAG,
  summary: "A connection's datasets by fides_key",
  params: ConnectionKeyParam,
  missing: 'connection',
  what: 'datasets',
  page: datasetPage,
});

const getRoute = readOneRoute({
  scope: 'dataset:read',
  path: '/connection/{connection_key}/dataset/{fides_key}',
  tag: TAG,
  summary: 'A dataset, as it was validated (fidesops_meta is returned as fides_meta)',
  params: DatasetParam,
  schema: datasetRef,
  what: 'dataset',
  missing: 'connection or dataset',
});

const deleteRoute = deleteOneRoute({
  scope: 'dataset:write',
  path: '/connection/{connection_key}/dataset/{fides_key}',
  tag: TAG,
  summary: 'Delete a dataset',
  description: 'Requests already planned keep the datasets they were planned with.',
  params: DatasetParam,
  missing: 'connection or dataset',
});

const noConnection = (key: string) => errorBody('not_found', `No connection with key ${key}`);
const noDataset = (connectionKey: string, fidesKey: string) => errorBody('not_found', `Connection ${connectionKey} has no dataset with fides_key ${fidesKey}`);

const malformed = (message: string) => ({ ...errorBody('malformed_request', `body: ${message}`), detail: [{ loc: ['body'], msg: message, type: 'body_invalid' }] });

interface DatasetBody {
  items: unknown[];
  /** Where the items sit in the document: [] for a bare list, ['dataset'] for `{dataset: [...]}`. */
  at: Path;
  lineOf?: (path: Path) => number | undefined;
}

/** Reads a JSON or YAML body into the list of datasets, or answers why it cannot. */
async function readBody(c: Context): Promise<DatasetBody | Response> {
  const essence = mediaTypeOf(c.req.header('content-type'));
  const text = await c.req.text();
  let document: unknown;
  let lineOf: DatasetBody['lineOf'];
  if (isJsonType(essence)) {
    try {
      document = JSON.parse(text);
    } catch {
      return c.json(malformed('not valid JSON'), 400);
    }
  } else if (isYamlType(essence)) {
    const reading = readYaml(text);
    if (!reading.ok) return c.json(malformed(`${reading.problem}${reading.line ? ` (line ${reading.line})` : ''}`), 400);
    document = reading.document.value;
    lineOf = reading.document.lineOf;
    const hostile = findHostileValue(document);
    if (hostile) return respondValidationError(c, [{ loc: ['body', ...hostile.path], msg: hostile.msg, type: hostile.type }]);
  } else {
    return c.json(errorBody('unsupported_media_type', `Send datasets as application/json or as YAML (${YAML_TYPES.join(', ')}), not ${essence || 'a body without content-type'}`), 415);
  }

  const wrapped = typeof document === 'object' && document !== null && !Array.isArray(document);
  const items = Array.isArray(document) ? document : wrapped ? (document as Record<string, unknown>).dataset : undefined;
  const loc: Path = wrapped ? ['body', 'dataset'] : ['body'];
  const refuse = (msg: string) => respondValidationError(c, [{ loc, msg, type: 'invalid_datasets' }]);
  if (!Array.isArray(items)) {
    return refuse(wrapped ? 'is required: a list of datasets, as in a fideslang file (dataset: [...])' : 'expected a list of datasets, or {dataset: [...]}');
  }
  if (items.length === 0) return refuse('send at least one dataset');
  if (items.length > MAX_CONFIGURATION_ITEMS_PER_CALL) return refuse(`at most ${MAX_CONFIGURATION_ITEMS_PER_CALL} datasets per call`);
  return { items, at: wrapped ? ['dataset'] : [], ...(lineOf ? { lineOf } : {}) };
}

/** Validates one dataset of the body with the dataset parser; problems are located in the whole body. */
function parseItem(body: DatasetBody, index: number): { dataset: Dataset } | { problems: DatasetProblem[] } {
  const item = body.items[index];
  const lineOf = body.lineOf;
  try {
    // The parser sees a one-dataset document; its paths start with ['dataset', 0].
    const [dataset] = parseDatasets({ dataset: [item] }, lineOf && ((path) => lineOf([...body.at, index, ...path.slice(2)])));
    return { dataset: dataset! };
  } catch (error) {
    if (!(error instanceof DatasetValidationError)) throw error;
    return {
      problems: error.problems.map((problem) => (problem.dataset === '#1' ? { ...problem, dataset: `#${index + 1}` } : problem)),
    };
  }
}

const fidesKeyOf = (item: unknown): string | null => {
  const key = (item as { fides_key?: unknown } | null)?.fides_key;
  return typeof key === 'string' ? key : null;
};

export function datasetRoutes(deps: ApiDeps) {
  const router = newRouter();
  for (const [name, schema] of Object.entries(datasetComponents())) router.openAPIRegistry.registerComponent('schemas', name, schema);

  return router
    .openapi(patchRoute, async (c) => {
      const { connection_key: connectionKey } = c.req.valid('param');
      const connection = await findConnection(deps.sql, connectionKey);
      if (!connection) return c.json(noConnection(connectionKey), 404);
      const body = await readBody(c);
      // The dataset schemas are JSON Schema components (see datasetComponents), which hono's typed responses cannot see.
      if (body instanceof Response) return answeredAs(patchRoute, body);
      // A SaaS connection's dataset: `<instance_fides_key>` is its config's key, and the config's references must resolve in it.
      const saas = connection.connection_type === 'saas' ? await getSaasConfig(deps.sql, connectionKey) : undefined;
      if (connection.connection_type === 'saas') {
        const key = instanceKeyFor(saas?.fides_key, connectionKey);
        body.items = body.items.map((item) => substituteInstanceKey(item, key));
      }
      const seen = new Set<string>();
      const actor = principal(c).actor;
      const result = await applyEach(
        deps,
        body.items.map((_, index) => index),
        async (tx, index) => {
          const parsed = parseItem(body, index);
          const where = `body${body.at.length ? '.dataset' : ''}[${index}]`;
          if ('problems' in parsed) {
            const count = parsed.problems.length;
            throw new ItemRejected(`${where}: ${count} problem${count > 1 ? 's' : ''}: ${parsed.problems.map(describeProblem).join('; ')}`, { problems: parsed.problems });
          }
          const { dataset } = parsed;
          if (saas && dataset.fides_key === saas.fides_key) {
            try {
              parseSaasConfig({ saas_config: saas.config }, { dataset });
            } catch (error) {
              if (!(error instanceof SaasConfigValidationError)) throw error;
              const problems = error.problems.map((problem) => ({ dataset: dataset.fides_key, message: `the connection's saas_config, ${problem.at}: ${problem.message}` }));
              throw new ItemRejected(`${where}: ${problems.map(describeProblem).join('; ')}`, { problems });
            }
          }
          if (seen.has(dataset.fides_key)) {
            const problem = { dataset: dataset.fides_key, message: 'fides_key appears more than once in this call' };
            throw new ItemRejected(`${where}.fides_key: ${dataset.fides_key} appears more than once in this call`, { problems: [problem] });
          }
          seen.add(dataset.fides_key);
          const saved = await saveDatasetOfConnection(tx, connectionKey, dataset);
          if (!saved.saved) {
            const message = `dataset ${dataset.fides_key} belongs to connection ${saved.boundTo}; delete it there first, or use another fides_key`;
            throw new ItemRejected(`${where}.fides_key: ${message}`, { problems: [{ dataset: dataset.fides_key, message: `fides_key: ${message}` }] });
          }
          await recordConfigurationChange(tx, { resource: 'dataset', key: `${connectionKey}/${dataset.fides_key}`, change: 'updated', actor });
          return dataset;
        },
        (index) => ({ fides_key: fidesKeyOf(body.items[index]) }),
      );
      for (const dataset of result.succeeded) deps.logger?.info('Dataset saved', { connection_key: connectionKey, fides_key: dataset.fides_key, actor });
      return answeredAs(patchRoute, c.json({ succeeded: result.succeeded, failed: result.failed.map((failure) => ({ problems: [], ...failure })) }, 200));
    })
    .openapi(listRoute, async (c) => {
      const { connection_key: connectionKey } = c.req.valid('param');
      const { page, size } = c.req.valid('query');
      if (!(await findConnection(deps.sql, connectionKey))) return c.json(noConnection(connectionKey), 404);
      return answeredAs(listRoute, c.json(pageAnswer(await listDatasetPage(deps.sql, connectionKey, page, size), { page, size }, (dataset) => dataset), 200));
    })
    .openapi(getRoute, async (c) => {
      const { connection_key: connectionKey, fides_key: fidesKey } = c.req.valid('param');
      if (!(await findConnection(deps.sql, connectionKey))) return c.json(noConnection(connectionKey), 404);
      const dataset = await getDataset(deps.sql, connectionKey, fidesKey);
      if (!dataset) return c.json(noDataset(connectionKey, fidesKey), 404);
      return answeredAs(getRoute, c.json(dataset, 200));
    })
    .openapi(deleteRoute, async (c) => {
      const { connection_key: connectionKey, fides_key: fidesKey } = c.req.valid('param');
      if (!(await findConnection(deps.sql, connectionKey))) return c.json(noConnection(connectionKey), 404);
      const actor = principal(c).actor;
      const deleted = await deleteRecorded(deps, { resource: 'dataset', key: `${connectionKey}/${fidesKey}`, actor }, (tx) => deleteDataset(tx, connectionKey, fidesKey));
      if (!deleted) return c.json(noDataset(connectionKey, fidesKey), 404);
      deps.logger?.info('Dataset deleted', { connection_key: connectionKey, fides_key: fidesKey, actor });
      return c.body(null, 204);
    });
}
