/**
 * Sends one message to the data subject: at most once per idempotency key.
 *
 * The row is claimed (`sending`) in its own committed statement before the SMTP server is
 * called. An attempt that finds its key `sent` answers `already_sent`; one that finds it still
 * `sending` knows an earlier attempt stopped mid-send (its worker was killed) and cannot know
 * whether the message arrived: it marks it `uncertain` and does not send (see docs/decisions.md,
 * "Messages go at most once"). A message that certainly did not arrive (`failed`: a 4xx or 5xx
 * answer, no connection) is sent again by the next attempt.
 *
 * The recipient is the request's `email` identity; only its hash is stored. No identity, or no
 * SMTP server configured: `skipped`.
 */
import { createHash } from 'node:crypto';
import { getMessage, getMessageTemplate, insertMessage, markAbandonedClaimUncertain, markMessageOutcome, markMessageSent, messageRequestFacts, reclaimFailedMessage, type MessageRow } from '../db/messages.js';
import { readIdentities } from '../db/privacy-requests.js';
import { messageIdFor, SmtpError } from '../messages/smtp.js';
import { DEFAULT_TEMPLATES, formatTimestamp, isMessageType, renderMessage, TemplateError, type MessageType } from '../messages/templates.js';
import { ConfigurationError, PrivacyRequestNotFound, type ExecutionContext } from './context.js';

export type { MessageType };

export interface SendMessageInput {
  privacyRequestId: string;
  type: MessageType;
  /** One message per key, ever: the same key again sends nothing. */
  idempotencyKey: string;
  /** The type's own variables (`code`, `reason`…); the request's (id, policy, dates) are filled in here. */
  variables: Record<string, string | null>;
}

export interface SendMessageResult {
  status: 'sent' | 'skipped' | 'already_sent' | 'uncertain';
  providerMessageId?: string;
}

/** The SMTP server refused the message for good (5xx): recorded `failed`; retrying will not help. */
export class MessageRefused extends Error {
  override name = 'MessageRefused';
}

export const MESSAGE_HEADER_TYPE = 'X-Dsrflow-Message-Type';

/** sha256 (hex) of the lower-cased address. */
export const recipientHash = (address: string) => createHash('sha256').update(address.trim().toLowerCase()).digest('hex');

const USABLE_ADDRESS = /^[^\s<>@",;]+@[^\s<>@",;]+$/;

export async function sendMessage(context: ExecutionContext, input: SendMessageInput): Promise<SendMessageResult> {
  const { privacyRequestId, type, idempotencyKey } = input;
  if (!isMessageType(type)) throw new ConfigurationError(`Unknown message type ${String(type)}`);
  if (!idempotencyKey) throw new ConfigurationError('A message needs an idempotency key');

  // A key already used answers from its row, whatever the configuration says now.
  const existing = await getMessage(context.sql, idempotencyKey);
  if (existing) {
    const answer = await resume(context, existing, input);
    if (answer) return answer;
  }

  const facts = await messageRequestFacts(context.sql, privacyRequestId);
  if (!facts) throw new PrivacyRequestNotFound(`Privacy request ${privacyRequestId} not found`);
  const email = (await readIdentities(context.sql, privacyRequestId, context.encryptionKey)).email?.trim();
  const hash = email ? recipientHash(email) : null;
  const providerMessageId = messageIdFor(idempotencyKey);

  const skipReason = !context.mailer
    ? 'no SMTP server configured (DSRFLOW_SMTP_URL)'
    : !email
      ? 'the request has no email identity (or it expired)'
      : !USABLE_ADDRESS.test(email)
        ? 'the email identity is not a usable address'
        : undefined;
  if (skipReason) {
    const row = await insertMessage(context.sql, { privacyRequestId, type, idempotencyKey, recipientHash: hash, providerMessageId: null, status: 'skipped', error: skipReason });
    if (!row) return (await resume(context, (await getMessage(context.sql, idempotencyKey))!, input)) ?? { status: 'skipped' };
    return { status: 'skipped' };
  }

  // Rendered before the claim: a template that cannot render must not leave a claim behind.
  const stored = await getMessageTemplate(context.sql, type);
  let rendered;
  try {
    rendered = renderMessage(type, stored ?? DEFAULT_TEMPLATES[type], {
      ...input.variables,
      privacy_request_id: facts.id,
      policy_name: facts.policy_name,
      received_at: formatTimestamp(facts.received_at),
      due_at: formatTimestamp(type === 'extension' ? facts.due_at : (facts.extended_due_at ?? facts.due_at)),
    });
  } catch (error) {
    if (error instanceof TemplateError) throw new ConfigurationError(`The ${type} message template cannot be rendered: ${error.message}`);
    throw error;
  }

  // The claim: committed before the server hears anything.
  let claim = await insertMessage(context.sql, { privacyRequestId, type, idempotencyKey, recipientHash: hash, providerMessageId, status: 'sending' });
  if (!claim) {
    // Another attempt wrote the key between our look and our insert.
    const row = (await getMessage(context.sql, idempotencyKey))!;
    const answer = await resume(context, row, input);
    if (answer) return answer;
    claim = await reclaimFailedMessage(context.sql, row.id, hash!);
    if (!claim) return (await resume(context, (await getMessage(context.sql, idempotencyKey))!, input)) ?? { status: 'uncertain' };
  }
  return deliver(context, claim, { to: email!, ...rendered, messageId: providerMessageId, type });
}

