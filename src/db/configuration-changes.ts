/** SQL for `configuration_change`: every change to configuration, and the client or user who made it. */
import type { Sql, TransactionSql } from './client.js';

import type { ConfigurationChangeKind, ConfigurationResource } from '../domain/configuration.js';

export interface ConfigurationChangeRow {
  id: number;
  resource: ConfigurationResource;
  key: string;
  change: ConfigurationChangeKind;
  actor: string;
  created_at: Date;
}

/** Recorded in the transaction of the change itself, so one never exists without the other. */
export async function recordConfigurationChange(
  sql: Sql | TransactionSql,
  change: { resource: ConfigurationResource; key: string; change: ConfigurationChangeKind; actor: string },
): Promise<void> {
  await sql`insert into configuration_change (resource, key, change, actor) values (${change.resource}, ${change.key}, ${change.change}, ${change.actor})`;
}

export async function listConfigurationChanges(
  sql: Sql,
  filters: { resource?: string | undefined; key?: string | undefined },
  page: number,
  size: number,
): Promise<{ items: ConfigurationChangeRow[]; total: number }> {
  const where = sql`where (${filters.resource ?? null}::text is null or resource = ${filters.resource ?? null}) and (${filters.key ?? null}::text is null or key = ${filters.key ?? null})`;
  const items = await sql<ConfigurationChangeRow[]>`select * from configuration_change ${where} order by id desc limit ${size} offset ${(page - 1) * size}`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from configuration_change ${where}`;
  return { items, total: count!.total };
}
