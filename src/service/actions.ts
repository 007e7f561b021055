/**
 * Acting on a running privacy request (approve, deny, cancel, retry, confirm erasure, manual
 * input): the API sends the workflow an update, which runs the same validation as the signal an
 * external system may send, and answers once the effect is recorded. Refusals come back with the
 * workflow's reason; nothing changes.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import type { Sql } from '../db/client.js';
import { getPrivacyRequest, type PrivacyRequestRow } from '../db/privacy-requests.js';
import type { ActionName, ActionPayload } from '../domain/actions.js';
import { FINAL_STATUSES } from '../domain/privacy-requests.js';
import { FAILURE_TYPES, updates, type ActionResult } from '../../workflows/definitions.js';

export type ActionOutcome =
  | { ok: true; request: PrivacyRequestRow }
  | { ok: false; code: 'not_found' | 'conflict' | 'unavailable'; message: string };

/**
 * Temporal refuses an update, before admitting it, while the workflow's last workflow task failed
 * or timed out (a worker killed, or starved of CPU): gRPC FAILED_PRECONDITION, "unexpected workflow
 * task failure". The next task usually succeeds within a second, so the update is sent again a few
 * times (with the same update id: Temporal admits it at most once).
 */
const UPDATE_RETRY_DELAYS_MS = [250, 500, 1_000, 2_000, 4_000];
const isTransientUpdateRefusal = (error: unknown) =>
  error instanceof ServiceError && /FAILED_PRECONDITION|unexpected workflow task failure/i.test(`${error.message} ${error.cause?.message ?? ''}`);

/** Sends an update, again after each transient refusal; 'unavailable' once the delays are spent. Other errors are thrown. */
export async function sendUpdate(send: (updateId: string) => Promise<unknown>, delaysMs: readonly number[] = UPDATE_RETRY_DELAYS_MS): Promise<'sent' | 'unavailable'> {
  const updateId = randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      await send(updateId);
      return 'sent';
    } catch (error) {
      if (!isTransientUpdateRefusal(error)) throw error;
      const delay = delaysMs[attempt];
      if (delay === undefined) return 'unavailable';
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export async function performAction<A extends ActionName>(deps: { sql: Sql; temporal: Client }, id: string, action: A, payload: ActionPayload<A>): Promise<ActionOutcome> {
  const before = await getPrivacyRequest(deps.sql, id);
  if (!before) return { ok: false, code: 'not_found', message: `No privacy request with id ${id}` };
  if (FINAL_STATUSES.includes(before.status)) {
    return { ok: false, code: 'conflict', message: `${action} refused: the request is ${before.status}` };
  }
  try {
    // The update of this action takes this action's payload (workflows/definitions.ts).
    const update = updates[action] as UpdateDefinition<ActionResult, [ActionPayload<A>]>;
    const sent = await sendUpdate((updateId) => deps.temporal.workflow.getHandle(id).executeUpdate(update, { args: [payload], updateId }));
    if (sent === 'unavailable') {
      return { ok: false, code: 'unavailable', message: `${action} not taken: the request's workflow cannot take actions right now (its last step failed and is being retried); nothing changed, try again shortly` };
    }
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === FAILURE_TYPES.rejected) {
      return { ok: false, code: 'conflict', message: error.cause.message };
    }
    if (error instanceof WorkflowNotFoundError || /already completed|not found/i.test((error as Error).message)) {
      const now = await getPrivacyRequest(deps.sql, id);
      return { ok: false, code: 'conflict', message: `${action} refused: the request is ${now?.status ?? 'no longer running'}` };
    }
    throw error;
  }
  return { ok: true, request: (await getPrivacyRequest(deps.sql, id))! };
}
