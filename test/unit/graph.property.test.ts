/**
 * Property tests for the traversal planner: random dataset sets, with the expected outcome worked
 * out here, independently of the planner, from the rules its module comment states:
 *
 * - a collection is reached from the identities given through its identity fields, then along
 *   references: `from` carries values from the referenced collection into the referencing one,
 *   `to` the other way, a reference without a direction either way; skipped collections
 *   (`skip_processing`) are not visited and references to them are ignored;
 * - a collection waits for every collection a directed reference brings values from, for its
 *   `after` collections and for every collection of its dataset's `after` datasets, and it needs
 *   its values from the identities or from a collection that runs before it. A reference without
 *   a direction brings values from whichever side runs first; a reference of a collection to
 *   itself makes it wait for itself;
 * - erasure: `erase_after`, and a collection that references another is erased before it.
 *
 * So a plan exists when every collection is reachable and repeatedly running any collection whose
 * conditions hold runs them all (running one never blocks another, so the choice does not matter).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDatasets, type Dataset } from '../../src/domain/datasets.js';
import { planTraversal, PlanningError, type TraversalPlan } from '../../src/domain/graph.js';

const IDENTITIES = ['email', 'phone_number', 'loyalty_id'] as const;
type Direction = 'from' | 'to' | 'none' | undefined;

interface ReferenceSpec {
  /** Collection the reference is declared on, and the collection it names (global indexes). */
  from: number;
  to: number;
  direction: Direction;
  /** `id`, or the nested `info.code`. */
  targetField: 'id' | 'info.code';
  /** Declared on a field nested under `links` rather than at the top level. */
  nested: boolean;
}

interface Spec {
  /** Collections per dataset. */
  sizes: number[];
  identityFields: (readonly string[])[];
  skipped: boolean[];
  references: ReferenceSpec[];
  /** `[collection, collection it runs after]`, never itself. */
  after: [number, number][];
  eraseAfter: [number, number][];
  /** `[dataset, dataset it runs after]`. */
  datasetAfter: [number, number][];
  /** The identity names the request carries. */
  given: string[];
  /** Writes `fidesops_meta` instead of `fides_meta` on these collections' fields. */
  legacyMeta: boolean[];
}

/** Dataset keys may hold dots: `after` addresses are `dataset.collection`. */
const datasetKey = (d: number) => ['ds0', 'ds_1', 'shop.eu'][d]!;
const collectionName = (c: number) => `c${c}`;

function layout(sizes: number[]) {
  const collections: { dataset: number; name: string; key: string }[] = [];
  sizes.forEach((size, d) => {
    for (let i = 0; i < size; i += 1) {
      const name = collectionName(collections.length);
      collections.push({ dataset: d, name, key: `${datasetKey(d)}:${name}` });
    }
  });
  return collections;
}

const weightedBoolean = (oneIn: number) => fc.integer({ min: 1, max: oneIn }).map((n) => n === 1);

function specArbitrary(options: { maxDatasets?: number; maxCollections?: number } = {}): fc.Arbitrary<Spec> {
  return fc
    .array(fc.integer({ min: 1, max: options.maxCollections ?? 4 }), { minLength: 1, maxLength: options.maxDatasets ?? 3 })
    .chain((sizes) => {
      const total = sizes.reduce((a, b) => a + b, 0);
      const collection = fc.integer({ min: 0, max: total - 1 });
      // Up to two pairs of different collections (a collection never runs after itself: the parser refuses that).
      const pairs =
        total > 1
          ? fc.array(
              fc.tuple(collection, fc.integer({ min: 1, max: total - 1 })).map(([a, step]): [number, number] => [a, (a + step) % total]),
              { maxLength: 2 },
            )
          : fc.constant<[number, number][]>([]);
      const dataset = fc.integer({ min: 0, max: sizes.length - 1 });
      return fc.record({
        sizes: fc.constant(sizes),
        identityFields: fc.array(
          fc.oneof({ weight: 1, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.subarray([...IDENTITIES], { minLength: 1 }) }),
          { minLength: total, maxLength: total },
        ),
        skipped: fc.array(weightedBoolean(8), { minLength: total, maxLength: total }),
        references: fc.array(
          fc.record({
            from: collection,
            to: collection,
            direction: fc.constantFrom<Direction>('from', 'to', 'none', undefined),
            targetField: fc.constantFrom('id' as const, 'info.code' as const),
            nested: weightedBoolean(4),
          }),
          { minLength: Math.floor(total / 2), maxLength: 2 * total },
        ),
        after: pairs,
        eraseAfter: pairs,
        datasetAfter: fc.array(fc.tuple(dataset, dataset), { maxLength: sizes.length > 1 ? 1 : 0 }),
        given: fc.oneof({ weight: 2, arbitrary: fc.constant<string[]>([...IDENTITIES]) }, { weight: 3, arbitrary: fc.subarray<string>([...IDENTITIES]) }),
        legacyMeta: fc.array(weightedBoolean(4), { minLength: total, maxLength: total }),
      }).chain((spec) =>
        fc
          .tuple(
            fc.constantFrom<Shape>('random', 'ordered', 'ordered', 'access_ordered'),
            fc.shuffledSubarray([...Array(total).keys()], { minLength: total, maxLength: total }),
            fc.shuffledSubarray([...Array(total).keys()], { minLength: total, maxLength: total }),
          )
          .map(([shape, accessOrder, erasureOrder]) => shaped(spec, shape, accessOrder, erasureOrder)),
      );
    });
}

