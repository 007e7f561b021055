/**
 * Access for one collection: gather the values to look for (identities, and what upstream
 * collections found), query the data store, store the rows in Postgres, and log the step.
 * Manual collections get their rows from a person instead (storeManualRows).
 *
 * Safe to run again: a collection whose completion is already recorded for this run returns
 * the recorded count without querying, and rows plus completion are written together, once
 * (src/db/collection-steps.ts). A row Postgres cannot store (a NUL character) fails the step as
 * bad data, with nothing stored.
 */
import { appendAccessResults, clearAccessResults, replaceAccessResults, type Row } from '../db/access-results.js';
import { findExecutionLog, recordExecutionLog, type ExecutionLogEntry, type ExecutionLogRow } from '../db/execution-log.js';
import { completeManualTask } from '../db/manual-tasks.js';
import type { CollectionKey } from '../domain/graph.js';
import { fieldsAffected } from '../domain/policies.js';
import { eventKey } from '../domain/lifecycle.js';
import { recordTaskFinished } from '../db/request-tasks.js';
import { recordAccessCompletion, recordStepStart } from '../db/collection-steps.js';
import type { TransactionSql } from '../db/client.js';
import type { ExecutionContext } from './context.js';
import { ConnectorError } from '../connectors/errors.js';
import { nulCharacterPath } from '../connectors/values.js';
import { connectorOf, identitiesOf, lookupGroups, lookupValues, plannedStep, type PlannedStep } from './inputs.js';

export interface CollectionStep {
  privacyRequestId: string;
  collection: CollectionKey;
  /** Starts at 1; a retry of the request after an error runs the failed collections as run 2, 3… */
  run: number;
  /** The activity attempt (1 for the first try). */
  attempt: number;
}

/** Rows up to this many are stored with the step's completion in one statement; more go in a transaction, a thousand per insert. */
const ONE_STATEMENT_ROWS = 1000;

export function logEntry(step: PlannedStep, privacyRequestId: string, actionType: 'access' | 'erasure') {
  return {
    privacy_request_id: privacyRequestId,
    connection_key: step.node.connectionKey,
    dataset_name: step.dataset,
    collection_name: step.collection,
    action_type: actionType,
  } satisfies Partial<ExecutionLogEntry>;
}

/**
 * Logs the start of a step (and, on later attempts, that it is retrying) with its task's attempt,
 * in one statement, unless one of `doneKeys` is already logged: then it writes nothing and returns
 * that entry. Idempotent.
 */
export async function logStart(context: ExecutionContext, step: PlannedStep, { privacyRequestId, collection, run, attempt }: CollectionStep, actionType: 'access' | 'erasure', doneKeys: string[] = []): Promise<ExecutionLogRow | undefined> {
  const entry = logEntry(step, privacyRequestId, actionType);
  return (context.stepStarts ?? ((start) => recordStepStart(context.sql, start)))({
    start: { ...entry, event_key: eventKey(actionType, collection, run, 'in_processing'), status: 'in_processing', message: 'starting', fields_affected: [], row_count: null },
    retrying: attempt > 1 ? { ...entry, event_key: eventKey(actionType, collection, run, `retrying:${attempt}`), status: 'retrying', message: `attempt ${attempt}`, fields_affected: [], row_count: null } : undefined,
    task: { privacyRequestId, phase: actionType, collection, connectionKey: step.node.connectionKey, run, attempt },
    doneKeys,
  });
}

/**
 * Stores the rows and the completion of an access step, once: in one statement up to
 * ONE_STATEMENT_ROWS rows, otherwise in one transaction. Rows may come as batches (a streamed
 * SaaS read): each is stored as it arrives, so no more than a batch is held in memory, and the
 * transaction makes the whole read count once or not at all.
 */
