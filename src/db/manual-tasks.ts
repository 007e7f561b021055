/** SQL for `manual_task`: what a person must do for a manual collection, and until when. */
import type { ActionType } from '../domain/policies.js';
import { asJson, type Sql, type TransactionSql } from './client.js';

export interface ManualTaskRow {
  privacy_request_id: string;
  collection: string;
  action_type: ActionType;
  run: number;
  action_needed: unknown[];
  deadline_at: Date;
  status: 'awaiting_input' | 'complete' | 'skipped';
  created_at: Date;
  updated_at: Date;
}

/** Creates the task once per run; returns the stored one (its deadline is the first one set). */
export async function openManualTask(sql: Sql, task: Pick<ManualTaskRow, 'privacy_request_id' | 'collection' | 'action_type' | 'run' | 'action_needed' | 'deadline_at'>): Promise<ManualTaskRow> {
  await sql`
    insert into manual_task (privacy_request_id, collection, action_type, run, action_needed, deadline_at)
    values (${task.privacy_request_id}, ${task.collection}, ${task.action_type}, ${task.run}, ${sql.json(asJson(task.action_needed))}, ${task.deadline_at})
    on conflict do nothing`;
  const [row] = await sql<ManualTaskRow[]>`
    select * from manual_task
    where privacy_request_id = ${task.privacy_request_id} and collection = ${task.collection} and action_type = ${task.action_type} and run = ${task.run}`;
  return row!;
}

export async function completeManualTask(sql: Sql | TransactionSql, privacyRequestId: string, collection: string, actionType: ActionType, run: number, status: 'complete' | 'skipped'): Promise<void> {
  await sql`
    update manual_task set status = ${status}, updated_at = now()
    where privacy_request_id = ${privacyRequestId} and collection = ${collection} and action_type = ${actionType} and run = ${run}`;
}

export async function listManualTasks(sql: Sql, privacyRequestId: string): Promise<ManualTaskRow[]> {
  return sql<ManualTaskRow[]>`select * from manual_task where privacy_request_id = ${privacyRequestId} order by created_at, collection`;
}
