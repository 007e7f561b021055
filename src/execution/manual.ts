/**
 * Manual collections: a person looks the data up (access) or masks it (erasure) and reports back.
 * The task says what to do (action_needed, shaped as Fides shows it: locators, the fields to get,
 * the values to write) and until when; it is stored in Postgres, never in workflow history.
 */
import { readAccessResults } from '../db/access-results.js';
import { findExecutionLog, recordExecutionLog } from '../db/execution-log.js';
import { completeManualTask, openManualTask } from '../db/manual-tasks.js';
import { maskingSecret } from '../db/privacy-requests.js';
import type { CollectionKey } from '../domain/graph.js';
import { eventKey } from '../domain/lifecycle.js';
import { logEntry } from './access.js';
import type { ExecutionContext } from './context.js';
import { leavesDataInPlace, maskedRows, planFor } from './erasure.js';
import { lookupValues, plannedStep } from './inputs.js';

export interface ManualStep {
  privacyRequestId: string;
  collection: CollectionKey;
  phase: 'access' | 'erasure';
  run: number;
  /** How long the person has, from the first time the task is opened. */
  deadlineMs: number;
  /** Workflow time, ISO. */
  now: string;
}

/**
 * Opens the task (once per run) and logs the pause. Returns when it is due, and whether a person
 * has anything to do: an erasure with nothing to mask completes without asking.
 */
export async function openManualStep(context: ExecutionContext, input: ManualStep): Promise<{ deadlineAt: string; needed: boolean; skipped: string | null; warning: string | null }> {
  const step = await plannedStep(context, input.privacyRequestId, input.collection);
  const entry = logEntry(step, input.privacyRequestId, input.phase);
  let actionNeeded: unknown[];
  if (input.phase === 'access') {
    const values = await lookupValues(context, input.privacyRequestId, step.node);
    const fields = step.definition.fields.map((field) => field.name);
    actionNeeded = [{ locators: Object.fromEntries(values), get: fields, update: null }];
  } else {
    const plan = planFor(step);
    if (plan.action === 'skip') {
      await recordExecutionLog(context.sql, { ...entry, event_key: eventKey('erasure', input.collection, input.run, 'skipped'), status: 'skipped', message: plan.reason, fields_affected: plan.affected, row_count: 0 });
      return { deadlineAt: input.now, needed: false, skipped: plan.reason, warning: (await leavesDataInPlace(context, input.privacyRequestId, step, plan)) ? plan.reason : null };
    }
    const rows = await readAccessResults(context.sql, input.privacyRequestId, step.dataset, step.collection);
    if (rows.length === 0) {
      await recordExecutionLog(context.sql, { ...entry, event_key: eventKey('erasure', input.collection, input.run, 'complete'), status: 'complete', message: 'nothing to erase', fields_affected: plan.affected, row_count: 0 });
      return { deadlineAt: input.now, needed: false, skipped: null, warning: null };
    }
    if (plan.action === 'delete') {
      actionNeeded = rows.map((row) => ({ locators: Object.fromEntries(plan.primaryKeys.map((field) => [field, row[field]])), get: null, update: null, delete: true }));
    } else {
      const secret = await maskingSecret(context.sql, input.privacyRequestId, context.encryptionKey);
      actionNeeded = maskedRows(plan, rows, secret, input.collection).map(({ key, values }) => ({ locators: key, get: null, update: values }));
    }
  }
  const task = await openManualTask(context.sql, {
    privacy_request_id: input.privacyRequestId,
    collection: input.collection,
    action_type: input.phase,
    run: input.run,
    action_needed: actionNeeded,
    deadline_at: new Date(Date.parse(input.now) + input.deadlineMs),
  });
  await recordExecutionLog(context.sql, {
    ...entry,
    event_key: eventKey(input.phase, input.collection, input.run, 'paused'),
    status: 'paused',
    message: `waiting for ${input.phase === 'access' ? 'manual input' : 'erasure confirmation'} until ${task.deadline_at.toISOString()}`,
    fields_affected: [],
    row_count: null,
  });
  return { deadlineAt: task.deadline_at.toISOString(), needed: true, skipped: null, warning: null };
}

/** The deadline passed: the collection is skipped (or, when configured to wait, the log says it is overdue). */
export async function manualDeadlinePassed(context: ExecutionContext, input: Omit<ManualStep, 'deadlineMs'> & { skip: boolean }): Promise<void> {
  const step = await plannedStep(context, input.privacyRequestId, input.collection);
  const entry = logEntry(step, input.privacyRequestId, input.phase);
  if (input.skip) {
    await recordExecutionLog(context.sql, { ...entry, event_key: eventKey(input.phase, input.collection, input.run, 'skipped'), status: 'skipped', message: 'skipped: no response before the deadline', fields_affected: [], row_count: 0 });
    await completeManualTask(context.sql, input.privacyRequestId, input.collection, input.phase, input.run, 'skipped');
  } else {
    await recordExecutionLog(context.sql, { ...entry, event_key: eventKey(input.phase, input.collection, input.run, 'overdue'), status: 'paused', message: 'the deadline passed; still waiting', fields_affected: [], row_count: null });
  }
}

/** A person confirmed how many rows they masked in a manual collection. */
export async function confirmManualErasure(context: ExecutionContext, input: { privacyRequestId: string; collection: CollectionKey; run: number; rowCount: number; userId: string | null }): Promise<void> {
  const completeKey = eventKey('erasure', input.collection, input.run, 'complete');
  if (await findExecutionLog(context.sql, input.privacyRequestId, completeKey)) return;
  const step = await plannedStep(context, input.privacyRequestId, input.collection);
  await recordExecutionLog(context.sql, {
    ...logEntry(step, input.privacyRequestId, 'erasure'),
    event_key: completeKey,
    status: 'complete',
    message: `masked manually${input.userId ? ` by ${input.userId}` : ''}`,
    fields_affected: planFor(step).affected,
    row_count: input.rowCount,
  });
  await completeManualTask(context.sql, input.privacyRequestId, input.collection, 'erasure', input.run, 'complete');
}
