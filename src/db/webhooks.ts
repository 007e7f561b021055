/**
 * SQL for `webhook_subscription`, `webhook_delivery` and `webhook_delivery_attempt`.
 *
 * Signing secrets are stored encrypted (src/crypto.ts, bound to the subscription id) and only
 * decrypted by the worker that signs a delivery. Deliveries are an outbox: written with the
 * event (in the caller's transaction), then sent by a `webhookDelivery` workflow each.
 */
import { randomUUID } from 'node:crypto';
import { decrypt, encrypt } from '../crypto.js';
import { webhookBody, type WebhookBody, type WebhookEventType } from '../domain/webhooks.js';
import type { PendingQuery, Row } from 'postgres';
import { asJson, type Sql, type TransactionSql } from './client.js';

export type { WebhookEventType };

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookSubscriptionRow {
  id: string;
  url: string;
  event_types: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface WebhookDeliveryRow {
  id: string;
  event_id: string;
  event_type: WebhookEventType;
  privacy_request_id: string;
  subscription_id: string;
  body: WebhookBody;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface WebhookAttemptRow {
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: Date;
}

export const newSubscriptionId = () => `whk_${randomUUID()}`;
const secretContext = (subscriptionId: string) => `webhook-secret:${subscriptionId}`;
const subscriptionColumns = ['id', 'url', 'event_types', 'description', 'enabled', 'created_at', 'updated_at'] as const;
const deliveryColumns = [
  'id',
  'event_id',
  'event_type',
  'privacy_request_id',
  'subscription_id',
  'body',
  'status',
  'attempts',
  'last_status_code',
  'last_error',
  'created_at',
  'delivered_at',
] as const;

// Subscriptions ---------------------------------------------------------------------------------

export interface WebhookSubscriptionValues {
  url: string;
  event_types: WebhookEventType[];
  description: string | null;
  enabled: boolean;
}

export async function insertWebhookSubscription(sql: Sql | TransactionSql, id: string, values: WebhookSubscriptionValues, secret: string, key: Buffer): Promise<WebhookSubscriptionRow> {
  const sealed = encrypt(key, secret, secretContext(id));
  const [row] = await sql<WebhookSubscriptionRow[]>`
    insert into webhook_subscription (id, url, secret_encrypted, event_types, description, enabled)
    values (${id}, ${values.url}, ${sealed}, ${sql.array(values.event_types)}, ${values.description}, ${values.enabled})
    returning ${sql(subscriptionColumns)}`;
  return row!;
}

/** Replaces the subscription's values (the caller merged a partial update); the secret only when given. */
export async function updateWebhookSubscription(
  sql: Sql | TransactionSql,
  id: string,
  values: WebhookSubscriptionValues,
  secret: string | undefined,
  key: Buffer,
): Promise<WebhookSubscriptionRow | undefined> {
  const sealed = secret === undefined ? null : encrypt(key, secret, secretContext(id));
  const [row] = await sql<WebhookSubscriptionRow[]>`
    update webhook_subscription set
      url = ${values.url},
      event_types = ${sql.array(values.event_types)},
      description = ${values.description},
      enabled = ${values.enabled},
      secret_encrypted = coalesce(${sealed}::bytea, secret_encrypted),
      updated_at = now()
    where id = ${id}
    returning ${sql(subscriptionColumns)}`;
  return row;
}

/** One subscription without its secret; `forUpdate` locks it for the caller's transaction. */
export async function findWebhookSubscription(sql: Sql | TransactionSql, id: string, options: { forUpdate?: boolean } = {}): Promise<WebhookSubscriptionRow | undefined> {
  const [row] = await sql<WebhookSubscriptionRow[]>`
    select ${sql(subscriptionColumns)} from webhook_subscription where id = ${id}
    ${options.forUpdate ? sql`for update` : sql``}`;
  return row;
}

/** A page of subscriptions, oldest first, without their secrets. */
export async function listWebhookSubscriptionPage(sql: Sql, page: number, size: number): Promise<{ items: WebhookSubscriptionRow[]; total: number }> {
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from webhook_subscription`;
  const items = await sql<WebhookSubscriptionRow[]>`
    select ${sql(subscriptionColumns)} from webhook_subscription order by created_at, id limit ${size} offset ${(page - 1) * size}`;
  return { items, total: count!.total };
}

/** Deletes a subscription with its deliveries; false when there was none. */
export async function deleteWebhookSubscription(sql: Sql | TransactionSql, id: string): Promise<boolean> {
  const rows = await sql`delete from webhook_subscription where id = ${id} returning id`;
  return rows.length === 1;
}

// Events and deliveries -------------------------------------------------------------------------

/** Something that happened to a request, for the subscriptions that want its type. */
export interface WebhookEvent {
  /** Unique per event (for example `<request id>:request.completed`): a second enqueue of the same id adds nothing. */
  id: string;
  type: WebhookEventType;
  privacyRequestId: string;
  /** ISO time the event happened (workflow time). */
  occurredAt: string;
  /** Ids, statuses and times only: keys naming identity values (email, phone_number, identity) are refused. */
  data: Record<string, unknown>;
}

/**
 * Inserts one delivery per enabled subscription that wants event.type; idempotent on (event id,
 * subscription). Returns the ids of deliveries created now; with `stillPending`, also those of the
 * event that an earlier call created and that are still pending (a bookkeeping batch run again
 * after its first run's answer was lost must still have them sent).
 */
export async function enqueueWebhookEvent(sql: Sql | TransactionSql, event: WebhookEvent, options: { stillPending?: boolean } = {}): Promise<string[]> {
  // The union's second half sees the table as it was before the insert: no id twice.
  const rows = await sql<{ id: string }[]>`
    with created as (${webhookDeliveriesInsert(sql, event)})
    select id from created
    ${options.stillPending ? sql`union all ${pendingWebhookDeliveries(sql, event.id)}` : sql``}`;
  return rows.map((row) => row.id);
}

/**
 * enqueueWebhookEvent's insert as a fragment (`returning id`), for a statement that writes other
 * tables with it (src/db/transitions.ts). Throws on identity keys in the event's data.
 */
export function webhookDeliveriesInsert(sql: Sql | TransactionSql, event: WebhookEvent): PendingQuery<Row[]> {
  const body = webhookBody(event); // throws on identity keys in data
  return sql`
    insert into webhook_delivery (id, event_id, event_type, privacy_request_id, subscription_id, body)
    select 'whd_' || gen_random_uuid(), ${event.id}::text, ${event.type}::text, ${event.privacyRequestId}::text, s.id, ${sql.json(asJson(body))}
    from webhook_subscription s
    where s.enabled and ${event.type}::text = any(s.event_types)
    order by s.created_at, s.id
    on conflict (event_id, subscription_id) do nothing
    returning id`;
}

/** The ids of an event's deliveries still pending, as a select fragment. */
export function pendingWebhookDeliveries(sql: Sql | TransactionSql, eventId: string): PendingQuery<Row[]> {
  return sql`select id from webhook_delivery where event_id = ${eventId}::text and status = 'pending'`;
}

/** A delivery with its subscription's URL and decrypted secret: for the worker that sends it, never for responses. */
export interface DeliveryToSend {
  delivery: WebhookDeliveryRow;
  subscription: { id: string; url: string; enabled: boolean; secret: string };
}

export async function getDeliveryToSend(sql: Sql, deliveryId: string, key: Buffer): Promise<DeliveryToSend | undefined> {
  const [row] = await sql<(WebhookDeliveryRow & { url: string; enabled: boolean; secret_encrypted: Buffer })[]>`
    select ${sql(deliveryColumns.map((column) => `d.${column}`))}, s.url, s.enabled, s.secret_encrypted
    from webhook_delivery d join webhook_subscription s on s.id = d.subscription_id
    where d.id = ${deliveryId}`;
  if (!row) return undefined;
  const { url, enabled, secret_encrypted, ...delivery } = row;
  return { delivery, subscription: { id: delivery.subscription_id, url, enabled, secret: decrypt(key, secret_encrypted, secretContext(delivery.subscription_id)) } };
}

export interface AttemptOutcome {
  statusCode: number | null;
  /** Why the attempt failed (no secret, no response body). */
  error: string | null;
  durationMs: number;
  /** delivered: a 2xx; failed: given up (not retried); pending: to be retried. */
  status: WebhookDeliveryStatus;
}

/** Records an attempt and its effect on the delivery, in one transaction; returns the attempt's number. */
export async function recordDeliveryAttempt(sql: Sql, deliveryId: string, outcome: AttemptOutcome): Promise<number | undefined> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ attempts: number }[]>`
      update webhook_delivery set
        attempts = attempts + 1,
        last_status_code = ${outcome.statusCode},
        last_error = ${outcome.error},
        status = case when status = 'delivered' then status else ${outcome.status}::text end,
        delivered_at = case when ${outcome.status}::text = 'delivered' and delivered_at is null then now() else delivered_at end
      where id = ${deliveryId}
      returning attempts`;
    if (!row) return undefined;
    await tx`
      insert into webhook_delivery_attempt (delivery_id, attempt, status_code, error, duration_ms)
      values (${deliveryId}, ${row.attempts}, ${outcome.statusCode}, ${outcome.error}, ${Math.max(0, Math.round(outcome.durationMs))})`;
    return row.attempts;
  });
}

/**
 * Gives a delivery up; a delivered one stays delivered. A refusal replaces the last error with its
 * reason; when retries ran out, the last attempt's error is kept and `error` only fills a blank.
 */
export async function markDeliveryFailed(sql: Sql, deliveryId: string, error: string | undefined, options: { replaceError: boolean }): Promise<void> {
  const text = error ?? null;
  await sql`
    update webhook_delivery set
      status = 'failed',
      last_error = ${options.replaceError ? sql`coalesce(${text}::text, last_error)` : sql`coalesce(last_error, ${text}::text)`}
    where id = ${deliveryId} and status <> 'delivered'`;
}

/** A page of a subscription's deliveries, newest first, each with its attempts. */
export async function listDeliveryPage(
  sql: Sql,
  subscriptionId: string,
  filters: { status?: WebhookDeliveryStatus | undefined },
  page: number,
  size: number,
): Promise<{ items: (WebhookDeliveryRow & { attempt_log: WebhookAttemptRow[] })[]; total: number }> {
  const status = filters.status ?? null;
  const where = sql`where subscription_id = ${subscriptionId} and (${status}::text is null or status = ${status})`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from webhook_delivery ${where}`;
  const deliveries = await sql<WebhookDeliveryRow[]>`
    select ${sql(deliveryColumns)} from webhook_delivery ${where}
    order by created_at desc, id desc limit ${size} offset ${(page - 1) * size}`;
  const attempts = deliveries.length
    ? await sql<WebhookAttemptRow[]>`
        select delivery_id, attempt, status_code, error, duration_ms, at from webhook_delivery_attempt
        where delivery_id = any(${sql.array(deliveries.map((delivery) => delivery.id))}) order by delivery_id, attempt`
    : [];
  const byDelivery = new Map<string, WebhookAttemptRow[]>();
  for (const attempt of attempts) byDelivery.set(attempt.delivery_id, [...(byDelivery.get(attempt.delivery_id) ?? []), attempt]);
  return { items: deliveries.map((delivery) => ({ ...delivery, attempt_log: byDelivery.get(delivery.id) ?? [] })), total: count!.total };
}

export async function getDelivery(sql: Sql, deliveryId: string): Promise<WebhookDeliveryRow | undefined> {
  const [row] = await sql<WebhookDeliveryRow[]>`select ${sql(deliveryColumns)} from webhook_delivery where id = ${deliveryId}`;
  return row;
}

export async function deliveryAttempts(sql: Sql, deliveryId: string): Promise<WebhookAttemptRow[]> {
  return sql<WebhookAttemptRow[]>`
    select delivery_id, attempt, status_code, error, duration_ms, at from webhook_delivery_attempt where delivery_id = ${deliveryId} order by attempt`;
}
