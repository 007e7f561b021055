/**
 * Acting on a running privacy request (approve, deny, cancel, retry, confirm erasure, manual
 * input): the API sends the workflow an update, which runs the same validation as the signal an
 * external system may send, and answers once the effect is recorded. Refusals come back with the
 * workflow's reason; nothing changes.
 */
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import type { Sql } from '../db/client.js';
import { getPrivacyRequest, type PrivacyRequestRow } from '../db/privacy-requests.js';
import type { ActionName, ActionPayload } from '../domain/actions.js';
import { FINAL_STATUSES } from '../domain/privacy-requests.js';
import { FAILURE_TYPES, updates, type ActionResult } from '../../workflows/definitions.js';

export type ActionOutcome =
  | { ok: true; request: PrivacyRequestRow }
  | { ok: false; code: 'not_found' | 'conflict'; message: string };

export async function performAction<A extends ActionName>(deps: { sql: Sql; temporal: Client }, id: string, action: A, payload: ActionPayload<A>): Promise<ActionOutcome> {
  const before = await getPrivacyRequest(deps.sql, id);
  if (!before) return { ok: false, code: 'not_found', message: `No privacy request with id ${id}` };
  if (FINAL_STATUSES.includes(before.status)) {
    return { ok: false, code: 'conflict', message: `${action} refused: the request is ${before.status}` };
  }
  try {
    // The update of this action takes this action's payload (workflows/definitions.ts).
    const update = updates[action] as UpdateDefinition<ActionResult, [ActionPayload<A>]>;
    await deps.temporal.workflow.getHandle(id).executeUpdate(update, { args: [payload] });
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
