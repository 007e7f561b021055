/** SQL for `execution_log`: one row per step of one collection of one request. */
import type { ErrorCategory } from '../domain/errors.js';
import type { ExecutionLogStatus } from '../domain/lifecycle.js';
import type { ActionType, AffectedField } from '../domain/policies.js';
import type { PendingQuery, Row } from 'postgres';
import { asJson, type Sql, type TransactionSql } from './client.js';


export interface ExecutionLogEntry {
  privacy_request_id: string;
  /** Unique per request: a retried activity that writes the same event writes nothing. */
  event_key: string;
  connection_key: string | null;
  dataset_name: string;
  collection_name: string;
  action_type: ActionType;
  status: ExecutionLogStatus;
  message: string | null;
  fields_affected: AffectedField[] | null;
  row_count: number | null;
  /** Failed steps: the connector's error category (authentication, timeout…), when it has one. */
  error_category?: ErrorCategory | null;
}

export interface ExecutionLogRow extends ExecutionLogEntry {
  id: number;
  error_category: ErrorCategory | null;
  created_at: Date;
}

/**
 * The insert of one entry as a fragment, written only `when` holds and only when its event is not
 * recorded yet; it returns the new row's id (src/db/collection-steps.ts combines it with others).
 */
export function executionLogInsert(sql: Sql | TransactionSql, entry: ExecutionLogEntry, when: PendingQuery<Row[]> = sql`true`): PendingQuery<Row[]> {
  return executionLogInsertFrom(
    sql,
    sql`
    select ${entry.privacy_request_id}::text, ${entry.event_key}::text, ${entry.connection_key}::text, ${entry.dataset_name}::text, ${entry.collection_name}::text,
           ${entry.action_type}::text, ${entry.status}::text, ${entry.message}::text, ${entry.fields_affected === null ? null : sql.json(asJson(entry.fields_affected))}::jsonb, ${entry.row_count}::int,
           ${entry.error_category ?? null}::text
    where ${when}`,
  );
}

/**
 * The insert of log entries `rows` selects, skipping events already recorded, as a fragment: the
 * select names, in order, privacy_request_id, event_key, connection_key, dataset_name,
 * collection_name, action_type, status, message, fields_affected, row_count, error_category.
 */
export function executionLogInsertFrom(sql: Sql | TransactionSql, rows: PendingQuery<Row[]>): PendingQuery<Row[]> {
  return sql`
    insert into execution_log (privacy_request_id, event_key, connection_key, dataset_name, collection_name, action_type, status, message, fields_affected, row_count, error_category)
    ${rows}
    on conflict (privacy_request_id, event_key) do nothing
    returning id`;
}

/** Inserts the entry unless its event was already recorded; returns whether it inserted. */
export async function recordExecutionLog(sql: Sql | TransactionSql, entry: ExecutionLogEntry): Promise<boolean> {
  const rows = await executionLogInsert(sql, entry);
  return rows.length === 1;
}

export async function findExecutionLog(sql: Sql | TransactionSql, privacyRequestId: string, eventKey: string): Promise<ExecutionLogRow | undefined> {
  const [row] = await sql<ExecutionLogRow[]>`
    select * from execution_log where privacy_request_id = ${privacyRequestId} and event_key = ${eventKey}`;
  return row;
}

/** The first of `eventKeys`, in their order, that is in the request's log, as a query or a fragment of one. */
export function firstExecutionLog(sql: Sql | TransactionSql, privacyRequestId: string, eventKeys: string[]): PendingQuery<ExecutionLogRow[]> {
  return sql<ExecutionLogRow[]>`
    select * from execution_log where privacy_request_id = ${privacyRequestId} and event_key = any(${sql.array(eventKeys)}::text[])
    order by array_position(${sql.array(eventKeys)}::text[], event_key) limit 1`;
}

export async function findFirstExecutionLog(sql: Sql | TransactionSql, privacyRequestId: string, eventKeys: string[]): Promise<ExecutionLogRow | undefined> {
  const [row] = await firstExecutionLog(sql, privacyRequestId, eventKeys);
  return row;
}

