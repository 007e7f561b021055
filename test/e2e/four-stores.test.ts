/**
 * One person across four stores (issue 13, item 5): Fides' Postgres example, Fides' MariaDB
 * example (a connection of its own), Fides' Stripe config (unchanged) and a loyalty-program
 * config whose lookups take values found in the two SQL stores: its members by the customer id
 * Postgres found, its receipts by the order ids MariaDB found.
 *
 * The access request runs on a worker in a child process that is killed (SIGKILL) while two
 * paginated SaaS reads are in flight: the vendors' stand-ins hold a middle page of Stripe's
 * charges (cursor pagination) and of the loyalty members (link pagination) until the kill. A new
 * worker finishes the request: every collection of every store completes once, its rows stored
 * once. Then an erasure request masks exactly customer-1's names in both databases and sends
 * each vendor exactly the updates and deletes the configs describe, once each.
 *
 * Real API, Temporal, Postgres and MariaDB; only the vendors are loopback stand-ins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARIADB_EXAMPLE_DATASET, registerMariadbExample } from '../../src/example/load-mariadb.js';
import { packageOf, unzipText } from '../support/access-packages.js';
import { createHarness, CUSTOMER_1_COUNTS, erasurePolicy, eventually, snapshotTables, workflowBundle, type Harness } from '../support/harness.js';
import { createMariadbExampleDatabase, snapshotMariadb } from '../support/mariadb.js';
import { createSaasConnection, fidesSaasFile } from '../support/saas-connections.js';
import { startVendor, type RecordedRequest, type VendorServer } from '../support/vendors/server.js';
import { startStripe, stripeData, type StripeServer } from '../support/vendors/stripe.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const EMAIL = 'customer-1@example.com';
const POSTGRES = 'postgres_example_test_dataset';
const MARIADB = MARIADB_EXAMPLE_DATASET;
const STRIPE = 'stripe_connector_example';
const LOYALTY = 'loyalty';
/** Stripe charges of the person: ten pages of two. */
const CHARGES = 20;
/** The Stripe page held until the kill: the fifth (after charges 0 to 7). */
const HELD_CHARGE_CURSOR = 'ch_cus_jane_000007';
/** Loyalty members of customer 1, one a page; the third page is held until the kill. */
const MEMBERS = 5;
const HELD_MEMBER_PAGE = '2';

/** A vendor whose members are found by the customer id of Postgres, and receipts by the order ids of MariaDB. */
const LOYALTY_CONFIG = `saas_config:
  fides_key: loyalty
  name: Loyalty program
  connector_params:
    - name: domain
    - name: api_key
  client_config:
    protocol: https
    host: <domain>
    authentication:
      strategy: api_key
      configuration:
        headers:
          - name: X-Api-Key
            value: <api_key>
  endpoints:
    - name: member
      requests:
        read:
          method: GET
          path: /members
          query_params:
            - name: customer_id
              value: <customer_id>
          param_values:
            - name: customer_id
              references:
                - dataset: postgres_example_test_dataset
                  field: customer.id
                  direction: from
          data_path: members
          pagination:
            strategy: link
            configuration:
              source: body
              path: next
        delete:
          method: DELETE
          path: /members/<member_id>
          param_values:
            - name: member_id
              references:
                - dataset: loyalty
                  field: member.id
                  direction: from
    - name: receipt
      requests:
        read:
          method: GET
          path: /orders/<order_id>/receipts
          param_values:
            - name: order_id
              references:
                - dataset: mariadb_example_test_dataset
                  field: orders.id
                  direction: from
          data_path: receipts
        delete:
          method: DELETE
          path: /receipts/<receipt_id>
          param_values:
            - name: receipt_id
              references:
                - dataset: loyalty
                  field: receipt.id
                  direction: from
`;
const LOYALTY_DATASET = `dataset:
  - fides_key: loyalty
    name: Loyalty program
    collections:
      - name: member
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta:
              primary_key: true
          - name: customer_id
            data_categories: [user.unique_id]
          - name: name
            data_categories: [user.name]
          - name: points
            data_categories: [user.financial]
      - name: receipt
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta:
              primary_key: true
          - name: order_id
            data_categories: [system.operations]
          - name: printed_name
            data_categories: [user.name]
          - name: total
            data_categories: [user.financial]
`;

