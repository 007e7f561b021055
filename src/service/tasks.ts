/**
 * The task view of a request (reference 003's per-integration statuses): for every collection of
 * its plan and every phase it runs (access, then erasure when the policy erases), the request's
 * `request_task` row, which the workflow writes on each transition.
 *
 *   pending         not started
 *   in_processing   a query is running or being retried (or a person's answer is being stored)
 *   awaiting_input  a person has a task for it, due at deadline_at ("due in N days")
 *   paused          that task's deadline passed and the request keeps waiting ("due N days ago")
 *   complete        done: row_count rows found (access) or changed (erasure)
 *   skipped         nothing done: skip_processing, no erasure rule or no primary key, no answer before the deadline
 *   error           failed after its retries: last_error has the category and the message
 */
import type { ErrorCategory } from '../domain/errors.js';
import type { Sql } from '../db/client.js';
import { getPrivacyRequest } from '../db/privacy-requests.js';
import { listRequestTasks } from '../db/request-tasks.js';
import { splitCollectionKey } from '../domain/graph.js';
import { TASK_STATUSES, type TaskStatus } from '../domain/lifecycle.js';
import type { ActionType } from '../domain/policies.js';
import type { PrivacyRequestStatus } from '../domain/privacy-requests.js';
import { iso } from './privacy-requests.js';

export { TASK_STATUSES, type TaskStatus };

export interface Task {
  collection: string;
  connection_key: string;
  dataset_name: string;
  collection_name: string;
  phase: ActionType;
  /** A person handles it (a manual connection, or fides_meta.manual). */
  manual: boolean;
  status: TaskStatus;
  /** The collections it waits for in this phase. */
  upstream: string[];
  run: number;
  row_count: number | null;
  attempts: number;
  skipped_reason: string | null;
  last_error: { category: ErrorCategory | null; message: string; at: string } | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string | null;
  deadline_at: string | null;
}

export interface TaskView {
  privacy_request_id: string;
  status: PrivacyRequestStatus;
  /** False until the plan step ran: there are no collections to show yet. */
  planned: boolean;
  items: Task[];
}

/** Undefined when there is no such request. */
export async function taskView(sql: Sql, privacyRequestId: string): Promise<TaskView | undefined> {
  const request = await getPrivacyRequest(sql, privacyRequestId);
  if (!request) return undefined;
  const rows = await listRequestTasks(sql, privacyRequestId);
  const items = rows.map((row): Task => {
    const { dataset, collection } = splitCollectionKey(row.collection);
    return {
      collection: row.collection,
      connection_key: row.connection_key,
      dataset_name: dataset,
      collection_name: collection,
      phase: row.action_type,
      manual: row.manual,
      status: row.status,
      upstream: row.upstream,
      run: row.run,
      row_count: row.row_count,
      attempts: row.earlier_attempts + row.attempts,
      skipped_reason: row.skipped_reason,
      last_error: row.error_message !== null ? { category: row.error_category as ErrorCategory | null, message: row.error_message, at: iso(row.errored_at ?? row.updated_at)! } : null,
      started_at: iso(row.started_at),
      finished_at: iso(row.finished_at),
      updated_at: iso(row.updated_at),
      deadline_at: iso(row.deadline_at),
    };
  });
  return { privacy_request_id: request.id, status: request.status, planned: items.length > 0, items };
}
