/**
 * Sends one webhook delivery (the `deliverWebhook` activity): loads the delivery and its
 * subscription (the secret decrypted here, and only here), signs the stored body as Standard
 * Webhooks says, POSTs it with a hard deadline and without following redirects, and records the
 * attempt: the status code, or what went wrong in dsrflow's own words (never the secret, never
 * what the receiver answered beyond its status).
 *
 * A 2xx is delivered. Anything else is a WebhookAttemptFailed, which the workflow retries with
 * backoff. A URL that is not http(s), or whose host DSRFLOW_WEBHOOK_ALLOW does not admit, a
 * disabled subscription, and a 410 Gone are a WebhookRefused: recorded as failed, never retried.
 */
import type { Sql } from '../db/client.js';
import { getDeliveryToSend, markDeliveryFailed, recordDeliveryAttempt } from '../db/webhooks.js';
import { refusedPart, type AllowList } from '../connectors/allow-list.js';
import { signedHeaders } from '../webhooks/signature.js';

export interface WebhookSettings {
  /** The deadline of one attempt (DSRFLOW_WEBHOOK_TIMEOUT). */
  timeoutMs: number;
  /** Hosts a delivery may reach (DSRFLOW_WEBHOOK_ALLOW); undefined: any. */
  allow?: AllowList | undefined;
}

export interface WebhookContext {
  sql: Sql;
  encryptionKey: Buffer;
  webhooks: WebhookSettings;
}

export const WEBHOOK_USER_AGENT = 'dsrflow-webhooks/0.1 (+https://www.standardwebhooks.com)';
const MAX_ERROR_LENGTH = 500;

/** This attempt failed; a later one may succeed. */
export class WebhookAttemptFailed extends Error {
  override name = 'WebhookAttemptFailed';
  constructor(
    message: string,
    readonly statusCode: number | null,
  ) {
    super(message);
  }
}

/** This delivery cannot succeed as configured: recorded as failed, not retried. */
export class WebhookRefused extends Error {
  override name = 'WebhookRefused';
}

export interface DeliveryResult {
  /** delivered: now or before; missing: the delivery is gone (its subscription or request was deleted). */
  status: 'delivered' | 'missing';
  statusCode?: number;
  attempt?: number;
}

const cut = (text: string) => (text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text).replace(/[\x00-\x1f\x7f]+/g, ' ');

/** Why the URL may not be called; undefined when it may. */
export function refusedTarget(urlText: string, allow: AllowList | undefined): string | undefined {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return 'the subscription URL is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `webhooks are sent over http or https only, not ${url.protocol.replace(/:$/, '')}`;
  if (!url.hostname) return 'the subscription URL names no host';
  if (url.username || url.password) return 'the subscription URL carries credentials';
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const refused = refusedPart({ host: url.hostname, port, database: '' }, allow);
  if (refused === 'host') return `the host ${url.hostname} is not allowed by DSRFLOW_WEBHOOK_ALLOW`;
  if (refused) return `the port ${port} of ${url.hostname} is not allowed by DSRFLOW_WEBHOOK_ALLOW`;
  return undefined;
}

/** A failed fetch in dsrflow's words: the cause's code (ECONNREFUSED…), or the deadline. */
function describeFetchError(error: unknown, timeoutMs: number): string {
  const failure = error as Error & { cause?: { code?: string; message?: string } };
  if (failure?.name === 'TimeoutError' || failure?.name === 'AbortError') return `no answer within ${timeoutMs} ms (DSRFLOW_WEBHOOK_TIMEOUT)`;
  const cause = failure?.cause;
  if (cause?.code) return cut(`${cause.code}: ${cause.message ?? 'the request failed'}`);
  return cut(cause?.message ?? failure?.message ?? String(error));
}

export async function deliverWebhook(context: WebhookContext, { deliveryId }: { deliveryId: string }): Promise<DeliveryResult> {
  const { sql } = context;
  const loaded = await getDeliveryToSend(sql, deliveryId, context.encryptionKey);
  if (!loaded) return { status: 'missing' };
  const { delivery, subscription } = loaded;
  if (delivery.status === 'delivered') return { status: 'delivered', ...(delivery.last_status_code !== null ? { statusCode: delivery.last_status_code } : {}) };

  const refused = !subscription.enabled ? 'the subscription is disabled' : refusedTarget(subscription.url, context.webhooks.allow);
  if (refused) {
    await markDeliveryFailed(sql, deliveryId, refused, { replaceError: true });
    throw new WebhookRefused(refused);
  }

  const body = JSON.stringify(delivery.body);
  const headers = {
    ...signedHeaders(subscription.secret, delivery.id, new Date(), body),
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
  };
  const started = performance.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const response = await fetch(subscription.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(context.webhooks.timeoutMs),
    });
    statusCode = response.status;
    // The answer's body is not read: what a receiver says is not recorded, and the socket is freed.
    await response.body?.cancel().catch(() => {});
    if (statusCode < 200 || statusCode > 299) {
      error = statusCode >= 300 && statusCode < 400 ? `the receiver answered ${statusCode} (redirects are not followed: update the URL)` : `the receiver answered ${statusCode}`;
    }
  } catch (failure) {
    error = describeFetchError(failure, context.webhooks.timeoutMs);
  }
  const durationMs = performance.now() - started;

  if (error === null) {
    const attempt = await recordDeliveryAttempt(sql, deliveryId, { statusCode, error: null, durationMs, status: 'delivered' });
    return { status: 'delivered', statusCode: statusCode!, ...(attempt !== undefined ? { attempt } : {}) };
  }
  // 410 Gone: the receiver says it wants no more (Standard Webhooks): give this delivery up.
  const gone = statusCode === 410;
  await recordDeliveryAttempt(sql, deliveryId, { statusCode, error, durationMs, status: gone ? 'failed' : 'pending' });
  if (gone) throw new WebhookRefused(error);
  throw new WebhookAttemptFailed(error, statusCode);
}

/** Retries are exhausted (or the delivery was refused): the delivery is `failed`, keeping the last attempt's error. */
export async function markWebhookFailed(context: Pick<WebhookContext, 'sql'>, { deliveryId, reason }: { deliveryId: string; reason?: string }): Promise<void> {
  await markDeliveryFailed(context.sql, deliveryId, reason === undefined ? undefined : cut(reason), { replaceError: false });
}

/**
 * The first attempt of a batch of deliveries, side by side, from the request's own workflow: most
 * receivers answer at once, and then no delivery workflow is needed. Answers the deliveries that
 * still need one (the attempt failed and may succeed later); refusals are recorded as `failed`.
 */
export async function deliverWebhooksNow(context: WebhookContext, { deliveryIds }: { deliveryIds: string[] }): Promise<{ retry: string[] }> {
  const outcomes = await Promise.all(
    deliveryIds.map(async (deliveryId) => {
      try {
        await deliverWebhook(context, { deliveryId });
        return undefined;
      } catch (error) {
        // A refusal is final and recorded (deliverWebhook marked it, or the receiver said 410).
        return error instanceof WebhookRefused ? undefined : deliveryId;
      }
    }),
  );
  return { retry: outcomes.filter((id): id is string => id !== undefined) };
}