interface Member {
  id: string;
  customer_id: number;
  name: string;
  points: number;
}
interface Receipt {
  id: string;
  order_id: string;
  printed_name: string;
  total: number;
}
const members = new Map<string, Member>();
const receipts = new Map<string, Receipt>();
for (let i = 1; i <= MEMBERS; i += 1) members.set(`lm_${i}`, { id: `lm_${i}`, customer_id: 1, name: 'John Customer', points: 10 * i });
members.set('lm_9', { id: 'lm_9', customer_id: 2, name: 'Jill Customer', points: 40 });
// Customer 1's orders in the example are ord_aaa-aaa, ord_ccc-ccc and ord_ddd-ddd; ord_bbb-bbb is customer 2's.
for (const [id, order] of [['r_aaa', 'ord_aaa-aaa'], ['r_ccc_1', 'ord_ccc-ccc'], ['r_ccc_2', 'ord_ccc-ccc'], ['r_ddd', 'ord_ddd-ddd'], ['r_bbb', 'ord_bbb-bbb']] as const) {
  receipts.set(id, { id, order_id: order, printed_name: order === 'ord_bbb-bbb' ? 'Jill Customer' : 'John Customer', total: 100 });
}
const CUSTOMER_1_RECEIPTS = ['r_aaa', 'r_ccc_1', 'r_ccc_2', 'r_ddd'];

/** Rows per collection an access request for customer-1@example.com finds, per dataset. */
const EXPECTED: Record<string, Record<string, number>> = {
  [POSTGRES]: CUSTOMER_1_COUNTS,
  [MARIADB]: CUSTOMER_1_COUNTS,
  // As saas-request.test.ts finds with Fides' Stripe config, with twenty charges.
  [STRIPE]: {
    bank_account: 1, card: 1, charge: CHARGES, credit_note: 1, customer: 1, customer_balance_transaction: 1, dispute: 1, invoice: 2, invoice_item: 1, payment_intent: 1, payment_method: 1, subscription: 1, tax_id: 1,
  },
  [LOYALTY]: { member: MEMBERS, receipt: CUSTOMER_1_RECEIPTS.length },
};
const EXPECTED_KEYS = Object.entries(EXPECTED)
  .flatMap(([dataset, counts]) => Object.keys(counts).map((collection) => `${dataset}:${collection}`))
  .sort();
const expectedCount = (key: string) => {
  const [dataset, collection] = key.split(':') as [string, string];
  return EXPECTED[dataset]![collection]!;
};

let harness: Harness;
let mariadb: Awaited<ReturnType<typeof createMariadbExampleDatabase>>;
let stripe: StripeServer;
let loyalty: VendorServer;
let child: WorkerProcess | undefined;
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));
let holding = true;

const writes = (vendor: VendorServer) => vendor.requests.filter((request) => request.method !== 'GET').map((request) => `${request.method} ${request.path}`);
const byKey = <T extends { key: string }>(rows: T[]) => Object.fromEntries(rows.map(({ key, ...rest }) => [key, rest]));

