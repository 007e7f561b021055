/**
 * Mirrors the workflow's transitions to Postgres: the request's status and timestamps, the audit
 * log, and execution log rows the workflow decides (errors). Each call is idempotent.
 */
import { recordAuditLog } from '../db/audit-log.js';
import type { AuditEntry } from '../domain/lifecycle.js';
import { isErrorCategory } from '../domain/errors.js';
import { recordExecutionLog } from '../db/execution-log.js';
import { refreshRequestTasks } from '../db/request-tasks.js';
import type { ExecutionLogStatus } from '../domain/lifecycle.js';
import type { StatusChange } from '../db/privacy-requests.js';
import { recordStatusChange } from '../db/transitions.js';
import { splitCollectionKey, type CollectionKey } from '../domain/graph.js';
import type { ActionType } from '../domain/policies.js';
import type { Sql, TransactionSql } from '../db/client.js';
import type { ExecutionContext } from './context.js';

export type { AuditEntry };

/** A status change as the workflow asks for it: workflow time as an ISO string, with its audit row. */
export type Transition = Omit<StatusChange, 'at'> & {
  privacyRequestId: string;
  at: string;
  audit?: AuditEntry;
};

export const auditEntry = (privacyRequestId: string, entry: AuditEntry) => ({ privacy_request_id: privacyRequestId, event_key: entry.eventKey, action: entry.action, user_id: entry.userId, message: entry.message });

/** A transition as the status update writes it. */
export function statusChange(transition: Omit<Transition, 'audit'>): StatusChange {
  return {
    status: transition.status,
    at: new Date(transition.at),
    stoppedAt: transition.stoppedAt ?? null,
    reviewedBy: transition.reviewedBy ?? null,
    denialReason: transition.denialReason ?? null,
    denialReasonCode: transition.denialReasonCode ?? null,
    warnings: transition.warnings,
  };
}

/**
 * `refreshTasks`: also derive the request's task rows from its log, in the same transaction (for
 * the legacy workflow, which does not write them: whoever sees its new status sees its tasks).
 */
export async function recordTransition(context: ExecutionContext, transition: Transition, options: { refreshTasks?: boolean } = {}): Promise<void> {
  const change = statusChange(transition);
  const audit = transition.audit && auditEntry(transition.privacyRequestId, transition.audit);
  if (!options.refreshTasks) {
    // The status and its audit row in one statement (src/db/transitions.ts).
    await recordStatusChange(context.sql, transition.privacyRequestId, change, audit);
    return;
  }
  await context.sql.begin(async (tx) => {
    await refreshRequestTasks(tx, transition.privacyRequestId);
    await recordStatusChange(tx, transition.privacyRequestId, change, audit);
  });
}

async function audit(sql: Sql | TransactionSql, privacyRequestId: string, entry: AuditEntry, at: Date) {
  await recordAuditLog(sql, auditEntry(privacyRequestId, entry), at);
}

/** An audit row without a status change (a rejected signal, an acknowledged action). */
export async function recordAudit(context: ExecutionContext, input: { privacyRequestId: string; at: string; audit: AuditEntry }): Promise<void> {
  await audit(context.sql, input.privacyRequestId, input.audit, new Date(input.at));
}

export interface CollectionEvent {
  privacyRequestId: string;
  collection: CollectionKey;
  connectionKey: string;
  phase: ActionType;
  eventKey: string;
  status: ExecutionLogStatus;
  message: string;
  /** Failed steps: the connector's error category, kept in its own column for reporting. */
  category?: string | null | undefined;
}

export async function recordCollectionEvent(context: ExecutionContext, event: CollectionEvent): Promise<void> {
  const { dataset, collection } = splitCollectionKey(event.collection);
  await recordExecutionLog(context.sql, {
    privacy_request_id: event.privacyRequestId,
    event_key: event.eventKey,
    connection_key: event.connectionKey,
    dataset_name: dataset,
    collection_name: collection,
    action_type: event.phase,
    status: event.status,
    message: event.message,
    fields_affected: null,
    row_count: null,
    error_category: isErrorCategory(event.category) ? event.category : null,
  });
}
