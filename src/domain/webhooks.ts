/**
 * Webhooks: what a subscription may ask for, and what an event may carry. Pure (zod and
 * node:crypto's random bytes for generated secrets).
 *
 * Secrets are Standard Webhooks symmetric secrets: `whsec_` and the base64 of 24 to 64 random
 * bytes. They are write-only: the API returns a generated one once, in the answer that created
 * it, and otherwise says `secret_configured: true`.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

export const WEBHOOK_EVENT_TYPES = [
  'request.received',
  'request.verified',
  'request.approved',
  'request.denied',
  'request.paused',
  'request.errored',
  'request.completed',
  'request.extended',
  'request.due_soon',
  'request.overdue',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEventType = (value: unknown): value is WebhookEventType => typeof value === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;
export const WEBHOOK_URL_MAX_LENGTH = 2048;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export const generateWebhookSecret = (): string => WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');

/** Strict base64 (standard alphabet, padded), as Standard Webhooks writes secrets. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The key bytes of a `whsec_…` secret; undefined when it is not one (or not 24 to 64 bytes). */
export function webhookSecretBytes(secret: string): Buffer | undefined {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!encoded || !BASE64.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, 'base64');
  return bytes.length >= WEBHOOK_SECRET_MIN_BYTES && bytes.length <= WEBHOOK_SECRET_MAX_BYTES ? bytes : undefined;
}

/** Why a URL cannot be a webhook endpoint; undefined when it can. */
export function webhookUrlProblem(text: string): string | undefined {
  if (text.includes('\0')) return 'must not contain NUL characters';
  if (text.length > WEBHOOK_URL_MAX_LENGTH) return `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`;
  if (/[\s\x00-\x1f\x7f]/.test(text)) return 'must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute http or https URL, such as https://hooks.example.com/dsrflow';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http or https URL, not ${url.protocol.replace(/:$/, '')}`;
  // `http:/x` and `http:x` parse with the host `x`: ask for the two slashes as written.
  if (!/^https?:\/\/[^/?#]/i.test(text) || !url.hostname) return 'must name a host, such as https://hooks.example.com/dsrflow';
  if (url.username || url.password || /^https?:\/\/[^/?#]*@/i.test(text)) return 'must not carry credentials (user:password@); the signature authenticates dsrflow';
  return undefined;
}

export const webhookUrlSchema = z
  .string()
  .superRefine((text, context) => {
    const problem = webhookUrlProblem(text);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  })
  .meta({ format: 'uri', maxLength: WEBHOOK_URL_MAX_LENGTH, example: 'https://hooks.example.com/dsrflow' });

export const webhookSecretSchema = z
  .string()
  .refine((text) => webhookSecretBytes(text) !== undefined, {
    message: `must be ${WEBHOOK_SECRET_PREFIX} followed by the base64 of ${WEBHOOK_SECRET_MIN_BYTES} to ${WEBHOOK_SECRET_MAX_BYTES} random bytes (for example: echo ${WEBHOOK_SECRET_PREFIX}$(openssl rand -base64 32))`,
  })
  .meta({ writeOnly: true, example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });

export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES, {
  error: (issue) => (issue.input === undefined ? 'is required' : `unknown event type; must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}`),
});

export const webhookEventTypesSchema = z
  .array(webhookEventTypeSchema)
  .min(1, 'give at least one event type')
  .max(WEBHOOK_EVENT_TYPES.length * 4)
  .transform((types) => [...new Set(types)]);

const description = z.string().max(500, 'at most 500 characters').nullable();

export const webhookSubscriptionCreateSchema = z.strictObject({
  url: webhookUrlSchema,
  event_types: webhookEventTypesSchema,
  description: description.optional(),
  enabled: z.boolean().optional(),
  secret: webhookSecretSchema.optional(),
});
export type WebhookSubscriptionCreate = z.output<typeof webhookSubscriptionCreateSchema>;

export const webhookSubscriptionUpdateSchema = z
  .strictObject({
    url: webhookUrlSchema.optional(),
    event_types: webhookEventTypesSchema.optional(),
    description: description.optional(),
    enabled: z.boolean().optional(),
    secret: webhookSecretSchema.optional(),
    rotate_secret: z.literal(true).optional(),
  })
  .superRefine((update, context) => {
    if (update.secret !== undefined && update.rotate_secret) {
      context.addIssue({ code: 'custom', path: ['rotate_secret'], message: 'give a secret or ask for a generated one, not both' });
    }
  });
export type WebhookSubscriptionUpdate = z.output<typeof webhookSubscriptionUpdateSchema>;

/** Keys that hold identity values: never in an event's data, at any depth. */
const IDENTITY_KEYS = new Set(['email', 'phone_number', 'identity', 'identities']);

/** The path of the first key of `data` that names an identity value; undefined when there is none. */
export function identityKeyIn(data: unknown, path = 'data'): string | undefined {
  if (Array.isArray(data)) {
    for (const [index, item] of data.entries()) {
      const found = identityKeyIn(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  for (const [key, value] of Object.entries(data)) {
    if (IDENTITY_KEYS.has(key.toLowerCase())) return `${path}.${key}`;
    const found = identityKeyIn(value, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/** The body of an event as Standard Webhooks shapes it: type, when it happened, and its data. */
export interface WebhookBody {
  type: WebhookEventType;
  timestamp: string;
  data: { privacy_request_id: string } & Record<string, unknown>;
}

/**
 * Builds an event's body; throws when its data names an identity value (a programming error:
 * events carry ids, statuses and times only).
 */
export function webhookBody(event: { type: WebhookEventType; privacyRequestId: string; occurredAt: string; data: Record<string, unknown> }): WebhookBody {
  if (!isWebhookEventType(event.type)) throw new Error(`Unknown webhook event type ${String(event.type)}`);
  const identity = identityKeyIn(event.data);
  if (identity) throw new Error(`Webhook events carry no identity values: ${identity} is not allowed`);
  const occurredAt = new Date(event.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) throw new Error(`Webhook event time is not a time: ${event.occurredAt}`);
  return { type: event.type, timestamp: occurredAt.toISOString(), data: { ...event.data, privacy_request_id: event.privacyRequestId } };
}
