/**
 * What erasure does to one collection, from the policy and the dataset: which fields it masks
 * with which strategy, or whether it deletes whole rows, and how rows are addressed (primary
 * key). Pure: the executor applies it to the rows access found.
 *
 * As in Fides: primary keys and read-only fields are never masked, and a collection without a
 * declared primary key cannot be addressed, so it is skipped with that reason in the log.
 */
import { findField, type DatasetCollection } from './datasets.js';
import { isRowDelete, parseMaskingStrategy, strategyForField, type MaskingStrategy } from './masking.js';
import { targetedFields, type AffectedField, type Policy } from './policies.js';

export interface MaskedField {
  name: string;
  strategy: MaskingStrategy;
  data_type: string | undefined;
  length: number | undefined;
}

export type ErasurePlan =
  | { action: 'skip'; reason: string; affected: AffectedField[] }
  | { action: 'mask'; primaryKeys: string[]; fields: MaskedField[]; affected: AffectedField[] }
  | { action: 'delete'; primaryKeys: string[]; affected: AffectedField[] };

export interface ErasureOptions {
  /**
   * SaaS collections: a record is addressed by the values its update or delete request takes
   * from it (param_values), not by a primary key, and nested fields are masked one by one
   * (they are sent as nested JSON). MaskedField names are then dotted paths.
   */
  byRecord?: boolean;
}

export function erasurePlan(policy: Pick<Policy, 'rules'>, dataset: string, collection: DatasetCollection, options: ErasureOptions = {}): ErasurePlan {
  const targeted = targetedFields(policy, 'erasure', dataset, collection);
  const affected = targeted.map(({ rule: _rule, ...field }) => field);
  if (targeted.length === 0) return { action: 'skip', reason: "no field of this collection is targeted by the policy's erasure rules", affected };

  const primaryKeys = collection.fields.filter((field) => field.fides_meta?.primary_key).map((field) => field.name);
  if (primaryKeys.length === 0 && !options.byRecord) {
    return { action: 'skip', reason: 'the dataset declares no primary key for this collection, so its rows cannot be addressed; declare fides_meta.primary_key', affected };
  }

  const collectionOverride = collection.fides_meta?.masking_strategy_override;
  if (isRowDelete(collectionOverride) || targeted.some(({ rule }) => isRowDelete(rule.masking_strategy))) {
    return { action: 'delete', primaryKeys, affected };
  }

  const fields: MaskedField[] = [];
  for (const { field_name, rule } of targeted) {
    if (field_name.includes('.') && !options.byRecord) continue; // nested fields live inside a JSON column: not masked field by field yet
    const field = findField(collection, field_name.split('.'))!;
    if (field.fides_meta?.primary_key || field.fides_meta?.read_only) continue;
    const strategy = strategyForField(rule.masking_strategy ? parseMaskingStrategy(rule.masking_strategy, `rule ${rule.key}: masking_strategy`) : null, field);
    if (!strategy) continue;
    fields.push({ name: field_name, strategy, data_type: field.fides_meta?.data_type, length: field.fides_meta?.length });
  }
  if (fields.length === 0) return { action: 'skip', reason: 'only primary key, read-only or nested fields are targeted', affected };
  return { action: 'mask', primaryKeys, fields, affected };
}
