/**
 * Contracts of the HTTP API, written once: they validate requests and produce /openapi.json.
 * Domain schemas (identity, policy, dataset) come from src/domain and are reused as they are.
 */
import { z } from 'zod';
import { fidesKey } from '../domain/datasets.js';
import { ACTION_TYPES } from '../domain/policies.js';
import { actionSchemas } from '../domain/actions.js';
import { identitySchema, PRIVACY_REQUEST_STATUSES } from '../domain/privacy-requests.js';
import { REGULATIONS, regulationSchema } from '../domain/deadlines.js';

export const MAX_PRIVACY_REQUESTS_PER_CALL = 50;

export const ErrorSchema = z
  .object({
    error: z.string().meta({ example: 'validation_error' }),
    message: z.string().meta({ example: 'body[0].policy_key: no policy with key my_policy' }),
    detail: z
      .array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() }))
      .optional(),
  })
  .meta({ id: 'Error' });

export const errorResponses = {
  400: { description: 'Malformed request (for example invalid JSON)', content: { 'application/json': { schema: ErrorSchema } } },
  422: { description: 'Invalid input, naming each field; nothing was changed', content: { 'application/json': { schema: ErrorSchema } } },
};

export const PrivacyRequestCreateSchema = z
  .strictObject({
    external_id: z.string().min(1).max(255).nullish().meta({ example: 'ticket-4711' }),
    requested_at: z.iso.datetime({ offset: true }).nullish().meta({ example: '2026-11-23T10:00:00Z' }),
    policy_key: fidesKey.meta({ example: 'default_access_policy' }),
    identity: identitySchema.meta({
      type: 'object',
      description: 'The identities of the data subject: email, phone_number, or custom keys named in datasets',
      example: { email: 'customer-1@example.com' },
    }),
    requires_erasure_confirmation: z
      .boolean()
      .optional()
      .meta({ description: 'Pause before erasure, showing how many rows each collection would lose, until confirmed (the policy may ask for this too)' }),
    regulation: regulationSchema
      .optional()
      .meta({ description: 'The regime the request follows, which sets its due date (gdpr: one month; ccpa and US states: 45 days; lgpd: 15 days; custom: the policy’s days). The policy’s when omitted' }),
  })
  .meta({ id: 'PrivacyRequestCreate' });

export const PrivacyRequestCreateListSchema = z
  .array(PrivacyRequestCreateSchema)
  .min(1, 'send at least one privacy request')
  .max(MAX_PRIVACY_REQUESTS_PER_CALL, `at most ${MAX_PRIVACY_REQUESTS_PER_CALL} privacy requests per call`);

/** An OpenAPI response body of JSON. */
export const json = <T>(schema: T) => ({ 'application/json': { schema } });

export const timestamp = z.string().nullable().meta({ format: 'date-time' });

export const StoppedCollectionDetailsSchema = z
  .object({
    step: z.enum(ACTION_TYPES),
    collection: z.string().meta({ example: 'postgres_example_test_dataset:customer' }),
    action_needed: z.array(z.unknown()).nullable(),
  })
  .meta({ id: 'StoppedCollectionDetails' });

