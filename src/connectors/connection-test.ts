/**
 * `GET /connection/{key}/test` (and `PUT …/secret?verify=true`): connects with the real
 * connector and answers with a category and a reason, with secret values masked out of the
 * reason. The API's route file only calls it.
 */
import type { Sql } from '../db/client.js';
import { getConnectionWithSecrets, type ConnectionSecrets } from '../db/connections.js';
import { classifyPostgresError, type ErrorCategory } from './errors.js';
import { create as createConnector } from './registry.js';
import type { Connector } from './types.js';

export interface ConnectionTestResult {
  connection_key: string;
  test_status: 'succeeded' | 'failed' | 'skipped';
  category: ErrorCategory | null;
  msg: string;
}

/** Network failures that mean "the configured address is wrong or nothing listens there". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Every secret value that must not appear in a message: passwords, tokens, whole URLs and their passwords. */
function secretValues(secrets: ConnectionSecrets): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(secrets)) {
    if (typeof value !== 'string' || value.length === 0) continue;
    if (/pass|secret|token|key|url|dsn/i.test(name)) values.add(value);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      values.add(value);
      try {
        const { password } = new URL(value);
        if (password) {
          values.add(password);
          values.add(decodeURIComponent(password));
        }
      } catch {
        // not a URL after all: the whole value is masked already
      }
    }
  }
  return [...values].sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string, secrets: ConnectionSecrets): string {
  return secretValues(secrets).reduce((masked, value) => masked.split(value).join('***'), text);
}

/** The test's result, or undefined when there is no such connection. */
export async function testConnection(sql: Sql, encryptionKey: Buffer, connectionKey: string): Promise<ConnectionTestResult | undefined> {
  const connection = await getConnectionWithSecrets(sql, connectionKey, encryptionKey);
  if (!connection) return undefined;
  const result = (test_status: ConnectionTestResult['test_status'], category: ErrorCategory | null, msg: string): ConnectionTestResult => ({
    connection_key: connectionKey,
    test_status,
    category,
    msg,
  });
  if (connection.connection_type === 'manual') return result('skipped', null, 'Manual connections are handled by people: there is nothing to connect to');
  if (connection.connection_type !== 'postgres') return result('skipped', null, `This version of dsrflow cannot connect to ${connection.connection_type} connections yet`);
  if (Object.keys(connection.secrets).length === 0) return result('failed', 'authentication', `No secrets are set: PUT /api/v1/connection/${connectionKey}/secret first`);
  let connector: Connector | undefined;
  try {
    connector = createConnector(connection.connection_type, connection.secrets, connectionKey);
    await connector.test();
    return result('succeeded', null, 'Connected and ran a query');
  } catch (error) {
    const classified = classifyPostgresError(error);
    // The connector wraps driver errors; the network error code is on the cause.
    const code = ((error as { cause?: { code?: string } }).cause ?? (error as { code?: string })).code;
    const unreachable = code !== undefined && UNREACHABLE.has(code);
    const message = unreachable ? `No database server answers at the configured address: ${classified.message}` : classified.message;
    return result('failed', unreachable ? 'not_found' : classified.category, redactSecrets(message, connection.secrets));
  } finally {
    await connector?.close().catch(() => undefined);
  }
}
