/**
 * Contracts of the reporting endpoints (reference 000 for the listing and the log, reference 003
 * for the task view). They validate the query and produce /openapi.json.
 */
import { z } from 'zod';
import { REGULATIONS } from '../domain/deadlines.js';
import { ERROR_CATEGORIES } from '../domain/errors.js';
import { EXECUTION_LOG_STATUSES } from '../domain/lifecycle.js';
import { ACTION_TYPES } from '../domain/policies.js';
import { PRIVACY_REQUEST_STATUSES } from '../domain/privacy-requests.js';
import { TASK_STATUSES } from '../service/tasks.js';
import { pageOf, pageParams, PrivacyRequestSchema, repeated, timestamp } from './schemas.js';


/** `2021-10-01` (midnight UTC) or `2021-10-01T12:30:00Z`; a date-time without an offset is UTC. */
const DATE_OR_DATE_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|z|[ +-]\d{2}:?\d{2})?)?$/;

export function parseDateFilter(text: string): Date | undefined {
  const match = DATE_OR_DATE_TIME.exec(text.trim());
  if (!match) return undefined;
  const [, date, time, offset] = match;
  // A `+` in a query string arrives as a space.
  const zone = offset === undefined ? 'Z' : offset.replace(/^ /, '+').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const parsed = new Date(`${date}T${time ?? '00:00:00'}${zone}`);
  if (Number.isNaN(parsed.getTime())) return undefined;
  // new Date() rolls 2021-02-30 over to March: refuse dates that do not exist.
  const [year, month, day] = date!.split('-').map(Number);
  const check = new Date(Date.UTC(year!, month! - 1, day!));
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day) return undefined;
  return parsed;
}

const dateFilter = (description: string) =>
  z
    .string()
    .transform((text, ctx) => {
      const date = parseDateFilter(text);
      if (!date) {
        ctx.addIssue({ code: 'custom', message: `expected a date (2021-10-01) or a date-time (2021-10-01T12:30:00Z), got "${text}"` });
        return z.NEVER;
      }
      return date;
    })
    .optional()
    .meta({ description, example: '2021-10-01' });

/** Text a query compares with stored text (Postgres text cannot hold NUL). */
const text = () => z.string().min(1).max(1000).refine((value) => !value.includes('\0'), { message: 'must not contain NUL characters' });

const flag = (description: string) =>
  z.stringbool({ truthy: ['true', '1'], falsy: ['false', '0'] }).default(false).meta({ type: 'boolean', description });


export const privacyRequestListQuery = (maxPageSize: number) =>
  z.object({
    request_id: text().optional().meta({ description: 'The request with this id' }),
    id: text().optional().meta({ description: 'Same as request_id' }),
    external_id: text().optional().meta({ description: 'Requests whose external id starts with this (`_` and `%` match themselves)' }),
    status: repeated(z.enum(PRIVACY_REQUEST_STATUSES))
      .optional()
      .meta({ description: 'Repeat to match any of several statuses: ?status=paused&status=error' }),
    action_type: z.enum(ACTION_TYPES).optional().meta({ description: 'Requests whose policy has this action type' }),
    policy_key: text().optional(),
    regulation: z.enum(REGULATIONS).optional().meta({ description: 'Requests under this regulation' }),
    has_warnings: z
      .stringbool({ truthy: ['true', '1'], falsy: ['false', '0'] })
      .optional()
      .meta({ type: 'boolean', description: 'true: complete requests that could not do everything (see `warnings`); false: the others' }),
    created_lt: dateFilter('Created before'),
    created_gt: dateFilter('Created after'),
    started_lt: dateFilter('Started processing before'),
    started_gt: dateFilter('Started processing after'),
    completed_lt: dateFilter('Finished processing before'),
    completed_gt: dateFilter('Finished processing after'),
    errored_lt: dateFilter('Failed before'),
    errored_gt: dateFilter('Failed after'),
    due_before: dateFilter('Due (the extended date once extended) before'),
    due_after: dateFilter('Due (the extended date once extended) after'),
    overdue: z
      .stringbool({ truthy: ['true', '1'], falsy: ['false', '0'] })
      .optional()
      .meta({ type: 'boolean', description: 'true: not finished and past the due date that counts; false: the others' }),
    open: z
      .stringbool({ truthy: ['true', '1'], falsy: ['false', '0'] })
      .optional()
      .meta({ type: 'boolean', description: 'true: not finished (any status but complete, denied, canceled and duplicate); false: finished' }),
    count_limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .optional()
      .meta({ description: 'Count at most this many matching requests (counting a million takes hundreds of milliseconds). When more match, `total` is this number and `total_capped` is true' }),
    verbose: flag('Embed `results`: execution logs grouped by dataset and audit logs ("Request approved", "Request finished"…), at most 50 entries per group'),
    include_identities: flag('Embed `identity`: the identities submitted, while their time to live (DSRFLOW_IDENTITY_TTL) lasts; `{}` afterwards'),
    download_csv: flag('Answer every request the filters select as CSV (text/csv), newest first, instead of a page of JSON'),
    ...pageParams(maxPageSize),
  });

