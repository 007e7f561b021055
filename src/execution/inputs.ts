/**
 * The values a collection is looked up by: identities, and the key values its upstream
 * collections found. Used to query a data store, and as the locators a person is given for a
 * manual collection.
 */
import { accessResultValues, readAccessResults } from '../db/access-results.js';
import { getSnapshot, type PlanSnapshot } from '../db/plans.js';
import { readIdentities } from '../db/privacy-requests.js';
import type { Connector } from '../connectors/types.js';
import type { Identity } from '../domain/privacy-requests.js';
import type { DatasetCollection } from '../domain/datasets.js';
import { splitCollectionKey, type CollectionKey, type PlannedCollection } from '../domain/graph.js';
import { ConfigurationError, PrivacyRequestNotFound, sharedRead, type ExecutionContext } from './context.js';

export interface PlannedStep {
  snapshot: PlanSnapshot;
  node: PlannedCollection;
  definition: DatasetCollection;
  dataset: string;
  collection: string;
}

/** The request's plan snapshot, from the worker's cache when it has it. */
export async function snapshotOf(context: ExecutionContext, privacyRequestId: string): Promise<PlanSnapshot | undefined> {
  if (!context.snapshots) return (await getSnapshot(context.sql, privacyRequestId))?.snapshot;
  return context.snapshots.get(privacyRequestId, () => getSnapshot(context.sql, privacyRequestId));
}

/**
 * The request's identities (decrypted), read once for the steps of a batch. Keyed by the request,
 * as every shared read of a person's data is: a memo that ever spans two requests still cannot
 * hand one person's identities to the other's step.
 */
export function identitiesOf(context: ExecutionContext, privacyRequestId: string): Promise<Identity> {
  return sharedRead(context, `identities:${privacyRequestId}`, () => readIdentities(context.sql, privacyRequestId, context.encryptionKey));
}

/** A connection's connector, its settings read once for the steps of a batch. */
export function connectorOf(context: ExecutionContext, connectionKey: string): Promise<Connector> {
  return sharedRead(context, `connector:${connectionKey}`, () => context.connectors.get(connectionKey));
}

/** The snapshot's view of one collection of a request. */
export async function plannedStep(context: ExecutionContext, privacyRequestId: string, key: CollectionKey): Promise<PlannedStep> {
  const snapshot = await snapshotOf(context, privacyRequestId);
  if (!snapshot) throw new PrivacyRequestNotFound(`Privacy request ${privacyRequestId} has no plan`);
  const node = snapshot.plan.collections.find((candidate) => candidate.key === key);
  const { dataset, collection } = splitCollectionKey(key);
  const definition = snapshot.datasets[dataset]?.collections.find((candidate) => candidate.name === collection);
  if (!node || !definition) throw new ConfigurationError(`Collection ${key} is not in the plan of ${privacyRequestId}`);
  return { snapshot, node, definition, dataset, collection };
}

/** Field (top-level column) → distinct values to look for. */
export async function lookupValues(context: ExecutionContext, privacyRequestId: string, node: PlannedCollection): Promise<Map<string, unknown[]>> {
  // Read side by side, and the identities only when an input needs them.
  const needsIdentities = node.inputs.some((input) => 'identity' in input.from);
  const [identities, found] = await Promise.all([
    needsIdentities ? identitiesOf(context, privacyRequestId) : Promise.resolve<Identity>({}),
    Promise.all(
      node.inputs.map((input) => {
        const from = input.from;
        if ('identity' in from) return undefined;
        const upstream = splitCollectionKey(from.collection);
        // Collections of a batch fed by the same upstream field (orders, login, payment_card by customer.id) read it once.
        const lookup = { privacyRequestId, dataset: upstream.dataset, collection: upstream.collection, fieldPath: from.field };
        return sharedRead(context, `values:${from.collection}:${from.field}`, () =>
          context.upstreamValues ? context.upstreamValues(lookup) : accessResultValues(context.sql, lookup.privacyRequestId, lookup.dataset, lookup.collection, lookup.fieldPath),
        );
      }),
    ),
  ]);
  const byField = new Map<string, Map<string, unknown>>();
  for (const [i, input] of node.inputs.entries()) {
    let values: unknown[];
    if ('identity' in input.from) {
      const value = identities[input.from.identity];
      values = value === undefined ? [] : [value];
    } else {
      values = found[i]!;
    }
    const field = input.field.split('.')[0]!;
    const set = byField.get(field) ?? new Map<string, unknown>();
    for (const value of values) set.set(JSON.stringify(value), value);
    byField.set(field, set);
  }
  return new Map([...byField].map(([field, values]) => [field, [...values.values()]]));
}

/**
 * For each upstream collection that feeds more than one field of this collection, the values of
 * those fields row by row (SaaS `grouped_inputs` keep them together): `{field: value, …}` per row.
 */
export async function lookupGroups(context: ExecutionContext, privacyRequestId: string, node: PlannedCollection): Promise<Record<string, unknown>[]> {
  const byUpstream = new Map<CollectionKey, { field: string; from: string }[]>();
  for (const input of node.inputs) {
    if (!('collection' in input.from)) continue;
    const list = byUpstream.get(input.from.collection) ?? [];
    list.push({ field: input.field.split('.')[0]!, from: input.from.field });
    byUpstream.set(input.from.collection, list);
  }
  const groups = new Map<string, Record<string, unknown>>();
  for (const [upstream, fields] of byUpstream) {
    if (fields.length < 2) continue;
    const { dataset, collection } = splitCollectionKey(upstream);
    for (const row of await readAccessResults(context.sql, privacyRequestId, dataset, collection)) {
      const group = Object.fromEntries(fields.map(({ field, from }) => [field, from.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown> | null | undefined)?.[part], row)]));
      groups.set(JSON.stringify(group), group);
    }
  }
  return [...groups.values()];
}
