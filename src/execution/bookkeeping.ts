/**
 * The bookkeeping the lifecycle machine asks for (src/domain/lifecycle.ts), carried out in the
 * order it was asked: status transitions with their audit rows, task rows, collection errors in the
 * execution log, manual deadlines. The workflow sends what piled up while the previous batch was
 * written, so one activity records many steps; every write is idempotent.
 */
import { recordRequestFacts } from '../db/privacy-requests.js';
import { insertPlannedTasks, recordTaskChange } from '../db/request-tasks.js';
import { recordTransitionAndEvents } from '../db/transitions.js';
import type { WebhookEvent } from '../db/webhooks.js';
import { eventKey, type LifecycleCommand } from '../domain/lifecycle.js';
import type { ExecutionContext } from './context.js';
import { deliverNotices, type MessageToSend, type NoticesAttempt } from './notices.js';
import type { WebhookContext } from './webhooks.js';
import { manualDeadlinePassed } from './manual.js';
import { auditEntry, recordAudit, recordCollectionEvent, recordTransition, statusChange } from './transitions.js';

export type BookkeepingEntry = Extract<LifecycleCommand, { type: 'record' | 'recordTask' | 'recordTasks' | 'recordCollectionError' | 'manualDeadlinePassed' | 'notify' }>;

/** The webhook deliveries the batch created: the workflow starts one delivery workflow for each. */
export interface BookkeepingResult {
  deliveries: string[];
}

/** A webhook event's id: the same notice of the same request always has the same id. */
export const webhookEventId = (privacyRequestId: string, key: string) => `${privacyRequestId}:${key}`;

export async function recordBookkeeping(context: ExecutionContext, { privacyRequestId, entries }: { privacyRequestId: string; entries: BookkeepingEntry[] }): Promise<BookkeepingResult> {
  const deliveries: string[] = [];
  // A transition (with its audit row) and the webhook events next to it are written together, in
  // one statement (src/db/transitions.ts): a request's notices cost no statement of their own.
  // Everything else is written as it comes, in order.
  let group: { record?: Extract<BookkeepingEntry, { type: 'record' }>; events: WebhookEvent[] } = { events: [] };
  const flush = async () => {
    const { record, events } = group;
    group = { events: [] };
    if (!record && events.length === 0) return;
    // The events with the deliveries an earlier run of this batch wrote and never reported (its
    // worker killed, its answer lost with the Temporal server, the database gone later in the batch).
    deliveries.push(
      ...(await recordTransitionAndEvents(
        context.sql,
        privacyRequestId,
        {
          change: record?.transition && statusChange({ privacyRequestId, at: record.at, ...record.transition }),
          audit: record?.audit && auditEntry(privacyRequestId, record.audit),
          at: new Date(record?.at ?? 0),
        },
        events,
      )),
    );
  };
  for (const entry of entries) {
    if (entry.type === 'record' && !entry.facts) {
      if (group.record) await flush();
      group.record = entry;
      continue;
    }
    if (entry.type === 'notify') {
      const id = webhookEventId(privacyRequestId, entry.key);
      if (group.events.some((event) => event.id === id)) await flush();
      group.events.push({ id, type: `request.${entry.event}`, privacyRequestId, occurredAt: entry.at, data: entry.data });
      continue;
    }
    await flush();
    switch (entry.type) {
      case 'record':
        // Facts first: whoever sees the audit row (an extension) sees its new due date.
        await recordRequestFacts(context.sql, privacyRequestId, entry.facts!);
        if (entry.transition) await recordTransition(context, { privacyRequestId, at: entry.at, ...entry.transition, ...(entry.audit ? { audit: entry.audit } : {}) });
        else if (entry.audit) await recordAudit(context, { privacyRequestId, at: entry.at, audit: entry.audit });
        break;
      case 'recordTasks':
        await insertPlannedTasks(context.sql, privacyRequestId, entry.phase, entry.collections, new Date(entry.at));
        break;
      case 'recordTask':
        await recordTaskChange(context.sql, {
          privacyRequestId,
          phase: entry.phase,
          collection: entry.collection,
          status: entry.task.status,
          run: entry.task.run,
          at: new Date(entry.at),
          deadlineAt: entry.task.deadlineAt ? new Date(entry.task.deadlineAt) : null,
          rowCount: entry.rowCount,
          skippedReason: entry.skippedReason,
          error: entry.error,
        });
        break;
      case 'recordCollectionError':
        await recordCollectionEvent(context, {
          privacyRequestId,
          collection: entry.collection,
          connectionKey: entry.connectionKey,
          phase: entry.phase,
          eventKey: eventKey(entry.phase, entry.collection, entry.run, 'error'),
          status: 'error',
          message: entry.category ? `${entry.category}: ${entry.message}` : entry.message,
          category: entry.category,
        });
        break;
      case 'manualDeadlinePassed':
        await manualDeadlinePassed(context, { privacyRequestId, collection: entry.collection, phase: entry.phase, run: entry.run, now: entry.at, skip: entry.skip });
        break;
    }
  }
  await flush();
  return { deliveries };
}

/**
 * A batch of bookkeeping and then, once it is written, the first attempt of its notices within
 * a budget (src/execution/notices.ts): one local activity, no scheduled activity, for the notices
 * of a request whose receivers answer (docs/decisions.md, "What notices cost").
 */
export async function recordBatch(
  context: ExecutionContext & { publicUrl?: string | undefined },
  webhooks: WebhookContext,
  input: { privacyRequestId: string; entries: BookkeepingEntry[]; messages: MessageToSend[]; budgetMs: number },
): Promise<NoticesAttempt> {
  const { deliveries } = input.entries.length > 0 ? await recordBookkeeping(context, input) : { deliveries: [] };
  if (deliveries.length === 0 && input.messages.length === 0) return { deliveryIds: [], messageKeys: [], messageErrors: [] };
  return deliverNotices(context, webhooks, { privacyRequestId: input.privacyRequestId, deliveryIds: deliveries, messages: input.messages }, { budgetMs: input.budgetMs });
}
