/**
 * The traversal planner: which collections a privacy request visits, in what order, and which
 * values each collection is queried with.
 *
 * Collections are nodes. The identities given seed the collections whose fields carry
 * `fides_meta.identity`; `references` are edges between fields (`from`: data flows from the
 * referenced field into this one, `to`: from this one into the referenced field, no direction:
 * whichever side runs first). A collection runs once every collection it takes values from
 * is done, and `after` adds ordering without data. Collections that cannot be reached from the
 * identities given, and cycles, are errors before any query runs.
 *
 * Everything here is a pure function of its input: the same datasets and identities always give
 * the same plan.
 */
import { findField, type Dataset, type DatasetCollection } from './datasets.js';

/** `dataset:collection`, as Fides writes collection addresses in logs and stopped_collection_details. */
export type CollectionKey = string;

export const collectionKey = (dataset: string, collection: string): CollectionKey => `${dataset}:${collection}`;

export function splitCollectionKey(key: CollectionKey): { dataset: string; collection: string } {
  const at = key.indexOf(':');
  return { dataset: key.slice(0, at), collection: key.slice(at + 1) };
}

/** Where the values a collection is queried with come from. */
export type InputSource = { identity: string } | { collection: CollectionKey; field: string };

export interface PlanInput {
  /** The field of this collection the values are matched against (dotted path for nested fields). */
  field: string;
  from: InputSource;
}

export interface PlannedCollection {
  key: CollectionKey;
  dataset: string;
  collection: string;
  connectionKey: string;
  /** Collections whose access must finish before this one runs (data edges and `after`). */
  upstream: CollectionKey[];
  /** The values this collection is queried with; any one matching selects the row. */
  inputs: PlanInput[];
  /** Collections whose erasure must finish before this one is erased (`erase_after`, referencing rows first). */
  erasureUpstream: CollectionKey[];
}

export interface TraversalPlan {
  /** Every collection, in a deterministic order in which each comes after all its upstream ones. */
  collections: PlannedCollection[];
  /** Access layers: collections of one stage only depend on earlier stages. */
  stages: CollectionKey[][];
  /** Erasure layers, by `erasureUpstream`. */
  erasureStages: CollectionKey[][];
}

export interface DatasetOfConnection {
  connectionKey: string;
  dataset: Dataset;
}

export type PlanningErrorKind = 'unreachable' | 'cycle' | 'erasure_cycle' | 'unknown_reference' | 'duplicate_dataset' | 'no_collections';

export class PlanningError extends Error {
  override name = 'PlanningError';
  constructor(
    readonly kind: PlanningErrorKind,
    message: string,
    /** The collections the error is about. */
    readonly collections: CollectionKey[] = [],
  ) {
    super(message);
  }
}

const ROOT = '<identity>';

interface Edge {
  from: string; // collection key, or ROOT
  fromField: string; // field path, or identity name
  to: string;
  toField: string;
  directed: boolean;
}

