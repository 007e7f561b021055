/** `/api/v1/privacy-request`: submit requests and act on them (listing and logs: reporting.ts). */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ZodType } from 'zod';
import type { ActionName, ActionPayload } from '../domain/actions.js';
import { performAction } from '../service/actions.js';
import { getPolicies } from '../db/policies.js';
import { submissionProblem, submitPrivacyRequests, toPrivacyRequestResponse, type SubmitDeps } from '../service/privacy-requests.js';
import { principal, secured } from './auth.js';
import { errorBody, respondValidationError } from './errors.js';
import {
  ApproveSchema,
  BulkActionResponseSchema,
  CancelSchema,
  ConfirmErasureSchema,
  DenySchema,
  ErasureConfirmSchema,
  ExtendSchema,
  LegalHoldSchema,
  LiftLegalHoldSchema,
  ManualInputSchema,
  RetrySchema,
  BulkCreateResponseSchema,
  ErrorSchema,
  errorResponses,
  PrivacyRequestCreateListSchema,
  PrivacyRequestIdParam,
  PrivacyRequestSchema,
} from './schemas.js';
import { newRouter, type ApiEnv } from './types.js';

const createPrivacyRequests = secured('privacy-request:create', createRoute({
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
}));

const conflict = { description: 'The request is not in a state that allows this (the reason says why); nothing changed', content: { 'application/json': { schema: ErrorSchema } } };
const notFound = { description: 'No such privacy request', content: { 'application/json': { schema: ErrorSchema } } };
const unavailable = {
  description: "The request's workflow could not take the action for a while (its last step failed and Temporal retries it); nothing changed, try again",
  content: { 'application/json': { schema: ErrorSchema } },
};

/** approve, deny and cancel take a list of request ids, like Fides' administrate endpoints. */
const bulkRoute = <S extends ZodType>(action: 'approve' | 'deny' | 'cancel', schema: S, summary: string) =>
  secured(action === 'cancel' ? 'privacy-request:resume' : 'privacy-request:review', createRoute({
    method: 'patch',
    path: `/privacy-request/administrate/${action}`,
    tags: ['Privacy requests'],
    summary,
    request: { body: { required: true, content: { 'application/json': { schema } } } },
    responses: {
      200: { description: 'Per request: succeeded (with its new status) or failed (with the reason)', content: { 'application/json': { schema: BulkActionResponseSchema } } },
      ...errorResponses,
    },
  }));

const approveRoute = bulkRoute('approve', ApproveSchema, 'Approve requests waiting for review');
const denyRoute = bulkRoute('deny', DenySchema, 'Deny requests waiting for review (a reason is required)');
const cancelRoute = bulkRoute('cancel', CancelSchema, 'Cancel requests that have not finished (a reason is required)');

const singleRoute = <S extends ZodType>(path: string, schema: S, summary: string, description: string, required: boolean) =>
  secured(['manual_input', 'erasure_confirm'].includes(path) ? 'privacy-request:manual-input' : 'privacy-request:resume', createRoute({
    method: 'post',
    path: `/privacy-request/{privacy_request_id}/${path}`,
    tags: ['Privacy requests'],
    summary,
    description,
    request: { params: PrivacyRequestIdParam, body: { required, content: { 'application/json': { schema } } } },
    responses: {
      200: { description: 'Accepted; the request as it stands once the action took effect', content: { 'application/json': { schema: PrivacyRequestSchema } } },
      404: notFound,
      409: conflict,
      503: unavailable,
      ...errorResponses,
    },
  }));

const retryRoute = singleRoute('retry', RetrySchema, 'Retry a request in error', 'Re-runs the collections that failed, as a new run; collections that finished are not queried again. Also the Temporal signal `retry`.', false);
const confirmErasureRoute = singleRoute(
  'confirm_erasure',
  ConfirmErasureSchema,
  'Confirm erasure',
  'For a request in `awaiting_erasure_confirmation` (see `erasure_preview`): go ahead and mask. Cancel instead to leave the data untouched. Also the Temporal signal `confirmErasure`.',
  false,
);
const manualInputRoute = singleRoute(
  'manual_input',
  ManualInputSchema,
  'Supply the rows of a manual collection (access)',
  'The request pauses at a manual collection with `action_needed` (locators, fields to get). Send the rows found; only the collection\'s fields are accepted. Also the Temporal signal `manualInput` with `{collection, rows}`.',
  true,
);
const erasureConfirmRoute = singleRoute(
  'erasure_confirm',
  ErasureConfirmSchema,
  'Confirm a manual collection was masked (erasure)',
  'The request pauses at a manual collection with `action_needed` (locators, values to write). Send how many rows were masked. Also the Temporal signal `erasureConfirm` with `{collection, row_count}`.',
  true,
);

const lifecycleRoute = <S extends ZodType>(method: 'post' | 'delete', path: string, schema: S, summary: string, description: string, required: boolean) =>
  secured('privacy-request:review', createRoute({
    method,
    path: `/privacy-request/{privacy_request_id}/${path}`,
    tags: ['Privacy requests'],
    summary,
    description,
    request: { params: PrivacyRequestIdParam, body: { required, content: { 'application/json': { schema } } } },
    responses: {
      200: { description: 'Accepted; the request as it stands once the action took effect', content: { 'application/json': { schema: PrivacyRequestSchema } } },
      404: notFound,
      409: conflict,
      503: unavailable,
      ...errorResponses,
    },
  }));