/**
 * Wholly random specs are nearly always unreachable or cyclic. `ordered` ones follow two random
 * orders, one for access (values flow, and `after` waits, from earlier to later) and one for
 * erasure (references are declared on the earlier collection, `erase_after` names an earlier
 * one), and seed every collection no value flows into: mostly plannable, except where skipped
 * collections cut the graph. `access_ordered` keeps the erasure side random: erasure cycles.
 */
type Shape = 'random' | 'ordered' | 'access_ordered';

function shaped(spec: Spec, shape: Shape, accessOrder: number[], erasureOrder: number[]): Spec {
  if (shape === 'random') return spec;
  const accessRank = new Map(accessOrder.map((c, i) => [c, i]));
  const erasureRank = new Map(erasureOrder.map((c, i) => [c, i]));
  const inOrder = ([a, b]: [number, number], rank: Map<number, number>): [number, number] => (rank.get(a)! > rank.get(b)! ? [a, b] : [b, a]);
  const references = spec.references
    .filter((reference) => reference.from !== reference.to)
    .map((reference): ReferenceSpec => {
      // The collection declaring a reference is erased before the one it names.
      const [named, declaredOn] = shape === 'ordered' ? inOrder([reference.from, reference.to], erasureRank) : [reference.to, reference.from];
      if (reference.direction === undefined || reference.direction === 'none') return { ...reference, from: declaredOn, to: named };
      // `to`: values flow from the collection declaring the reference to the one it names.
      const direction = accessRank.get(declaredOn)! < accessRank.get(named)! ? 'to' : 'from';
      return { ...reference, from: declaredOn, to: named, direction };
    });
  const fedFromElsewhere = new Set(
    references.filter((r) => r.direction === 'from' || r.direction === 'to').map((r) => (r.direction === 'from' ? r.from : r.to)),
  );
  return {
    ...spec,
    references,
    after: spec.after.map((pair) => inOrder(pair, accessRank)),
    eraseAfter: shape === 'ordered' ? spec.eraseAfter.map((pair) => inOrder(pair, erasureRank)) : spec.eraseAfter,
    datasetAfter: [],
    identityFields: spec.identityFields.map((fields, c) => (fedFromElsewhere.has(c) || fields.includes('email') ? fields : [...fields, 'email'])),
    given: spec.given.includes('email') ? spec.given : [...spec.given, 'email'],
  };
}