async function completeAccess(context: ExecutionContext, step: PlannedStep, privacyRequestId: string, collection: CollectionKey, run: number, found: Row[] | AsyncIterable<Row[]>, message: string): Promise<{ rowCount: number }> {
  const completeKey = eventKey('access', collection, run, 'complete');
  const storable = (rows: Row[], before: number): Row[] => {
    for (const [index, row] of rows.entries()) {
      const path = nulCharacterPath(row);
      if (path !== undefined) {
        throw new ConnectorError(
          'bad_data',
          `Row ${before + index + 1} of ${step.dataset}.${step.collection} holds a NUL character in ${path}, which dsrflow cannot store (Postgres refuses it in jsonb); nothing of the collection was stored: handle it by hand and retry, or answer it as a manual step`,
        );
      }
    }
    return rows;
  };
  const entry = (rowCount: number): ExecutionLogEntry => ({
    ...logEntry(step, privacyRequestId, 'access'),
    event_key: completeKey,
    status: 'complete',
    message,
    fields_affected: fieldsAffected(step.snapshot.policy, 'access', step.dataset, step.definition),
    row_count: rowCount,
  });
  const finished = (rowCount: number) => ({ privacyRequestId, phase: 'access' as const, collection, run, status: 'complete' as const, rowCount, skippedReason: null });
  if (Array.isArray(found)) storable(found, 0);
  if (Array.isArray(found) && found.length <= ONE_STATEMENT_ROWS) {
    // The common case: the whole step's writes in one statement (src/db/collection-steps.ts).
    return recordAccessCompletion(context.sql, { entry: entry(found.length), dataset: step.dataset, collection: step.collection, rows: found, task: finished(found.length) });
  }
  const completion = (tx: TransactionSql, rowCount: number) => [
    recordExecutionLog(tx, entry(rowCount)),
    recordTaskFinished(tx, finished(rowCount)),
  ];
  return context.sql.begin(async (tx) => {
    // Statements issued together go out together (postgres.js pipelines them on the transaction's
    // connection): a round trip each cost more CPU than the statements (issue 14).
    // A zombie attempt (one whose worker was presumed dead) may race this one: serialize them. The
    // lookup runs after the lock is granted, on the same connection.
    const [, already] = await Promise.all([tx`select pg_advisory_xact_lock(hashtext(${`${privacyRequestId}|${completeKey}`}))`, findExecutionLog(tx, privacyRequestId, completeKey)]);
    if (already) return { rowCount: already.row_count ?? 0 };
    if (Array.isArray(found)) {
      await Promise.all([replaceAccessResults(tx, privacyRequestId, step.dataset, step.collection, found), ...completion(tx, found.length)]);
      return { rowCount: found.length };
    }
    await clearAccessResults(tx, privacyRequestId, step.dataset, step.collection);
    let stored = 0;
    for await (const batch of found) {
      await appendAccessResults(tx, privacyRequestId, step.dataset, step.collection, storable(batch, stored), stored);
      stored += batch.length;
    }
    await Promise.all(completion(tx, stored));
    return { rowCount: stored };
  });
}

export async function accessCollection(context: ExecutionContext, stepInput: CollectionStep): Promise<{ rowCount: number }> {
  const { privacyRequestId, collection, run } = stepInput;
  const step = await plannedStep(context, privacyRequestId, collection);
  const done = await logStart(context, step, stepInput, 'access', [eventKey('access', collection, run, 'complete')]);
  if (done) return { rowCount: done.row_count ?? 0 };
  const values = await lookupValues(context, privacyRequestId, step.node);
  const connector = await connectorOf(context, step.node.connectionKey);
  const query = {
    collection: step.collection,
    fields: step.definition.fields.map((field) => field.name),
    filters: [...values].map(([field, fieldValues]) => ({ field, values: fieldValues })),
  };
  if (connector.stream) {
    // SaaS reads page by page; their templates and filters may use any identity.
    const identities = await identitiesOf(context, privacyRequestId);
    const groups = await lookupGroups(context, privacyRequestId, step.node);
    return completeAccess(context, step, privacyRequestId, collection, run, connector.stream({ ...query, identities, groups }), 'success');
  }
  const rows = await connector.retrieve(query);
  return completeAccess(context, step, privacyRequestId, collection, run, rows, 'success');
}

/** Rows a person supplied for a manual collection, validated by the workflow. */
export async function storeManualRows(context: ExecutionContext, input: { privacyRequestId: string; collection: CollectionKey; run: number; rows: Row[]; userId: string | null }): Promise<{ rowCount: number }> {
  const step = await plannedStep(context, input.privacyRequestId, input.collection);
  // Keep the collection's declared field order, as a query would.
  const fields = step.definition.fields.map((field) => field.name);
  const rows = input.rows.map((row) => Object.fromEntries(fields.filter((field) => field in row).map((field) => [field, row[field]])));
  const result = await completeAccess(context, step, input.privacyRequestId, input.collection, input.run, rows, `manual input${input.userId ? ` from ${input.userId}` : ''}`);
  await completeManualTask(context.sql, input.privacyRequestId, input.collection, 'access', input.run, 'complete');
  return result;
}
