/**
 * Planner benchmark: `planTraversal` on generated dataset graphs of 1,000 and 5,000 collections.
 *
 * The graphs look like a company's systems: datasets of about 50 collections, each with a few hub
 * collections seeded by identities (users by email, accounts by phone number, customers by a
 * custom id) and, here and there, other collections holding an identity too; chains of child
 * tables (`parent_id`, direction `from`); fan-out (many collections referencing a hub); fan-in
 * (joins referencing several earlier collections); references without a direction; lookup tables
 * reached with direction `to`; references across datasets; `after`, `erase_after`,
 * `skip_processing`, nested fields. Everything is reachable and acyclic, so the whole plan is
 * built; the datasets go through the parser first, so they are valid fideslang.
 *
 * The target (issue 4): planning 1,000 collections takes under a second.
 */
import { parseDatasets, type Dataset } from '../src/domain/datasets.js';
import { planTraversal, type DatasetOfConnection } from '../src/domain/graph.js';
import type { Benchmark, BenchmarkResult } from './run.js';

const SIZES = [1_000, 5_000];
const COLLECTIONS_PER_DATASET = 50;
const WARM_UP_RUNS = 5;
const MEASURED_RUNS = 20;
const TARGET = { collections: 1_000, ms: 1_000 };
const IDENTITIES = ['email', 'phone_number', 'customer_id'];

/** mulberry32: the same graphs on every run and machine. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RawField {
  name: string;
  data_categories?: string[];
  fides_meta?: Record<string, unknown>;
  fields?: RawField[];
}
interface RawCollection {
  name: string;
  fides_meta?: Record<string, unknown>;
  fields: RawField[];
}

/** Where a collection sits: `ref` is how other collections address it. */
interface Slot {
  dataset: string;
  name: string;
  raw: RawCollection;
  /** Lookup tables are only reached by `to` references and reference nothing themselves. */
  kind: 'hub' | 'table' | 'lookup' | 'archive';
}

export interface GeneratedGraph {
  datasets: DatasetOfConnection[];
  references: number;
  identitySeeds: number;
}

export function generateGraph(collections: number, seed = 20_240_401): GeneratedGraph {
  const next = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const chance = (p: number) => next() < p;
  const slots: Slot[] = [];
  const documents: { fides_key: string; fides_meta?: Record<string, unknown>; collections: RawCollection[] }[] = [];
  let references = 0;
  let identitySeeds = 0;

  const reference = (from: RawCollection, field: string, to: Slot, toField: string, direction?: 'from' | 'to' | 'none') => {
    from.fields.push({
      name: field,
      data_categories: ['system.operations'],
      fides_meta: { references: [{ dataset: to.dataset, field: `${to.name}.${toField}`, ...(direction ? { direction } : {}) }], data_type: 'integer' },
    });
    references += 1;
  };
  const identity = (collection: RawCollection, name: string) => {
    collection.fields.push({ name: name === 'email' ? 'email' : name, data_categories: ['user.contact'], fides_meta: { identity: name, data_type: 'string' } });
    identitySeeds += 1;
  };

  const datasetCount = Math.ceil(collections / COLLECTIONS_PER_DATASET);
  for (let d = 0; d < datasetCount; d += 1) {
    const fidesKey = `system_${String(d).padStart(3, '0')}`;
    const size = Math.min(COLLECTIONS_PER_DATASET, collections - d * COLLECTIONS_PER_DATASET);
    const document: (typeof documents)[number] = { fides_key: fidesKey, collections: [] };
    if (d > 0 && chance(0.1)) document.fides_meta = { after: [documents[d - 1]!.fides_key] };
    documents.push(document);
    const local: Slot[] = [];
    const hubs: Slot[] = [];
    for (let i = 0; i < size; i += 1) {
      const raw: RawCollection = {
        name: i < 3 ? ['users', 'accounts', 'customers'][i]! : `table_${String(i).padStart(2, '0')}`,
        fields: [
          { name: 'id', data_categories: ['system.operations'], fides_meta: { primary_key: true, data_type: 'integer' } },
          { name: 'created_at', data_categories: ['system.operations'] },
          { name: 'notes', data_categories: ['user.content'], fides_meta: { data_type: 'string', length: 500 } },
        ],
      };
      const earlier = local.filter((slot) => slot.kind === 'hub' || slot.kind === 'table');
      let kind: Slot['kind'] = 'table';
      if (i < 3) {
        kind = 'hub';
        identity(raw, IDENTITIES[i]!);
        // Hubs of one dataset know each other without a direction; the users hub links to the
        // previous dataset's, so the datasets form one graph.
        if (i > 0) reference(raw, 'user_id', local[0]!, 'id');
        if (i === 0 && d > 0) reference(raw, 'upstream_user_id', slots.find((slot) => slot.dataset === documents[d - 1]!.fides_key)!, 'id', 'none');
      } else if (i >= size - 2 && size > 8) {
        // The last two: a lookup table reached from earlier tables, and an archive nobody uses.
        kind = i === size - 1 ? 'archive' : 'lookup';
        if (kind === 'archive') {
          raw.fides_meta = { skip_processing: true };
          reference(raw, 'user_id', local[0]!, 'id', 'from');
        } else {
          raw.fields.push({ name: 'code', data_categories: ['system.operations'] });
          for (const from of [pick(earlier), pick(earlier), pick(earlier)]) reference(from.raw, `${raw.name}_id_${references}`, { dataset: fidesKey, name: raw.name, raw, kind }, 'id', 'to');
        }
      } else {
        const pattern = next();
        if (pattern < 0.35) {
          // Chain: a child of the table just before it (or of a hub).
          reference(raw, 'parent_id', earlier[earlier.length - 1]!, 'id', 'from');
        } else if (pattern < 0.65) {
          // Fan-out: one more collection keyed by a hub.
          reference(raw, 'owner_id', pick(hubs), 'id', 'from');
        } else if (pattern < 0.85) {
          // Fan-in: a join of two or three earlier collections.
          const parents = new Set([pick(earlier), pick(earlier), pick(earlier)]);
          [...parents].forEach((parent, p) => reference(raw, `join_${p}_id`, parent, 'id', p === 0 ? 'from' : undefined));
        } else {
          // A reference without a direction, to an earlier collection or to a hub of another dataset.
          const target = d > 0 && chance(0.3) ? pick(slots.filter((slot) => slot.kind === 'hub' && slot.dataset !== fidesKey)) : pick(earlier);
          reference(raw, 'related_id', target, 'id', chance(0.5) ? 'none' : undefined);
        }
        if (chance(0.08)) identity(raw, pick(IDENTITIES));
        if (chance(0.15)) reference(raw, 'secondary_id', pick(earlier), 'id', 'from');
        if (chance(0.05)) raw.fides_meta = { ...raw.fides_meta, after: [`${fidesKey}.${pick(earlier).name}`] };
        if (chance(0.2)) {
          raw.fields.push({
            name: 'address',
            fides_meta: { data_type: 'object' },
            fields: [
              { name: 'street', data_categories: ['user.contact.address.street'] },
              { name: 'city', data_categories: ['user.contact.address.city'] },
              { name: 'geo', fields: [{ name: 'lat' }, { name: 'lng' }] },
            ],
          });
        }
        if (chance(0.1)) raw.fides_meta = { ...raw.fides_meta, masking_strategy_override: { strategy: 'delete' } };
      }
      const slot: Slot = { dataset: fidesKey, name: raw.name, raw, kind };
      local.push(slot);
      slots.push(slot);
      if (kind === 'hub') hubs.push(slot);
      document.collections.push(raw);
    }
    // erase_after in the erasure order the references imply (a referencing table is erased before
    // the table it references, so later tables first): an earlier table after a later one.
    const tables = local.filter((slot) => slot.kind === 'table');
    for (let k = 0; k + 5 < tables.length; k += 9) {
      const [earlier, later] = [tables[k]!, tables[k + 5]!];
      earlier.raw.fides_meta = { ...earlier.raw.fides_meta, erase_after: [`${fidesKey}.${later.name}`] };
    }
  }
  const parsed: Dataset[] = parseDatasets({ dataset: documents });
  return { datasets: parsed.map((dataset) => ({ connectionKey: `connection_${dataset.fides_key}`, dataset })), references, identitySeeds };
}

