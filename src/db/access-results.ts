/** SQL for `access_result`: the rows access found, per collection. */
import type { PendingQuery, Row as PostgresRow } from 'postgres';
import { asJson, type Sql, type TransactionSql } from './client.js';

export type Row = Record<string, unknown>;

/** Removes the stored rows of one collection (before a retried read stores its own). */
export async function clearAccessResults(tx: TransactionSql, privacyRequestId: string, dataset: string, collection: string): Promise<void> {
  await tx`delete from access_result where privacy_request_id = ${privacyRequestId} and dataset_name = ${dataset} and collection_name = ${collection}`;
}

/** Replaces the stored rows of one collection (a retried query stores its rows exactly once). */
export async function replaceAccessResults(tx: TransactionSql, privacyRequestId: string, dataset: string, collection: string, rows: Row[]): Promise<void> {
  await clearAccessResults(tx, privacyRequestId, dataset, collection);
  const batch = 1000;
  for (let start = 0; start < rows.length; start += batch) {
    const values = rows.slice(start, start + batch).map((row, i) => ({
      privacy_request_id: privacyRequestId,
      dataset_name: dataset,
      collection_name: collection,
      row_index: start + i,
      row: tx.json(asJson(row)),
    }));
    await tx`insert into access_result ${tx(values)}`;
  }
}

/** Stores rows of one collection after `start` rows already stored (a streamed read, batch by batch, in the caller's transaction). */
export async function appendAccessResults(tx: TransactionSql, privacyRequestId: string, dataset: string, collection: string, rows: Row[], start: number): Promise<void> {
  if (!rows.length) return;
  const values = rows.map((row, i) => ({
    privacy_request_id: privacyRequestId,
    dataset_name: dataset,
    collection_name: collection,
    row_index: start + i,
    row: tx.json(asJson(row)),
  }));
  await tx`insert into access_result ${tx(values)}`;
}

/**
 * Replacing the stored rows of one collection as two fragments of one statement (src/db/collection-steps.ts),
 * both written only `when` holds: `clear` deletes what is stored, `store` inserts the rows once the
 * deletion ran (it names `cleared`, the CTE that holds `clear`). The rows travel as one JSON array.
 */
export function accessResultsReplacement(
  sql: Sql | TransactionSql,
  privacyRequestId: string,
  dataset: string,
  collection: string,
  rows: Row[],
  when: PendingQuery<PostgresRow[]>,
): { clear: PendingQuery<PostgresRow[]>; store: PendingQuery<PostgresRow[]> } {
  return {
    clear: sql`
      delete from access_result
      where privacy_request_id = ${privacyRequestId} and dataset_name = ${dataset} and collection_name = ${collection} and ${when}
      returning 1`,
    store: sql`
      insert into access_result (privacy_request_id, dataset_name, collection_name, row_index, row)
      select ${privacyRequestId}::text, ${dataset}::text, ${collection}::text, (found.ordinality - 1)::int, found.value
      from jsonb_array_elements(${sql.json(asJson(rows))}::jsonb) with ordinality as found (value, ordinality)
      where ${when} and (select count(*) from cleared) >= 0`,
  };
}

export async function readAccessResults(sql: Sql, privacyRequestId: string, dataset: string, collection: string): Promise<Row[]> {
  const rows = await sql<{ row: Row }[]>`
    select row from access_result
    where privacy_request_id = ${privacyRequestId} and dataset_name = ${dataset} and collection_name = ${collection}
    order by row_index`;
  return rows.map((entry) => entry.row);
}

/** The stored rows of several collections in one query, by `dataset:collection`; a collection without rows has none. */
export async function readAccessResultsOf(sql: Sql, privacyRequestId: string, collections: { dataset: string; collection: string }[]): Promise<Map<string, Row[]>> {
  const found = new Map<string, Row[]>(collections.map(({ dataset, collection }) => [`${dataset}:${collection}`, []]));
  if (!collections.length) return found;
  const rows = await sql<{ dataset_name: string; collection_name: string; row: Row }[]>`
    select dataset_name, collection_name, row from access_result
    where privacy_request_id = ${privacyRequestId}
      and (dataset_name, collection_name) in (
        select * from unnest(${sql.array(collections.map((entry) => entry.dataset))}::text[], ${sql.array(collections.map((entry) => entry.collection))}::text[]))
    order by dataset_name, collection_name, row_index`;
  for (const entry of rows) found.get(`${entry.dataset_name}:${entry.collection_name}`)!.push(entry.row);
  return found;
}

/** The distinct non-null values of a (possibly nested) field in one collection's results; arrays are flattened. */
export async function accessResultValues(sql: Sql, privacyRequestId: string, dataset: string, collection: string, fieldPath: string): Promise<unknown[]> {
  return (await accessResultValuesOf(sql, [{ privacyRequestId, dataset, collection, fieldPath }]))[0]!;
}

export interface ValuesLookup {
  privacyRequestId: string;
  dataset: string;
  collection: string;
  fieldPath: string;
}

/** accessResultValues for several lookups in one statement (the steps of a batch ask together), answered in their order. */
export async function accessResultValuesOf(sql: Sql, lookups: ValuesLookup[]): Promise<unknown[][]> {
  if (lookups.length === 0) return [];
  const input = lookups.map((lookup, i) => ({ i, privacy_request_id: lookup.privacyRequestId, dataset_name: lookup.dataset, collection_name: lookup.collection, path: lookup.fieldPath.split('.') }));
  const rows = await sql<{ i: number; value: unknown }[]>`
    select lookup.i, found.value
    from jsonb_to_recordset(${sql.json(asJson(input))}::jsonb) as lookup(i int, privacy_request_id text, dataset_name text, collection_name text, path text[])
    cross join lateral (
      select distinct row #> lookup.path as value from access_result
      where privacy_request_id = lookup.privacy_request_id and dataset_name = lookup.dataset_name and collection_name = lookup.collection_name
        and row #> lookup.path is not null and row #> lookup.path <> 'null'::jsonb
    ) as found`;
  const values = lookups.map(() => new Map<string, unknown>());
  for (const { i, value } of rows) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined) values[i]!.set(JSON.stringify(item), item);
    }
  }
  return values.map((found) => [...found.values()]);
}

export async function countAccessResults(sql: Sql, privacyRequestId: string): Promise<Record<string, number>> {
  const rows = await sql<{ dataset_name: string; collection_name: string; count: number }[]>`
    select dataset_name, collection_name, count(*)::int as count from access_result
    where privacy_request_id = ${privacyRequestId} group by dataset_name, collection_name`;
  return Object.fromEntries(rows.map((row) => [`${row.dataset_name}:${row.collection_name}`, row.count]));
}
