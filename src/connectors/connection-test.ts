/**
 * `GET /connection/{key}/test` (and `PUT …/secret?verify=true`): connects with the real
 * connector, within a deadline, and answers with a category and a reason.
 *
 * - The deadline (DSRFLOW_CONNECTION_TEST_TIMEOUT) is hard: when it passes, the answer is
 *   `timeout` and every socket of the test is closed; nothing keeps connecting after the caller
 *   has its answer.
 * - The reason is in dsrflow's own words, built from the category, the SQLSTATE and the
 *   configured address: never the bytes of whatever answered (a foreign server's banner, or the
 *   text of an error message, which any server can make say anything).
 * - Secret values are masked out of the reason all the same, in case the address carries one.
 */
import postgres from 'postgres';
import type { Sql } from '../db/client.js';
import { getConnectionWithSecrets, type ConnectionSecrets } from '../db/connections.js';
import type { AllowList } from './allow-list.js';
import type { ErrorCategory } from '../domain/errors.js';
import { classifyPostgresError } from './errors.js';
import { describeMariadbAddress, mariadbSecretsSchema, mariadbTarget } from './mariadb.js';
import { explainMariadbFailure } from './mariadb-errors.js';
import { postgresSecretsSchema, postgresTarget, type PostgresTarget } from './postgres.js';
import { describeAddress } from './postgres-sockets.js';
import { create as createConnector, createSaasConnector } from './registry.js';
import { getSaasConfig } from '../db/saas-configs.js';
import { ConnectorError } from './errors.js';
import type { Connector } from './types.js';

export interface ConnectionTestResult {
  connection_key: string;
  test_status: 'succeeded' | 'failed' | 'skipped';
  category: ErrorCategory | null;
  msg: string;
}

