/**
 * Contracts of the HTTP API, written once: they validate requests and produce /openapi.json.
 * Domain schemas (identity, policy, dataset) come from src/domain and are reused as they are.
 */
import { z } from '@hono/zod-openapi';
import { fidesKey } from '../domain/datasets.js';
import { ACTION_TYPES } from '../domain/policies.js';
import { identitySchema, PRIVACY_REQUEST_STATUSES } from '../domain/privacy-requests.js';

export const MAX_PRIVACY_REQUESTS_PER_CALL = 50;

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: 'validation_error' }),
    message: z.string().openapi({ example: 'body[0].policy_key: no policy with key my_policy' }),
    detail: z
      .array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() }))
      .optional(),
  })
  .openapi('Error');

export const errorResponses = {
  400: { description: 'Malformed request (for example invalid JSON)', content: { 'application/json': { schema: ErrorSchema } } },
  422: { description: 'Invalid input, naming each field; nothing was changed', content: { 'application/json': { schema: ErrorSchema } } },
};

export const PrivacyRequestCreateSchema = z
  .strictObject({
    external_id: z.string().min(1).max(255).nullish().openapi({ example: 'ticket-4711' }),
    requested_at: z.iso.datetime({ offset: true }).nullish().openapi({ example: '2026-11-23T10:00:00Z' }),
    policy_key: fidesKey.openapi({ example: 'default_access_policy' }),
    identity: identitySchema.openapi({
      type: 'object',
      description: 'The identities of the data subject: email, phone_number, or custom keys named in datasets',
      example: { email: 'customer-1@example.com' },
    }),
  })
  .openapi('PrivacyRequestCreate');

export const PrivacyRequestCreateListSchema = z
  .array(PrivacyRequestCreateSchema)
  .min(1, 'send at least one privacy request')
  .max(MAX_PRIVACY_REQUESTS_PER_CALL, `at most ${MAX_PRIVACY_REQUESTS_PER_CALL} privacy requests per call`);

const timestamp = z.string().nullable().openapi({ format: 'date-time' });

export const StoppedCollectionDetailsSchema = z
  .object({
    step: z.enum(ACTION_TYPES),
    collection: z.string().openapi({ example: 'postgres_example_test_dataset:customer' }),
    action_needed: z.array(z.unknown()).nullable(),
  })
  .openapi('StoppedCollectionDetails');

export const PrivacyRequestSchema = z
  .object({
    id: z.string().openapi({ example: 'pri_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }),
    external_id: z.string().nullable(),
    status: z.enum(PRIVACY_REQUEST_STATUSES),
    policy_key: z.string(),
    action_types: z.array(z.enum(ACTION_TYPES)),
    requested_at: timestamp,
    created_at: timestamp,
    reviewed_at: timestamp,
    reviewed_by: z.string().nullable(),
    started_processing_at: timestamp,
    finished_processing_at: timestamp,
    errored_at: timestamp,
    canceled_at: timestamp,
    stopped_collection_details: StoppedCollectionDetailsSchema.nullable(),
    resume_endpoint: z.string().nullable().openapi({ example: '/privacy-request/pri_…/retry' }),
  })
  .openapi('PrivacyRequest');

export const BulkCreateResponseSchema = z
  .object({
    succeeded: z.array(PrivacyRequestSchema),
    failed: z.array(
      z.object({
        message: z.string(),
        data: z.object({ external_id: z.string().nullish(), policy_key: z.string() }),
      }),
    ),
  })
  .openapi('BulkPrivacyRequestCreateResponse');

export const pageQuery = {
  page: z.coerce.number().int().min(1).default(1).openapi({ param: { name: 'page', in: 'query' }, example: 1 }),
  size: z.coerce.number().int().min(1).max(50).default(50).openapi({ param: { name: 'size', in: 'query' }, example: 50 }),
};

export const pageOf = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z
    .object({
      items: z.array(item),
      total: z.number().int(),
      page: z.number().int(),
      size: z.number().int(),
      pages: z.number().int(),
    })
    .openapi(name);

/** A query parameter that may repeat (`?status=a&status=b`). */
export const repeated = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((value) => (value === undefined || Array.isArray(value) ? value : [value]), z.array(item));

export const PrivacyRequestListQuery = z.object({
  request_id: z.string().optional().openapi({ param: { name: 'request_id', in: 'query' } }),
  external_id: z.string().optional().openapi({ param: { name: 'external_id', in: 'query' }, description: 'Prefix of the external id' }),
  status: repeated(z.enum(PRIVACY_REQUEST_STATUSES)).optional().openapi({ param: { name: 'status', in: 'query', style: 'form', explode: true } }),
  ...pageQuery,
});

export const ExecutionLogSchema = z
  .object({
    id: z.number().int(),
    connection_key: z.string().nullable(),
    dataset_name: z.string(),
    collection_name: z.string(),
    action_type: z.enum(ACTION_TYPES),
    status: z.string(),
    message: z.string().nullable(),
    fields_affected: z.array(z.object({ path: z.string(), field_name: z.string(), data_categories: z.array(z.string()) })).nullable(),
    row_count: z.number().int().nullable(),
    updated_at: timestamp,
  })
  .openapi('ExecutionLog');

export const PrivacyRequestIdParam = z.object({
  privacy_request_id: z.string().openapi({ param: { name: 'privacy_request_id', in: 'path' }, example: 'pri_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }),
});
