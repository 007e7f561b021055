/**
 * SQL for `request_task`: where each collection of a request stands in each phase. The workflow's
 * lifecycle machine writes the status (src/domain/lifecycle.ts); the collection steps write their
 * attempts. Every write is idempotent: the same change twice leaves the same row.
 */
import type { Phase, TaskStatus } from '../domain/lifecycle.js';
import type { PendingQuery, Row } from 'postgres';
import type { Sql, TransactionSql } from './client.js';

export interface RequestTaskRow {
  privacy_request_id: string;
  action_type: Phase;
  collection: string;
  connection_key: string;
  position: number;
  manual: boolean;
  upstream: string[];
  status: TaskStatus;
  run: number;
  attempts: number;
  earlier_attempts: number;
  row_count: number | null;
  skipped_reason: string | null;
  error_category: string | null;
  error_message: string | null;
  errored_at: Date | null;
  deadline_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

/** The tasks of one phase as planned: pending. Tasks already there are left as they are. */
export async function insertPlannedTasks(
  sql: Sql | TransactionSql,
  privacyRequestId: string,
  phase: Phase,
  collections: { collection: string; connectionKey: string; manual: boolean; upstream: string[] }[],
  at: Date,
): Promise<void> {
  if (!collections.length) return;
  const rows = collections.map((task, position) => ({
    privacy_request_id: privacyRequestId,
    action_type: phase,
    collection: task.collection,
    connection_key: task.connectionKey,
    position,
    manual: task.manual,
    upstream: `{${task.upstream.map((key) => `"${key.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`,
    status: 'pending',
    created_at: at,
    updated_at: at,
  }));
  // A request over thousands of collections: a few thousand rows a statement.
  // A collection step may have written its first attempt already: keep its status, add the plan's facts.
  for (let start = 0; start < rows.length; start += 2000) {
    await sql`
      insert into request_task ${sql(rows.slice(start, start + 2000))}
      on conflict (privacy_request_id, action_type, collection) do update set
        connection_key = excluded.connection_key, position = excluded.position, manual = excluded.manual, upstream = excluded.upstream`;
  }
}

export interface TaskChange {
  privacyRequestId: string;
  phase: Phase;
  collection: string;
  status: TaskStatus;
  run: number;
  at: Date;
  deadlineAt?: Date | null | undefined;
  /** Rows found or changed; undefined keeps what is there. */
  rowCount?: number | null | undefined;
  skippedReason?: string | null | undefined;
  /** The failure of this run; null clears it (a retry), undefined keeps it. */
  error?: { message: string; category: string | null } | null | undefined;
}

export async function recordTaskChange(sql: Sql | TransactionSql, change: TaskChange): Promise<void> {
  const keepRowCount = change.rowCount === undefined;
  const keepError = change.error === undefined;
  const keepSkipped = change.skippedReason === undefined;
  await sql`
    update request_task set
      -- The collection step may have started already (it marks itself in processing): not back to pending.
      status = case when run = ${change.run} and status = 'in_processing' and ${change.status} = 'pending' then status else ${change.status} end,
      earlier_attempts = case when run < ${change.run} then earlier_attempts + attempts else earlier_attempts end,
      attempts = case when run < ${change.run} then 0 else attempts end,
      run = greatest(run, ${change.run}),
      deadline_at = coalesce(${change.deadlineAt ?? null}::timestamptz, case when run = ${change.run} then deadline_at end),
      row_count = case when ${keepRowCount} then row_count else ${change.rowCount ?? null}::integer end,
      skipped_reason = case when ${keepSkipped} then skipped_reason else ${change.skippedReason ?? null}::text end,
      error_message = case when ${keepError} then error_message else ${change.error?.message ?? null}::text end,
      error_category = case when ${keepError} then error_category else ${change.error?.category ?? null}::text end,
      errored_at = case when ${keepError} then errored_at when ${change.error ? 1 : 0}::int = 1 then ${change.at} end,
      started_at = case when ${change.status} = 'in_processing' and (started_at is null or run <> ${change.run}) then ${change.at}::timestamptz else started_at end,
      finished_at = case when ${change.status} in ('complete', 'skipped') then ${change.at}::timestamptz when ${change.status} in ('pending', 'in_processing') then null else finished_at end,
      updated_at = ${change.at}
    where privacy_request_id = ${change.privacyRequestId} and action_type = ${change.phase} and collection = ${change.collection}`;
}

/**
 * An attempt of a collection step starts: its task is in processing, and the count of attempts
 * the task view shows grows. The step may start before the workflow's own write of the tasks
 * arrives (they run side by side): then it makes the row, and the workflow's writes complete it.
 */
export interface TaskAttempt {
  privacyRequestId: string;
  phase: Phase;
  collection: string;
  connectionKey: string;
  run: number;
  attempt: number;
}

/**
 * The upsert of a step's attempt as a fragment, written only `when` holds (a statement of
 * src/db/collection-steps.ts gates it on the step not being done yet).
 */
export function taskAttemptUpsert(sql: Sql | TransactionSql, task: TaskAttempt, when: PendingQuery<Row[]> = sql`true`): PendingQuery<Row[]> {
  return taskAttemptUpsertFrom(sql, sql`select ${task.privacyRequestId}::text, ${task.phase}::text, ${task.collection}::text, ${task.connectionKey}::text, ${task.run}::int, ${task.attempt}::int where ${when}`);
}

/**
 * The upsert of the steps' attempts `rows` selects, as a fragment: the select names, in order,
 * privacy_request_id, action_type, collection, connection_key, run and attempt, one row per task.
 */
export function taskAttemptUpsertFrom(sql: Sql | TransactionSql, rows: PendingQuery<Row[]>): PendingQuery<Row[]> {
  return sql`
    insert into request_task (privacy_request_id, action_type, collection, connection_key, run, attempts, status, started_at)
    select *, 'in_processing', now() from (${rows}) as attempt
    on conflict (privacy_request_id, action_type, collection) do update set
      earlier_attempts = case when request_task.run < excluded.run then request_task.earlier_attempts + request_task.attempts else request_task.earlier_attempts end,
      attempts = case when request_task.run < excluded.run then excluded.attempts when request_task.run = excluded.run then greatest(request_task.attempts, excluded.attempts) else request_task.attempts end,
      -- A step of this run starts: its task is in processing (unless the workflow recorded more since).
      status = case when request_task.run < excluded.run or (request_task.run = excluded.run and request_task.status = 'pending') then 'in_processing' else request_task.status end,
      started_at = case when request_task.run < excluded.run or request_task.started_at is null then excluded.started_at else request_task.started_at end,
      finished_at = case when request_task.run < excluded.run then null else request_task.finished_at end,
      updated_at = case when request_task.run < excluded.run or request_task.status = 'pending' then excluded.started_at else request_task.updated_at end,
      run = greatest(request_task.run, excluded.run)`;
}

export interface TaskFinished {
  privacyRequestId: string;
  phase: Phase;
  collection: string;
  run: number;
  status: 'complete' | 'skipped';
  rowCount: number;
  skippedReason: string | null;
}

/** The update of a finished step's task as a fragment, written only `when` holds. */
export function taskFinishedUpdate(sql: Sql | TransactionSql, task: TaskFinished, when: PendingQuery<Row[]> = sql`true`): PendingQuery<Row[]> {
  return sql`
    update request_task set status = ${task.status}, row_count = ${task.rowCount}, skipped_reason = ${task.skippedReason},
      finished_at = now(), updated_at = now()
    where privacy_request_id = ${task.privacyRequestId} and action_type = ${task.phase} and collection = ${task.collection} and run = ${task.run} and ${when}`;
}

/** A collection step finished its run: written by the step itself, in its own transaction. */
export async function recordTaskFinished(sql: Sql | TransactionSql, task: TaskFinished): Promise<void> {
  await taskFinishedUpdate(sql, task);
}

export async function listRequestTasks(sql: Sql, privacyRequestId: string): Promise<RequestTaskRow[]> {
  return sql<RequestTaskRow[]>`
    select * from request_task where privacy_request_id = ${privacyRequestId}
    order by action_type, position, collection`;
}

/** For requests still running on the workflow of before request_task: derive the rows from their log. */
export async function refreshRequestTasks(sql: Sql | TransactionSql, privacyRequestId: string): Promise<void> {
  await sql`select refresh_request_tasks(${privacyRequestId})`;
}
