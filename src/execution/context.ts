/** What the execution steps need: the service database, the connectors, the encryption key. */
import type { ConnectorRegistry } from '../connectors/registry.js';
import type { Sql } from '../db/client.js';
import type { PlanSnapshot } from '../db/plans.js';
import type { Mailer } from '../messages/smtp.js';

export interface ExecutionContext {
  sql: Sql;
  connectors: ConnectorRegistry;
  encryptionKey: Buffer;
  /**
   * Plan snapshots by request id. A snapshot never changes once stored, and a large request's
   * is megabytes of JSON that every collection step needs: the worker keeps the recent ones.
   */
  snapshots?: Map<string, PlanSnapshot>;
  /** Sends messages to the data subject; undefined when no SMTP server is configured (messages are `skipped`). */
  mailer?: Mailer | undefined;
  /** The API's public address (DSRFLOW_PUBLIC_URL): links in messages point there. */
  publicUrl?: string | undefined;
}

const SNAPSHOTS_KEPT = 32;

/** Remembers a snapshot, forgetting the least recently used beyond the limit. */
export function rememberSnapshot(context: ExecutionContext, privacyRequestId: string, snapshot: PlanSnapshot): void {
  const cache = context.snapshots;
  if (!cache) return;
  cache.delete(privacyRequestId);
  cache.set(privacyRequestId, snapshot);
  while (cache.size > SNAPSHOTS_KEPT) cache.delete(cache.keys().next().value!);
}

/** The request is not (yet) in the database: the API commits it right after starting the workflow. */
export class PrivacyRequestNotFound extends Error {
  override name = 'PrivacyRequestNotFound';
}

/** The request cannot run as configured (unknown policy, unreachable collections…): retrying will not help. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}
