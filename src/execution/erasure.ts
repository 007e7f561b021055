/**
 * Erasure for one collection: mask (or delete) the rows access found, by primary key, with the
 * policy's strategies. Masked values are computed from the original value and the request's
 * masking secret, so a retried or crashed attempt writes exactly the same values again.
 */
import { countAccessResults, readAccessResults, type Row } from '../db/access-results.js';
import { findFirstExecutionLog } from '../db/execution-log.js';
import { recordStepFinished } from '../db/collection-steps.js';
import { maskingSecret, recordErasurePreview } from '../db/privacy-requests.js';
import { recordTaskFinished } from '../db/request-tasks.js';
import { erasurePlan, type ErasureOptions, type ErasurePlan } from '../domain/erasure.js';
import { connectionTypes } from '../db/connections.js';
import { leafFields } from '../domain/datasets.js';
import { getPath, setPath } from '../domain/saas/requests.js';
import { splitCollectionKey } from '../domain/graph.js';
import { maskValue, MaskingError } from '../domain/masking.js';
import { eventKey } from '../domain/lifecycle.js';
import { logEntry, logStart, type CollectionStep } from './access.js';
import { ConfigurationError, sharedRead, type ExecutionContext } from './context.js';
import { connectorOf, identitiesOf, plannedStep, snapshotOf, type PlannedStep } from './inputs.js';

export function planFor(step: PlannedStep, options: ErasureOptions = {}): ErasurePlan {
  try {
    return erasurePlan(step.snapshot.policy, step.dataset, step.definition, options);
  } catch (error) {
    if (error instanceof MaskingError) throw new ConfigurationError(`Collection ${step.node.key}: ${error.message}`);
    throw error;
  }
}

/** The values to write, per row found by access, addressed by primary key. */
export function maskedRows(plan: Extract<ErasurePlan, { action: 'mask' }>, rows: Row[], secret: Buffer, collection: string): { key: Row; values: Row }[] {
  return rows.map((row) => {
    const values: Row = {};
    for (const field of plan.fields) {
      // Nested fields (SaaS records) are dotted paths: masked where they are, sent nested.
      const nested = field.name.includes('.');
      const original = nested ? getPath(row, field.name) : row[field.name];
      if (nested && original === undefined) continue; // the record has no such field: nothing to mask
      let masked: unknown;
      try {
        masked = maskValue(field.strategy, original, { secret, data_type: field.data_type, length: field.length });
      } catch (error) {
        if (error instanceof MaskingError) throw new ConfigurationError(`Collection ${collection} field ${field.name}: ${error.message}`);
        throw error;
      }
      if (nested) setPath(values, field.name, masked);
      else values[field.name] = masked;
    }
    return { key: Object.fromEntries(plan.primaryKeys.map((field) => [field, row[field]])), values };
  });
}

/** Whether a connection's collections are erased record by record (SaaS): planned without primary keys. */
async function erasureOptions(context: ExecutionContext, connectionKeys: string[]): Promise<Map<string, ErasureOptions>> {
  const types = await connectionTypes(context.sql, [...new Set(connectionKeys)]);
  return new Map(connectionKeys.map((key) => [key, { byRecord: types.get(key) === 'saas' }]));
}

/** Dotted paths of the collection's read-only fields: a SaaS `<all_object_fields>` body leaves them out. */
function readOnlyPaths(step: PlannedStep): string[] {
  return leafFields(step.definition)
    .filter(({ field }) => field.fides_meta?.read_only)
    .map(({ path }) => path);
}

/**
 * Whether a skipped collection leaves the person's data in place: the policy targets some of its
 * fields and access found rows there. The request then completes with a warning.
 */
export async function leavesDataInPlace(context: ExecutionContext, privacyRequestId: string, step: { dataset: string; collection: string }, plan: ErasurePlan): Promise<boolean> {
  if (plan.action !== 'skip' || plan.affected.length === 0) return false;
  return ((await countAccessResults(context.sql, privacyRequestId))[`${step.dataset}:${step.collection}`] ?? 0) > 0;
}

