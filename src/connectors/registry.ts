/**
 * One connector (and its connection pool) per connection, created when first needed by the
 * worker and reused. A connection whose secrets changed gets a new connector.
 */
import { createHash } from 'node:crypto';
import type { Sql } from '../db/client.js';
import { getConnectionWithSecrets } from '../db/connections.js';
import type { AllowList } from './allow-list.js';
import { ConnectorError } from './errors.js';
import { MariadbConnector, mariadbSecretsSchema, parseMariadbSecrets, refuseMariadbTarget } from './mariadb.js';
import { parsePostgresSecrets, postgresSecretsSchema, PostgresConnector, refusePostgresTarget, type TargetRefused } from './postgres.js';
import { getSaasConfig } from '../db/saas-configs.js';
import { missingConnectorParams } from '../domain/saas/requests.js';
import { PostgresRateLimiter } from './rate-limiter.js';
import { SaasConnector } from './saas.js';
import type { Connector } from './types.js';
import type { SaasConfig } from '../domain/saas/config.js';

/** What every connector of a process obeys: DSRFLOW_CONNECTION_ALLOW, undefined when unset. */
export interface ConnectorRules {
  allow?: AllowList | undefined;
  /** DSRFLOW_SAAS_LOOPBACK_HTTP (tests): https to a loopback host goes as http. */
  saasLoopbackHttp?: boolean | undefined;
  /** DSRFLOW_SAAS_REQUEST_TIMEOUT. */
  saasRequestTimeoutMs?: number | undefined;
}

export class ConnectorRegistry {
  private readonly connectors = new Map<string, { fingerprint: string; connector: Connector }>();
  /** SaaS rate limits, shared with every other worker through the service database. */
  private readonly limiter: PostgresRateLimiter;

  constructor(
    private readonly sql: Sql,
    private readonly encryptionKey: Buffer,
    private readonly rules: ConnectorRules = {},
  ) {
    this.limiter = new PostgresRateLimiter(sql);
  }

  async get(connectionKey: string): Promise<Connector> {
    const connection = await getConnectionWithSecrets(this.sql, connectionKey, this.encryptionKey);
    if (!connection) throw new ConnectorError('not_found', `Connection ${connectionKey} does not exist`);
    if (connection.disabled) throw new ConnectorError('permission', `Connection ${connectionKey} is disabled`);
    // A SaaS connection is its secrets and its saas_config: a new config makes a new connector too.
    const saas = connection.connection_type === 'saas' ? await getSaasConfig(this.sql, connectionKey) : undefined;
    if (connection.connection_type === 'saas' && !saas) {
      throw new ConnectorError('not_found', `Connection ${connectionKey} has no saas_config: PUT /api/v1/connection/${connectionKey}/saas_config first`, { retryable: false });
    }
    const fingerprint = createHash('sha256').update(JSON.stringify([connection.connection_type, connection.secrets, saas?.updated_at])).digest('hex');
    const cached = this.connectors.get(connectionKey);
    if (cached?.fingerprint === fingerprint) return cached.connector;
    if (cached) cached.connector.close().catch(() => undefined);
    const connector = saas
      ? createSaasConnector(saas.config, connection.secrets, connectionKey, this.rules, this.limiter)
      : create(connection.connection_type, connection.secrets, connectionKey, this.rules);
    this.connectors.set(connectionKey, { fingerprint, connector });
    return connector;
  }

  async closeAll(): Promise<void> {
    const all = [...this.connectors.values()];
    this.connectors.clear();
    await Promise.allSettled(all.map(({ connector }) => connector.close()));
  }
}

/** A connector for the connection; throws ConnectorError('permission') for a target the rules refuse. */
export function create(type: string, secrets: unknown, connectionKey: string, rules: ConnectorRules = {}): Connector {
  switch (type) {
    case 'postgres':
      return new PostgresConnector(parsePostgresSecrets(secrets), { applicationName: `dsrflow:${connectionKey}`, allow: rules.allow });
    case 'mariadb':
      return new MariadbConnector(parseMariadbSecrets(secrets), { applicationName: `dsrflow:${connectionKey}`, allow: rules.allow });
    default:
      throw new ConnectorError('not_found', `Connection ${connectionKey} has type ${type}, which this version of dsrflow cannot query yet`);
  }
}

/** A SaaS connector; throws ConnectorError('authentication') when a connector param has no value. */
export function createSaasConnector(config: SaasConfig, secrets: Record<string, unknown>, connectionKey: string, rules: ConnectorRules = {}, limiter?: PostgresRateLimiter): SaasConnector {
  const missing = missingConnectorParams(config.connector_params, secrets);
  if (missing.length) throw new ConnectorError('authentication', `Connection ${connectionKey} has no value for the connector param${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: PUT /api/v1/connection/${connectionKey}/secret`);
  return new SaasConnector(config, secrets, { connectionKey, allow: rules.allow, limiter, loopbackHttp: rules.saasLoopbackHttp, timeoutMs: rules.saasRequestTimeoutMs });
}

/**
 * Why secrets that fit their type still may not be saved (a target outside the allow-list, one
 * of Postgres's own schemas or MariaDB's own databases), naming the secret; undefined when they may.
 */
export function refuseSecrets(type: string, secrets: unknown, rules: ConnectorRules = {}): TargetRefused | undefined {
  if (type === 'mariadb') {
    const parsed = mariadbSecretsSchema.safeParse(secrets);
    return parsed.success ? refuseMariadbTarget(parsed.data, rules.allow) : undefined;
  }
  if (type !== 'postgres') return undefined;
  const parsed = postgresSecretsSchema.safeParse(secrets);
  return parsed.success ? refusePostgresTarget(parsed.data, rules.allow) : undefined;
}
