/**
 * Sending messages over SMTP (nodemailer's SMTP connection; a few connections kept between messages).
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
  /**
   * Resolves when the server accepted the message; rejects with an SmtpError. `connectTimeoutMs`
   * bounds connecting and the greeting more tightly than DSRFLOW_SMTP_TIMEOUT (a first attempt
   * that must not wait long; the message has not gone out then, so it stays safe to send again).
   */
  send(message: OutgoingMessage, options?: { connectTimeoutMs?: number }): Promise<{ response: string }>;
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

/** Connections kept open between messages, and for how long an unused one stays. */
const MAX_IDLE_CONNECTIONS = 4;
const IDLE_MS = 10_000;
/** Messages per connection before it is closed and a new one opened (as nodemailer's pool does). */
const MAX_MESSAGES_PER_CONNECTION = 100;

interface OpenConnection {
  connection: SMTPConnection;
  messages: number;
  /** While idle: the timer that closes it and the listener that drops it when the server does. */
  idle?: { timer: NodeJS.Timeout; gone: () => void };
}

/**
 * A mailer for the configured SMTP server. Connections are kept for the next message (a few,
 * for a few seconds): a busy worker does not pay a connection and a greeting per message. A kept
 * connection that the server closed meanwhile fails before the message is handed over, and the
 * message then goes over a new connection: still at most once.
 */
export function createMailer(settings: SmtpSettings, from: string): Mailer & { close(): void } {
  const timeout = settings.timeoutMs;
  const idle: OpenConnection[] = [];

  const release = (open: OpenConnection) => {
    if (open.messages >= MAX_MESSAGES_PER_CONNECTION || idle.length >= MAX_IDLE_CONNECTIONS) return void open.connection.quit();
    const gone = () => drop(open);
    open.idle = { timer: setTimeout(gone, IDLE_MS).unref(), gone };
    open.connection.once('end', gone);
    open.connection.once('error', gone);
    idle.push(open);
  };
  const take = (open: OpenConnection) => {
    clearTimeout(open.idle!.timer);
    open.connection.removeListener('end', open.idle!.gone);
    open.connection.removeListener('error', open.idle!.gone);
    delete open.idle;
    idle.splice(idle.indexOf(open), 1);
    return open;
  };
  const drop = (open: OpenConnection) => {
    if (!open.idle) return;
    take(open);
    open.connection.on('error', () => {}); // a late error of a connection given up changes nothing
    open.connection.quit();
  };

  /** A new connection, greeted and logged in. */
  const open = (connectTimeoutMs = timeout) =>
    new Promise<OpenConnection>((resolve, reject) => {
      const connection = new SMTPConnection({
        host: settings.host,
        port: settings.port,
        secure: settings.secure,
        connectionTimeout: Math.min(timeout, connectTimeoutMs),
        greetingTimeout: Math.min(timeout, connectTimeoutMs),
        socketTimeout: timeout,
        dnsTimeout: timeout,
        socketCloseTimeout: Math.min(timeout, 5_000),
        logger: false,
      });
      let settled = false;
      const fail = (error: NodemailerError) => {
        if (settled) return;
        settled = true;
        connection.close();
        reject(error);
      };
      connection.on('error', fail);
      connection.once('end', () => fail(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' })));
      connection.connect((error) => {
        if (error) return fail(error);
        const ready = () => {
          if (settled) return;
          settled = true;
          connection.removeListener('error', fail);
          connection.removeAllListeners('end');
          resolve({ connection, messages: 0 });
        };
        if (settings.user === undefined) return ready();
        connection.login({ user: settings.user, pass: settings.password ?? '' }, (error) => (error ? fail(error as NodemailerError) : ready()));
      });
    });

  /** One message over one connection: resolves with the server's answer, or rejects with nodemailer's error. */
  const transmit = (open: OpenConnection, bytes: Buffer, body: TrackedMessage, to: string) =>
    new Promise<string>((resolve, reject) => {
      const { connection } = open;
      let settled = false;
      const finish = (error: NodemailerError | null, response?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        connection.removeListener('error', onError);
        connection.removeListener('end', onEnd);
        if (error) {
          connection.on('error', () => {}); // after the answer, a close that was not clean changes nothing
          connection.close();
          reject(error);
        } else {
          open.messages += 1;
          resolve(response ?? '');
        }
      };
      // The conversation as a whole has a deadline too, however slowly the server trickles.
      const deadline = setTimeout(() => finish(Object.assign(new Error(`no answer within ${3 * timeout} ms`), { code: 'ETIMEDOUT' })), 3 * timeout);
      const onError = (error: NodemailerError) => finish(error);
      const onEnd = () => finish(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' }));
      connection.on('error', onError);
      connection.on('end', onEnd);
      connection.send({ from: addressOf(from), to: [to], size: bytes.length }, body, (error, info) => {
        if (error) return finish(error as NodemailerError);
        finish(null, info.response);
      });
    });

  return {
    from,
    server: `${settings.host}:${settings.port}`,
    async send(message, options = {}) {
      let bytes: Buffer;
      try {
        bytes = await composeMessage(from, message);
      } catch (error) {
        throw new SmtpError(`The message could not be composed: ${(error as Error).message}`, 'permanent');
      }
      // A kept connection first; if the server closed it before taking the message, a new one.
      for (;;) {
        const kept = idle.length > 0 ? take(idle[idle.length - 1]!) : undefined;
        const body = new TrackedMessage(bytes);
        let connection: OpenConnection;
        try {
          connection = kept ?? (await open(options.connectTimeoutMs));
        } catch (error) {
          throw classify(error as NodemailerError, false);
        }
        try {
          const response = await transmit(connection, bytes, body, message.to);
          release(connection);
          return { response };
        } catch (error) {
          if (kept && !body.handedOver) continue; // not a byte of it was sent: safe on another connection
          throw classify(error as NodemailerError, body.handedOver);
        }
      }
    },
    close() {
      for (const open of [...idle]) drop(open);
    },
  };
}