/** The fideslang document the spec describes (before parsing), in declaration order. */
function documentOf(spec: Spec) {
  const collections = layout(spec.sizes);
  const referenceFields = collections.map(() => ({ top: [] as object[], nested: [] as object[] }));
  spec.references.forEach((reference, r) => {
    const target = collections[reference.to]!;
    const meta = {
      references: [
        {
          dataset: datasetKey(target.dataset),
          field: `${target.name}.${reference.targetField}`,
          ...(reference.direction ? { direction: reference.direction } : {}),
        },
      ],
    };
    const metaKey = spec.legacyMeta[reference.from] ? 'fidesops_meta' : 'fides_meta';
    const field = { name: `ref${r}`, [metaKey]: meta };
    referenceFields[reference.from]![reference.nested ? 'nested' : 'top'].push(field);
  });
  return {
    dataset: spec.sizes.map((_, d) => {
      const datasetAfter = spec.datasetAfter.filter(([from]) => from === d).map(([, to]) => datasetKey(to));
      return {
        fides_key: datasetKey(d),
        ...(datasetAfter.length ? { fides_meta: { after: datasetAfter } } : {}),
        collections: collections.flatMap((collection, c) => {
          if (collection.dataset !== d) return [];
          const metaKey = spec.legacyMeta[c] ? 'fidesops_meta' : 'fides_meta';
          const after = spec.after.filter(([from]) => from === c).map(([, to]) => `${datasetKey(collections[to]!.dataset)}.${collections[to]!.name}`);
          const eraseAfter = spec.eraseAfter.filter(([from]) => from === c).map(([, to]) => `${datasetKey(collections[to]!.dataset)}.${collections[to]!.name}`);
          const collectionMeta = {
            ...(after.length ? { after } : {}),
            ...(eraseAfter.length ? { erase_after: eraseAfter } : {}),
            ...(spec.skipped[c] ? { skip_processing: true } : {}),
          };
          const { top, nested } = referenceFields[c]!;
          return [
            {
              name: collection.name,
              ...(Object.keys(collectionMeta).length ? { [metaKey]: collectionMeta } : {}),
              fields: [
                { name: 'id', [metaKey]: { primary_key: true, data_type: 'integer' } },
                { name: 'info', fields: [{ name: 'code', data_categories: ['system.operations'] }] },
                ...spec.identityFields[c]!.map((identity) => ({ name: `${identity}_field`, [metaKey]: { identity, data_type: 'string' } })),
                ...top,
                ...(nested.length ? [{ name: 'links', fields: nested }] : []),
              ],
            },
          ];
        }),
      };
    }),
  };
}

/** A small deterministic generator, so a shuffle is part of the counterexample fast-check prints. */
function shuffler(seed: number) {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return <T>(items: T[]): T[] => {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  };
}

/** The same document with datasets, collections and fields (nested ones too) in another order. */
function shuffled<T>(document: T, seed: number): T {
  const shuffle = shuffler(seed);
  const fields = (list: { fields?: unknown[] }[]): object[] =>
    shuffle(list).map((field) => (field.fields ? { ...field, fields: fields(field.fields as { fields?: unknown[] }[]) } : field));
  const { dataset } = document as unknown as { dataset: { collections: { fields: { fields?: unknown[] }[] }[] }[] };
  return {
    dataset: shuffle(dataset).map((d) => ({ ...d, collections: shuffle(d.collections).map((c) => ({ ...c, fields: fields(c.fields) })) })),
  } as T;
}

function parse(document: unknown): Dataset[] {
  return parseDatasets(document);
}

function plan(datasets: Dataset[], given: string[]): TraversalPlan | PlanningError {
  try {
    return planTraversal({ datasets: datasets.map((dataset) => ({ connectionKey: `conn_${dataset.fides_key}`, dataset })), identities: given });
  } catch (error) {
    if (error instanceof PlanningError) return error;
    throw error;
  }
}

/** Members of a cycle in a directed graph given as `node -> nodes it comes after`: those that come after themselves. */
function onCycles(nodes: string[], before: Map<string, Set<string>>): string[] {
  return nodes
    .filter((start) => {
      const seen = new Set<string>();
      const stack = [...(before.get(start) ?? [])];
      while (stack.length) {
        const node = stack.pop()!;
        if (node === start) return true;
        if (seen.has(node)) continue;
        seen.add(node);
        stack.push(...(before.get(node) ?? []));
      }
      return false;
    })
    .sort();
}

const add = (map: Map<string, Set<string>>, key: string, value: string) => {
  if (!map.has(key)) map.set(key, new Set());
  map.get(key)!.add(value);
};

