/**
 * Reporting (reference 000 and 003): the privacy request listing (JSON pages or a CSV stream),
 * a request's execution log, and its task view; and the compliance metrics of a year (CCPA §7102(a)).
 */
import { createRoute } from '@hono/zod-openapi';
import type { Sql } from '../db/client.js';
import { listExecutionLogs } from '../db/execution-log.js';
import { randomUUID } from 'node:crypto';
import { listAuditLogs, recordAuditLog } from '../db/audit-log.js';
import { getPrivacyRequest, readIdentitiesOf } from '../db/privacy-requests.js';
import type { PrivacyRequestFilters } from '../db/privacy-requests.js';
import { privacyRequestsCsv } from '../service/csv.js';
import { complianceMetrics, listReport, metricsCsv } from '../service/reporting.js';
import { taskView } from '../service/tasks.js';
import { forbidden, holds, principal, secured } from './auth.js';
import { errorBody } from './errors.js';
import {
  AuditLogPageSchema,
  IdentityRevealSchema,
  ComplianceMetricsCsvSchema,
  ComplianceMetricsSchema,
  ExecutionLogPageSchema,
  metricsQuery,
  PrivacyRequestCsvSchema,
  PrivacyRequestPageSchema,
  privacyRequestListQuery,
  TaskViewSchema,
} from './reporting-schemas.js';
import { DEFAULT_PAGE_SIZE, ErrorSchema, errorResponses, pageParams, PrivacyRequestIdParam } from './schemas.js';
import { answeredAs, newRouter } from './types.js';
import { z } from 'zod';

export interface ReportingDeps {
  sql: Sql;
  encryptionKey: Buffer;
  /** The largest `size` a listing answers (DSRFLOW_MAX_PAGE_SIZE); default 50. */
  maxPageSize?: number | undefined;
}

const notFound = { description: 'No such privacy request', content: { 'application/json': { schema: ErrorSchema } } };

