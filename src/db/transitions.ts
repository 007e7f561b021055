/**
 * A status transition, its audit row and the webhook events that go with it, written in one
 * statement: one round trip and one commit, where a transaction took four (begin, update, insert,
 * commit) and each event one more. All or nothing, as the transaction made them (issue 14;
 * docs/decisions.md, "A request's statements"). Each table's SQL stays in its own module; this
 * one joins their fragments.
 */
import type { PendingQuery, Row } from 'postgres';
import { auditLogInsert, type AuditLogEntry } from './audit-log.js';
import type { Sql, TransactionSql } from './client.js';
import { statusUpdate, type StatusChange } from './privacy-requests.js';
import { pendingWebhookDeliveries, webhookDeliveriesInsert, type WebhookEvent } from './webhooks.js';

/** A transition and its audit row, in one statement (recordTransitionAndEvents without events). */
export async function recordStatusChange(sql: Sql | TransactionSql, privacyRequestId: string, change: StatusChange, audit?: AuditLogEntry): Promise<void> {
  await recordTransitionAndEvents(sql, privacyRequestId, { change, audit, at: change.at }, []);
}

/**
 * A transition and its audit row (either may be absent) with webhook events, in one statement.
 * Answers, event by event, the ids of the deliveries created now and of those an earlier run
 * created that are still pending (as enqueueWebhookEvent with `stillPending`). Events must have
 * distinct ids.
 */
export async function recordTransitionAndEvents(
  sql: Sql | TransactionSql,
  privacyRequestId: string,
  transition: { change?: StatusChange | undefined; audit?: AuditLogEntry | undefined; at: Date },
  events: WebhookEvent[],
): Promise<string[]> {
  if (new Set(events.map((event) => event.id)).size !== events.length) throw new Error('A statement cannot enqueue the same webhook event twice');
  if (transition.change && !transition.audit && events.length === 0) {
    await statusUpdate(sql, privacyRequestId, transition.change);
    return [];
  }
  const writes: PendingQuery<Row[]>[] = events.map((event, i) => sql`${sql(`created_${i}`)} as (${webhookDeliveriesInsert(sql, event)})`);
  if (transition.change) writes.push(sql`status as (${statusUpdate(sql, privacyRequestId, transition.change)})`);
  if (transition.audit) writes.push(sql`audit as (${auditLogInsert(sql, transition.audit, transition.at)})`);
  if (writes.length === 0) return [];
  // Each union's second half sees the table as it was before the inserts: no id twice.
  const answers: PendingQuery<Row[]>[] = events.map((event, i) => sql`select ${i}::int as event, id from ${sql(`created_${i}`)} union all select ${i}::int, id from (${pendingWebhookDeliveries(sql, event.id)}) as pending`);
  const joined = (fragments: PendingQuery<Row[]>[], separator: PendingQuery<Row[]>) => fragments.reduce((all, fragment) => sql`${all}${separator}${fragment}`);
  const rows = await sql<{ event: number; id: string }[]>`
    with ${joined(writes, sql`, `)}
    ${answers.length ? sql`select * from (${joined(answers, sql` union all `)}) as answer order by event` : sql`select null::int as event, null::text as id where false`}`;
  return rows.map((row) => row.id);
}
