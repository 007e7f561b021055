/**
 * Connector failures, each with its category (src/domain/errors.ts).
 */
import { RETRYABLE_CATEGORIES, type ErrorCategory } from '../domain/errors.js';

export class ConnectorError extends Error {
  override name = 'ConnectorError';
  readonly retryable: boolean;
  /** How long the data store asked to wait before the next attempt (an HTTP Retry-After). */
  readonly retryAfterMs: number | undefined;
  /** The HTTP status, for connectors that speak HTTP. */
  readonly status: number | undefined;
  constructor(
    readonly category: ErrorCategory,
    message: string,
    options?: { cause?: unknown; retryable?: boolean; retryAfterMs?: number; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options?.retryable ?? RETRYABLE_CATEGORIES[category];
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
  }
}

/** Classifies an error from Postgres (SQLSTATE) or the network (errno). */
export function classifyPostgresError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const { code, message } = error as { code?: string; message?: string };
  // Messages such as `invalid input syntax for type integer: "…"` end with the offending value,
  // which may be personal data: it stays out of logs and workflow history.
  // Whatever answered wrote the message: no control characters, and no novel.
  const text = (message ?? String(error))
    .replace(/: ".*"$/s, '')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .slice(0, 500);
  const category = ((): ErrorCategory => {
    if (typeof code !== 'string' || !code) return 'server';
    if (code.startsWith('28')) return 'authentication'; // invalid authorization, bad password
    if (code === '42501') return 'permission'; // insufficient_privilege
    if (code === '42P01' || code === '42703' || code === '3D000' || code === '3F000') return 'not_found'; // table, column, database, schema
    if (code === '57014' || code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
    if (code === '53300' || code === '53400') return 'rate_limited'; // too many connections, configuration limit
    if (code.startsWith('23') || code.startsWith('22')) return 'bad_data'; // integrity and data exceptions
    if (/CERT|SSL|TLS/.test(code)) return 'authentication'; // the server's certificate, or TLS itself, failed
    if (code.startsWith('42')) return 'bad_data'; // syntax or type errors: the dataset does not fit the table
    return 'server'; // connection failures, shutdowns, resource exhaustion
  })();
  return new ConnectorError(category, text, { cause: error });
}
