/**
 * The task view of a request (reference 003's per-integration statuses): for every collection of
 * its plan and every phase it runs (access, then erasure when the policy erases), where the
 * collection stands, derived from the plan snapshot, the execution log and the manual tasks.
 *
 *   pending         not started (the plan has it, the log has nothing yet)
 *   in_processing   a query is running or being retried
 *   awaiting_input  a person has a task for it, due at deadline_at ("due in N days")
 *   paused          that task's deadline passed and the request keeps waiting ("due N days ago")
 *   complete        done: row_count rows found (access) or changed (erasure)
 *   skipped         nothing to do (skip_processing, no erasure rule, no answer before the deadline)
 *   error           failed after its retries: last_error has the category and the message
 */
import type { ErrorCategory } from '../connectors/errors.js';
import type { Sql } from '../db/client.js';
import { connectionTypes } from '../db/connections.js';
import { collectionProgress, type CollectionProgress } from '../db/execution-log.js';
import { listManualTasks, type ManualTaskRow } from '../db/manual-tasks.js';
import { getSnapshot } from '../db/plans.js';
import { getPrivacyRequest } from '../db/privacy-requests.js';
import type { ActionType } from '../domain/policies.js';
import type { PrivacyRequestStatus } from '../domain/privacy-requests.js';
import { iso } from './privacy-requests.js';

export const TASK_STATUSES = ['pending', 'in_processing', 'awaiting_input', 'paused', 'complete', 'skipped', 'error'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface Task {
  collection: string;
  connection_key: string;
  dataset_name: string;
  collection_name: string;
  phase: ActionType;
  /** A person handles it (a manual connection, or fides_meta.manual). */
  manual: boolean;
  status: TaskStatus;
  row_count: number | null;
  attempts: number;
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

function taskStatus(progress: CollectionProgress | undefined, task: ManualTaskRow | undefined, now: Date): TaskStatus {
  const waiting = task?.status === 'awaiting_input' ? (task.deadline_at.getTime() <= now.getTime() ? 'paused' : 'awaiting_input') : undefined;
  if (!progress) return waiting ?? 'pending';
  switch (progress.last_status) {
    case 'in_processing':
    case 'retrying':
      return 'in_processing';
    case 'paused':
      return waiting ?? 'awaiting_input';
    default:
      return progress.last_status;
  }
}

/** Undefined when there is no such request. */
export async function taskView(sql: Sql, privacyRequestId: string, now = new Date()): Promise<TaskView | undefined> {
  const request = await getPrivacyRequest(sql, privacyRequestId);
  if (!request) return undefined;
  const snapshot = await getSnapshot(sql, privacyRequestId);
  if (!snapshot) return { privacy_request_id: request.id, status: request.status, planned: false, items: [] };

  const collections = snapshot.plan.collections;
  const [progress, manualTasks, types] = await Promise.all([
    collectionProgress(sql, privacyRequestId),
    listManualTasks(sql, privacyRequestId),
    connectionTypes(sql, [...new Set(collections.map((collection) => collection.connectionKey))]),
  ]);
  const progressOf = new Map(progress.map((entry) => [`${entry.action_type}|${entry.dataset_name}:${entry.collection_name}`, entry]));
  // The latest run's task of each collection and phase.
  const taskOf = new Map<string, ManualTaskRow>();
  for (const task of manualTasks) {
    const key = `${task.action_type}|${task.collection}`;
    if ((taskOf.get(key)?.run ?? 0) < task.run) taskOf.set(key, task);
  }

  // Access always runs (erasure masks what it found); erasure when the policy erases.
  const phases: ActionType[] = request.action_types.includes('erasure') ? ['access', 'erasure'] : ['access'];
  const items = phases.flatMap((phase) =>
    collections.map((collection): Task => {
      const entry = progressOf.get(`${phase}|${collection.key}`);
      const task = taskOf.get(`${phase}|${collection.key}`);
      const definition = snapshot.datasets[collection.dataset]?.collections.find((candidate) => candidate.name === collection.collection);
      return {
        collection: collection.key,
        connection_key: collection.connectionKey,
        dataset_name: collection.dataset,
        collection_name: collection.collection,
        phase,
        manual: types.get(collection.connectionKey) === 'manual' || definition?.fides_meta?.manual === true || task !== undefined,
        status: taskStatus(entry, task, now),
        row_count: entry?.row_count ?? null,
        attempts: entry?.attempts ?? 0,
        last_error: entry?.error_message
          ? {
              category: entry.error_category,
              // The category is also the message's prefix ("timeout: …"): say it once.
              message: entry.error_category && entry.error_message.startsWith(`${entry.error_category}: `) ? entry.error_message.slice(entry.error_category.length + 2) : entry.error_message,
              at: iso(entry.errored_at)!,
            }
          : null,
        started_at: iso(entry?.started_at ?? task?.created_at),
        finished_at: iso(entry?.finished_at),
        updated_at: iso(entry?.updated_at ?? task?.updated_at),
        deadline_at: task ? iso(task.deadline_at) : null,
      };
    }),
  );
  return { privacy_request_id: request.id, status: request.status, planned: true, items };
}
