/**
 * `/api/v1/webhook`: subscriptions to request events (`request.received`, `request.completed`…),
 * sent as signed Standard Webhooks, and each subscription's deliveries with their attempts.
 *
 * Signing secrets are write-only: stored encrypted (src/crypto.ts), never in a response or a log
 * line. A secret dsrflow generates (on create without one, or `rotate_secret: true`) is in that
 * one answer and never again; responses otherwise say `secret_configured: true`. Bad input answers
 * 422 naming the field, and nothing is stored. Every change is recorded in configuration_change.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import {
  deleteWebhookSubscription,
  findWebhookSubscription,
  insertWebhookSubscription,
  listDeliveryPage,
  listWebhookSubscriptionPage,
  newSubscriptionId,
  updateWebhookSubscription,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  type WebhookSubscriptionRow,
} from '../db/webhooks.js';
import {
  generateWebhookSecret,
  WEBHOOK_EVENT_TYPES,
  webhookSubscriptionCreateSchema,
  webhookSubscriptionUpdateSchema,
} from '../domain/webhooks.js';
import { principal, secured } from './auth.js';
import { pageAnswer } from './bulk.js';
import { errorBody } from './errors.js';
import { deleteOneRoute, deleteRecorded, listPageRoute, readOneRoute } from './resource-routes.js';
import { ErrorSchema, errorResponses, json, pageOf, pageQuery } from './schemas.js';
import { newRouter, type ApiDeps } from './types.js';

const TAG = 'Webhooks';
const timestamp = z.string().meta({ format: 'date-time', example: '2026-11-23T10:00:00.000Z' });
const nullableTimestamp = timestamp.nullable();
const unsupportedMediaType = { description: 'The body is not JSON', content: json(ErrorSchema) };
const notFound = { description: 'No webhook subscription with that id', content: json(ErrorSchema) };

const WebhookIdParam = z.object({ webhook_id: z.string().min(1).max(100).meta({ example: 'whk_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }) });

const eventTypesDescription = `Which events to receive: ${WEBHOOK_EVENT_TYPES.join(', ')}`;

const WebhookCreateSchema = webhookSubscriptionCreateSchema.meta({
  id: 'WebhookCreate',
  description:
    `An endpoint that receives request events as Standard Webhooks (POST, JSON body {type, timestamp, data}, headers webhook-id, webhook-timestamp, webhook-signature). ` +
    `event_types: ${eventTypesDescription}. secret: write-only; when omitted one is generated and returned once, in this answer.`,
  example: { url: 'https://hooks.example.com/dsrflow', event_types: ['request.completed', 'request.errored'], description: 'Ticketing' },
});

const WebhookUpdateSchema = webhookSubscriptionUpdateSchema.meta({
  id: 'WebhookUpdate',
  description:
    'Fields left out keep their stored values. `secret` replaces the signing secret with the one given; `rotate_secret: true` generates a new one and returns it once, in this answer.',
  example: { enabled: false },
});

const WebhookSchema = z
  .object({
    id: z.string().meta({ example: 'whk_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }),
    url: z.string().meta({ example: 'https://hooks.example.com/dsrflow' }),
    event_types: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    description: z.string().nullable(),
    enabled: z.boolean(),
    secret_configured: z.boolean().meta({ description: 'Always true: the signing secret is stored, and never returned' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Webhook' });

const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z
    .string()
    .optional()
    .meta({ description: 'The signing secret dsrflow generated, shown this once: store it with the receiver. Absent when you gave the secret.', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
}).meta({ id: 'WebhookWithSecret' });

const DeliveryAttemptSchema = z
  .object({
    attempt: z.number().int(),
    status_code: z.number().int().nullable().meta({ description: "The receiver's HTTP status; null when there was no answer" }),
    error: z.string().nullable().meta({ example: 'the receiver answered 503' }),
    duration_ms: z.number().int(),
    at: timestamp,
  })
  .meta({ id: 'WebhookDeliveryAttempt' });

const DeliverySchema = z
  .object({
    id: z.string().meta({ description: 'Also the webhook-id header, the same on every attempt', example: 'whd_0b8f…' }),
    event_id: z.string(),
    event_type: z.enum(WEBHOOK_EVENT_TYPES),
    privacy_request_id: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: timestamp,
    delivered_at: nullableTimestamp,
    body: z.record(z.string(), z.unknown()).meta({ description: 'The body sent: {type, timestamp, data}; ids, statuses and times, never identity values' }),
    attempt_log: z.array(DeliveryAttemptSchema),
  })
  .meta({ id: 'WebhookDelivery' });

const DeliveryQuery = z.object({
  ...pageQuery,
  status: z.enum(['pending', 'delivered', 'failed']).optional().meta({ description: 'Only deliveries with this status' }),
});

const createRoute_ = secured(
  'webhook:write',
  createRoute({
    method: 'post',
    path: '/webhook',
    tags: [TAG],
    summary: 'Subscribe an endpoint to request events',
    description:
      'The URL must be http or https, name a host and carry no credentials. When `secret` is omitted, dsrflow generates one (`whsec_` + 32 random bytes in base64) and returns it in this answer only. ' +
      'A bad field answers 422 naming it, and nothing is stored.',
    request: { body: { required: true, content: json(WebhookCreateSchema) } },
    responses: { 201: { description: 'The subscription (with the generated secret, this once)', content: json(WebhookWithSecretSchema) }, ...errorResponses, 415: unsupportedMediaType },
  }),
);

const listRoute = listPageRoute({ scope: 'webhook:read', path: '/webhook', tag: TAG, summary: 'List webhook subscriptions (never their secrets)', page: pageOf(WebhookSchema, 'WebhookPage'), what: 'webhook subscriptions' });

const getRoute = readOneRoute({ scope: 'webhook:read', path: '/webhook/{webhook_id}', tag: TAG, summary: 'A webhook subscription (never its secret)', params: WebhookIdParam, schema: WebhookSchema, what: 'webhook subscription', missing: 'webhook subscription' });

const patchRoute = secured(
  'webhook:write',
  createRoute({
    method: 'patch',
    path: '/webhook/{webhook_id}',
    tags: [TAG],
    summary: "Change a subscription's URL, event types, description or enabled flag, or its secret",
    description: 'Deliveries already made keep the body they were made with; the next attempt signs with the current secret and goes to the current URL.',
    request: { params: WebhookIdParam, body: { required: true, content: json(WebhookUpdateSchema) } },
    responses: {
      200: { description: 'The subscription (with the generated secret when rotate_secret was asked for)', content: json(WebhookWithSecretSchema) },
      404: notFound,
      ...errorResponses,
      415: unsupportedMediaType,
    },
  }),
);

const deleteRoute = deleteOneRoute({
  scope: 'webhook:write',
  path: '/webhook/{webhook_id}',
  tag: TAG,
  summary: 'Delete a subscription with its deliveries',
  description: 'Deliveries still being retried stop at their next attempt.',
  params: WebhookIdParam,
  missing: 'webhook subscription',
});

const deliveriesRoute = secured(
  'webhook:read',
  createRoute({
    method: 'get',
    path: '/webhook/{webhook_id}/delivery',
    tags: [TAG],
    summary: "A subscription's deliveries, newest first, with every attempt and the receiver's status codes",
    request: { params: WebhookIdParam, query: DeliveryQuery },
    responses: { 200: { description: 'A page of deliveries', content: json(pageOf(DeliverySchema, 'WebhookDeliveryPage')) }, 404: notFound, 422: errorResponses[422] },
  }),
);

export const toWebhookResponse = (row: WebhookSubscriptionRow): z.infer<typeof WebhookSchema> => ({
  id: row.id,
  url: row.url,
  event_types: row.event_types,
  description: row.description,
  enabled: row.enabled,
  secret_configured: true,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const toAttempt = (row: WebhookAttemptRow): z.infer<typeof DeliveryAttemptSchema> => ({
  attempt: row.attempt,
  status_code: row.status_code,
  error: row.error,
  duration_ms: row.duration_ms,
  at: row.at.toISOString(),
});

const toDelivery = (row: WebhookDeliveryRow & { attempt_log: WebhookAttemptRow[] }): z.infer<typeof DeliverySchema> => ({
  id: row.id,
  event_id: row.event_id,
  event_type: row.event_type,
  privacy_request_id: row.privacy_request_id,
  status: row.status,
  attempts: row.attempts,
  last_status_code: row.last_status_code,
  last_error: row.last_error,
  created_at: row.created_at.toISOString(),
  delivered_at: row.delivered_at?.toISOString() ?? null,
  body: row.body as unknown as Record<string, unknown>,
  attempt_log: row.attempt_log.map(toAttempt),
});

/** The host a subscription sends to, for log lines: a URL's path and query may hold a token of the receiver's. */
const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