export const PrivacyRequestSchema = z
  .object({
    id: z.string().meta({ example: 'pri_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }),
    external_id: z.string().nullable(),
    status: z.enum(PRIVACY_REQUEST_STATUSES),
    policy_key: z.string(),
    action_types: z.array(z.enum(ACTION_TYPES)),
    requested_at: timestamp,
    created_at: timestamp,
    reviewed_at: timestamp,
    reviewed_by: z.string().nullable().meta({ description: 'The client (`client:<id>`) or user (`user:<name>`) who approved or denied it, or `system`' }),
    created_by: z.string().nullable().meta({ description: 'The client or user who submitted it' }),
    started_processing_at: timestamp,
    finished_processing_at: timestamp,
    errored_at: timestamp,
    canceled_at: timestamp,
    paused_at: timestamp,
    denial_reason: z.string().nullable(),
    requires_erasure_confirmation: z.boolean(),
    erasure_preview: z
      .record(z.string(), z.number().int())
      .nullable()
      .meta({ description: 'Per collection, how many rows erasure would change (set when the request awaits erasure confirmation)' }),
    stopped_collection_details: StoppedCollectionDetailsSchema.nullable(),
    warnings: z
      .array(z.object({ phase: z.enum(ACTION_TYPES), collection: z.string(), reason: z.string() }))
      .meta({ description: 'What a complete request could not do: collections erasure left untouched (no primary key, nothing to mask), manual collections skipped at their deadline' }),
    resume_endpoint: z.string().nullable().meta({ example: '/privacy-request/pri_…/retry' }),
    regulation: z.enum(REGULATIONS),
    due_at: timestamp.meta({ description: 'When the request must be answered (the end of its last day, in DSRFLOW_TIME_ZONE); from verification where the regime says so' }),
    extended_due_at: timestamp.meta({ description: 'The due date after its one extension' }),
    days_left: z.number().int().nullable().meta({ description: 'Whole days until the due date that counts (extended or not), rounded up; negative when overdue; null once finished' }),
    acknowledge_by: timestamp.meta({ description: 'CCPA: confirm receipt by then (10 business days)' }),
    extension_reason: z.string().nullable(),
    identity_verified_at: timestamp,
    denial_reason_code: z.string().nullable().meta({ description: '`insuf_verification` when the identity was never verified' }),
    duplicate_of: z.string().nullable().meta({ description: 'The request this one duplicates (status `duplicate`)' }),
    legal_hold: z.boolean().meta({ description: 'Erasure waits while a legal hold is on' }),
    legal_hold_reason: z.string().nullable(),
  })
  .meta({ id: 'PrivacyRequest' });

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
  .meta({ id: 'BulkPrivacyRequestCreateResponse' });

/** The page size when the query names none (reference 000: 50). */
export const DEFAULT_PAGE_SIZE = 50;

/** Page and size, with the largest size this deployment allows (DSRFLOW_MAX_PAGE_SIZE). */
export const pageParams = (maxPageSize: number) => ({
  page: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(1).meta({ example: 1 }),
  size: z.coerce
    .number()
    .int()
    .min(1)
    .max(maxPageSize)
    .default(Math.min(DEFAULT_PAGE_SIZE, maxPageSize))
    .meta({ example: Math.min(DEFAULT_PAGE_SIZE, maxPageSize), description: `At most ${maxPageSize}` }),
});

/** Page and size of the configuration listings: at most 50 a page. */
export const pageQuery = pageParams(DEFAULT_PAGE_SIZE);

/** A page of items; `extra` adds fields of a listing's own (the privacy request listing's `total_capped`). */
export const pageOf = <T extends z.ZodTypeAny, E extends z.ZodRawShape = {}>(item: T, name: string, extra?: E) =>
  z
    .object({
      items: z.array(item),
      total: z.number().int(),
      page: z.number().int(),
      size: z.number().int(),
      pages: z.number().int(),
      ...(extra ?? ({} as E)),
    })
    .meta({ id: name });

/** A query parameter that may repeat (`?status=a&status=b`). */
export const repeated = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((value) => (value === undefined || Array.isArray(value) ? value : [value]), z.array(item));

export const PrivacyRequestIdParam = z.object({
  privacy_request_id: z.string().meta({ example: 'pri_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }),
});

const requestIds = z.array(z.string().min(1)).min(1, 'give at least one request id').max(50, 'at most 50 request ids per call');

/** Who acts is the credential, never the body: the API's action bodies carry no reviewer or user_id. */
const apiAction = {
  approve: actionSchemas().approve.omit({ reviewer: true }),
  deny: actionSchemas().deny.omit({ reviewer: true }),
  cancel: actionSchemas().cancel.omit({ user_id: true }),
  retry: actionSchemas().retry.omit({ user_id: true }),
  confirmErasure: actionSchemas().confirmErasure.omit({ user_id: true }),
  manualInput: actionSchemas().manualInput.omit({ user_id: true }),
  erasureConfirm: actionSchemas().erasureConfirm.omit({ user_id: true }),
  extend: actionSchemas().extend.omit({ user_id: true }),
  placeLegalHold: actionSchemas().placeLegalHold.omit({ user_id: true }),
  liftLegalHold: actionSchemas().liftLegalHold.omit({ user_id: true }),
};

export const ExtendSchema = apiAction.extend.meta({ id: 'ExtendDueDate', example: { reason: 'The request covers 14 systems; we need the time the law allows' } });
export const LegalHoldSchema = apiAction.placeLegalHold.meta({ id: 'PlaceLegalHold', example: { reason: 'Litigation hold, case 2026-117' } });
export const LiftLegalHoldSchema = apiAction.liftLegalHold.meta({ id: 'LiftLegalHold' });
export const VerifyIdentitySchema = z
  .strictObject({ code: z.string({ error: 'must be text' }).regex(/^\d{6}$/, 'must be the 6-digit code from the email') })
  .meta({ id: 'VerifyIdentity', example: { code: '123456' } });
export const VerifyIdentityResponseSchema = z.object({ id: z.string(), status: z.enum(PRIVACY_REQUEST_STATUSES) }).meta({ id: 'VerifyIdentityResult' });

export const ApproveSchema = apiAction.approve.extend({ request_ids: requestIds }).meta({ id: 'ApprovePrivacyRequests' });
export const DenySchema = apiAction.deny.extend({ request_ids: requestIds }).meta({ id: 'DenyPrivacyRequests' });
export const CancelSchema = apiAction.cancel.extend({ request_ids: requestIds }).meta({ id: 'CancelPrivacyRequests' });
export const RetrySchema = apiAction.retry.meta({ id: 'RetryPrivacyRequest' });
export const ConfirmErasureSchema = apiAction.confirmErasure.meta({ id: 'ConfirmErasure' });
/** Fides sends the rows as a bare list; the object form also names the collection. */
export const ManualInputSchema = z
  .union([z.array(z.record(z.string(), z.unknown())), apiAction.manualInput])
  .transform((body) => (Array.isArray(body) ? { rows: body } : body))
  .pipe(apiAction.manualInput)
  .meta({ id: 'ManualInput', description: 'Rows found in the manual collection the request waits on: a list of rows, or {collection, rows}' });
export const ErasureConfirmSchema = apiAction.erasureConfirm.meta({ id: 'ErasureConfirm' });

export const BulkActionResponseSchema = z
  .object({
    succeeded: z.array(PrivacyRequestSchema),
    failed: z.array(z.object({ message: z.string(), data: z.object({ id: z.string() }) })),
  })
  .meta({ id: 'BulkPrivacyRequestActionResponse' });
