/**
 * What the data subject hears from the lifecycle: messages with the request's own links, and the
 * identity verification code. The workflow asks; these steps fill in what only the database knows.
 */
import { createHmac } from 'node:crypto';
import { getAccessPackage } from '../db/access-packages.js';
import { storeVerificationCode } from '../db/identity-verifications.js';
import { linkKey, signDownload } from '../domain/download-links.js';
import { ConfigurationError, type ExecutionContext } from './context.js';
import { MessageRefused, sendMessage, type SendMessageInput, type SendMessageResult } from './messages.js';
import { deliverWebhooksNow, type WebhookContext } from './webhooks.js';

/** Digits in a verification code. */
export const VERIFICATION_CODE_DIGITS = 6;

/**
 * The code of one issue: derived from the encryption key, so a retried activity sends the same
 * code it stored, and nothing but its hash is ever written.
 */
export function verificationCode(key: Buffer, privacyRequestId: string, issue: number): string {
  const digest = createHmac('sha256', key).update(`verification-code:${privacyRequestId}:${issue}`).digest();
  return String(digest.readUInt32BE(0) % 10 ** VERIFICATION_CODE_DIGITS).padStart(VERIFICATION_CODE_DIGITS, '0');
}

/** What is stored: keyed, so a copy of the table alone does not give the 10^6 codes away. */
export function verificationCodeHash(key: Buffer, privacyRequestId: string, code: string): string {
  return createHmac('sha256', key).update(`verification-hash:${privacyRequestId}:${code}`).digest('hex');
}

export async function issueVerificationCode(context: ExecutionContext, input: { privacyRequestId: string; issue: number; expiresAt: string }): Promise<SendMessageResult> {
  const code = verificationCode(context.encryptionKey, input.privacyRequestId, input.issue);
  await storeVerificationCode(context.sql, input.privacyRequestId, verificationCodeHash(context.encryptionKey, input.privacyRequestId, code), new Date(input.expiresAt));
  return sendMessage(context, {
    privacyRequestId: input.privacyRequestId,
    type: 'verification_code',
    idempotencyKey: `${input.privacyRequestId}:verification_code:${input.issue}`,
    variables: { code, expires_at: input.expiresAt },
  });
}

/** A message of the lifecycle; the completion of an access request carries its package's signed link. */
export async function messageDataSubject(context: ExecutionContext & { publicUrl?: string | undefined }, input: SendMessageInput): Promise<SendMessageResult> {
  const variables = { ...input.variables };
  if (input.type === 'completion' && context.publicUrl) {
    const row = await getAccessPackage(context.sql, input.privacyRequestId);
    if (row?.expires_at && (row.status === 'available' || row.status === 'downloaded')) {
      const expires = Math.floor(row.expires_at.getTime() / 1000);
      const query = new URLSearchParams({ expires: String(expires), signature: signDownload(linkKey(context.encryptionKey), input.privacyRequestId, expires) });
      variables.access_package_url = `${context.publicUrl}/api/v1/access-package/${encodeURIComponent(input.privacyRequestId)}/download?${query}`;
    }
  }
  return sendMessage(context, { ...input, variables });
}

/** A lifecycle message, as the workflow asks for it (the request's id added by the step). */
export type MessageToSend = Omit<SendMessageInput, 'privacyRequestId'>;

export interface NoticesAttempt {
  /** Deliveries that failed and may succeed later: each gets a delivery workflow. */
  deliveryIds: string[];
  /** Messages that could not be sent now and may be later (by idempotency key): retried by their own step. */
  messageKeys: string[];
  /** Messages that failed for good (refused, a template that does not render): the reason, for the log. */
  messageErrors: { idempotencyKey: string; error: string }[];
}

/**
 * The first attempt of a batch's notices, side by side: its webhook deliveries and its messages.
 * Most receivers and SMTP servers answer at once, and then nothing more is scheduled; what failed
 * and may succeed later is answered, for the workflow to retry durably. With a budget, a webhook
 * gets at most that long to answer, and an SMTP server that long to connect and greet (once the
 * message is handed over, its answer is awaited as long as DSRFLOW_SMTP_TIMEOUT allows: giving up
 * then would leave it uncertain).
 */
export async function deliverNotices(
  context: ExecutionContext & { publicUrl?: string | undefined },
  webhooks: WebhookContext,
  input: { privacyRequestId: string; deliveryIds: string[]; messages: MessageToSend[] },
  options: { budgetMs?: number } = {},
): Promise<NoticesAttempt> {
  // Within the budget: a receiver that takes longer is left to the durable retries, which wait longer.
  if (options.budgetMs !== undefined) {
    const budgetMs = options.budgetMs;
    webhooks = { ...webhooks, webhooks: { ...webhooks.webhooks, timeoutMs: Math.min(webhooks.webhooks.timeoutMs, budgetMs) } };
    const mailer = context.mailer;
    if (mailer) context = { ...context, mailer: { from: mailer.from, server: mailer.server, send: (message) => mailer.send(message, { connectTimeoutMs: budgetMs }) } };
  }
  const messageKeys: string[] = [];
  const messageErrors: NoticesAttempt['messageErrors'] = [];
  const [delivered] = await Promise.all([
    input.deliveryIds.length > 0 ? deliverWebhooksNow(webhooks, { deliveryIds: input.deliveryIds }) : { retry: [] },
    Promise.all(
      input.messages.map(async (message) => {
        try {
          await messageDataSubject(context, { privacyRequestId: input.privacyRequestId, ...message });
        } catch (error) {
          // Refused for good, or a template that cannot render: retrying will not help.
          if (error instanceof MessageRefused || error instanceof ConfigurationError) messageErrors.push({ idempotencyKey: message.idempotencyKey, error: error.message });
          else messageKeys.push(message.idempotencyKey);
        }
      }),
    ),
  ]);
  return { deliveryIds: delivered.retry, messageKeys, messageErrors };
}
