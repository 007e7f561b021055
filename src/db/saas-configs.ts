/** SQL for `saas_config`: the Fides saas_config of a SaaS connection. */
import type { SaasConfig } from '../domain/saas/config.js';
import { asJson, type Sql, type TransactionSql } from './client.js';

export interface SaasConfigRow {
  connection_key: string;
  fides_key: string;
  config: SaasConfig;
  source: string;
  updated_at: Date;
}

export async function getSaasConfig(sql: Sql | TransactionSql, connectionKey: string): Promise<SaasConfigRow | undefined> {
  const [row] = await sql<SaasConfigRow[]>`
    select connection_key, fides_key, config, source, updated_at from saas_config where connection_key = ${connectionKey}`;
  return row;
}

export async function saveSaasConfig(sql: Sql | TransactionSql, connectionKey: string, config: SaasConfig, source: string): Promise<SaasConfigRow> {
  const [row] = await sql<SaasConfigRow[]>`
    insert into saas_config (connection_key, fides_key, config, source)
    values (${connectionKey}, ${config.fides_key}, ${sql.json(asJson(config))}, ${source})
    on conflict (connection_key) do update set fides_key = excluded.fides_key, config = excluded.config, source = excluded.source, updated_at = now()
    returning connection_key, fides_key, config, source, updated_at`;
  return row!;
}

export async function deleteSaasConfig(sql: Sql | TransactionSql, connectionKey: string): Promise<boolean> {
  const rows = await sql`delete from saas_config where connection_key = ${connectionKey} returning connection_key`;
  return rows.length === 1;
}

/** Enabled SaaS connections whose saas_config has consent_requests, by key. */
export async function connectionsTakingConsent(sql: Sql | TransactionSql): Promise<string[]> {
  const rows = await sql<{ key: string }[]>`
    select c.key from connection_config c join saas_config s on s.connection_key = c.key
    where not c.disabled and c.connection_type = 'saas' and s.config ? 'consent_requests'
    order by c.key`;
  return rows.map((row) => row.key);
}

/** The saas_configs of these connections, by connection key. */
export async function saasConfigsOf(sql: Sql | TransactionSql, connectionKeys: string[]): Promise<Map<string, SaasConfig>> {
  if (!connectionKeys.length) return new Map();
  const rows = await sql<{ connection_key: string; config: SaasConfig }[]>`
    select connection_key, config from saas_config where connection_key = any(${sql.array(connectionKeys)})`;
  return new Map(rows.map((row) => [row.connection_key, row.config]));
}
