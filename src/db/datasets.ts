/** SQL for `dataset_config`: fideslang datasets bound to a connection. */
import type { ConnectionType } from '../domain/connections.js';
import type { Dataset } from '../domain/datasets.js';
import type { DatasetOfConnection } from '../domain/graph.js';
import type { SaasConfig } from '../domain/saas/config.js';
import { mergeSaasConfig } from '../domain/saas/graph.js';
import { asJson, type Sql, type TransactionSql } from './client.js';

export async function upsertDataset(sql: Sql | TransactionSql, connectionKey: string, dataset: Dataset): Promise<void> {
  await sql`
    insert into dataset_config (fides_key, connection_key, dataset)
    values (${dataset.fides_key}, ${connectionKey}, ${sql.json(asJson(dataset))})
    on conflict (fides_key) do update set
      connection_key = excluded.connection_key,
      dataset = excluded.dataset,
      updated_at = now()`;
}

export async function getDataset(sql: Sql, connectionKey: string, fidesKey: string): Promise<Dataset | undefined> {
  const [row] = await sql<{ dataset: Dataset }[]>`
    select dataset from dataset_config where connection_key = ${connectionKey} and fides_key = ${fidesKey}`;
  return row?.dataset;
}

export async function deleteDataset(sql: Sql | TransactionSql, connectionKey: string, fidesKey: string): Promise<boolean> {
  const rows = await sql`delete from dataset_config where connection_key = ${connectionKey} and fides_key = ${fidesKey} returning fides_key`;
  return rows.length === 1;
}

/**
 * Every dataset of every enabled connection: what a request's traversal is planned over. The
 * dataset of a SaaS connection comes with its saas_config's param_values as fields (src/domain/saas/graph.ts).
 * With each, its connection's type (the plan tells manual collections by it).
 */
export async function datasetsOfEnabledConnections(sql: Sql): Promise<(DatasetOfConnection & { connectionType: ConnectionType })[]> {
  const rows = await sql<{ connection_key: string; connection_type: ConnectionType; dataset: Dataset; saas_config: SaasConfig | null }[]>`
    select d.connection_key, c.connection_type, d.dataset, s.config as saas_config from dataset_config d
    join connection_config c on c.key = d.connection_key
    left join saas_config s on s.connection_key = d.connection_key and s.fides_key = d.fides_key
    where not c.disabled
    order by d.fides_key`;
  return rows.map((row) => ({ connectionKey: row.connection_key, connectionType: row.connection_type, dataset: row.saas_config ? mergeSaasConfig(row.dataset, row.saas_config) : row.dataset }));
}

/** The stored datasets with these fides_keys, of any connection. */
export async function datasetsWithKeys(sql: Sql | TransactionSql, fidesKeys: string[]): Promise<{ fides_key: string; connection_key: string; dataset: Dataset }[]> {
  return sql<{ fides_key: string; connection_key: string; dataset: Dataset }[]>`
    select fides_key, connection_key, dataset from dataset_config where fides_key = any(${sql.array(fidesKeys)})`;
}

/** A page of a connection's datasets, by fides_key. */
export async function listDatasetPage(sql: Sql, connectionKey: string, page: number, size: number): Promise<{ items: Dataset[]; total: number }> {
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from dataset_config where connection_key = ${connectionKey}`;
  const rows = await sql<{ dataset: Dataset }[]>`
    select dataset from dataset_config where connection_key = ${connectionKey}
    order by fides_key limit ${size} offset ${(page - 1) * size}`;
  return { items: rows.map((row) => row.dataset), total: count!.total };
}

/**
 * Inserts or replaces a dataset of this connection. A fides_key is bound to one connection: when
 * another connection holds it, nothing changes and the answer names that connection.
 */
export async function saveDatasetOfConnection(
  sql: Sql | TransactionSql,
  connectionKey: string,
  dataset: Dataset,
): Promise<{ saved: true } | { saved: false; boundTo: string }> {
  const saved = await sql`
    insert into dataset_config (fides_key, connection_key, dataset)
    values (${dataset.fides_key}, ${connectionKey}, ${sql.json(asJson(dataset))})
    on conflict (fides_key) do update set dataset = excluded.dataset, updated_at = now()
    where dataset_config.connection_key = excluded.connection_key
    returning fides_key`;
  if (saved.length === 1) return { saved: true };
  const [owner] = await sql<{ connection_key: string }[]>`select connection_key from dataset_config where fides_key = ${dataset.fides_key}`;
  return { saved: false, boundTo: owner?.connection_key ?? 'another connection' };
}