export interface ConnectionTestOptions {
  /** DSRFLOW_CONNECTION_ALLOW; undefined: any target. */
  allow?: AllowList | undefined;
  /** DSRFLOW_CONNECTION_TEST_TIMEOUT (default 10 s). */
  timeoutMs?: number | undefined;
  /** DSRFLOW_SAAS_LOOPBACK_HTTP. */
  loopbackHttp?: boolean | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

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

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))}s`;

/** What a SQLSTATE means, in dsrflow's words. */
function sqlstateReason(code: string, target: PostgresTarget | undefined, address: string): string {
  if (code === '28P01' || code === '28000') return `The server at ${address} refused the username or password`;
  if (code.startsWith('28')) return `The server at ${address} refused the login`;
  if (code === '3D000') return target?.database ? `The database "${target.database}" does not exist on the server at ${address}` : `The database does not exist on the server at ${address}`;
  if (code === '42501') return `The user lacks a privilege the test needs on the server at ${address}`;
  if (code === '57014') return `The server at ${address} canceled the query (a statement timeout, or a cancel request)`;
  if (code === '53300' || code === '53400') return `The server at ${address} has too many connections`;
  if (code === '57P03') return `The server at ${address} is starting up or shutting down`;
  return `The server at ${address} refused the test`;
}

/** The category and dsrflow's own words for a failed test. */
export function explainFailure(error: unknown, target: PostgresTarget | undefined): { category: ErrorCategory; msg: string } {
  const classified = classifyPostgresError(error);
  const address = target ? describeAddress(target) : 'the configured address';
  // Raised by dsrflow itself (the socket rules, the allow-list, incomplete secrets): its words already.
  if (classified.cause === undefined) return { category: classified.category, msg: classified.message };
  const code = (classified.cause as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return { category: 'not_found', msg: `No database server answers at the configured address ${address} (${code})` };
  if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return { category: 'timeout', msg: `No answer from ${address} within the connect timeout` };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { category: classified.category, msg: `The server at ${address} reset the connection` };
  if (classified.cause instanceof postgres.PostgresError && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return { category: classified.category, msg: `${sqlstateReason(code, target, address)} (SQLSTATE ${code})` };
  }
  if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) && classified.category === 'authentication') {
    return { category: 'authentication', msg: `TLS with ${address} failed (${code})` };
  }
  return { category: classified.category, msg: `The connection to ${address} failed (${classified.category})` };
}

/** The test's result, or undefined when there is no such connection. */
export async function testConnection(sql: Sql, encryptionKey: Buffer, connectionKey: string, options: ConnectionTestOptions = {}): Promise<ConnectionTestResult | undefined> {
  const connection = await getConnectionWithSecrets(sql, connectionKey, encryptionKey);
  if (!connection) return undefined;
  const result = (test_status: ConnectionTestResult['test_status'], category: ErrorCategory | null, msg: string): ConnectionTestResult => ({
    connection_key: connectionKey,
    test_status,
    category,
    msg: redactSecrets(msg, connection.secrets),
  });
  if (connection.connection_type === 'manual') return result('skipped', null, 'Manual connections are handled by people: there is nothing to connect to');
  if (connection.connection_type === 'saas') return testSaas(sql, connectionKey, connection.secrets, options, result);
  const mariadb = connection.connection_type === 'mariadb';
  if (connection.connection_type !== 'postgres' && !mariadb) return result('skipped', null, `This version of dsrflow cannot connect to ${connection.connection_type} connections yet`);
  if (Object.keys(connection.secrets).length === 0) return result('failed', 'authentication', `No secrets are set: PUT /api/v1/connection/${connectionKey}/secret first`);

  let target: PostgresTarget | undefined;
  let mariadbAddress: { address: string; database: string } | undefined;
  try {
    if (mariadb) {
      const parsed = mariadbSecretsSchema.safeParse(connection.secrets);
      const found = parsed.success ? mariadbTarget(parsed.data) : undefined;
      mariadbAddress = found ? { address: describeMariadbAddress(found), database: found.database } : undefined;
    } else {
      const parsed = postgresSecretsSchema.safeParse(connection.secrets);
      target = parsed.success ? postgresTarget(parsed.data) : undefined;
    }
  } catch {
    target = undefined; // the connector names the problem
  }
  const address = mariadb ? (mariadbAddress?.address ?? 'the configured address') : target ? describeAddress(target) : 'the configured address';
  const failed = (error: unknown) => {
    const { category, msg } = mariadb ? explainMariadbFailure(error, address, mariadbAddress?.database) : explainFailure(error, target);
    return result('failed', category, msg);
  };

  let connector: Connector;
  try {
    connector = createConnector(connection.connection_type, connection.secrets, connectionKey, { allow: options.allow });
  } catch (error) {
    return failed(error);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const testing = connector.test();
  // After the deadline nobody awaits the test: its rejection (once its sockets are closed) is expected.
  testing.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), timeoutMs);
  });
  try {
    if ((await Promise.race([testing, deadline])) === 'deadline') {
      connector.destroy();
      return result('failed', 'timeout', `No answer from ${address} within ${seconds(timeoutMs)}`);
    }
    await connector.close();
    return result('succeeded', null, 'Connected and ran a query');
  } catch (error) {
    connector.destroy();
    return failed(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A SaaS connection's test: the config's test_request with the stored params, within the
 * deadline. The reason is the connector's (status and a short excerpt), secrets masked.
 */
async function testSaas(
  sql: Sql,
  connectionKey: string,
  secrets: ConnectionSecrets,
  options: ConnectionTestOptions,
  result: (status: ConnectionTestResult['test_status'], category: ErrorCategory | null, msg: string) => ConnectionTestResult,
): Promise<ConnectionTestResult> {
  const saas = await getSaasConfig(sql, connectionKey);
  if (!saas) return result('failed', 'not_found', `No saas_config is set: PUT /api/v1/connection/${connectionKey}/saas_config first`);
  if (!saas.config.test_request) return result('skipped', null, `The saas_config ${saas.fides_key} has no test_request`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const connector = createSaasConnector(saas.config, secrets, connectionKey, { allow: options.allow, saasLoopbackHttp: options.loopbackHttp, saasRequestTimeoutMs: timeoutMs });
    await connector.test();
    return result('succeeded', null, `The test request of ${saas.fides_key} succeeded`);
  } catch (error) {
    if (error instanceof ConnectorError) return result('failed', error.category, error.message);
    return result('failed', 'server', 'The test request failed');
  }
}