/** What the planner must answer, worked out from the spec alone. */
function expectationOf(spec: Spec) {
  const collections = layout(spec.sizes);
  const given = new Set(spec.given);
  const nodes = collections.filter((_, c) => !spec.skipped[c]).map((collection) => collection.key);
  const isNode = (c: number) => !spec.skipped[c];
  const seeded = new Set(collections.filter((_, c) => isNode(c) && spec.identityFields[c]!.some((identity) => given.has(identity))).map((c) => c.key));

  // Values flow along `feeds` (from -> to); `waitsFor` says what must run first.
  const feeds = new Map<string, Set<string>>();
  const waitsFor = new Map<string, Set<string>>();
  const undirected: [string, string][] = [];
  const erasedBefore = new Map<string, Set<string>>(); // key -> collections erased before it
  for (const reference of spec.references) {
    if (!isNode(reference.from) || !isNode(reference.to)) continue;
    const self = collections[reference.from]!.key;
    const other = collections[reference.to]!.key;
    if (reference.direction === 'from') {
      add(feeds, other, self);
      add(waitsFor, self, other);
    } else if (reference.direction === 'to') {
      add(feeds, self, other);
      add(waitsFor, other, self);
    } else {
      add(feeds, self, other);
      add(feeds, other, self);
      if (self === other) add(waitsFor, self, self);
      else undirected.push([self, other]);
    }
    if (self !== other) add(erasedBefore, other, self);
  }
  for (const [c, after] of spec.after) if (isNode(c) && isNode(after)) add(waitsFor, collections[c]!.key, collections[after]!.key);
  for (const [d, afterDataset] of spec.datasetAfter) {
    for (const [c, collection] of collections.entries()) {
      if (collection.dataset !== d || !isNode(c)) continue;
      for (const [o, other] of collections.entries()) if (other.dataset === afterDataset && isNode(o)) add(waitsFor, collection.key, other.key);
    }
  }
  for (const [c, after] of spec.eraseAfter) if (isNode(c) && isNode(after)) add(erasedBefore, collections[c]!.key, collections[after]!.key);

  // Reachability: from the seeded collections along `feeds`.
  const reached = new Set(seeded);
  const queue = [...seeded];
  while (queue.length) for (const next of feeds.get(queue.shift()!) ?? []) if (!reached.has(next)) (reached.add(next), queue.push(next));
  const unreachable = nodes.filter((key) => !reached.has(key)).sort();

  // A plan exists when running whatever can run eventually runs everything.
  const ran = new Set<string>();
  for (let progress = true; progress; ) {
    progress = false;
    for (const key of nodes) {
      if (ran.has(key)) continue;
      const waits = [...(waitsFor.get(key) ?? [])].every((up) => ran.has(up));
      const fed = seeded.has(key) || [...ran].some((up) => feeds.get(up)?.has(key));
      if (waits && fed) {
        ran.add(key);
        progress = true;
      }
    }
  }
  const stuck = nodes.filter((key) => !ran.has(key)).sort();
  return {
    nodes: nodes.sort(),
    seeded,
    unreachable,
    stuck,
    waitCycles: onCycles(nodes, waitsFor),
    waitsFor,
    undirected,
    erasedBefore,
    erasureCycles: onCycles(nodes, erasedBefore),
  };
}

/** Runs per property; `PROPERTY_RUNS=20000 npx vitest run test/unit/graph.property.test.ts` searches harder. */
const PROPERTY_RUNS = Number(process.env.PROPERTY_RUNS ?? 400);

