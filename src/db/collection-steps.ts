/**
 * The statements of a collection step that write several tables at once: the start of a step
 * (its log rows and its task's attempt) and the completion of an access step (its log row, its
 * stored rows and its task), one statement and one round trip each instead of five to eight. The
 * worker spent more CPU on its round trips to Postgres than on the statements (issue 14;
 * docs/decisions.md, "A collection step's writes"). Each table's SQL stays in its own module;
 * this one joins their fragments.
 *
 * Safe to run twice and side by side: every insert is `on conflict do nothing` on the log's
 * unique (privacy_request_id, event_key), and what depends on the completion row is written only
 * by the statement that inserted it. A second attempt waits on that unique index until the first
 * commits, then writes nothing.
 */
import type { Row } from './access-results.js';
import { accessResultsReplacement } from './access-results.js';
import type { Sql } from './client.js';
import { executionLogInsert, findExecutionLog, firstExecutionLog, type ExecutionLogEntry, type ExecutionLogRow } from './execution-log.js';
import { taskAttemptUpsert, taskFinishedUpdate, type TaskAttempt, type TaskFinished } from './request-tasks.js';

/**
 * Records that a step starts (its `in_processing` log entry, then its `retrying` one on a later
 * attempt, and its task's attempt), unless one of `doneKeys` is already in the log: then nothing
 * is written and that entry is returned (the first of `doneKeys` found).
 */
export async function recordStepStart(sql: Sql, step: { start: ExecutionLogEntry; retrying?: ExecutionLogEntry | undefined; task: TaskAttempt; doneKeys: string[] }): Promise<ExecutionLogRow | undefined> {
  const notDone = sql`not exists (select 1 from done)`;
  // The retrying entry names the CTE before it, so it is inserted after it and their ids keep the order.
  const retrying = step.retrying ? executionLogInsert(sql, step.retrying, sql`${notDone} and (select count(*) from started) >= 0`) : sql`select 1`;
  const rows = await sql<ExecutionLogRow[]>`
    with done as (${firstExecutionLog(sql, step.task.privacyRequestId, step.doneKeys)}),
    started as (${executionLogInsert(sql, step.start, notDone)}),
    retrying as (${retrying}),
    task as (${taskAttemptUpsert(sql, step.task, notDone)})
    select * from done`;
  return rows[0];
}

/**
 * Completes an access step in one statement: its completion log entry, its rows (replacing any
 * stored for the collection) and its task, all or nothing. When the completion is already in the
 * log (another attempt wrote it), nothing is written and the recorded row count is returned.
 */
export async function recordAccessCompletion(
  sql: Sql,
  step: { entry: ExecutionLogEntry; dataset: string; collection: string; rows: Row[]; task: TaskFinished },
): Promise<{ rowCount: number }> {
  const inserted = sql`exists (select 1 from log)`;
  const { clear, store } = accessResultsReplacement(sql, step.entry.privacy_request_id, step.dataset, step.collection, step.rows, inserted);
  const [written] = await sql<{ id: number }[]>`
    with log as (${executionLogInsert(sql, step.entry)}),
    cleared as (${clear}),
    stored as (${store}),
    task as (${taskFinishedUpdate(sql, step.task, inserted)})
    select id from log`;
  if (written) return { rowCount: step.rows.length };
  const recorded = await findExecutionLog(sql, step.entry.privacy_request_id, step.entry.event_key);
  return { rowCount: recorded?.row_count ?? 0 };
}

/** Records a step's final log entry (once) and its task's outcome, in one statement. */
export async function recordStepFinished(sql: Sql, step: { entry: ExecutionLogEntry; task: TaskFinished }): Promise<void> {
  await sql`
    with log as (${executionLogInsert(sql, step.entry)}),
    task as (${taskFinishedUpdate(sql, step.task)})
    select 1`;
}
