import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseDatasetYaml, type Dataset } from '../../src/domain/datasets.js';
import { planTraversal, PlanningError } from '../../src/domain/graph.js';
import { EXAMPLE_DIR, exampleDataset } from '../../src/example/load.js';

const ds = 'postgres_example_test_dataset';
const keys = (names: string[]) => names.map((name) => `${ds}:${name}`);

function planOf(yaml: string, identities: string[]) {
  return planTraversal({ datasets: parseDatasetYaml(yaml).map((dataset) => ({ connectionKey: 'c', dataset })), identities });
}

function planningError(run: () => unknown): PlanningError {
  try {
    run();
  } catch (error) {
    if (error instanceof PlanningError) return error;
    throw error;
  }
  throw new Error('expected a PlanningError');
}

describe('traversal plan of the Fides example from an email', () => {
  it('runs each collection after every collection it takes values from', async () => {
    const [dataset] = await exampleDataset();
    const plan = planTraversal({ datasets: [{ connectionKey: 'postgres_example', dataset: dataset! }], identities: ['email'] });
    expect(plan.stages).toEqual([
      keys(['customer', 'employee', 'report', 'visit']),
      keys(['login', 'orders', 'payment_card', 'service_request']),
      keys(['address', 'order_item']),
      keys(['product']),
    ]);
    const address = plan.collections.find((collection) => collection.key === `${ds}:address`)!;
    // Address ids come from customers, employees, orders and payment cards: it waits for all four.
    expect(address.upstream).toEqual(keys(['customer', 'employee', 'orders', 'payment_card']));
    expect(address.inputs).toEqual(
      expect.arrayContaining([
        { field: 'id', from: { collection: `${ds}:customer`, field: 'address_id' } },
        { field: 'id', from: { collection: `${ds}:orders`, field: 'shipping_address_id' } },
      ]),
    );
    const serviceRequest = plan.collections.find((collection) => collection.key === `${ds}:service_request`)!;
    expect(serviceRequest.inputs).toEqual([
      { field: 'alt_email', from: { identity: 'email' } },
      { field: 'email', from: { identity: 'email' } },
      { field: 'employee_id', from: { collection: `${ds}:employee`, field: 'id' } },
    ]);
    expect(plan.collections.map((collection) => collection.key)).toEqual(plan.stages.flat());
  });

  it('erases rows that reference others before the rows they reference', async () => {
    const [dataset] = await exampleDataset();
    const plan = planTraversal({ datasets: [{ connectionKey: 'c', dataset: dataset! }], identities: ['email'] });
    expect(plan.erasureStages).toEqual([
      keys(['login', 'order_item', 'payment_card', 'report', 'service_request', 'visit']),
      keys(['employee', 'orders', 'product']),
      keys(['customer']),
      keys(['address']),
    ]);
  });

  it('is the same plan every time', async () => {
    const [dataset] = await exampleDataset();
    const run = () => planTraversal({ datasets: [{ connectionKey: 'c', dataset: dataset! }], identities: ['email', 'phone_number'] });
    expect(run()).toEqual(run());
  });
});

describe('planning errors, before any query runs', () => {
  it('names the collections the identities given cannot reach', async () => {
    const [dataset] = await exampleDataset();
    const [extended] = parseDatasetYaml(await readFile(`${EXAMPLE_DIR}/postgres_example_test_extended_dataset.yml`, 'utf8'));
    const datasets = [dataset!, extended!].map((d: Dataset) => ({ connectionKey: 'c', dataset: d }));
    const error = planningError(() => planTraversal({ datasets, identities: ['email'] }));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe('These collections cannot be reached from the identities given (email): postgres_example_test_extended_dataset:loyalty');
    expect(error.collections).toEqual(['postgres_example_test_extended_dataset:loyalty']);
    expect(planTraversal({ datasets, identities: ['email', 'loyalty_id'] }).stages[0]).toContain('postgres_example_test_extended_dataset:loyalty');
  });

  it('names collections that wait for each other in a cycle', () => {
    const error = planningError(() =>
      planOf(
        `dataset:
  - fides_key: d
    collections:
      - name: a
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: b_ref
            fides_meta: { references: [{ dataset: d, field: b.id, direction: from }] }
          - name: id
      - name: b
        fields:
          - name: id
          - name: a_ref
            fides_meta: { references: [{ dataset: d, field: a.id, direction: from }] }
      - name: c
        fields:
          - name: email
            fides_meta: { identity: email }
`,
        ['email'],
      ),
    );
    expect(error.kind).toBe('cycle');
    expect(error.collections).toEqual(['d:a', 'd:b']);
  });

  it('refuses a reference to a collection no dataset has', () => {
    const error = planningError(() =>
      planOf(
        `dataset:
  - fides_key: d
    collections:
      - name: a
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: other_id
            fides_meta: { references: [{ dataset: elsewhere, field: things.id, direction: to }] }
`,
        ['email'],
      ),
    );
    expect(error.message).toBe('Collection d:a field other_id references elsewhere.things.id, which is not in any configured dataset');
  });
});

