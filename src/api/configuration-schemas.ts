/**
 * Contracts of the configuration API (connections, datasets, policies), written once: they
 * validate requests and produce /openapi.json.
 *
 * Bulk calls (`PATCH`) are checked in two steps. The body's shape (types, required fields,
 * enums, formats, at most 50 items, each key once) is validated for the whole call: a bad field
 * answers 422 naming it, and nothing changes. What depends on the stored state or on several
 * fields of one item (secrets against the connection type, a masking strategy against the
 * action type, a dataset's content, a fides_key bound to another connection) is checked per
 * item: a failing item is listed under `failed` with a message naming the field and is not
 * applied; the others are, each in its own transaction.
 */
import { z } from 'zod';
import { ERROR_CATEGORIES } from '../domain/errors.js';
import { mariadbSecretsSchema } from '../connectors/mariadb.js';
import { postgresSecretsSchema } from '../connectors/postgres.js';
import { CONNECTION_TYPES } from '../domain/connections.js';
import { collectionSchema, datasetSchema, fidesKey, fieldSchema, maskingStrategySchema } from '../domain/datasets.js';
import { ACTION_TYPES, CONSENT_PREFERENCES, dataCategory } from '../domain/policies.js';
import { REGULATIONS, regulationSchema } from '../domain/deadlines.js';

export const MAX_CONFIGURATION_ITEMS_PER_CALL = 50;

/**
 * The masking strategy an erasure rule carries. The generic `{strategy, configuration}` for now;
 * src/domain/masking.ts's strict per-strategy schema replaces it here.
 */
export const ruleMaskingStrategySchema = maskingStrategySchema;