export async function eraseCollection(context: ExecutionContext, stepInput: CollectionStep): Promise<{ rowCount: number; skipped: string | null; warning: string | null }> {
  const { privacyRequestId, collection, run } = stepInput;
  const completeKey = eventKey('erasure', collection, run, 'complete');
  const skippedKey = eventKey('erasure', collection, run, 'skipped');
  const done = await findFirstExecutionLog(context.sql, privacyRequestId, [completeKey, skippedKey]);
  const step = await plannedStep(context, privacyRequestId, collection);
  const options = (await sharedRead(context, `erasure options:${step.node.connectionKey}`, () => erasureOptions(context, [step.node.connectionKey]))).get(step.node.connectionKey)!;
  const plan = planFor(step, options);
  if (done) {
    const skipped = done.status === 'skipped' ? done.message : null;
    // An attempt that died between its log row and its task row: finish the task row too.
    await recordTaskFinished(context.sql, { privacyRequestId, phase: 'erasure', collection, run, status: skipped ? 'skipped' : 'complete', rowCount: done.row_count ?? 0, skippedReason: skipped });
    return { rowCount: done.row_count ?? 0, skipped, warning: skipped && (await leavesDataInPlace(context, privacyRequestId, step, plan)) ? skipped : null };
  }
  const entry = logEntry(step, privacyRequestId, 'erasure');
  if (plan.action === 'skip') {
    await recordStepFinished(context.sql, {
      entry: { ...entry, event_key: skippedKey, status: 'skipped', message: plan.reason, fields_affected: plan.affected, row_count: 0 },
      task: { privacyRequestId, phase: 'erasure', collection, run, status: 'skipped', rowCount: 0, skippedReason: plan.reason },
    });
    return { rowCount: 0, skipped: plan.reason, warning: (await leavesDataInPlace(context, privacyRequestId, step, plan)) ? plan.reason : null };
  }

  await logStart(context, step, stepInput, 'erasure');
  const rows = await readAccessResults(context.sql, privacyRequestId, step.dataset, step.collection);
  let changed = 0;
  if (rows.length > 0) {
    const connector = await connectorOf(context, step.node.connectionKey);
    // SaaS requests are filled from the records themselves and the identities.
    const byRecord = options.byRecord ? { identities: await identitiesOf(context, privacyRequestId) } : undefined;
    if (plan.action === 'delete') {
      changed = await connector.deleteRows({ collection: step.collection, keys: rows.map((row) => Object.fromEntries(plan.primaryKeys.map((field) => [field, row[field]]))), ...(byRecord ? { rows, ...byRecord } : {}) });
    } else {
      const secret = await sharedRead(context, `masking secret:${privacyRequestId}`, () => maskingSecret(context.sql, privacyRequestId, context.encryptionKey));
      const masked = maskedRows(plan, rows, secret, collection);
      changed = await connector.mask({
        collection: step.collection,
        rows: byRecord ? masked.map((entry, i) => ({ ...entry, row: rows[i] })) : masked,
        ...(byRecord ? { ...byRecord, readOnly: readOnlyPaths(step) } : {}),
      });
    }
  }
  await recordStepFinished(context.sql, {
    entry: { ...entry, event_key: completeKey, status: 'complete', message: plan.action === 'delete' ? 'rows deleted' : 'rows masked', fields_affected: plan.affected, row_count: changed },
    task: { privacyRequestId, phase: 'erasure', collection, run, status: 'complete', rowCount: changed, skippedReason: null },
  });
  return { rowCount: changed, skipped: null, warning: null };
}

/** Per collection, how many rows erasure would change: what a person confirms before anything is masked. */
export async function previewErasure(context: ExecutionContext, privacyRequestId: string): Promise<Record<string, number>> {
  const snapshot = await snapshotOf(context, privacyRequestId);
  if (!snapshot) throw new ConfigurationError(`Privacy request ${privacyRequestId} has no plan`);
  const found = await countAccessResults(context.sql, privacyRequestId);
  const preview: Record<string, number> = {};
  const options = await erasureOptions(context, snapshot.plan.collections.map((node) => node.connectionKey));
  for (const node of snapshot.plan.collections) {
    const { dataset, collection } = splitCollectionKey(node.key);
    const definition = snapshot.datasets[dataset]!.collections.find((candidate) => candidate.name === collection)!;
    const plan = planFor({ snapshot, node, definition, dataset, collection }, options.get(node.connectionKey));
    preview[node.key] = plan.action === 'skip' ? 0 : (found[node.key] ?? 0);
  }
  await recordErasurePreview(context.sql, privacyRequestId, preview);
  return preview;
}
