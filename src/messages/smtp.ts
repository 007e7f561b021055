/**
 * Sending one message over SMTP (nodemailer's SMTP connection, one connection per message).
 *
 * Every socket has a deadline: connecting, the greeting and each answer are bounded by
 * DSRFLOW_SMTP_TIMEOUT, and the whole conversation by three times that. A failure says whether
 * the message may have arrived, which is what decides between sending again and not:
 * - `retryable`: it certainly did not arrive (no connection, a 4xx answer, a failure before the
 *   message's content was handed over). Sending again is safe.
 * - `permanent`: the server refused it (5xx). It did not arrive, and sending again will not help.
 * - `uncertain`: the connection failed or timed out after the content was handed over and before
 *   the server answered: it may have arrived. Never sent again.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpSettings } from '../config.js';

export interface OutgoingMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The Message-ID header, with its angle brackets. */
  messageId: string;
  /** More headers (X-Dsrflow-Message-Type…). */
  headers: Record<string, string>;
}

export interface Mailer {
  /** The sender (From), as configured. */
  readonly from: string;
  /** `host:port`, for log lines: never the credentials. */
  readonly server: string;
  /** Resolves when the server accepted the message; rejects with an SmtpError. */
  send(message: OutgoingMessage): Promise<{ response: string }>;
}

export type SmtpFailureKind = 'retryable' | 'permanent' | 'uncertain';

export class SmtpError extends Error {
  override name = 'SmtpError';
  constructor(
    message: string,
    readonly kind: SmtpFailureKind,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}

/** `<sha256 of the key@dsrflow>`: the same key always gives the same Message-ID, so a receiver can tell a repeat. */
export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex')}@dsrflow>`;
}

/** The bare address of `Name <address>` or `address`. */
export function addressOf(mailbox: string): string {
  return (/<([^<>]+)>\s*$/.exec(mailbox)?.[1] ?? mailbox).trim();
}

/** The whole message as it goes over the wire (RFC 5322, multipart/alternative text and HTML). */
export function composeMessage(from: string, message: OutgoingMessage): Promise<Buffer> {
  return new MailComposer({
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: message.messageId,
    date: new Date(),
    // RFC 3834: sent by a program, so auto-responders stay quiet.
    headers: { 'Auto-Submitted': 'auto-generated', ...message.headers },
    disableFileAccess: true,
    disableUrlAccess: true,
  })
    .compile()
    .build();
}

/** A message's bytes as a stream that notes when the connection first reads it: from then on, it may have arrived. */
class TrackedMessage extends Readable {
  handedOver = false;
  private sent = false;
  constructor(private readonly bytes: Buffer) {
    super();
  }
  override _read() {
    this.handedOver = true;
    if (this.sent) return;
    this.sent = true;
    this.push(this.bytes);
    this.push(null);
  }
}

interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** What an error of nodemailer means for the message. */
function classify(error: NodemailerError, handedOver: boolean): SmtpError {
  const code = error.responseCode;
  // The server's own words may echo the address; keep the code, the reply and nodemailer's category.
  const text = (error.message || String(error)).replace(/[\r\n]+/g, ' ').slice(0, 500);
  if (code && code >= 500 && code < 600) {
    // Authentication refused is the configuration, not the message: worth retrying once fixed.
    return new SmtpError(`SMTP server refused the message (${error.code ?? 'SMTP'}): ${text}`, error.code === 'EAUTH' ? 'retryable' : 'permanent', code);
  }
  if (code && code >= 400 && code < 500) return new SmtpError(`SMTP server deferred the message (${error.code ?? 'SMTP'}): ${text}`, 'retryable', code);
  if (handedOver) return new SmtpError(`SMTP connection failed after the message was handed over, it may have arrived (${error.code ?? 'error'}): ${text}`, 'uncertain');
  if (error.code === 'EMESSAGE' || error.code === 'EENVELOPE') return new SmtpError(`SMTP client refused the message (${error.code}): ${text}`, 'permanent');
  return new SmtpError(`SMTP server unreachable (${error.code ?? 'error'}): ${text}`, 'retryable');
}

/** A mailer for the configured SMTP server. */
export function createMailer(settings: SmtpSettings, from: string): Mailer {
  const timeout = settings.timeoutMs;
  return {
    from,
    server: `${settings.host}:${settings.port}`,
    async send(message) {
      let bytes: Buffer;
      try {
        bytes = await composeMessage(from, message);
      } catch (error) {
        throw new SmtpError(`The message could not be composed: ${(error as Error).message}`, 'permanent');
      }
      const body = new TrackedMessage(bytes);
      const connection = new SMTPConnection({
        host: settings.host,
        port: settings.port,
        secure: settings.secure,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        dnsTimeout: timeout,
        socketCloseTimeout: Math.min(timeout, 5_000),
        logger: false,
      });
      return new Promise<{ response: string }>((resolve, reject) => {
        let settled = false;
        const finish = (error: NodemailerError | null, response?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          if (error) {
            connection.close();
            reject(classify(error, body.handedOver));
          } else {
            connection.quit();
            resolve({ response: response ?? '' });
          }
        };
        // The conversation as a whole has a deadline too, however slowly the server trickles.
        const deadline = setTimeout(() => finish(Object.assign(new Error(`no answer within ${3 * timeout} ms`), { code: 'ETIMEDOUT' })), 3 * timeout);
        // After the answer, a late error (a close that was not clean) changes nothing.
        connection.on('error', (error: NodemailerError) => finish(error));
        connection.on('end', () => finish(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' })));
        connection.connect((error) => {
          if (error) return finish(error);
          const send = () =>
            connection.send({ from: addressOf(from), to: [message.to], size: bytes.length }, body, (error, info) => {
              if (error) return finish(error as NodemailerError);
              finish(null, info.response);
            });
          if (settings.user === undefined) return send();
          connection.login({ user: settings.user, pass: settings.password ?? '' }, (error) => (error ? finish(error as NodemailerError) : send()));
        });
      });
    },
  };
}
