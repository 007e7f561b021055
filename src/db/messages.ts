/**
 * Messages to the data subject (`message`) and the operators' templates for them
 * (`message_template`). A message row is claimed before the SMTP server is called, in its own
 * committed statement, so that no attempt ever sends what another attempt may have sent.
 */
import type { Sql, TransactionSql } from './client.js';
import type { MessageTemplate, MessageType } from '../messages/templates.js';

export type MessageStatus = 'sending' | 'sent' | 'skipped' | 'uncertain' | 'failed';

export interface MessageRow {
  id: number;
  privacy_request_id: string;
  message_type: MessageType;
  idempotency_key: string;
  recipient_hash: string | null;
  status: MessageStatus;
  provider_message_id: string | null;
  attempts: number;
  error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

export interface NewMessage {
  privacyRequestId: string;
  type: MessageType;
  idempotencyKey: string;
  recipientHash: string | null;
  providerMessageId: string | null;
  /** `sending` to claim it before calling the server; `skipped` when it will not be sent. */
  status: 'sending' | 'skipped';
  error?: string | null;
}

/** Inserts the message unless its idempotency key is taken; the new row, or undefined when it was. */
export async function insertMessage(sql: Sql | TransactionSql, message: NewMessage): Promise<MessageRow | undefined> {
  const [row] = await sql<MessageRow[]>`
    insert into message (privacy_request_id, message_type, idempotency_key, recipient_hash, status, provider_message_id, attempts, error)
    values (${message.privacyRequestId}, ${message.type}, ${message.idempotencyKey}, ${message.recipientHash}, ${message.status},
            ${message.providerMessageId}, ${message.status === 'sending' ? 1 : 0}, ${message.error ?? null})
    on conflict (idempotency_key) do nothing
    returning *`;
  return row;
}

export async function getMessage(sql: Sql | TransactionSql, idempotencyKey: string): Promise<MessageRow | undefined> {
  const [row] = await sql<MessageRow[]>`select * from message where idempotency_key = ${idempotencyKey}`;
  return row;
}

/**
 * Claims a message that certainly was not delivered (`failed`) for another attempt; undefined
 * when it is not `failed` any more (another attempt claimed it, or it was sent).
 */
export async function reclaimFailedMessage(sql: Sql | TransactionSql, id: number, recipientHash: string): Promise<MessageRow | undefined> {
  const [row] = await sql<MessageRow[]>`
    update message set status = 'sending', attempts = attempts + 1, recipient_hash = ${recipientHash}
    where id = ${id} and status = 'failed'
    returning *`;
  return row;
}

/** A claim found from an attempt that never finished: the message may or may not have gone. */
export async function markAbandonedClaimUncertain(sql: Sql | TransactionSql, id: number): Promise<MessageRow | undefined> {
  const [row] = await sql<MessageRow[]>`
    update message set status = 'uncertain',
      error = coalesce(error || '; ', '') || 'an earlier attempt stopped while sending (worker ended): not sent again'
    where id = ${id} and status = 'sending'
    returning *`;
  return row;
}

/** The server accepted it. Also after another attempt marked the claim uncertain: now it is known. */
export async function markMessageSent(sql: Sql | TransactionSql, id: number, providerMessageId: string): Promise<void> {
  await sql`
    update message set status = 'sent', provider_message_id = ${providerMessageId}, sent_at = now(), error = null
    where id = ${id} and status in ('sending', 'uncertain')`;
}

/** The attempt ended without the message being sent (`failed`), or without knowing (`uncertain`). */
export async function markMessageOutcome(sql: Sql | TransactionSql, id: number, status: 'failed' | 'uncertain' | 'skipped', error: string): Promise<void> {
  await sql`update message set status = ${status}, error = ${error} where id = ${id} and status = 'sending'`;
}

export async function listMessages(sql: Sql, privacyRequestId: string): Promise<MessageRow[]> {
  return sql<MessageRow[]>`select * from message where privacy_request_id = ${privacyRequestId} order by id`;
}

// ---- Templates ---------------------------------------------------------------------------------

export interface MessageTemplateRow extends MessageTemplate {
  message_type: MessageType;
  updated_at: Date;
  updated_by: string | null;
}

const TEMPLATE_COLUMNS = (sql: Sql | TransactionSql) => sql`message_type, subject, text_body as text, html_body as html, updated_at, updated_by`;

export async function getMessageTemplate(sql: Sql | TransactionSql, type: MessageType): Promise<MessageTemplateRow | undefined> {
  const [row] = await sql<MessageTemplateRow[]>`select ${TEMPLATE_COLUMNS(sql)} from message_template where message_type = ${type}`;
  return row;
}

export async function listMessageTemplates(sql: Sql | TransactionSql): Promise<MessageTemplateRow[]> {
  return sql<MessageTemplateRow[]>`select ${TEMPLATE_COLUMNS(sql)} from message_template order by message_type`;
}

export async function upsertMessageTemplate(sql: Sql | TransactionSql, type: MessageType, template: MessageTemplate, actor: string): Promise<MessageTemplateRow> {
  const [row] = await sql<MessageTemplateRow[]>`
    insert into message_template (message_type, subject, text_body, html_body, updated_by)
    values (${type}, ${template.subject}, ${template.text}, ${template.html}, ${actor})
    on conflict (message_type) do update set subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body,
      updated_at = now(), updated_by = excluded.updated_by
    returning ${TEMPLATE_COLUMNS(sql)}`;
  return row!;
}

/** Back to the built-in template; false when there was no stored one. */
export async function deleteMessageTemplate(sql: Sql | TransactionSql, type: MessageType): Promise<boolean> {
  const deleted = await sql`delete from message_template where message_type = ${type}`;
  return deleted.count > 0;
}

// ---- What a message says about its request -----------------------------------------------------

export interface MessageRequestFacts {
  id: string;
  policy_name: string;
  received_at: Date;
  due_at: Date | null;
  extended_due_at: Date | null;
}

/**
 * The request's facts a message shows. The deadline columns (migration 0007) are read from the
 * row as JSON, so this works whichever of them the schema has.
 */
export async function messageRequestFacts(sql: Sql, privacyRequestId: string): Promise<MessageRequestFacts | undefined> {
  const [row] = await sql<{ id: string; policy_name: string; received_at: Date; due_at: string | null; extended_due_at: string | null }[]>`
    select pr.id, coalesce(p.name, pr.policy_key) as policy_name, coalesce(pr.requested_at, pr.created_at) as received_at,
      to_jsonb(pr) ->> 'due_at' as due_at, to_jsonb(pr) ->> 'extended_due_at' as extended_due_at
    from privacy_request pr left join policy p on p.key = pr.policy_key
    where pr.id = ${privacyRequestId}`;
  if (!row) return undefined;
  return {
    id: row.id,
    policy_name: row.policy_name,
    received_at: row.received_at,
    due_at: row.due_at ? new Date(row.due_at) : null,
    extended_due_at: row.extended_due_at ? new Date(row.extended_due_at) : null,
  };
}
