/** `/api/v1/privacy-request`: submit requests, list them, read their execution log. */
import { createRoute } from '@hono/zod-openapi';
import { listExecutionLogs } from '../db/execution-log.js';
import { getPrivacyRequest, listPrivacyRequests } from '../db/privacy-requests.js';
import { loadPolicies, submitPrivacyRequests, toPrivacyRequestResponse, type SubmitDeps } from '../service/privacy-requests.js';
import { errorBody, respondValidationError } from './errors.js';
import {
  BulkCreateResponseSchema,
  ErrorSchema,
  errorResponses,
  ExecutionLogSchema,
  pageOf,
  pageQuery,
  PrivacyRequestCreateListSchema,
  PrivacyRequestIdParam,
  PrivacyRequestListQuery,
  PrivacyRequestSchema,
} from './schemas.js';
import { newRouter } from './types.js';

const pages = (total: number, size: number) => Math.ceil(total / size);

const createPrivacyRequests = createRoute({
  method: 'post',
  path: '/privacy-request',
  tags: ['Privacy requests'],
  summary: 'Submit privacy requests (at most 50 per call)',
  description:
    'Each request starts one workflow whose id is the request id. The whole call is validated first: a bad field or an unknown policy refuses the call with 422 and changes nothing. ' +
    'A request that cannot be started (for example Temporal is unreachable) is listed in `failed` and leaves nothing behind.',
  request: { body: { required: true, content: { 'application/json': { schema: PrivacyRequestCreateListSchema } } } },
  responses: {
    200: { description: 'Per request: succeeded or failed', content: { 'application/json': { schema: BulkCreateResponseSchema } } },
    ...errorResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/privacy-request',
  tags: ['Privacy requests'],
  summary: 'List privacy requests, newest first',
  request: { query: PrivacyRequestListQuery },
  responses: {
    200: { description: 'A page of privacy requests', content: { 'application/json': { schema: pageOf(PrivacyRequestSchema, 'PrivacyRequestPage') } } },
    422: errorResponses[422],
  },
});

const logRoute = createRoute({
  method: 'get',
  path: '/privacy-request/{privacy_request_id}/log',
  tags: ['Privacy requests'],
  summary: "A privacy request's execution log, oldest first",
  request: { params: PrivacyRequestIdParam, query: PrivacyRequestListQuery.pick({ page: true, size: true }).extend(pageQuery) },
  responses: {
    200: { description: 'A page of execution log entries', content: { 'application/json': { schema: pageOf(ExecutionLogSchema, 'ExecutionLogPage') } } },
    404: { description: 'No such privacy request', content: { 'application/json': { schema: ErrorSchema } } },
    422: errorResponses[422],
  },
});

export function privacyRequestRoutes(deps: SubmitDeps) {
  return newRouter()
    .openapi(createPrivacyRequests, async (c) => {
      const submissions = c.req.valid('json');
      const policies = await loadPolicies(deps.sql, submissions.map((submission) => submission.policy_key));
      const unknown = submissions.flatMap((submission, index) =>
        policies.has(submission.policy_key) ? [] : [{ loc: ['body', index, 'policy_key'], msg: `no policy with key ${submission.policy_key}`, type: 'unknown_policy' }],
      );
      if (unknown.length) return respondValidationError(c, unknown);
      const result = await submitPrivacyRequests(deps, submissions, policies);
      return c.json({ succeeded: result.succeeded.map(toPrivacyRequestResponse), failed: result.failed }, 200);
    })
    .openapi(listRoute, async (c) => {
      const query = c.req.valid('query');
      const { items, total } = await listPrivacyRequests(deps.sql, query, query.page, query.size);
      return c.json({ items: items.map(toPrivacyRequestResponse), total, page: query.page, size: query.size, pages: pages(total, query.size) }, 200);
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
            fields_affected: row.fields_affected,
            row_count: row.row_count,
            updated_at: row.created_at.toISOString(),
          })),
          total,
          page,
          size,
          pages: pages(total, size),
        },
        200,
      );
    });
}