describe('edges without a direction', () => {
  it('flow from the collection the identities reach first', () => {
    const plan = planOf(
      `dataset:
  - fides_key: d
    collections:
      - name: users
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: id
      - name: profiles
        fields:
          - name: user_id
            fides_meta: { references: [{ dataset: d, field: users.id }] }
`,
      ['email'],
    );
    expect(plan.stages).toEqual([['d:users'], ['d:profiles']]);
    expect(plan.collections[1]!.inputs).toEqual([{ field: 'user_id', from: { collection: 'd:users', field: 'id' } }]);
  });
});

describe('skip_processing and after', () => {
  it('leaves skipped collections out and honours after', () => {
    const plan = planOf(
      `dataset:
  - fides_key: d
    collections:
      - name: first
        fields:
          - name: email
            fides_meta: { identity: email }
      - name: second
        fides_meta: { after: [d.first] }
        fields:
          - name: email
            fides_meta: { identity: email }
      - name: ignored
        fides_meta: { skip_processing: true }
        fields:
          - name: id
`,
      ['email'],
    );
    expect(plan.stages).toEqual([['d:first'], ['d:second']]);
  });
});

describe('references without a direction next to waits (found by the property tests)', () => {
  // Both collections are seeded from the email, so both are one step from the identities; the
  // planner used to orient the undirected reference by that distance, then by key, `profiles ->
  // users`, against the wait, and refused the datasets as a cycle.
  it('flow along `after`, not against it', () => {
    const plan = planOf(
      `dataset:
  - fides_key: d
    collections:
      - name: profiles
        fides_meta: { after: [d.users] }
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: user_id
            fides_meta: { references: [{ dataset: d, field: users.id }] }
      - name: users
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: id
`,
      ['email'],
    );
    expect(plan.stages).toEqual([['d:users'], ['d:profiles']]);
    expect(plan.collections[1]!.inputs).toEqual([
      { field: 'email', from: { identity: 'email' } },
      { field: 'user_id', from: { collection: 'd:users', field: 'id' } },
    ]);
  });

  it('flow along a directed reference between the same collections', () => {
    // The property tests' counterexample, renamed: accounts takes values from orders (a directed
    // reference), and orders references accounts without a direction.
    const plan = planOf(
      `dataset:
  - fides_key: d
    collections:
      - name: accounts
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: id
          - name: last_order_id
      - name: orders
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: id
            fides_meta: { references: [{ dataset: d, field: accounts.last_order_id, direction: to }] }
          - name: account_id
            fides_meta: { references: [{ dataset: d, field: accounts.id }] }
`,
      ['email'],
    );
    expect(plan.stages).toEqual([['d:orders'], ['d:accounts']]);
    const accounts = plan.collections.find((collection) => collection.key === 'd:accounts')!;
    expect(accounts.upstream).toEqual(['d:orders']);
    expect(accounts.inputs).toEqual([
      { field: 'email', from: { identity: 'email' } },
      { field: 'last_order_id', from: { collection: 'd:orders', field: 'id' } },
      { field: 'id', from: { collection: 'd:orders', field: 'account_id' } },
    ]);
  });

  it('still refuses collections that really wait for each other', () => {
    // orders is only reached through accounts, and accounts waits for orders.
    const error = planningError(() =>
      planOf(
        `dataset:
  - fides_key: d
    collections:
      - name: accounts
        fides_meta: { after: [d.orders] }
        fields:
          - name: email
            fides_meta: { identity: email }
          - name: id
      - name: orders
        fields:
          - name: account_id
            fides_meta: { references: [{ dataset: d, field: accounts.id }] }
`,
        ['email'],
      ),
    );
    expect(error.kind).toBe('cycle');
    expect(error.collections).toEqual(['d:accounts', 'd:orders']);
  });
});