/** `global.gc`, available without --expose-gc. */
async function collector(): Promise<() => void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const ms = (value: number) => value.toFixed(1);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function run(): Promise<BenchmarkResult> {
  const gc = await collector();
  const rows: Record<string, string>[] = [];
  const notes: string[] = [];
  let targetMet = true;
  for (const size of SIZES) {
    const graph = generateGraph(size);
    const input = { datasets: graph.datasets, identities: IDENTITIES };
    for (let i = 0; i < WARM_UP_RUNS; i += 1) planTraversal(input);

    const times: number[] = [];
    for (let i = 0; i < MEASURED_RUNS; i += 1) {
      const start = process.hrtime.bigint();
      planTraversal(input);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    const median = times.length % 2 ? times[(times.length - 1) / 2]! : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;

    // Memory: heap growth during one run (collected before, not after), and what the plan keeps.
    gc();
    const before = process.memoryUsage().heapUsed;
    let plan: ReturnType<typeof planTraversal> | undefined = planTraversal(input);
    const during = process.memoryUsage().heapUsed - before;
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    const stages = plan.stages.length;
    const planned = plan.collections.length;
    plan = undefined;

    const skipped = size - planned;
    rows.push({
      collections: size.toLocaleString('en-US'),
      planned: planned.toLocaleString('en-US'),
      datasets: String(graph.datasets.length),
      references: graph.references.toLocaleString('en-US'),
      'identity seeds': String(graph.identitySeeds),
      stages: String(stages),
      runs: String(MEASURED_RUNS),
      'min ms': ms(times[0]!),
      'median ms': ms(median),
      'max ms': ms(times[times.length - 1]!),
      'heap during a run MB': mb(during),
      'heap kept by the plan MB': mb(retained),
    });
    if (skipped) notes.push(`${size.toLocaleString('en-US')} collections: ${skipped} have skip_processing and are not planned.`);
    if (size === TARGET.collections) {
      const met = times[times.length - 1]! < TARGET.ms;
      targetMet &&= met;
      notes.unshift(
        `Target: planning ${TARGET.collections.toLocaleString('en-US')} collections takes under a second. ` +
          `${met ? 'Met' : 'NOT met'}: the slowest of ${MEASURED_RUNS} runs took ${ms(times[times.length - 1]!)} ms (median ${ms(median)} ms).`,
      );
    }
  }
  notes.push(
    `Each size: ${WARM_UP_RUNS} warm-up runs, then ${MEASURED_RUNS} measured runs of planTraversal (the graphs are generated and parsed beforehand, with a fixed seed). ` +
      `Heap during a run: heap growth over one run after a full collection; heap kept by the plan: after collecting again, with the plan still referenced.`,
  );
  return { title: 'Traversal planner', rows, notes, passed: targetMet };
}

export const planner: Benchmark = { name: 'planner', run };