/**
 * What a row left by an earlier attempt answers; undefined when the message must be (re)sent:
 * it is `failed`, which means it certainly did not arrive.
 */
async function resume(context: ExecutionContext, row: MessageRow, input: SendMessageInput): Promise<SendMessageResult | undefined> {
  if (row.privacy_request_id !== input.privacyRequestId || row.message_type !== input.type) {
    throw new ConfigurationError(`Idempotency key ${input.idempotencyKey} is already used by a ${row.message_type} message of another request or type`);
  }
  switch (row.status) {
    case 'sent':
      return { status: 'already_sent', ...(row.provider_message_id ? { providerMessageId: row.provider_message_id } : {}) };
    case 'skipped':
      return { status: 'skipped' };
    case 'uncertain':
      return { status: 'uncertain', ...(row.provider_message_id ? { providerMessageId: row.provider_message_id } : {}) };
    case 'sending': {
      // An attempt that claimed it never finished: it may have sent it. Never a second mail.
      const marked = await markAbandonedClaimUncertain(context.sql, row.id);
      if (marked) return { status: 'uncertain', ...(row.provider_message_id ? { providerMessageId: row.provider_message_id } : {}) };
      return resume(context, (await getMessage(context.sql, row.idempotency_key))!, input);
    }
    case 'failed':
      if (!context.mailer) return { status: 'skipped' };
      return undefined;
  }
}

async function deliver(
  context: ExecutionContext,
  claim: MessageRow,
  message: { to: string; subject: string; text: string; html: string; messageId: string; type: MessageType },
): Promise<SendMessageResult> {
  try {
    await context.mailer!.send({
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      messageId: message.messageId,
      headers: { [MESSAGE_HEADER_TYPE]: message.type },
    });
  } catch (error) {
    if (!(error instanceof SmtpError)) throw error; // the claim stays `sending`: the next attempt marks it uncertain
    if (error.kind === 'uncertain') {
      await markMessageOutcome(context.sql, claim.id, 'uncertain', error.message);
      return { status: 'uncertain', providerMessageId: message.messageId };
    }
    await markMessageOutcome(context.sql, claim.id, 'failed', error.message);
    if (error.kind === 'permanent') throw new MessageRefused(error.message);
    throw error; // retryable: the next attempt finds it `failed` and sends it again
  }
  // If this write is lost, the claim stays `sending` and the next attempt says `uncertain`: never a second mail.
  await markMessageSent(context.sql, claim.id, message.messageId);
  return { status: 'sent', providerMessageId: message.messageId };
}