interface Node {
  key: CollectionKey;
  dataset: Dataset;
  collection: DatasetCollection;
  connectionKey: string;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Walks every field (nested ones too) with its dotted path. */
function eachField(collection: DatasetCollection, visit: (path: string, field: DatasetCollection['fields'][number]) => void) {
  const walk = (fields: DatasetCollection['fields'], prefix: string) => {
    for (const field of fields) {
      const path = prefix ? `${prefix}.${field.name}` : field.name;
      visit(path, field);
      if (field.fields) walk(field.fields, path);
    }
  };
  walk(collection.fields, '');
}

function buildNodes(datasets: DatasetOfConnection[]): Map<CollectionKey, Node> {
  const nodes = new Map<CollectionKey, Node>();
  const seen = new Map<string, string>();
  for (const { connectionKey, dataset } of datasets) {
    const other = seen.get(dataset.fides_key);
    if (other !== undefined) {
      throw new PlanningError('duplicate_dataset', `Dataset ${dataset.fides_key} is configured twice (connections ${other} and ${connectionKey})`);
    }
    seen.set(dataset.fides_key, connectionKey);
    for (const collection of dataset.collections) {
      if (collection.fides_meta?.skip_processing) continue;
      const key = collectionKey(dataset.fides_key, collection.name);
      nodes.set(key, { key, dataset, collection, connectionKey });
    }
  }
  return nodes;
}

function buildEdges(nodes: Map<CollectionKey, Node>, identities: ReadonlySet<string>, skipped: ReadonlySet<CollectionKey>): Edge[] {
  const edges: Edge[] = [];
  for (const node of nodes.values()) {
    eachField(node.collection, (path, field) => {
      const meta = field.fides_meta;
      if (meta?.identity && identities.has(meta.identity)) {
        edges.push({ from: ROOT, fromField: meta.identity, to: node.key, toField: path, directed: true });
      }
      for (const reference of meta?.references ?? []) {
        const [collectionName, ...fieldPath] = reference.field.split('.');
        const target = collectionKey(reference.dataset, collectionName!);
        if (skipped.has(target)) continue;
        const targetNode = nodes.get(target);
        if (!targetNode || !findField(targetNode.collection, fieldPath)) {
          throw new PlanningError(
            'unknown_reference',
            `Collection ${node.key} field ${path} references ${reference.dataset}.${reference.field}, which is not in any configured dataset`,
            [node.key],
          );
        }
        const targetField = fieldPath.join('.');
        if (reference.direction === 'from') {
          edges.push({ from: target, fromField: targetField, to: node.key, toField: path, directed: true });
        } else if (reference.direction === 'to') {
          edges.push({ from: node.key, fromField: path, to: target, toField: targetField, directed: true });
        } else {
          edges.push({ from: node.key, fromField: path, to: target, toField: targetField, directed: false });
        }
      }
    });
  }
  return edges;
}

/** Breadth-first distance from the identities, following directed edges forward and undirected ones either way. */
function depths(edges: Edge[]): Map<string, number> {
  const next = new Map<string, string[]>();
  const add = (from: string, to: string) => {
    const list = next.get(from);
    if (list) list.push(to);
    else next.set(from, [to]);
  };
  for (const edge of edges) {
    add(edge.from, edge.to);
    if (!edge.directed) add(edge.to, edge.from);
  }
  const depth = new Map<string, number>([[ROOT, 0]]);
  const queue = [ROOT];
  for (let i = 0; i < queue.length; i += 1) {
    const current = queue[i]!;
    for (const neighbour of next.get(current) ?? []) {
      if (!depth.has(neighbour)) {
        depth.set(neighbour, depth.get(current)! + 1);
        queue.push(neighbour);
      }
    }
  }
  return depth;
}

/**
 * Gives every undirected edge the direction of the traversal: from the side that runs first.
 *
 * "Runs first" has to respect what collections wait for (directed edges and `after`), not only the
 * distance from the identities: orienting by distance alone can point an edge against a wait and
 * report a cycle the datasets do not have (two collections both seeded from the email, `a` after
 * `b`, and a reference without a direction between them: by distance, then key, it flowed `a -> b`,
 * so `b` waited for `a` and `a` for `b`; `b -> a` plans fine). So the traversal runs in waves: a
 * collection joins a wave once it can be given values (it is seeded, or a collection that already
 * ran can feed it) and everything it waits for ran in an earlier wave. An undirected edge then
 * flows from the earlier wave to the later one, and within a wave from the smaller key (as before).
 * Every edge goes forward in (wave, key) order, so orienting adds no cycle. Collections the waves
 * never reach wait, in the end, for each other; their edges keep the distance order, which makes
 * that cycle show when the plan is ordered.
 */
function orient(edges: Edge[], after: Map<CollectionKey, Set<CollectionKey>>, depth: Map<string, number>): Edge[] {
  const waitsFor = new Map<string, Set<string>>();
  for (const [key, ups] of after) for (const up of ups) addTo(waitsFor, key, up);
  const feeds = new Map<string, string[]>();
  const feed = (from: string, to: string) => {
    const list = feeds.get(from);
    if (list) list.push(to);
    else feeds.set(from, [to]);
  };
  for (const edge of edges) {
    feed(edge.from, edge.to);
    if (!edge.directed) feed(edge.to, edge.from);
    else if (edge.from !== ROOT) addTo(waitsFor, edge.to, edge.from);
  }
  const waiting = new Map<string, number>();
  const waiters = new Map<string, string[]>();
  for (const [key, ups] of waitsFor) {
    waiting.set(key, ups.size);
    for (const up of ups) {
      const list = waiters.get(up);
      if (list) list.push(key);
      else waiters.set(up, [key]);
    }
  }
  const wave = new Map<string, number>([[ROOT, 0]]);
  const fed = new Set<string>();
  for (let current = [ROOT], level = 1; current.length; level += 1) {
    const candidates = new Set<string>();
    for (const done of current) {
      for (const next of feeds.get(done) ?? []) {
        fed.add(next);
        candidates.add(next);
      }
      for (const waiter of waiters.get(done) ?? []) {
        waiting.set(waiter, waiting.get(waiter)! - 1);
        candidates.add(waiter);
      }
    }
    current = [...candidates].filter((key) => !wave.has(key) && fed.has(key) && !waiting.get(key));
    for (const key of current) wave.set(key, level);
  }
  return edges.map((edge): Edge => {
    if (edge.directed) return edge;
    const a = wave.get(edge.from);
    const b = wave.get(edge.to);
    const [first, second] = a === undefined && b === undefined ? [depth.get(edge.from) ?? Infinity, depth.get(edge.to) ?? Infinity] : [a ?? Infinity, b ?? Infinity];
    const forward = first < second || (first === second && byString(edge.from, edge.to) <= 0);
    return forward
      ? { ...edge, directed: true }
      : { from: edge.to, fromField: edge.toField, to: edge.from, toField: edge.fromField, directed: true };
  });
}

/**
 * Kahn's algorithm, always taking the smallest ready key, so the order is deterministic.
 * Returns the order and the layers, or the keys that sit on a cycle.
 */
function topologicalLayers(keys: CollectionKey[], upstream: Map<CollectionKey, Set<CollectionKey>>): { order: CollectionKey[]; layers: CollectionKey[][]; cyclic: CollectionKey[] } {
  const remaining = new Map(keys.map((key) => [key, upstream.get(key)?.size ?? 0]));
  const downstream = new Map<CollectionKey, CollectionKey[]>();
  for (const [key, ups] of upstream) {
    for (const up of ups) {
      const list = downstream.get(up);
      if (list) list.push(key);
      else downstream.set(up, [key]);
    }
  }
  const order: CollectionKey[] = [];
  const layers: CollectionKey[][] = [];
  let ready = keys.filter((key) => remaining.get(key) === 0).sort(byString);
  while (ready.length) {
    layers.push(ready);
    order.push(...ready);
    const nextReady: CollectionKey[] = [];
    for (const key of ready) {
      for (const down of downstream.get(key) ?? []) {
        const left = remaining.get(down)! - 1;
        remaining.set(down, left);
        if (left === 0) nextReady.push(down);
      }
    }
    ready = nextReady.sort(byString);
  }
  const placed = new Set(order);
  const unplaced = keys.filter((key) => !placed.has(key));
  return { order, layers, cyclic: cycleMembers(unplaced, upstream) };
}

/** Of the keys that could not be ordered, those that lie on a cycle (the rest only wait for one). */
function cycleMembers(unplaced: CollectionKey[], upstream: Map<CollectionKey, Set<CollectionKey>>): CollectionKey[] {
  if (!unplaced.length) return [];
  const candidates = new Set(unplaced);
  // Tarjan's strongly connected components, iterative over the upstream relation.
  let index = 0;
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const members: string[] = [];
  for (const start of [...candidates].sort(byString)) {
    if (indices.has(start)) continue;
    const work: { key: string; next: string[] }[] = [];
    const open = (key: string) => {
      indices.set(key, index);
      lowlink.set(key, index);
      index += 1;
      stack.push(key);
      onStack.add(key);
      work.push({ key, next: [...(upstream.get(key) ?? [])].filter((up) => candidates.has(up)) });
    };
    open(start);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const up = frame.next.pop();
      if (up !== undefined) {
        if (!indices.has(up)) open(up);
        else if (onStack.has(up)) lowlink.set(frame.key, Math.min(lowlink.get(frame.key)!, indices.get(up)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) lowlink.set(parent.key, Math.min(lowlink.get(parent.key)!, lowlink.get(frame.key)!));
      if (lowlink.get(frame.key) === indices.get(frame.key)) {
        const component: string[] = [];
        let popped: string;
        do {
          popped = stack.pop()!;
          onStack.delete(popped);
          component.push(popped);
        } while (popped !== frame.key);
        const selfLoop = upstream.get(frame.key)?.has(frame.key) ?? false;
        if (component.length > 1 || selfLoop) members.push(...component);
      }
    }
  }
  return members.sort(byString);
}

function addTo(map: Map<CollectionKey, Set<CollectionKey>>, key: CollectionKey, value: CollectionKey) {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

/** `dataset.collection` (fideslang's notation in `after`) to a collection key. */
function afterKey(address: string): CollectionKey {
  const at = address.lastIndexOf('.');
  return collectionKey(address.slice(0, at), address.slice(at + 1));
}

export interface PlanInputs {
  datasets: DatasetOfConnection[];
  /** The identity names the privacy request carries (email, phone_number, custom keys); never their values. */
  identities: string[];
}

export function planTraversal({ datasets, identities }: PlanInputs): TraversalPlan {
  const skipped = new Set(
    datasets.flatMap(({ dataset }) =>
      dataset.collections.filter((collection) => collection.fides_meta?.skip_processing).map((collection) => collectionKey(dataset.fides_key, collection.name)),
    ),
  );
  const nodes = buildNodes(datasets);
  if (nodes.size === 0) throw new PlanningError('no_collections', 'There are no collections to visit: configure a dataset first');
  const unoriented = buildEdges(nodes, new Set(identities), skipped);

  // Reachability from the identities: along directed edges, and either way along undirected ones.
  const depth = depths(unoriented);
  const unreachable = [...nodes.keys()].filter((key) => !depth.has(key)).sort(byString);
  if (unreachable.length) {
    const given = identities.length ? [...identities].sort(byString).join(', ') : 'none';
    throw new PlanningError(
      'unreachable',
      `These collections cannot be reached from the identities given (${given}): ${unreachable.join(', ')}`,
      unreachable,
    );
  }

  // `after` (collection and dataset level): ordering without data.
  const keys = [...nodes.keys()].sort(byString);
  // Grouped once: filtering every key for every collection with a dataset-level `after` was
  // quadratic (a third of the time for 5,000 collections, see BENCHMARKS.md).
  const datasetKeys = new Map<string, CollectionKey[]>();
  for (const key of keys) {
    const { dataset } = splitCollectionKey(key);
    const list = datasetKeys.get(dataset);
    if (list) list.push(key);
    else datasetKeys.set(dataset, [key]);
  }
  const keysOfDataset = (fidesKey: string) => datasetKeys.get(fidesKey) ?? [];
  const after = new Map<CollectionKey, Set<CollectionKey>>();
  for (const node of nodes.values()) {
    for (const address of node.collection.fides_meta?.after ?? []) {
      const before = afterKey(address);
      if (nodes.has(before)) addTo(after, node.key, before);
      else if (!skipped.has(before)) {
        throw new PlanningError('unknown_reference', `Collection ${node.key} must run after ${address}, which is not in any configured dataset`, [node.key]);
      }
    }
    for (const fidesKey of node.dataset.fides_meta?.after ?? []) {
      for (const before of keysOfDataset(fidesKey)) addTo(after, node.key, before);
    }
  }

  // Access dependencies: data edges plus `after`.
  const edges = orient(unoriented, after, depth);
  const upstream = new Map<CollectionKey, Set<CollectionKey>>(keys.map((key) => [key, new Set(after.get(key))]));
  const inputs = new Map<CollectionKey, PlanInput[]>(keys.map((key) => [key, []]));
  for (const edge of edges) {
    if (edge.from !== ROOT) addTo(upstream, edge.to, edge.from);
    inputs.get(edge.to)!.push({
      field: edge.toField,
      from: edge.from === ROOT ? { identity: edge.fromField } : { collection: edge.from, field: edge.fromField },
    });
  }
  const access = topologicalLayers(keys, upstream);
  if (access.cyclic.length) {
    throw new PlanningError('cycle', `These collections wait for each other in a cycle: ${access.cyclic.join(', ')}`, access.cyclic);
  }

  // Erasure dependencies: `erase_after`, and rows that reference another collection are erased
  // before the rows they reference (so deletions respect foreign keys).
  const erasureUpstream = new Map<CollectionKey, Set<CollectionKey>>(keys.map((key) => [key, new Set()]));
  for (const node of nodes.values()) {
    for (const address of node.collection.fides_meta?.erase_after ?? []) {
      const after = afterKey(address);
      if (nodes.has(after)) addTo(erasureUpstream, node.key, after);
      else if (!skipped.has(after)) {
        throw new PlanningError('unknown_reference', `Collection ${node.key} must be erased after ${address}, which is not in any configured dataset`, [node.key]);
      }
    }
    eachField(node.collection, (_path, field) => {
      for (const reference of field.fides_meta?.references ?? []) {
        const target = collectionKey(reference.dataset, reference.field.split('.')[0]!);
        if (target !== node.key && nodes.has(target)) addTo(erasureUpstream, target, node.key);
      }
    });
  }
  const erasure = topologicalLayers(keys, erasureUpstream);
  if (erasure.cyclic.length) {
    throw new PlanningError(
      'erasure_cycle',
      `The erasure order has a cycle (erase_after and references): ${erasure.cyclic.join(', ')}`,
      erasure.cyclic,
    );
  }

  return {
    collections: access.order.map((key) => {
      const node = nodes.get(key)!;
      return {
        key,
        dataset: node.dataset.fides_key,
        collection: node.collection.name,
        connectionKey: node.connectionKey,
        upstream: [...upstream.get(key)!].sort(byString),
        inputs: inputs.get(key)!,
        erasureUpstream: [...erasureUpstream.get(key)!].sort(byString),
      };
    }),
    stages: access.layers,
    erasureStages: erasure.layers,
  };
}
