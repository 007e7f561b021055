/**
 * How a saas_config joins the traversal graph: its read requests' `param_values` become fields
 * of the collection (as Fides does), so the planner sees them as any other identity or reference.
 *
 * - `identity: email` → a field `<param name>` with `fides_meta.identity: email`: the identity
 *   seeds the collection.
 * - `references: [{dataset, field, direction: from}]` → a field `<param name>` referencing that
 *   field: the collection runs after the one it takes values from (of any connection: an id found
 *   in Postgres feeds a SaaS lookup), and receives its values.
 * - `connector_param` → nothing: a constant of the connection.
 * - an endpoint's `after` and `erase_after` → the collection's.
 * - a collection of the dataset without an endpoint with a read request is not visited.
 *
 * Params that share a name with a field of the collection add their meta to that field. Pure.
 */
import type { Dataset, DatasetCollection, DatasetField, FieldMeta } from '../datasets.js';
import { referenceOf, requestList, type SaasConfig } from './config.js';

export function mergeSaasConfig(dataset: Dataset, config: SaasConfig): Dataset {
  const collections = dataset.collections.map((collection): DatasetCollection => {
    const endpoint = config.endpoints.find((candidate) => candidate.name === collection.name);
    const read = requestList(endpoint?.requests.read)[0];
    if (!endpoint || !read) return { ...collection, fides_meta: { ...collection.fides_meta, skip_processing: true } };
    const fields: DatasetField[] = collection.fields.map((field) => ({ ...field }));
    for (const param of read.param_values ?? []) {
      if (param.connector_param !== undefined) continue;
      const meta: FieldMeta = param.identity !== undefined ? { identity: param.identity } : { references: (param.references ?? []).map((reference) => ({ ...referenceOf(reference), direction: 'from' as const })) };
      const existing = fields.findIndex((field) => field.name === param.name);
      if (existing >= 0) {
        const field = fields[existing]!;
        const previous = field.fides_meta ?? {};
        fields[existing] = {
          ...field,
          fides_meta: {
            ...previous,
            ...(meta.identity ? { identity: meta.identity } : {}),
            ...(meta.references ? { references: [...(previous.references ?? []), ...meta.references] } : {}),
          },
        };
      } else fields.push({ name: param.name, fides_meta: meta });
    }
    const collectionMeta = {
      ...collection.fides_meta,
      ...(endpoint.after?.length ? { after: [...(collection.fides_meta?.after ?? []), ...endpoint.after] } : {}),
      ...(endpoint.erase_after?.length ? { erase_after: [...(collection.fides_meta?.erase_after ?? []), ...endpoint.erase_after] } : {}),
      ...(endpoint.skip_processing ? { skip_processing: true } : {}),
    };
    return { ...collection, fields, ...(Object.keys(collectionMeta).length ? { fides_meta: collectionMeta } : {}) };
  });
  return { ...dataset, collections };
}

/** The names of the fields mergeSaasConfig adds to a collection: what the vendor does not return. */
export function paramFieldNames(config: SaasConfig, collection: string): Set<string> {
  const read = requestList(config.endpoints.find((candidate) => candidate.name === collection)?.requests.read)[0];
  return new Set((read?.param_values ?? []).map((param) => param.name));
}