export function reportingRoutes(deps: ReportingDeps) {
  const maxPageSize = deps.maxPageSize ?? DEFAULT_PAGE_SIZE;

  const listRoute = secured('privacy-request:read', createRoute({
    method: 'get',
    path: '/privacy-request',
    tags: ['Privacy requests'],
    summary: 'List privacy requests, newest first',
    description:
      'Filters combine with AND; `status` may repeat. Sorted by creation time, newest first, then by id. ' +
      'A page past the end answers no items with the total. With `download_csv=true` the answer is every request the filters select, as CSV, streamed. ' +
      '`include_identities=true` also needs the scope `privacy-request:read-identity` (403 without it).',
    request: { query: privacyRequestListQuery(maxPageSize) },
    responses: {
      200: {
        description: 'A page of privacy requests, or with download_csv=true all of them as CSV',
        content: { 'application/json': { schema: PrivacyRequestPageSchema }, 'text/csv': { schema: PrivacyRequestCsvSchema } },
      },
      422: errorResponses[422],
    },
  }));

  const logRoute = secured('privacy-request:read', createRoute({
    method: 'get',
    path: '/privacy-request/{privacy_request_id}/log',
    tags: ['Privacy requests'],
    summary: "A privacy request's execution log, oldest first",
    request: { params: PrivacyRequestIdParam, query: z.object(pageParams(maxPageSize)) },
    responses: {
      200: { description: 'A page of execution log entries', content: { 'application/json': { schema: ExecutionLogPageSchema } } },
      404: notFound,
      422: errorResponses[422],
    },
  }));

  const tasksRoute = secured('privacy-request:read', createRoute({
    method: 'get',
    path: '/privacy-request/{privacy_request_id}/tasks',
    tags: ['Privacy requests'],
    summary: 'Where each collection of a request stands, per phase',
    description:
      'For every collection of the request\'s plan and each phase it runs (access; erasure when the policy erases): status, rows found or changed, attempts, the last error with its category, and timestamps. ' +
      'Before the request is planned, `planned` is false and there are no items.',
    request: { params: PrivacyRequestIdParam },
    responses: {
      200: { description: 'The task view', content: { 'application/json': { schema: TaskViewSchema } } },
      404: notFound,
      422: errorResponses[422],
    },
  }));

  const auditLogRoute = secured('privacy-request:read', createRoute({
    method: 'get',
    path: '/privacy-request/{privacy_request_id}/audit-log',
    tags: ['Privacy requests'],
    summary: "A privacy request's audit log, oldest first: what happened to it as a whole, and who did it",
    request: { params: PrivacyRequestIdParam, query: z.object(pageParams(maxPageSize)) },
    responses: {
      200: { description: 'A page of audit log entries', content: { 'application/json': { schema: AuditLogPageSchema } } },
      404: notFound,
      422: errorResponses[422],
    },
  }));

  const identityRoute = secured('privacy-request:read-identity', createRoute({
    method: 'get',
    path: '/privacy-request/{privacy_request_id}/identity',
    tags: ['Privacy requests'],
    summary: "Reveal a privacy request's identity (audited)",
    description:
      "The data subject's identities as submitted, while their time to live lasts (`{}` afterwards). Every call writes an audit row `identity_revealed` naming the caller, " +
      'so the request\'s timeline shows who looked. The answer is not cached (`cache-control: no-store`).',
    request: { params: PrivacyRequestIdParam },
    responses: {
      200: { description: 'The identities', content: { 'application/json': { schema: IdentityRevealSchema } } },
      404: notFound,
      422: errorResponses[422],
    },
  }));

  const metricsRoute = secured('privacy-request:read', createRoute({
    method: 'get',
    path: '/report/metrics',
    tags: ['Privacy requests'],
    summary: 'Compliance metrics of a year (CCPA §7102(a)): requests received, complied with, denied, and days to respond',
    description:
      'Counts the requests received in `year` (created_at in UTC, from Jan 1 until Jan 1 of the next year), per request type: `access` (requests to know) and `erasure` (requests to delete), ' +
      'from the request\'s action types (a request with both counts under both); for every regulation together, and in `by_regulation` per regulation (gdpr, ccpa, …). ' +
      '`received`: every request but duplicates, which are counted in `duplicates` and nowhere else. ' +
      '`complied_in_whole`: complete without warnings; `complied_in_part`: complete with warnings (some collection could not be addressed). ' +
      '`denied`, also per `denial_reason_code` when there is one (`denied_by_reason`); `canceled`; `open`: in any other status (not final yet), so received = complied_in_whole + complied_in_part + denied + canceled + open. ' +
      '`overdue_open`: open and past the due date (the extended one when extended) at `as_of`, the database\'s clock when asked; `completed_late`: complete after that due date. Requests without a due date are never late. ' +
      '`median_days_to_respond` (percentile_cont 0.5) and `mean_days_to_respond`: over the complete and denied requests, days from receipt (created_at) to completion (finished_processing_at) or denial (reviewed_at, stamped with the denial), ' +
      'rounded to 1 place; null when there are none. With `format=csv`: one record per regulation (`all` first, then by name) and request type, with the same columns; ' +
      '`denied_by_reason` as `code: count; …`; text a spreadsheet would run as a formula gets a leading apostrophe.',
    request: { query: metricsQuery },
    responses: {
      200: {
        description: 'The metrics, or with format=csv the same as CSV',
        content: { 'application/json': { schema: ComplianceMetricsSchema }, 'text/csv': { schema: ComplianceMetricsCsvSchema } },
      },
      422: errorResponses[422],
    },
  }));

  return newRouter()
    .openapi(auditLogRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      const { page, size } = c.req.valid('query');
      if (!(await getPrivacyRequest(deps.sql, id))) return c.json(errorBody('not_found', `No privacy request with id ${id}`), 404);
      const { items, total } = await listAuditLogs(deps.sql, id, page, size);
      const entries = items.map((row) => ({ id: Number(row.id), action: row.action, user_id: row.user_id, message: row.message, created_at: row.created_at.toISOString() }));
      return c.json({ items: entries, total, page, size, pages: Math.ceil(total / size) }, 200);
    })
    .openapi(identityRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      if (!(await getPrivacyRequest(deps.sql, id))) return c.json(errorBody('not_found', `No privacy request with id ${id}`), 404);
      const actor = principal(c).actor;
      // The audit row first: an identity is never shown without a record of who saw it.
      await recordAuditLog(deps.sql, { privacy_request_id: id, event_key: `identity_revealed:${randomUUID()}`, action: 'identity_revealed', user_id: actor, message: null });
      const identities = await readIdentitiesOf(deps.sql, [id], deps.encryptionKey);
      c.header('cache-control', 'no-store');
      return c.json({ privacy_request_id: id, identity: identities.get(id) ?? {}, revealed_by: actor }, 200);
    })
    .openapi(metricsRoute, async (c) => {
      const { year, format } = c.req.valid('query');
      const report = await complianceMetrics(deps.sql, year);
      if (format === 'csv') {
        const csv = c.body(metricsCsv(report), 200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="privacy-request-metrics-${year}.csv"`,
          'cache-control': 'no-store',
        });
        return answeredAs(metricsRoute, csv);
      }
      return c.json(report, 200);
    })
    .openapi(listRoute, async (c) => {
      const { page, size, verbose, include_identities, download_csv, id, count_limit, ...filters } = c.req.valid('query');
      if (include_identities && !holds(c, 'privacy-request:read-identity')) return forbidden(c, ['privacy-request:read-identity']);
      // `id` is the reference's other name for request_id; given both, a request must match both.
      const selected: PrivacyRequestFilters = { ...filters, request_id: [filters.request_id, id].filter((value) => value !== undefined) };
      if (download_csv) {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const csv = c.body(privacyRequestsCsv(deps.sql, selected), 200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="privacy-requests-${stamp}.csv"`,
          'cache-control': 'no-store',
        });
        return answeredAs(listRoute, csv);
      }
      const report = await listReport(deps, selected, { page, size, verbose, includeIdentities: include_identities, countLimit: count_limit });
      if (include_identities) c.header('cache-control', 'no-store');
      return c.json(report, 200);
    })
    .openapi(logRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      const { page, size } = c.req.valid('query');
      if (!(await getPrivacyRequest(deps.sql, id))) return c.json(errorBody('not_found', `No privacy request with id ${id}`), 404);
      const { items, total } = await listExecutionLogs(deps.sql, id, page, size);
      return c.json(
        {
          items: items.map((row) => ({
            id: row.id,
            connection_key: row.connection_key,
            dataset_name: row.dataset_name,
            collection_name: row.collection_name,
            action_type: row.action_type,
            status: row.status,
            message: row.message,
            error_category: row.error_category,
            fields_affected: row.fields_affected,
            row_count: row.row_count,
            updated_at: row.created_at.toISOString(),
          })),
          total,
          page,
          size,
          pages: Math.ceil(total / size),
        },
        200,
      );
    })
    .openapi(tasksRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      const view = await taskView(deps.sql, id);
      if (!view) return c.json(errorBody('not_found', `No privacy request with id ${id}`), 404);
      return c.json(view, 200);
    });
}