const extendRoute = lifecycleRoute(
  'post',
  'extend',
  ExtendSchema,
  'Extend the due date once',
  'The one extension the regulation allows (GDPR: two more months; CCPA and US state laws: 45 more days; LGPD: none), before the first due date passes, with a reason the data subject is told. ' +
    'The reminders and the overdue notice move with it. Refused (409, nothing changed) after the due date, a second time, or where the law allows none. Also the Temporal signal `extend`.',
  true,
);
const placeLegalHoldRoute = lifecycleRoute(
  'post',
  'legal_hold',
  LegalHoldSchema,
  'Place a legal hold',
  'Erasure starts nothing while the hold is on (what runs finishes; access goes on); the request shows `paused` once erasure has nothing running. Also the Temporal signal `placeLegalHold`.',
  true,
);
const liftLegalHoldRoute = lifecycleRoute('delete', 'legal_hold', LiftLegalHoldSchema, 'Lift a legal hold', 'Erasure goes on where it stopped. Also the Temporal signal `liftLegalHold`.', false);

/** Typed as a plain router: the chain's route types are more than app.ts needs (and than tsc can hold). */
export function privacyRequestRoutes(deps: SubmitDeps): OpenAPIHono<ApiEnv> {
  const router = newRouter()
    .openapi(createPrivacyRequests, async (c) => {
      const submissions = c.req.valid('json');
      // The policies the submissions name; the call is refused when one is missing.
      const policies = await getPolicies(deps.sql, submissions.map((submission) => submission.policy_key));
      const unknown = submissions.flatMap((submission, index) => {
        const policy = policies.get(submission.policy_key);
        if (!policy) return [{ loc: ['body', index, 'policy_key'], msg: `no policy with key ${submission.policy_key}`, type: 'unknown_policy' }];
        const problem = submissionProblem(submission, policy);
        return problem ? [{ loc: ['body', index, ...problem.field.split('.')], msg: problem.message, type: 'invalid' }] : [];
      });
      if (unknown.length) return respondValidationError(c, unknown);
      const result = await submitPrivacyRequests(deps, submissions, policies, principal(c).actor);
      return c.json({ succeeded: result.succeeded.map(toPrivacyRequestResponse), failed: result.failed }, 200);
    })
    .openapi(approveRoute, async (c) => {
      const { request_ids, ...payload } = c.req.valid('json');
      return c.json(await bulk(request_ids, 'approve', { ...payload, reviewer: principal(c).actor }), 200);
    })
    .openapi(denyRoute, async (c) => {
      const { request_ids, ...payload } = c.req.valid('json');
      return c.json(await bulk(request_ids, 'deny', { ...payload, reviewer: principal(c).actor }), 200);
    })
    .openapi(cancelRoute, async (c) => {
      const { request_ids, ...payload } = c.req.valid('json');
      return c.json(await bulk(request_ids, 'cancel', { ...payload, user_id: principal(c).actor }), 200);
    })
    // The actor comes from the credential: audit rows name the client or user who acted.
    .openapi(retryRoute, async (c) => single(c, 'retry', { ...(c.req.valid('json') ?? {}), user_id: principal(c).actor }))
    .openapi(confirmErasureRoute, async (c) => single(c, 'confirmErasure', { ...(c.req.valid('json') ?? {}), user_id: principal(c).actor }))
    .openapi(manualInputRoute, async (c) => single(c, 'manualInput', { ...c.req.valid('json'), user_id: principal(c).actor }))
    .openapi(erasureConfirmRoute, async (c) => single(c, 'erasureConfirm', { ...c.req.valid('json'), user_id: principal(c).actor }))
    .openapi(extendRoute, async (c) => single(c, 'extend', { ...c.req.valid('json'), user_id: principal(c).actor }))
    .openapi(placeLegalHoldRoute, async (c) => single(c, 'placeLegalHold', { ...c.req.valid('json'), user_id: principal(c).actor }))
    .openapi(liftLegalHoldRoute, async (c) => single(c, 'liftLegalHold', { ...(c.req.valid('json') ?? {}), user_id: principal(c).actor }));
  return router;

  async function bulk<A extends 'approve' | 'deny' | 'cancel'>(ids: string[], action: A, payload: ActionPayload<A>) {
    const result = { succeeded: [] as ReturnType<typeof toPrivacyRequestResponse>[], failed: [] as { message: string; data: { id: string } }[] };
    for (const id of new Set(ids)) {
      const outcome = await performAction(deps, id, action, payload);
      if (outcome.ok) result.succeeded.push(toPrivacyRequestResponse(outcome.request));
      else result.failed.push({ message: outcome.message, data: { id } });
    }
    return result;
  }

  async function single<A extends ActionName>(c: Context, action: A, payload: ActionPayload<A>) {
    const id = c.req.param('privacy_request_id')!;
    const outcome = await performAction(deps, id, action, payload);
    if (outcome.ok) return c.json(toPrivacyRequestResponse(outcome.request), 200);
    return c.json(errorBody(outcome.code, outcome.message), outcome.code === 'not_found' ? 404 : outcome.code === 'unavailable' ? 503 : 409);
  }
}