async function startLoyalty(): Promise<VendorServer> {
  return startVendor((request: RecordedRequest) => {
    if (request.headers['x-api-key'] !== 'loyal-key') return { status: 403, body: { error: 'forbidden' } };
    if (request.method === 'GET' && request.path === '/members') {
      const customer = request.query.get('customer_id');
      const all = [...members.values()].filter((member) => String(member.customer_id) === customer);
      const page = Number(request.query.get('page') ?? 0);
      return { status: 200, body: { members: all.slice(page, page + 1), next: page + 1 < all.length ? `/members?customer_id=${customer}&page=${page + 1}` : null } };
    }
    let match = /^\/orders\/([^/]+)\/receipts$/.exec(request.path);
    if (request.method === 'GET' && match) {
      const order = decodeURIComponent(match[1]!);
      return { status: 200, body: { receipts: [...receipts.values()].filter((receipt) => receipt.order_id === order) } };
    }
    if (request.method === 'DELETE' && (match = /^\/members\/([^/]+)$/.exec(request.path))) return members.delete(match[1]!) ? { status: 204 } : { status: 404, body: { error: 'no such member' } };
    if (request.method === 'DELETE' && (match = /^\/receipts\/([^/]+)$/.exec(request.path))) return receipts.delete(match[1]!) ? { status: 204 } : { status: 404, body: { error: 'no such receipt' } };
    return { status: 404, body: { error: 'not found' } };
  });
}

beforeAll(async () => {
  // The test process's own worker (started after the kill) needs the workflow bundle: build it
  // while the child process starts, not after.
  workflowBundle().catch(() => undefined);
  mariadb = await createMariadbExampleDatabase('four');
  harness = await createHarness({ env: { DSRFLOW_SAAS_LOOPBACK_HTTP: 'true', DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '2s', DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '5' } });
  // The MariaDB dataset first: the loyalty config's reference to it is checked on upload.
  await registerMariadbExample(harness.sql, mariadb.url, harness.encryptionKey);
  stripe = await startStripe({ data: stripeData(EMAIL, CHARGES) });
  loyalty = await startLoyalty();
  stripe.hold = async (request) => {
    if (holding && request.path === '/v1/charges' && request.query.get('starting_after') === HELD_CHARGE_CURSOR) await held;
  };
  loyalty.hold = async (request) => {
    if (holding && request.path === '/members' && request.query.get('page') === HELD_MEMBER_PAGE) await held;
  };
  await createSaasConnection(harness, {
    key: 'stripe',
    secrets: { host: stripe.host, api_key: stripe.apiKey, payment_types: 'card', items_per_page: 2 },
    config: await fidesSaasFile('stripe_config.yml'),
    dataset: await fidesSaasFile('stripe_dataset.yml'),
  });
  await createSaasConnection(harness, { key: 'loyalty', secrets: { domain: loyalty.host, api_key: 'loyal-key' }, config: LOYALTY_CONFIG, dataset: LOYALTY_DATASET });
  await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
});
afterAll(async () => {
  await child?.kill();
  holding = false;
  release();
  await harness?.close();
  await Promise.all([stripe?.close(), loyalty?.close()]);
  await mariadb?.drop();
});