export const LogEntrySchema = z
  .object({
    collection_name: z.string().nullable(),
    fields_affected: z.array(z.unknown()).nullable(),
    message: z.string().nullable(),
    action_type: z.enum(ACTION_TYPES).nullable(),
    status: z.string().meta({ description: 'Execution logs: in_processing, retrying, complete, error, skipped, paused. Audit logs: the action (approved, finished…)' }),
    updated_at: z.string().meta({ format: 'date-time' }),
    user_id: z.string().nullable(),
  })
  .meta({ id: 'LogEntry' });

export const PrivacyRequestListItemSchema = PrivacyRequestSchema.extend({
  identity: z.record(z.string(), z.string()).optional().meta({ description: 'With include_identities=true: the identities, or {} once they expired' }),
  results: z
    .record(z.string(), z.array(LogEntrySchema))
    .optional()
    .meta({ description: 'With verbose=true: log entries by dataset name and by audit group, at most 50 per group' }),
}).meta({ id: 'PrivacyRequestListItem' });

export const PrivacyRequestPageSchema = pageOf(PrivacyRequestListItemSchema, 'PrivacyRequestPage', {
  total_capped: z.boolean().optional().meta({ description: 'With count_limit: true when more requests match than were counted (`total` is then a lower bound, and so is `pages`)' }),
});

export const PrivacyRequestCsvSchema = z.string().meta({
  description: 'With download_csv=true. One header line, then one line per request (RFC 4180, CRLF line ends)',
  example:
    'id,external_id,status,policy_key,action_types,requested_at,created_at,reviewed_at,reviewed_by,created_by,started_processing_at,finished_processing_at,errored_at,canceled_at,paused_at,denial_reason,warnings,' +
    'regulation,due_at,extended_due_at,acknowledge_by,extension_reason,identity_verified_at,denial_reason_code,duplicate_of,legal_hold\r\n',
});

export const ExecutionLogSchema = z
  .object({
    id: z.number().int(),
    connection_key: z.string().nullable(),
    dataset_name: z.string(),
    collection_name: z.string(),
    action_type: z.enum(ACTION_TYPES),
    status: z.enum(EXECUTION_LOG_STATUSES),
    message: z.string().nullable(),
    error_category: z.enum(ERROR_CATEGORIES).nullable().meta({ description: 'Entries with status error: why the data store refused' }),
    fields_affected: z.array(z.object({ path: z.string(), field_name: z.string(), data_categories: z.array(z.string()) })).nullable(),
    row_count: z.number().int().nullable(),
    updated_at: timestamp,
  })
  .meta({ id: 'ExecutionLog' });

export const ExecutionLogPageSchema = pageOf(ExecutionLogSchema, 'ExecutionLogPage');

export const TaskSchema = z
  .object({
    collection: z.string().meta({ example: 'postgres_example_test_dataset:customer' }),
    connection_key: z.string(),
    dataset_name: z.string(),
    collection_name: z.string(),
    phase: z.enum(ACTION_TYPES),
    manual: z.boolean().meta({ description: 'A person handles this collection (direct contact)' }),
    status: z.enum(TASK_STATUSES).meta({
      description:
        'pending: not started; in_processing: querying or retrying; awaiting_input: a person has a task due at deadline_at; paused: that deadline passed and the request keeps waiting; ' +
        'complete: done (row_count rows found or changed); skipped: nothing to do or no answer before the deadline; error: failed after its retries (see last_error)',
    }),
    upstream: z.array(z.string()).meta({ description: 'The collections this one waits for in this phase' }),
    run: z.number().int().meta({ description: '1, then one more each time a retry of the request runs this collection again' }),
    row_count: z.number().int().nullable().meta({ description: 'Rows found (access) or changed (erasure)' }),
    attempts: z.number().int().meta({ description: 'Queries started, automatic retries and retried runs included' }),
    skipped_reason: z.string().nullable().meta({ description: 'Why a skipped collection was skipped' }),
    last_error: z
      .object({ category: z.enum(ERROR_CATEGORIES).nullable(), message: z.string(), at: z.string().meta({ format: 'date-time' }) })
      .nullable(),
    started_at: timestamp,
    finished_at: timestamp,
    updated_at: timestamp,
    deadline_at: timestamp.meta({ description: 'Manual collections: when the person is due to answer' }),
  })
  .meta({ id: 'Task' });

export const TaskViewSchema = z
  .object({
    privacy_request_id: z.string(),
    status: z.enum(PRIVACY_REQUEST_STATUSES),
    planned: z.boolean().meta({ description: 'False until the request is planned; items is empty then' }),
    items: z.array(TaskSchema).meta({ description: 'Per phase (access, then erasure when the policy erases), every collection of the plan' }),
  })
  .meta({ id: 'TaskView' });

