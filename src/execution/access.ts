/**
 * Access for one collection: gather the values to look for (identities, and what upstream
 * collections found), query the data store, store the rows in Postgres, and log the step.
 *
 * Safe to run again: a collection whose completion is already recorded for this run returns
 * the recorded count without querying, and rows plus completion are written in one transaction.
 */
import { accessResultValues, replaceAccessResults } from '../db/access-results.js';
import { findExecutionLog, recordExecutionLog } from '../db/execution-log.js';
import { getSnapshot } from '../db/plans.js';
import { readIdentities } from '../db/privacy-requests.js';
import { splitCollectionKey, type CollectionKey } from '../domain/graph.js';
import { fieldsAffected } from '../domain/policies.js';
import { eventKey } from '../../workflows/definitions.js';
import { ConfigurationError, PrivacyRequestNotFound, type ExecutionContext } from './context.js';

export interface CollectionStep {
  privacyRequestId: string;
  collection: CollectionKey;
  /** Starts at 1; a retry of the request after an error runs the failed collections as run 2, 3… */
  run: number;
  /** The activity attempt (1 for the first try). */
  attempt: number;
}

export async function accessCollection(context: ExecutionContext, step: CollectionStep): Promise<{ rowCount: number }> {
  const { sql } = context;
  const { privacyRequestId, collection, run, attempt } = step;
  const completeKey = eventKey('access', collection, run, 'complete');
  const done = await findExecutionLog(sql, privacyRequestId, completeKey);
  if (done) return { rowCount: done.row_count ?? 0 };

  const snapshot = await getSnapshot(sql, privacyRequestId);
  if (!snapshot) throw new PrivacyRequestNotFound(`Privacy request ${privacyRequestId} has no plan`);
  const node = snapshot.plan.collections.find((candidate) => candidate.key === collection);
  const { dataset, collection: collectionName } = splitCollectionKey(collection);
  const definition = snapshot.datasets[dataset]?.collections.find((candidate) => candidate.name === collectionName);
  if (!node || !definition) throw new ConfigurationError(`Collection ${collection} is not in the plan of ${privacyRequestId}`);

  const entry = {
    privacy_request_id: privacyRequestId,
    connection_key: node.connectionKey,
    dataset_name: dataset,
    collection_name: collectionName,
    action_type: 'access' as const,
  };
  await recordExecutionLog(sql, { ...entry, event_key: eventKey('access', collection, run, 'in_processing'), status: 'in_processing', message: 'starting', fields_affected: [], row_count: null });
  if (attempt > 1) {
    await recordExecutionLog(sql, { ...entry, event_key: eventKey('access', collection, run, `retrying:${attempt}`), status: 'retrying', message: `attempt ${attempt}`, fields_affected: [], row_count: null });
  }

  // The values to look for, per field of this collection.
  const identities = await readIdentities(sql, privacyRequestId, context.encryptionKey);
  const valuesByField = new Map<string, Map<string, unknown>>();
  for (const input of node.inputs) {
    let values: unknown[];
    if ('identity' in input.from) {
      const value = identities[input.from.identity];
      values = value === undefined ? [] : [value];
    } else {
      const upstream = splitCollectionKey(input.from.collection);
      values = await accessResultValues(sql, privacyRequestId, upstream.dataset, upstream.collection, input.from.field);
    }
    const field = input.field.split('.')[0]!;
    const set = valuesByField.get(field) ?? new Map<string, unknown>();
    for (const value of values) set.set(JSON.stringify(value), value);
    valuesByField.set(field, set);
  }

  const connector = await context.connectors.get(node.connectionKey);
  const rows = await connector.retrieve({
    collection: collectionName,
    fields: definition.fields.map((field) => field.name),
    filters: [...valuesByField].map(([field, values]) => ({ field, values: [...values.values()] })),
  });

  return sql.begin(async (tx) => {
    // A zombie attempt (one whose worker was presumed dead) may race this one: serialize them.
    await tx`select pg_advisory_xact_lock(hashtext(${`${privacyRequestId}|${completeKey}`}))`;
    const already = await findExecutionLog(tx, privacyRequestId, completeKey);
    if (already) return { rowCount: already.row_count ?? 0 };
    await replaceAccessResults(tx, privacyRequestId, dataset, collectionName, rows);
    await recordExecutionLog(tx, {
      ...entry,
      event_key: completeKey,
      status: 'complete',
      message: 'success',
      fields_affected: fieldsAffected(snapshot.policy, 'access', dataset, definition),
      row_count: rows.length,
    });
    return { rowCount: rows.length };
  });
}
