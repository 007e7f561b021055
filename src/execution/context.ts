/** What the execution steps need: the service database, the connectors, the encryption key. */
import type { ConnectorRegistry } from '../connectors/registry.js';
import type { Sql } from '../db/client.js';

export interface ExecutionContext {
  sql: Sql;
  connectors: ConnectorRegistry;
  encryptionKey: Buffer;
}

/** The request is not (yet) in the database: the API commits it right after starting the workflow. */
export class PrivacyRequestNotFound extends Error {
  override name = 'PrivacyRequestNotFound';
}

/** The request cannot run as configured (unknown policy, unreachable collections…): retrying will not help. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}
