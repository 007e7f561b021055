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
import { asJson, type Sql } from './client.js';
import { executionLogInsert, executionLogInsertFrom, findExecutionLog, type ExecutionLogEntry, type ExecutionLogRow } from './execution-log.js';
import { taskAttemptUpsertFrom, taskFinishedUpdate, type TaskAttempt, type TaskFinished } from './request-tasks.js';

export interface StepStart {
  start: ExecutionLogEntry;
  retrying?: ExecutionLogEntry | undefined;
  task: TaskAttempt;
  doneKeys: string[];
}

/**
 * Records that a step starts (its `in_processing` log entry, then its `retrying` one on a later
 * attempt, and its task's attempt), unless one of `doneKeys` is already in the log: then nothing
 * is written and that entry is returned (the first of `doneKeys` found).
 */
export async function recordStepStart(sql: Sql, step: StepStart): Promise<ExecutionLogRow | undefined> {
  return (await recordStepStarts(sql, [step]))[0];
}

/**
 * recordStepStart for the steps of a batch, in one statement (their answers in their order): the
 * collections of a batch start together, and a statement each cost a round trip each.
 */
export async function recordStepStarts(sql: Sql, steps: StepStart[]): Promise<(ExecutionLogRow | undefined)[]> {
  if (steps.length === 0) return [];
  const tasks = new Set(steps.map(({ task }) => `${task.privacyRequestId}|${task.phase}|${task.collection}`));
  if (tasks.size !== steps.length) throw new Error('A batch of step starts names a step twice');
  const input = steps.map((step, i) => ({ i, start: step.start, retrying: step.retrying ?? null, task: step.task, done_keys: step.doneKeys }));
  // Entries and tasks are read from the input with the tables' own column types; the retrying
  // entries name the CTE of the starts, so they are inserted after them and the ids keep the order.
  const entries = (column: 'start' | 'retrying') => sql`
    select (e).privacy_request_id, (e).event_key, (e).connection_key, (e).dataset_name, (e).collection_name, (e).action_type, (e).status, (e).message, (e).fields_affected, (e).row_count, (e).error_category
    from (select i, jsonb_populate_record(null::execution_log, ${sql(column)}) as e from todo where ${sql(column)} is not null) as entry
    where ${column === 'retrying' ? sql`(select count(*) from started) >= 0` : sql`true`}
    order by i`;
  const rows = await sql<(ExecutionLogRow & { step: number })[]>`
    with input as (
      select * from jsonb_to_recordset(${sql.json(asJson(input))}::jsonb) as step(i int, start jsonb, retrying jsonb, task jsonb, done_keys text[])
    ),
    done as (
      select distinct on (input.i) input.i as step, log.*
      from input join execution_log log on log.privacy_request_id = input.start->>'privacy_request_id' and log.event_key = any(input.done_keys)
      order by input.i, array_position(input.done_keys, log.event_key)
    ),
    todo as (select * from input where not exists (select 1 from done where done.step = input.i)),
    started as (${executionLogInsertFrom(sql, entries('start'))}),
    retrying as (${executionLogInsertFrom(sql, entries('retrying'))}),
    task as (${taskAttemptUpsertFrom(sql, sql`select task->>'privacyRequestId', task->>'phase', task->>'collection', task->>'connectionKey', (task->>'run')::int, (task->>'attempt')::int from todo`)})
    select * from done`;
  const byStep = new Map(rows.map(({ step, ...row }) => [step, row as ExecutionLogRow]));
  return steps.map((_, i) => byStep.get(i));
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