/** A page of one request's log, oldest first; read through the (privacy_request_id, id) index. */
export async function listExecutionLogs(sql: Sql, privacyRequestId: string, page: number, size: number): Promise<{ items: ExecutionLogRow[]; total: number }> {
  const [counted] = await sql<{ total: number }[]>`
    select count(*)::int as total from execution_log where privacy_request_id = ${privacyRequestId}`;
  const total = counted!.total;
  const items =
    (page - 1) * size < total
      ? await sql<ExecutionLogRow[]>`
          select * from execution_log where privacy_request_id = ${privacyRequestId}
          order by id limit ${size} offset ${(page - 1) * size}`
      : [];
  return { items, total };
}

/** What one collection's log says about one phase of a request (the task view's raw material). */
export interface CollectionProgress {
  dataset_name: string;
  collection_name: string;
  action_type: ActionType;
  /** The status of the latest entry. */
  last_status: ExecutionLogStatus;
  /** Queries started: one `in_processing` per run plus one `retrying` per later attempt. */
  attempts: number;
  /** Rows found (access) or changed (erasure) by the latest completion. */
  row_count: number | null;
  error_message: string | null;
  error_category: ErrorCategory | null;
  errored_at: Date | null;
  started_at: Date;
  finished_at: Date | null;
  updated_at: Date;
}

export async function collectionProgress(sql: Sql, privacyRequestId: string): Promise<CollectionProgress[]> {
  return sql<CollectionProgress[]>`
    select dataset_name, collection_name, action_type,
      (array_agg(status order by id desc))[1] as last_status,
      (count(*) filter (where status in ('in_processing', 'retrying')))::int as attempts,
      (array_agg(row_count order by id desc) filter (where status in ('complete', 'skipped')))[1] as row_count,
      (array_agg(message order by id desc) filter (where status = 'error'))[1] as error_message,
      (array_agg(error_category order by id desc) filter (where status = 'error'))[1] as error_category,
      max(created_at) filter (where status = 'error') as errored_at,
      min(created_at) as started_at,
      max(created_at) filter (where status in ('complete', 'skipped')) as finished_at,
      max(created_at) as updated_at
    from execution_log
    where privacy_request_id = ${privacyRequestId}
    group by dataset_name, collection_name, action_type`;
}

export interface VerboseExecutionLog {
  id: number;
  privacy_request_id: string;
  dataset_name: string;
  collection_name: string;
  action_type: ActionType;
  status: ExecutionLogStatus;
  message: string | null;
  fields_affected: unknown[] | null;
  created_at: Date;
}

/**
 * The first `limit` execution log entries of each dataset of each request. The datasets of a
 * request are found by skipping through the (privacy_request_id, dataset_name, id) index, and
 * each dataset reads at most `limit` entries: the cost does not grow with the size of the log.
 */
export async function firstExecutionLogsPerDataset(sql: Sql, privacyRequestIds: string[], limit: number): Promise<VerboseExecutionLog[]> {
  if (!privacyRequestIds.length) return [];
  return sql<VerboseExecutionLog[]>`
    with recursive dataset (privacy_request_id, dataset_name) as (
      select request.id, (select min(log.dataset_name) from execution_log log where log.privacy_request_id = request.id)
      from unnest(${sql.array(privacyRequestIds)}::text[]) as request (id)
      union all
      select dataset.privacy_request_id, (
        select min(log.dataset_name) from execution_log log
        where log.privacy_request_id = dataset.privacy_request_id and log.dataset_name > dataset.dataset_name)
      from dataset where dataset.dataset_name is not null
    )
    select entry.* from dataset cross join lateral (
      select log.id, log.privacy_request_id, log.dataset_name, log.collection_name, log.action_type, log.status, log.message, log.fields_affected, log.created_at
      from execution_log log
      where log.privacy_request_id = dataset.privacy_request_id and log.dataset_name = dataset.dataset_name
      order by log.id
      limit ${limit}
    ) entry
    where dataset.dataset_name is not null
    order by entry.privacy_request_id, entry.id`;
}
