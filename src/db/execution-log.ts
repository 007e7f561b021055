/** SQL for `execution_log`: one row per step of one collection of one request. */
import type { ActionType, AffectedField } from '../domain/policies.js';
import type { Sql, TransactionSql } from './client.js';

export const EXECUTION_LOG_STATUSES = ['in_processing', 'retrying', 'complete', 'error', 'skipped', 'paused'] as const;
export type ExecutionLogStatus = (typeof EXECUTION_LOG_STATUSES)[number];

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
}

export interface ExecutionLogRow extends ExecutionLogEntry {
  id: number;
  created_at: Date;
}

/** Inserts the entry unless its event was already recorded; returns whether it inserted. */
export async function recordExecutionLog(sql: Sql | TransactionSql, entry: ExecutionLogEntry): Promise<boolean> {
  const rows = await sql`
    insert into execution_log (privacy_request_id, event_key, connection_key, dataset_name, collection_name, action_type, status, message, fields_affected, row_count)
    values (${entry.privacy_request_id}, ${entry.event_key}, ${entry.connection_key}, ${entry.dataset_name}, ${entry.collection_name},
            ${entry.action_type}, ${entry.status}, ${entry.message}, ${entry.fields_affected === null ? null : sql.json(entry.fields_affected as never)}, ${entry.row_count})
    on conflict (privacy_request_id, event_key) do nothing
    returning id`;
  return rows.length === 1;
}

export async function findExecutionLog(sql: Sql | TransactionSql, privacyRequestId: string, eventKey: string): Promise<ExecutionLogRow | undefined> {
  const [row] = await sql<ExecutionLogRow[]>`
    select * from execution_log where privacy_request_id = ${privacyRequestId} and event_key = ${eventKey}`;
  return row;
}

export async function listExecutionLogs(sql: Sql, privacyRequestId: string, page: number, size: number): Promise<{ items: ExecutionLogRow[]; total: number }> {
  const [counted] = await sql<{ total: number }[]>`
    select count(*)::int as total from execution_log where privacy_request_id = ${privacyRequestId}`;
  const total = counted!.total;
  const items = await sql<ExecutionLogRow[]>`
    select * from execution_log where privacy_request_id = ${privacyRequestId}
    order by id limit ${size} offset ${(page - 1) * size}`;
  return { items, total };
}