const noWebhook = (id: string) => errorBody('not_found', `No webhook subscription with id ${id}`);

export function webhookRoutes(deps: ApiDeps) {
  return newRouter()
    .openapi(createRoute_, async (c) => {
      const body = c.req.valid('json');
      const actor = principal(c).actor;
      const generated = body.secret === undefined ? generateWebhookSecret() : undefined;
      const id = newSubscriptionId();
      const row = await deps.sql.begin(async (tx) => {
        const created = await insertWebhookSubscription(
          tx,
          id,
          { url: body.url, event_types: body.event_types, description: body.description ?? null, enabled: body.enabled ?? true },
          body.secret ?? generated!,
          deps.encryptionKey,
        );
        await recordConfigurationChange(tx, { resource: 'webhook', key: id, change: 'created', actor });
        return created;
      });
      deps.logger?.info('Webhook subscription created', { webhook_id: id, host: hostOf(row.url), event_types: row.event_types, secret_generated: generated !== undefined, actor });
      c.header('cache-control', 'no-store');
      return c.json({ ...toWebhookResponse(row), ...(generated ? { secret: generated } : {}) }, 201);
    })
    .openapi(listRoute, async (c) => {
      const { page, size } = c.req.valid('query');
      return c.json(pageAnswer(await listWebhookSubscriptionPage(deps.sql, page, size), { page, size }, toWebhookResponse), 200);
    })
    .openapi(getRoute, async (c) => {
      const { webhook_id: id } = c.req.valid('param');
      const row = await findWebhookSubscription(deps.sql, id);
      if (!row) return c.json(noWebhook(id), 404);
      return c.json(toWebhookResponse(row), 200);
    })
    .openapi(patchRoute, async (c) => {
      const { webhook_id: id } = c.req.valid('param');
      const change = c.req.valid('json');
      const actor = principal(c).actor;
      const generated = change.rotate_secret ? generateWebhookSecret() : undefined;
      const secret = change.secret ?? generated;
      const row = await deps.sql.begin(async (tx) => {
        const existing = await findWebhookSubscription(tx, id, { forUpdate: true });
        if (!existing) return undefined;
        const updated = await updateWebhookSubscription(
          tx,
          id,
          {
            url: change.url ?? existing.url,
            event_types: change.event_types ?? existing.event_types,
            description: change.description !== undefined ? change.description : existing.description,
            enabled: change.enabled ?? existing.enabled,
          },
          secret,
          deps.encryptionKey,
        );
        const settings = ['url', 'event_types', 'description', 'enabled'] as const;
        if (settings.some((field) => change[field] !== undefined)) await recordConfigurationChange(tx, { resource: 'webhook', key: id, change: 'updated', actor });
        if (secret !== undefined) await recordConfigurationChange(tx, { resource: 'webhook_secret', key: id, change: 'secret_rotated', actor });
        return updated;
      });
      if (!row) return c.json(noWebhook(id), 404);
      deps.logger?.info('Webhook subscription updated', { webhook_id: id, host: hostOf(row.url), enabled: row.enabled, secret_changed: secret !== undefined, actor });
      c.header('cache-control', 'no-store');
      return c.json({ ...toWebhookResponse(row), ...(generated ? { secret: generated } : {}) }, 200);
    })
    .openapi(deleteRoute, async (c) => {
      const { webhook_id: id } = c.req.valid('param');
      const actor = principal(c).actor;
      if (!(await deleteRecorded(deps, { resource: 'webhook', key: id, actor }, (tx) => deleteWebhookSubscription(tx, id)))) return c.json(noWebhook(id), 404);
      deps.logger?.info('Webhook subscription deleted', { webhook_id: id, actor });
      return c.body(null, 204);
    })
    .openapi(deliveriesRoute, async (c) => {
      const { webhook_id: id } = c.req.valid('param');
      const { page, size, status } = c.req.valid('query');
      if (!(await findWebhookSubscription(deps.sql, id))) return c.json(noWebhook(id), 404);
      return c.json(pageAnswer(await listDeliveryPage(deps.sql, id, { status }, page, size), { page, size }, toDelivery), 200);
    });
}