describe('an access request across Postgres, MariaDB, Stripe and the loyalty program, its worker killed mid-read', () => {
  let id: string;
  let firstPages: { charges: number; members: number };
  let inFlightAtKill: string[];

  beforeAll(async () => {
    const worker = startWorkerProcess(harness);
    child = worker;
    id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: EMAIL } });

    // Both paginated reads are past their first pages, each waiting for the page held back.
    await eventually(
      async () => {
        worker.assertRunning();
        const charges = stripe.requests.some((request) => request.path === '/v1/charges' && request.query.get('starting_after') === HELD_CHARGE_CURSOR);
        const members = loyalty.requests.some((request) => request.path === '/members' && request.query.get('page') === HELD_MEMBER_PAGE);
        return charges && members ? true : undefined;
      },
      { what: 'the worker to wait for the held Stripe and loyalty pages', timeoutMs: 60_000 },
    );
    const running = await harness.sql<{ key: string }[]>`
      select dataset_name || ':' || collection_name as key from execution_log l
      where privacy_request_id = ${id} and action_type = 'access' and status = 'in_processing'
        and not exists (select 1 from execution_log c where c.privacy_request_id = l.privacy_request_id and c.action_type = 'access'
          and c.dataset_name = l.dataset_name and c.collection_name = l.collection_name and c.status = 'complete')
      order by 1`;
    inFlightAtKill = running.map((row) => row.key);

    await worker.kill();
    holding = false;
    release();

    await harness.startWorker();
    await harness.waitForStatus(id, 'complete', 60_000); // says where the request stands if it does not finish
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    // Before the erasure request reads everything again.
    firstPages = {
      charges: stripe.requests.filter((request) => request.path === '/v1/charges' && request.query.get('starting_after') === null).length,
      members: loyalty.requests.filter((request) => request.path === '/members' && request.query.get('page') === null).length,
    };
  }, 120_000);

  it('was killed while both paginated reads were in flight, and each was read again from its first page', () => {
    expect(inFlightAtKill).toEqual(expect.arrayContaining([`${STRIPE}:charge`, `${LOYALTY}:member`]));
    expect(firstPages).toEqual({ charges: 2, members: 2 });
  });

  it('completes every collection of every store exactly once, in the execution log and in the task rows', async () => {
    const logged = await harness.sql<{ key: string; completions: number; row_count: number }[]>`
      select dataset_name || ':' || collection_name as key, count(*)::int as completions, max(row_count)::int as row_count
      from execution_log where privacy_request_id = ${id} and action_type = 'access' and status = 'complete'
      group by 1 order by 1`;
    expect(logged.map((row) => row.key)).toEqual(EXPECTED_KEYS);
    for (const row of logged) expect({ key: row.key, completions: row.completions, row_count: row.row_count }).toEqual({ key: row.key, completions: 1, row_count: expectedCount(row.key) });

    const tasks = await harness.sql<{ key: string; status: string; row_count: number | null; upstream: string[] }[]>`
      select collection as key, status, row_count, upstream from request_task where privacy_request_id = ${id} order by collection`;
    expect(tasks.map((task) => task.key)).toEqual(EXPECTED_KEYS);
    for (const task of tasks) expect({ key: task.key, status: task.status, row_count: task.row_count }).toEqual({ key: task.key, status: 'complete', row_count: expectedCount(task.key) });
    // The references across stores, as planned: members after Postgres' customers, receipts after MariaDB's orders.
    const upstream = byKey(tasks);
    expect(upstream[`${LOYALTY}:member`]!.upstream).toEqual([`${POSTGRES}:customer`]);
    expect(upstream[`${LOYALTY}:receipt`]!.upstream).toEqual([`${MARIADB}:orders`]);

    // The two reads the kill interrupted started once, were retried once, and completed once.
    for (const [dataset, collection] of [[STRIPE, 'charge'], [LOYALTY, 'member']] as const) {
      const log = await harness.sql<{ status: string }[]>`
        select status from execution_log where privacy_request_id = ${id} and action_type = 'access' and dataset_name = ${dataset} and collection_name = ${collection} order by id`;
      expect(log.map((row) => row.status), `${dataset}:${collection}`).toEqual(['in_processing', 'retrying', 'complete']);
    }
  });

  it('stores each row once, numbered without gaps', async () => {
    const stored = await harness.sql<{ key: string; count: number; distinct_rows: number; distinct_indexes: number; first: number; last: number }[]>`
      select dataset_name || ':' || collection_name as key, count(*)::int as count, count(distinct row)::int as distinct_rows,
        count(distinct row_index)::int as distinct_indexes, min(row_index)::int as first, max(row_index)::int as last
      from access_result where privacy_request_id = ${id} group by 1 order by 1`;
    const nonEmpty = EXPECTED_KEYS.filter((key) => expectedCount(key) > 0);
    expect(stored.map((row) => row.key)).toEqual(nonEmpty);
    for (const row of stored) {
      const n = expectedCount(row.key);
      expect(row).toEqual({ key: row.key, count: n, distinct_rows: n, distinct_indexes: n, first: 0, last: n - 1 });
    }
    const charges = await harness.sql<{ id: string }[]>`
      select row ->> 'id' as id from access_result where privacy_request_id = ${id} and dataset_name = ${STRIPE} and collection_name = 'charge' order by row_index`;
    expect(charges.map((row) => row.id)).toEqual(Array.from({ length: CHARGES }, (_, i) => `ch_cus_jane_${String(i).padStart(6, '0')}`));
  });

  it('looked the vendors up with the values the SQL stores found', () => {
    expect(new Set(loyalty.requests.filter((request) => request.path === '/members').map((request) => request.query.get('customer_id')))).toEqual(new Set(['1']));
    const orders = loyalty.requests.filter((request) => request.path.endsWith('/receipts')).map((request) => decodeURIComponent(request.path.split('/')[2]!));
    // (A read the kill interrupted is asked again: compare the values, not the number of requests.)
    expect(new Set(orders)).toEqual(new Set(['ord_aaa-aaa', 'ord_ccc-ccc', 'ord_ddd-ddd']));
    expect(writes(stripe)).toEqual([]);
    expect(writes(loyalty)).toEqual([]);
  });

  it('puts every store in the access package, with the rows access found', async () => {
    const { status, body } = await packageOf(harness, id);
    expect(status).toBe(200);
    expect(body.collections).toEqual(Object.fromEntries(EXPECTED_KEYS.map((key) => [key, expectedCount(key)])));
    const zip = new Uint8Array(await (await fetch(body.download_url!)).arrayBuffer());
    const document = JSON.parse(unzipText(zip)['access-results.json']!) as { results: Record<string, Record<string, unknown>[]> };
    expect(Object.fromEntries(Object.entries(document.results).map(([key, rows]) => [key, rows.length]))).toEqual(body.collections);
    expect(document.results[`${POSTGRES}:customer`]).toEqual([expect.objectContaining({ id: 1, email: EMAIL, name: 'John Customer' })]);
    expect(document.results[`${MARIADB}:customer`]).toEqual([expect.objectContaining({ id: 1, email: EMAIL, name: 'John Customer' })]);
    expect(document.results[`${STRIPE}:customer`]).toEqual([expect.objectContaining({ id: 'cus_jane', email: EMAIL })]);
    expect(document.results[`${LOYALTY}:member`]!.map((row) => row.id)).toEqual(Array.from({ length: MEMBERS }, (_, i) => `lm_${i + 1}`));
    expect(document.results[`${LOYALTY}:receipt`]!.map((row) => row.id).sort()).toEqual(CUSTOMER_1_RECEIPTS);
  });
});