describe('planner properties on random dataset sets', () => {
  it('generated datasets are valid fideslang', () => {
    fc.assert(
      fc.property(specArbitrary(), (spec) => {
        expect(() => parse(documentOf(spec))).not.toThrow();
      }),
      { numRuns: 100 },
    );
  });

  it('refuses exactly what cannot be planned, with the right kind and collections, and plans the rest', () => {
    const outcomes = { planned: 0, unreachable: 0, cycle: 0, erasure_cycle: 0 };
    fc.assert(
      fc.property(specArbitrary(), (spec) => {
        const expected = expectationOf(spec);
        const result = plan(parse(documentOf(spec)), spec.given);
        if (expected.nodes.length === 0) {
          expect(result).toBeInstanceOf(PlanningError);
          expect((result as PlanningError).kind).toBe('no_collections');
          return;
        }
        if (expected.unreachable.length) {
          outcomes.unreachable += 1;
          expect(result).toBeInstanceOf(PlanningError);
          expect((result as PlanningError).kind).toBe('unreachable');
          expect((result as PlanningError).collections).toEqual(expected.unreachable);
          return;
        }
        if (expected.stuck.length) {
          outcomes.cycle += 1;
          expect(result).toBeInstanceOf(PlanningError);
          const error = result as PlanningError;
          expect(error.kind).toBe('cycle');
          // Every collection on a cycle of waits is named, and only collections that cannot run are.
          expect(error.collections).toEqual(expect.arrayContaining(expected.waitCycles));
          expect(error.collections.length).toBeGreaterThan(0);
          for (const key of error.collections) expect(expected.stuck).toContain(key);
          return;
        }
        if (expected.erasureCycles.length) {
          outcomes.erasure_cycle += 1;
          expect(result).toBeInstanceOf(PlanningError);
          expect((result as PlanningError).kind).toBe('erasure_cycle');
          expect((result as PlanningError).collections).toEqual(expected.erasureCycles);
          return;
        }
        outcomes.planned += 1;
        if (result instanceof PlanningError) throw new Error(`unexpected ${result.kind}: ${result.message}`);
        checkPlan(spec, expected, result);
      }),
      { numRuns: PROPERTY_RUNS },
    );
    // The generator must exercise every outcome, or the properties above prove little.
    for (const [outcome, count] of Object.entries(outcomes)) expect(count, outcome).toBeGreaterThanOrEqual(PROPERTY_RUNS / 100);
  });

  it('gives the same plan for the same input, whatever the order of datasets, collections, fields and identities', () => {
    fc.assert(
      fc.property(specArbitrary(), fc.integer(), (spec, seed) => {
        const document = documentOf(spec);
        const first = plan(parse(document), spec.given);
        const again = plan(parse(structuredClone(document)), [...spec.given]);
        expect(again).toEqual(first);
        const reordered = plan(parse(shuffled(document, seed)), shuffler(seed)(spec.given));
        if (first instanceof PlanningError) {
          expect(reordered).toBeInstanceOf(PlanningError);
          expect({ kind: (reordered as PlanningError).kind, collections: (reordered as PlanningError).collections, message: (reordered as PlanningError).message }).toEqual({
            kind: first.kind,
            collections: first.collections,
            message: first.message,
          });
          return;
        }
        if (reordered instanceof PlanningError) throw new Error(`reordering made planning fail: ${reordered.message}`);
        expect(reordered.stages).toEqual(first.stages);
        expect(reordered.erasureStages).toEqual(first.erasureStages);
        expect(normalised(reordered)).toEqual(normalised(first));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('rejects cycles in after, in directed references and in erase_after, naming their members', () => {
    const cycleArbitrary = specArbitrary({ maxDatasets: 3, maxCollections: 4 })
      .filter((spec) => spec.sizes.reduce((a, b) => a + b, 0) >= 2)
      .chain((spec) => {
        const total = spec.sizes.reduce((a, b) => a + b, 0);
        return fc.record({
          spec: fc.constant(spec),
          members: fc.shuffledSubarray([...Array(total).keys()], { minLength: 2 }),
          through: fc.constantFrom('after' as const, 'references' as const, 'erase_after' as const),
          declaredOn: fc.array(fc.constantFrom('from' as const, 'to' as const), { minLength: total, maxLength: total }),
        });
      });
    fc.assert(
      fc.property(cycleArbitrary, ({ spec: base, members, through, declaredOn }) => {
        // Every collection is seeded and processed; besides the cycle only references without a
        // direction between different collections, which never make a collection wait.
        const spec: Spec = {
          ...base,
          identityFields: base.identityFields.map(() => ['email']),
          given: ['email'],
          skipped: base.skipped.map(() => false),
          references: base.references.filter((r) => r.from !== r.to).map((r) => ({ ...r, direction: undefined })),
          after: [],
          eraseAfter: [],
          datasetAfter: [],
        };
        // members[i] waits for (or is erased after) members[i + 1], and the last for the first.
        const cycle = members.map((member, i) => [member, members[(i + 1) % members.length]!] as [number, number]);
        if (through === 'after') spec.after = cycle;
        if (through === 'erase_after') spec.eraseAfter = cycle;
        if (through === 'references') {
          spec.references = [
            ...spec.references,
            ...cycle.map(([waiting, first], i): ReferenceSpec =>
              // Values flow from `first` into `waiting`: declared on `waiting` as `from`, or on `first` as `to`.
              declaredOn[i] === 'from'
                ? { from: waiting, to: first, direction: 'from', targetField: 'id', nested: false }
                : { from: first, to: waiting, direction: 'to', targetField: 'info.code', nested: true },
            ),
          ];
        }
        const result = plan(parse(documentOf(spec)), spec.given);
        expect(result).toBeInstanceOf(PlanningError);
        const error = result as PlanningError;
        expect(error.kind).toBe(through === 'erase_after' ? 'erasure_cycle' : 'cycle');
        const keys = layout(spec.sizes);
        expect(error.collections).toEqual(expect.arrayContaining(members.map((m) => keys[m]!.key)));
      }),
      { numRuns: Math.ceil(PROPERTY_RUNS * 0.75) },
    );
  });

  it('throws nothing but PlanningError for valid datasets, whatever the identities', () => {
    fc.assert(
      fc.property(specArbitrary({ maxDatasets: 3, maxCollections: 6 }), fc.array(fc.constantFrom(...IDENTITIES, 'custom_id')), (spec, given) => {
        const result = plan(parse(documentOf(spec)), given);
        if (!(result instanceof PlanningError)) expect(result.stages.flat().length).toBeGreaterThan(0);
      }),
      { numRuns: Math.ceil(PROPERTY_RUNS * 0.75) },
    );
  });
});

/** Per collection: its upstream sets and its inputs as a set. */
function normalised(plan: TraversalPlan) {
  return Object.fromEntries(
    plan.collections.map((collection) => [
      collection.key,
      {
        connectionKey: collection.connectionKey,
        upstream: [...collection.upstream].sort(),
        erasureUpstream: [...collection.erasureUpstream].sort(),
        inputs: collection.inputs.map((input) => JSON.stringify(input)).sort(),
      },
    ]),
  );
}

function checkPlan(spec: Spec, expected: ReturnType<typeof expectationOf>, plan: TraversalPlan) {
  // Every collection exactly once, in `collections`, in `stages` and in `erasureStages`.
  const keys = plan.collections.map((collection) => collection.key);
  expect([...keys].sort()).toEqual(expected.nodes);
  expect([...plan.stages.flat()].sort()).toEqual(expected.nodes);
  expect([...plan.erasureStages.flat()].sort()).toEqual(expected.nodes);
  expect(keys).toEqual(plan.stages.flat());
  for (const stage of [...plan.stages, ...plan.erasureStages]) expect(stage.length).toBeGreaterThan(0);

  const stageOf = new Map(plan.stages.flatMap((stage, i) => stage.map((key) => [key, i] as const)));
  const erasureStageOf = new Map(plan.erasureStages.flatMap((stage, i) => stage.map((key) => [key, i] as const)));
  const collections = layout(spec.sizes);
  const byKey = new Map(plan.collections.map((collection) => [collection.key, collection]));
  for (const collection of plan.collections) {
    // Strictly after everything upstream, for access and for erasure.
    for (const up of collection.upstream) expect(stageOf.get(up)!).toBeLessThan(stageOf.get(collection.key)!);
    for (const up of collection.erasureUpstream) expect(erasureStageOf.get(up)!).toBeLessThan(erasureStageOf.get(collection.key)!);

    // Upstream: everything it waits for, plus sources of references without a direction, nothing else.
    const waits = expected.waitsFor.get(collection.key) ?? new Set();
    expect(collection.upstream).toEqual(expect.arrayContaining([...waits]));
    const neighbours = new Set(expected.undirected.flatMap(([a, b]) => (a === collection.key ? [b] : b === collection.key ? [a] : [])));
    for (const up of collection.upstream) expect(waits.has(up) || neighbours.has(up)).toBe(true);
    // Erasure upstream: exactly erase_after and the collections that reference this one.
    expect(collection.erasureUpstream).toEqual([...(expected.erasedBefore.get(collection.key) ?? [])].sort());

    // Inputs: the identities given it holds, and values from upstream collections only.
    const index = collections.findIndex((c) => c.key === collection.key);
    const identityInputs = collection.inputs.filter((input) => 'identity' in input.from).map((input) => `${input.field}<-${(input.from as { identity: string }).identity}`);
    expect(identityInputs.sort()).toEqual(
      spec.identityFields[index]!.filter((identity) => spec.given.includes(identity)).map((identity) => `${identity}_field<-${identity}`).sort(),
    );
    expect(collection.inputs.length).toBeGreaterThan(0);
    for (const input of collection.inputs) {
      if ('collection' in input.from) expect(collection.upstream).toContain(input.from.collection);
    }
  }
  // A reference without a direction between two collections is used one way or the other.
  for (const [a, b] of expected.undirected) {
    expect(byKey.get(a)!.upstream.includes(b) || byKey.get(b)!.upstream.includes(a)).toBe(true);
  }
}
