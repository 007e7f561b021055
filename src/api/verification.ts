/** `POST /privacy-request/{id}/verify`: the data subject's code, without a credential (src/service/verification.ts). */
import { createRoute } from '@hono/zod-openapi';
import type { PrivacyRequestStatus } from '../domain/privacy-requests.js';
import { verifyWithCode } from '../service/verification.js';
import type { SubmitDeps } from '../service/privacy-requests.js';
import { open } from './auth.js';
import { errorBody, respondValidationError } from './errors.js';
import { clientAddress, RateLimiter } from './rate-limit.js';
import { ErrorSchema, errorResponses, PrivacyRequestIdParam, VerifyIdentityResponseSchema, VerifyIdentitySchema } from './schemas.js';
import { newRouter } from './types.js';

const notFound = { description: 'No such privacy request', content: { 'application/json': { schema: ErrorSchema } } };

const verifyRoute = open(createRoute({
  method: 'post',
  path: '/privacy-request/{privacy_request_id}/verify',
  tags: ['Privacy requests'],
  summary: 'Verify the identity with the emailed code (for the data subject; no credential)',
  description:
    'The code the request sent to its email identity when its policy requires verification. Five wrong codes lock it and deny the request (`insuf_verification`), as does its expiry ' +
    '(DSRFLOW_VERIFICATION_TTL). Rate-limited per client address. External verifiers send the Temporal signal `verifyIdentity` instead.',
  request: { params: PrivacyRequestIdParam, body: { required: true, content: { 'application/json': { schema: VerifyIdentitySchema } } } },
  responses: {
    200: { description: 'Verified: the request goes on', content: { 'application/json': { schema: VerifyIdentityResponseSchema } } },
    404: notFound,
    409: { description: 'The request is not awaiting verification', content: { 'application/json': { schema: ErrorSchema } } },
    410: { description: 'The code expired', content: { 'application/json': { schema: ErrorSchema } } },
    423: { description: 'Locked after five wrong codes; the request is denied', content: { 'application/json': { schema: ErrorSchema } } },
    429: { description: 'Too many attempts from this address; retry after the time given', content: { 'application/json': { schema: ErrorSchema } } },
    ...errorResponses,
  },
}));

export function verificationRoutes(deps: SubmitDeps & { auth: { rateLimitPerMinute: number } }) {
  const limiter = new RateLimiter(deps.auth.rateLimitPerMinute);
  return newRouter().openapi(verifyRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      const wait = limiter.take([`verify:${clientAddress(c) ?? 'unknown'}`, `verify:${id}`]);
      if (wait !== undefined) {
        c.header('Retry-After', String(wait));
        return c.json(errorBody('rate_limited', `Too many verification attempts; retry in ${wait} s`), 429);
      }
      const outcome = await verifyWithCode(deps, id, c.req.valid('json').code);
      if (outcome.ok) return c.json({ id, status: outcome.status as PrivacyRequestStatus }, 200);
      if (outcome.http === 422) return respondValidationError(c, [{ loc: ['body', 'code'], msg: outcome.message, type: 'wrong_code' }]);
      return c.json(errorBody(outcome.http === 404 ? 'not_found' : outcome.http === 410 ? 'expired' : outcome.http === 423 ? 'locked' : 'conflict', outcome.message), outcome.http);
    });
}
