/**
 * Mirrors the workflow's transitions to Postgres: the request's status and timestamps, the audit
 * log, and execution log rows the workflow decides (errors, skips). Each call is idempotent.
 */
import { recordAuditLog, type AuditLogAction } from '../db/audit-log.js';
import { recordExecutionLog, type ExecutionLogStatus } from '../db/execution-log.js';
import { recordStatus, type StoppedCollectionDetails } from '../db/privacy-requests.js';
import { splitCollectionKey, type CollectionKey } from '../domain/graph.js';
import type { ActionType } from '../domain/policies.js';
import type { PrivacyRequestStatus } from '../domain/privacy-requests.js';
import type { ExecutionContext } from './context.js';

export interface Transition {
  privacyRequestId: string;
  status: PrivacyRequestStatus;
  /** Workflow time of the transition, as an ISO string. */
  at: string;
  stoppedCollectionDetails?: StoppedCollectionDetails | null;
  reviewedBy?: string | null;
  audit?: { eventKey: string; action: AuditLogAction; userId: string | null; message: string | null };
}

export async function recordTransition(context: ExecutionContext, transition: Transition): Promise<void> {
  const at = new Date(transition.at);
  await context.sql.begin(async (tx) => {
    await recordStatus(tx, transition.privacyRequestId, {
      status: transition.status,
      at,
      ...(transition.stoppedCollectionDetails !== undefined ? { stoppedCollectionDetails: transition.stoppedCollectionDetails } : {}),
      ...(transition.reviewedBy !== undefined ? { reviewedBy: transition.reviewedBy } : {}),
    });
    if (transition.audit) {
      await recordAuditLog(
        tx,
        {
          privacy_request_id: transition.privacyRequestId,
          event_key: transition.audit.eventKey,
          action: transition.audit.action,
          user_id: transition.audit.userId,
          message: transition.audit.message,
        },
        at,
      );
    }
  });
}

export interface CollectionEvent {
  privacyRequestId: string;
  collection: CollectionKey;
  connectionKey: string;
  phase: ActionType;
  eventKey: string;
  status: ExecutionLogStatus;
  message: string;
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
  });
}