// ---- Compliance metrics --------------------------------------------------------------------

export const metricsQuery = z.object({
  year: z
    .string()
    .transform((text, ctx) => {
      const year = /^\d{4}$/.test(text) ? Number(text) : Number.NaN;
      if (!(year >= 2000 && year <= 2100)) {
        ctx.addIssue({ code: 'custom', message: `expected a year, an integer from 2000 to 2100, got "${text}"` });
        return z.NEVER;
      }
      return year;
    })
    .meta({ type: 'integer', minimum: 2000, maximum: 2100, example: 2026, description: 'The year of receipt: requests created from Jan 1 (UTC) until Jan 1 of the next year' }),
  format: z.enum(['json', 'csv']).default('json').meta({ description: 'csv: one record per regulation (or `all`) and request type, with the same columns' }),
});

const days = (description: string) => z.number().nullable().meta({ description, example: 12.5 });

export const MetricCountsSchema = z
  .object({
    received: z.number().int().meta({ description: 'Requests received in the year, duplicates excepted' }),
    duplicates: z.number().int().meta({ description: 'Requests recognised as duplicates of another (never run; not in `received`)' }),
    complied_in_whole: z.number().int().meta({ description: 'Complete, without warnings' }),
    complied_in_part: z.number().int().meta({ description: 'Complete with warnings: some collection could not be addressed' }),
    denied: z.number().int(),
    denied_by_reason: z
      .record(z.string(), z.number().int())
      .meta({ description: 'Denied requests per denial reason code; denials without a code are only in `denied`', example: { insuf_verification: 2 } }),
    canceled: z.number().int(),
    open: z.number().int().meta({ description: 'Not in a final status yet (neither complete, denied, canceled nor duplicate)' }),
    overdue_open: z.number().int().meta({ description: 'Open, and past their due date (the extended one if extended) at `as_of`' }),
    completed_late: z.number().int().meta({ description: 'Complete after their due date (the extended one if extended)' }),
    median_days_to_respond: days('Over complete and denied requests: days from receipt to completion or denial, rounded to 1 place; null when none'),
    mean_days_to_respond: days('The mean of the same days, rounded to 1 place; null when none'),
  })
  .meta({ id: 'MetricCounts' });

const MetricsByTypeSchema = z
  .object({
    access: MetricCountsSchema,
    erasure: MetricCountsSchema,
  })
  .meta({ id: 'MetricsByType', description: 'access: requests to know; erasure: requests to delete' });

export const ComplianceMetricsSchema = z
  .object({
    year: z.number().int(),
    from: z.string().meta({ format: 'date-time', description: 'Start of the period of receipt (inclusive)' }),
    to: z.string().meta({ format: 'date-time', description: 'End of the period of receipt (exclusive)' }),
    as_of: z.string().meta({ format: 'date-time', description: 'When open and overdue requests were counted' }),
    access: MetricCountsSchema,
    erasure: MetricCountsSchema,
    by_regulation: z
      .record(z.string(), MetricsByTypeSchema)
      .meta({ description: 'The same per regulation (gdpr, ccpa, …), for each regulation with a request received in the year' }),
  })
  .meta({ id: 'ComplianceMetrics', description: 'access: requests to know; erasure: requests to delete; every regulation together, then by_regulation' });

export const ComplianceMetricsCsvSchema = z.string().meta({
  description: 'With format=csv. One header line, then one line per regulation (`all` first, then by name) and request type (RFC 4180, CRLF line ends)',
  example:
    'regulation,request_type,received,duplicates,complied_in_whole,complied_in_part,denied,denied_by_reason,canceled,open,overdue_open,completed_late,median_days_to_respond,mean_days_to_respond\r\n' +
    'all,access,120,3,100,5,10,insuf_verification: 8,2,3,1,4,9.5,11.2\r\n',
});

export const AuditLogEntrySchema = z
  .object({
    id: z.number().int(),
    action: z.string().meta({ description: 'approved, denied, finished, canceled, error, retried, erasure_confirmed, manual_input, extended, identity_revealed…' }),
    user_id: z.string().nullable().meta({ description: 'Who acted: `user:<name>`, `client:<id>`, `system`, or null for the workflow itself' }),
    message: z.string().nullable(),
    created_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'AuditLogEntry' });

export const AuditLogPageSchema = pageOf(AuditLogEntrySchema, 'AuditLogPage');

export const IdentityRevealSchema = z
  .object({
    privacy_request_id: z.string(),
    identity: z.record(z.string(), z.string()).meta({ description: 'The identities submitted, or {} once their time to live (DSRFLOW_IDENTITY_TTL) passed' }),
    revealed_by: z.string(),
  })
  .meta({ id: 'IdentityReveal' });
