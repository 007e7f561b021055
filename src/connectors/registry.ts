/**
 * One connector (and its connection pool) per connection, created when first needed by the
 * worker and reused. A connection whose secrets changed gets a new connector.
 */
import { createHash } from 'node:crypto';
import type { Sql } from '../db/client.js';
import { getConnectionWithSecrets } from '../db/connections.js';
import { ConnectorError } from './errors.js';
import { parsePostgresSecrets, PostgresConnector } from './postgres.js';
import type { Connector } from './types.js';

export class ConnectorRegistry {
  private readonly connectors = new Map<string, { fingerprint: string; connector: Connector }>();

  constructor(
    private readonly sql: Sql,
    private readonly encryptionKey: Buffer,
  ) {}

  async get(connectionKey: string): Promise<Connector> {
    const connection = await getConnectionWithSecrets(this.sql, connectionKey, this.encryptionKey);
    if (!connection) throw new ConnectorError('not_found', `Connection ${connectionKey} does not exist`);
    if (connection.disabled) throw new ConnectorError('permission', `Connection ${connectionKey} is disabled`);
    const fingerprint = createHash('sha256').update(JSON.stringify([connection.connection_type, connection.secrets])).digest('hex');
    const cached = this.connectors.get(connectionKey);
    if (cached?.fingerprint === fingerprint) return cached.connector;
    if (cached) cached.connector.close().catch(() => undefined);
    const connector = create(connection.connection_type, connection.secrets, connectionKey);
    this.connectors.set(connectionKey, { fingerprint, connector });
    return connector;
  }

  async closeAll(): Promise<void> {
    const all = [...this.connectors.values()];
    this.connectors.clear();
    await Promise.allSettled(all.map(({ connector }) => connector.close()));
  }
}

export function create(type: string, secrets: unknown, connectionKey: string): Connector {
  switch (type) {
    case 'postgres':
      return new PostgresConnector(parsePostgresSecrets(secrets), { applicationName: `dsrflow:${connectionKey}` });
    default:
      throw new ConnectorError('not_found', `Connection ${connectionKey} has type ${type}, which this version of dsrflow cannot query yet`);
  }
}