/** An enum whose error says what is allowed (or that the field is missing). */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${values.join(', ')}`) });

const timestamp = z.string().meta({ format: 'date-time', example: '2026-11-23T10:00:00.000Z' });
const displayName = z.string().min(1).max(255);

/** A list of 1 to 50 items whose `key`s are unique within the call. */
function bulkList<T extends z.ZodType<{ key: string }>>(item: T, noun: string) {
  return z
    .array(item)
    .min(1, `send at least one ${noun}`)
    .max(MAX_CONFIGURATION_ITEMS_PER_CALL, `at most ${MAX_CONFIGURATION_ITEMS_PER_CALL} ${noun}s per call`)
    .superRefine((items, context) => {
      const seen = new Set<string>();
      items.forEach((entry, index) => {
        if (seen.has(entry.key)) context.addIssue({ code: 'custom', path: [index, 'key'], message: `${entry.key} appears more than once in this call` });
        seen.add(entry.key);
      });
    });
}

const bulkResponse = <S extends z.ZodType, D extends z.ZodType>(succeeded: S, data: D, name: string) =>
  z
    .object({
      succeeded: z.array(succeeded),
      failed: z.array(
        z.object({
          message: z.string().meta({ example: 'body[1].masking_strategy: an erasure rule needs a masking strategy' }),
          data,
        }),
      ),
    })
    .meta({ id: name });

// Connections -----------------------------------------------------------------------------------

export const ConnectionTypeSchema = oneOf(CONNECTION_TYPES).meta({
  description: 'postgres and mariadb (MariaDB or MySQL) are queried by dsrflow; saas APIs are reached through the Fides saas_config set with PUT /connection/{key}/saas_config; manual collections are handled by people; http is accepted for configuration and not queried yet',
});
export const ConnectionAccessSchema = oneOf(['read', 'write']).meta({ description: 'write: erasure may change the data store; read: access only' });

/** Secrets as sent: validated per connection type by {@link secretsSchemaFor}. Never returned. */
export const SecretsSchema = z.record(z.string(), z.unknown()).meta({
  id: 'ConnectionSecrets',
  writeOnly: true,
  description:
    'Write-only: stored encrypted, never returned nor logged. postgres: `{url}` (postgres://…) or `{host, port?, dbname, username, password?, db_schema?, ssl_mode?}`; mariadb (MariaDB or MySQL): `{url}` (mariadb://… or mysql://…) or `{host, port? (3306), dbname, username, password?, ssl_mode? (disable, require, verify-full)}`; saas: the connector params of its saas_config, by name (`{domain, username, api_key}`); manual: none (`{}`); http: an object.',
  example: { host: 'db.internal', port: 5432, dbname: 'app', username: 'dsrflow', password: '********' },
});

export const ConnectionUpsertSchema = z
  .strictObject({
    key: fidesKey.meta({ example: 'app_postgres' }),
    name: displayName.nullish().meta({ description: 'Left as it is when omitted', example: 'Application database' }),
    connection_type: ConnectionTypeSchema,
    access: ConnectionAccessSchema,
    disabled: z.boolean().optional().meta({ description: 'Disabled connections are left out of new plans. Left as it is when omitted (false for a new connection)' }),
    secrets: SecretsSchema.optional().meta({ description: 'Replaces the stored secrets when given; validated against connection_type' }),
  })
  .meta({
    id: 'ConnectionUpsert',
    example: { key: 'app_postgres', name: 'Application database', connection_type: 'postgres', access: 'write', secrets: { url: 'postgres://dsrflow:********@db.internal:5432/app' } },
  });
export type ConnectionUpsert = z.infer<typeof ConnectionUpsertSchema>;

export const ConnectionUpsertListSchema = bulkList(ConnectionUpsertSchema, 'connection');

export const ConnectionSchema = z
  .object({
    key: z.string().meta({ example: 'app_postgres' }),
    name: z.string().nullable(),
    connection_type: ConnectionTypeSchema,
    access: ConnectionAccessSchema,
    disabled: z.boolean(),
    secrets_configured: z.boolean().meta({ description: 'Whether secrets are stored; the secrets themselves are never returned' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Connection' });

/** What a failed connection item echoes: never its secrets. */
const ConnectionFailureData = z
  .object({ key: z.unknown(), name: z.unknown().optional(), connection_type: z.unknown(), access: z.unknown(), disabled: z.unknown().optional() })
  .meta({ description: 'The item as sent, without its secrets' });

export const BulkConnectionResponseSchema = bulkResponse(ConnectionSchema, ConnectionFailureData, 'BulkConnectionResponse');

export const ConnectionKeyParam = z.object({ connection_key: z.string().meta({ example: 'app_postgres' }) });

export const SecretsQuery = z.object({
  verify: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true')
    .meta({ description: 'Also test the connection with the new secrets' }),
});

export const ConnectionTestSchema = z
  .object({
    connection_key: z.string(),
    test_status: z.enum(['succeeded', 'failed', 'skipped']),
    category: z
      .enum(ERROR_CATEGORIES)
      .nullable()
      .meta({ description: 'Why the test failed: authentication, permission, not_found (unknown database, host, or nothing listening), rate_limited, timeout, server or bad_data' }),
    msg: z.string().meta({ example: 'database "shop" does not exist' }),
  })
  .meta({ id: 'ConnectionTestResult' });

export const SecretsUpdateResponseSchema = z
  .object({
    msg: z.string().meta({ example: 'Secrets updated for connection app_postgres' }),
    connection: ConnectionSchema,
    test: ConnectionTestSchema.optional().meta({ description: 'With ?verify=true' }),
  })
  .meta({ id: 'SecretsUpdateResponse' });

/**
 * The secrets schema of a connection type. For postgres and mariadb, the form the secrets take (`url`, or
 * host and the rest) picks the variant, so that a problem is reported against its own field.
 */
export function secretsSchemaFor(type: (typeof CONNECTION_TYPES)[number], secrets: unknown): z.ZodType {
  switch (type) {
    case 'postgres': {
      const [byUrl, byParts] = postgresSecretsSchema.options;
      return typeof secrets === 'object' && secrets !== null && 'url' in secrets ? byUrl : byParts;
    }
    case 'mariadb': {
      const [byUrl, byParts] = mariadbSecretsSchema.options;
      return typeof secrets === 'object' && secrets !== null && 'url' in secrets ? byUrl : byParts;
    }
    case 'manual':
      return z.record(z.string(), z.unknown()).refine((value) => Object.keys(value).length === 0, 'manual connections take no secrets');
    default:
      return z.record(z.string(), z.unknown());
  }
}

// Datasets --------------------------------------------------------------------------------------

export const DatasetParam = ConnectionKeyParam.extend({ fides_key: z.string().meta({ example: 'postgres_example_test_dataset' }) });

export const DatasetProblemSchema = z.object({
  dataset: z.string().optional(),
  collection: z.string().optional(),
  field: z.string().optional(),
  line: z.number().int().optional().meta({ description: '1-based line in the YAML body' }),
  message: z.string(),
});

export const BulkDatasetResponseSchema = z.object({
  succeeded: z.array(datasetSchema),
  failed: z.array(
    z.object({
      message: z.string(),
      data: z.object({ fides_key: z.string().nullable() }),
      problems: z.array(DatasetProblemSchema),
    }),
  ),
});

/**
 * OpenAPI components for datasets, generated from the same zod schemas the parser validates with
 * (src/domain/datasets.ts). zod's own JSON Schema output is used here because the field schema is
 * recursive (nested fields), which it writes as a `$ref` to itself.
 */
export function datasetComponents(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string; description?: string }>();
  registry.add(datasetSchema, { id: 'Dataset', description: 'A fideslang dataset: one element of the YAML `dataset:` list' });
  registry.add(collectionSchema, { id: 'DatasetCollection' });
  registry.add(fieldSchema, { id: 'DatasetField', description: 'A field; `fields` nests fields. fidesops_meta is read as fides_meta' });
  registry.add(DatasetProblemSchema, { id: 'DatasetProblem', description: 'One problem in a dataset, located as precisely as the input allows' });
  registry.add(BulkDatasetResponseSchema, { id: 'BulkDatasetResponse' });
  const generated = z.toJSONSchema(registry, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  const components: Record<string, Record<string, unknown>> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema;
    components[id] = rest;
  }
  return components;
}

export const datasetRef = { $ref: '#/components/schemas/Dataset' } as const;

// Policies --------------------------------------------------------------------------------------

export const PolicyUpsertSchema = z
  .strictObject({
    key: fidesKey.meta({ example: 'default_access_policy' }),
    name: displayName.meta({ example: 'Default access policy' }),
    requires_approval: z.boolean().optional().meta({ description: 'Requests wait for a reviewer. Left as it is when omitted (false for a new policy)' }),
    requires_erasure_confirmation: z
      .boolean()
      .optional()
      .meta({ description: 'Erasure waits for confirmation of what it would change. Left as it is when omitted (false for a new policy)' }),
    regulation: regulationSchema.optional().meta({ description: 'The regime requests under this policy follow unless they name their own: its period to respond and its one extension. Left as it is when omitted (gdpr for a new policy)' }),
    custom_days: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(366, 'must be at most 366').nullable().optional().meta({ description: 'Days to respond under the `custom` regulation' }),
    requires_identity_verification: z.boolean().optional().meta({ description: 'Requests start `identity_unverified`; a 6-digit code goes to the email identity. Left as it is when omitted (false for a new policy)' }),
  })
  .superRefine((policy, ctx) => {
    if (policy.regulation === 'custom' && !policy.custom_days) ctx.addIssue({ code: 'custom', path: ['custom_days'], message: 'required when regulation is custom' });
  })
  .meta({ id: 'PolicyUpsert', example: { key: 'default_access_policy', name: 'Default access policy' } });

export const PolicyUpsertListSchema = bulkList(PolicyUpsertSchema, 'policy');

export const RuleTargetSchema = z
  .object({
    key: z.string().meta({ example: 'all_user_data' }),
    name: z.string().nullable(),
    data_category: z.string().meta({ example: 'user' }),
  })
  .meta({ id: 'RuleTarget' });

export const MaskingStrategyDocSchema = ruleMaskingStrategySchema.meta({ id: 'MaskingStrategy', example: { strategy: 'null_rewrite' } });

export const RuleSchema = z
  .object({
    key: z.string().meta({ example: 'access_all_data' }),
    name: z.string(),
    action_type: z.enum(ACTION_TYPES),
    masking_strategy: MaskingStrategyDocSchema.nullable(),
    targets: z.array(RuleTargetSchema),
    consent_preference: z.enum(CONSENT_PREFERENCES).optional().meta({ description: 'Consent rules: what is sent to vendors whose saas_config has consent_requests' }),
  })
  .meta({ id: 'Rule' });

export const PolicySchema = z
  .object({
    key: z.string().meta({ example: 'default_access_policy' }),
    name: z.string(),
    requires_approval: z.boolean(),
    requires_erasure_confirmation: z.boolean(),
    regulation: z.enum(REGULATIONS),
    custom_days: z.number().nullable(),
    requires_identity_verification: z.boolean(),
    rules: z.array(RuleSchema),
  })
  .meta({ id: 'Policy' });

export const BulkPolicyResponseSchema = bulkResponse(PolicySchema, PolicyUpsertSchema, 'BulkPolicyResponse');

export const RuleUpsertSchema = z
  .strictObject({
    key: fidesKey.meta({ example: 'erase_contact_data' }),
    name: displayName.meta({ example: 'Erase contact data' }),
    action_type: oneOf(ACTION_TYPES),
    masking_strategy: MaskingStrategyDocSchema.nullish().meta({ description: 'Required for erasure rules, not allowed for access and consent rules' }),
    consent_preference: oneOf(CONSENT_PREFERENCES).optional().meta({
      description: 'Consent rules only (opt_out when absent): sent, after access and erasure, to every SaaS connection whose saas_config has consent_requests',
    }),
  })
  .meta({
    id: 'RuleUpsert',
    example: { key: 'erase_contact_data', name: 'Erase contact data', action_type: 'erasure', masking_strategy: { strategy: 'null_rewrite' } },
  });

export const RuleUpsertListSchema = bulkList(RuleUpsertSchema, 'rule');

export const BulkRuleResponseSchema = bulkResponse(RuleSchema, RuleUpsertSchema, 'BulkRuleResponse');

export const RuleTargetUpsertSchema = z
  .strictObject({
    key: fidesKey.meta({ example: 'contact' }),
    name: displayName.nullish(),
    data_category: dataCategory.meta({ example: 'user.contact', description: 'Selects this category and every category below it (user.contact selects user.contact.email)' }),
  })
  .meta({ id: 'RuleTargetUpsert', example: { key: 'contact', data_category: 'user.contact' } });

export const RuleTargetUpsertListSchema = bulkList(RuleTargetUpsertSchema, 'rule target');

export const BulkRuleTargetResponseSchema = bulkResponse(RuleTargetSchema, RuleTargetUpsertSchema, 'BulkRuleTargetResponse');

export const PolicyKeyParam = z.object({ policy_key: z.string().meta({ example: 'default_access_policy' }) });
export const RuleParam = PolicyKeyParam.extend({ rule_key: z.string().meta({ example: 'access_all_data' }) });
export const RuleTargetParam = RuleParam.extend({ rule_target_key: z.string().meta({ example: 'all_user' }) });
