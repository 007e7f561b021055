/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric scheme `v1`).
 *
 * A message is signed with HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed with the bytes
 * of the secret (the base64 after `whsec_`), and sent in three headers: `webhook-id` (the same on
 * every attempt: receivers use it to drop duplicates), `webhook-timestamp` (Unix seconds of the
 * attempt: receivers refuse old ones, which stops replays) and `webhook-signature`
 * (`v1,<base64>`, several separated by spaces while a secret is rotated).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_SECRET_PREFIX } from '../domain/webhooks.js';

export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

/** How far a timestamp may be from the receiver's clock (the reference libraries' 5 minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** The key bytes of a secret: `whsec_<base64>` (or the bare base64). */
export function secretKey(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('The webhook secret is empty');
  return key;
}

const unixSeconds = (timestamp: Date | number) => (typeof timestamp === 'number' ? Math.floor(timestamp) : Math.floor(timestamp.getTime() / 1000));

/** The body exactly as sent: a string is taken as UTF-8. */
const bodyBytes = (body: string | Uint8Array) => (typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body));

function digest(key: Buffer, id: string, seconds: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${seconds}.`, 'utf8').update(bodyBytes(body)).digest();
}

/** The `webhook-signature` value of one secret: `v1,<base64 HMAC-SHA256>`. `timestamp` is a Date or Unix seconds. */
export function sign(secret: string | Uint8Array, id: string, timestamp: Date | number, body: string | Uint8Array): string {
  if (id.includes('.')) throw new Error('A webhook id must not contain "."'); // the signed content is delimited by full stops
  return `v1,${digest(secretKey(secret), id, unixSeconds(timestamp), body).toString('base64')}`;
}

/** The three headers of one message, signed with every secret given (the new one and, while rotating, the old). */
export function signedHeaders(secrets: string | string[], id: string, timestamp: Date | number, body: string | Uint8Array): Record<string, string> {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(unixSeconds(timestamp)),
    [WEBHOOK_HEADERS.signature]: list.map((secret) => sign(secret, id, timestamp, body)).join(' '),
  };
}

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

export interface VerifyOptions {
  /** Seconds a timestamp may be from `now` either way; default 300. */
  toleranceSeconds?: number;
  /** The receiver's clock; default the current time. */
  now?: Date;
}

type Headers = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: Headers, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

/**
 * Checks a received message: the three headers present, the timestamp within the tolerance, and
 * one of the `v1` signatures (space-separated; other versions are skipped) equal, compared in
 * constant time, to ours. Throws a WebhookVerificationError otherwise; returns the id and the time.
 */
export function verify(secret: string | Uint8Array, body: string | Uint8Array, headers: Headers, options: VerifyOptions = {}): { id: string; timestamp: Date } {
  const id = header(headers, WEBHOOK_HEADERS.id);
  const timestampText = header(headers, WEBHOOK_HEADERS.timestamp);
  const signatures = header(headers, WEBHOOK_HEADERS.signature);
  if (!id || !timestampText || !signatures) throw new WebhookVerificationError('Missing required headers');
  if (!/^\d{1,15}$/.test(timestampText.trim())) throw new WebhookVerificationError('Invalid timestamp header');
  const seconds = Number(timestampText.trim());
  const now = unixSeconds(options.now ?? new Date());
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - seconds > tolerance) throw new WebhookVerificationError('Message timestamp too old');
  if (seconds - now > tolerance) throw new WebhookVerificationError('Message timestamp too new');

  const expected = Buffer.from(digest(secretKey(secret), id, seconds, body).toString('base64'), 'utf8');
  let matched = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1), 'utf8');
    // Compared as text in constant time; every entry is checked, so the time says nothing about which matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('No matching signature found');
  return { id, timestamp: new Date(seconds * 1000) };
}