describe('an erasure request (null_rewrite on user.name) across the four stores', () => {
  let id: string;
  let postgresBefore: Awaited<ReturnType<typeof snapshotTables>>;
  let mariadbBefore: Awaited<ReturnType<typeof snapshotMariadb>>;
  let stripeBefore: number;
  let loyaltyBefore: number;

  beforeAll(async () => {
    postgresBefore = await snapshotTables(harness.target);
    mariadbBefore = await snapshotMariadb(mariadb.database);
    stripeBefore = stripe.requests.length;
    loyaltyBefore = loyalty.requests.length;
    id = await harness.submit({ policy_key: 'erase_names', identity: { email: EMAIL } });
    const outcome = await Promise.race([harness.result(id), new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    if (outcome === 'timeout') throw new Error(await harness.diagnose(id));
    expect(outcome).toEqual({ status: 'complete' });
  }, 60_000);

  it("sets customer-1's name to NULL in Postgres and in MariaDB, and changes nothing else", async () => {
    const postgresExpected = structuredClone(postgresBefore);
    postgresExpected.customer!.find((row) => row.id === 1)!.name = null;
    expect(await snapshotTables(harness.target)).toEqual(postgresExpected);
    const mariadbExpected = structuredClone(mariadbBefore);
    mariadbExpected.customer!.find((row) => row.id === 1)!.name = null;
    expect(await snapshotMariadb(mariadb.database)).toEqual(mariadbExpected);
  });

  it('sends each vendor exactly the updates and deletes for the person, once each', () => {
    const stripeWrites = stripe.requests.slice(stripeBefore).filter((request) => request.method !== 'GET').map((request) => `${request.method} ${request.path}`);
    expect(stripeWrites.sort()).toEqual(
      [
        'POST /v1/customers/cus_jane',
        'POST /v1/payment_methods/pm_cus_jane',
        'POST /v1/customers/cus_jane/sources/ba_cus_jane',
        'POST /v1/customers/cus_jane/sources/card_cus_jane',
        'DELETE /v1/customers/cus_jane/tax_ids/txi_cus_jane',
        'DELETE /v1/invoices/in_cus_jane_draft',
        // Refused by the vendor (a paid invoice cannot be deleted), which the config ignores.
        'DELETE /v1/invoices/in_cus_jane_paid',
      ].sort(),
    );
    expect(stripe.of('customer', 'cus_jane')).toMatchObject({ name: null, email: EMAIL });
    expect(stripe.of('customer', 'cus_other')).toMatchObject({ name: 'Jane Doe' });
    expect(stripe.of('tax_id', 'txi_cus_jane')).toBeUndefined();
    expect(stripe.of('invoice', 'in_cus_jane_paid')).toBeDefined();

    const loyaltyWrites = loyalty.requests.slice(loyaltyBefore).filter((request) => request.method !== 'GET').map((request) => `${request.method} ${request.path}`);
    expect(loyaltyWrites.sort()).toEqual(
      [...Array.from({ length: MEMBERS }, (_, i) => `DELETE /members/lm_${i + 1}`), ...CUSTOMER_1_RECEIPTS.map((receipt) => `DELETE /receipts/${receipt}`)].sort(),
    );
    expect([...members.keys()]).toEqual(['lm_9']);
    expect([...receipts.keys()]).toEqual(['r_bbb']);
  });

  it('logs one erasure per collection, with the rows each store changed', async () => {
    const logged = await harness.sql<{ key: string; status: string; row_count: number; count: number }[]>`
      select dataset_name || ':' || collection_name as key, max(status) as status, max(row_count)::int as row_count, count(*)::int as count
      from execution_log where privacy_request_id = ${id} and action_type = 'erasure' and status in ('complete', 'skipped')
      group by 1 order by 1`;
    expect(logged.map((row) => row.key)).toEqual(EXPECTED_KEYS);
    expect(logged.filter((row) => row.count !== 1)).toEqual([]);
    const changed = Object.fromEntries(logged.filter((row) => row.status === 'complete' && row.row_count > 0).map((row) => [row.key, row.row_count]));
    expect(changed).toEqual({
      [`${POSTGRES}:customer`]: 1,
      [`${MARIADB}:customer`]: 1,
      [`${STRIPE}:bank_account`]: 1,
      [`${STRIPE}:card`]: 1,
      [`${STRIPE}:customer`]: 1,
      [`${STRIPE}:invoice`]: 2,
      [`${STRIPE}:payment_method`]: 1,
      [`${STRIPE}:tax_id`]: 1,
      [`${LOYALTY}:member`]: MEMBERS,
      [`${LOYALTY}:receipt`]: CUSTOMER_1_RECEIPTS.length,
    });
    const tasks = await harness.sql<{ action_type: string; count: number; complete: number }[]>`
      select action_type, count(*)::int as count, count(*) filter (where status in ('complete', 'skipped'))::int as complete
      from request_task where privacy_request_id = ${id} group by 1 order by 1`;
    expect(tasks).toEqual([
      { action_type: 'access', count: EXPECTED_KEYS.length, complete: EXPECTED_KEYS.length },
      { action_type: 'erasure', count: EXPECTED_KEYS.length, complete: EXPECTED_KEYS.length },
    ]);
  });
});
