/**
 * Fides' MariaDB example (its SQL and dataset unchanged), end to end over HTTP: real API, real
 * Temporal dev server, real worker, a real MariaDB database of this file's own next to the
 * Postgres example. One access request for customer-1 reaches both stores and finds the same
 * rows in every collection; the access package shows the values as stored; erasure masks
 * exactly the targeted values, addressing MariaDB rows by keys that access read as text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARIADB_EXAMPLE_DATASET, registerMariadbExample } from '../../src/example/load-mariadb.js';
import { packageOf, unzipText } from '../support/access-packages.js';
import { createHarness, CUSTOMER_1_COUNTS, erasurePolicy, snapshotTables, type Harness } from '../support/harness.js';
import { createMariadbExampleDatabase, mariadbAdmin, snapshotMariadb } from '../support/mariadb.js';

const POSTGRES_DATASET = 'postgres_example_test_dataset';
const customer1 = { email: 'customer-1@example.com' };

let harness: Harness;
let mariadb: Awaited<ReturnType<typeof createMariadbExampleDatabase>>;

beforeAll(async () => {
  mariadb = await createMariadbExampleDatabase('mex');
  harness = await createHarness();
  await registerMariadbExample(harness.sql, mariadb.url, harness.encryptionKey);
  await harness.savePolicy(erasurePolicy('erase_names_and_addresses', { targets: ['user.name', 'user.contact.address'], masking_strategy: { strategy: 'null_rewrite' } }));
  await harness.startWorker();
});
afterAll(async () => {
  await harness?.close();
  await mariadb?.drop();
});

type Row = Record<string, unknown>;

async function results(id: string, dataset: string): Promise<Record<string, Row[]>> {
  const rows = await harness.sql<{ collection_name: string; row: Row }[]>`
    select collection_name, row from access_result where privacy_request_id = ${id} and dataset_name = ${dataset} order by collection_name, row_index`;
  const byCollection: Record<string, Row[]> = Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, []]));
  for (const { collection_name, row } of rows) byCollection[collection_name]!.push(row);
  return byCollection;
}

/**
 * A row compared across the two examples: the MariaDB schema declares TIMESTAMP (an instant,
 * given in UTC with its offset) and BIGINT ids (exact, as text) where the Postgres one has
 * `timestamp` and `serial`; the values are the same.
 */
const comparable = (row: Row) => Object.fromEntries(Object.entries(row).map(([field, value]) => [field, value === null ? null : String(value).replace(/\+00:00$/, '')]));
const sorted = (rows: Row[]) => rows.map(comparable).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('an access request for customer-1@example.com over the Postgres and the MariaDB example', () => {
  let id: string;
  let postgres: Record<string, Row[]>;
  let maria: Record<string, Row[]>;

  beforeAll(async () => {
    id = await harness.submit({ policy_key: 'default_access_policy', identity: customer1 });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    postgres = await results(id, POSTGRES_DATASET);
    maria = await results(id, MARIADB_EXAMPLE_DATASET);
  });

  it('finds the same number of rows in each collection of both stores', () => {
    const counts = (found: Record<string, Row[]>) => Object.fromEntries(Object.entries(found).map(([name, rows]) => [name, rows.length]));
    expect(counts(maria)).toEqual(CUSTOMER_1_COUNTS);
    expect(counts(postgres)).toEqual(CUSTOMER_1_COUNTS);
  });

  it('finds the same rows where the two examples hold the same data', () => {
    for (const collection of ['customer', 'address', 'orders', 'payment_card', 'login', 'service_request', 'visit']) {
      expect(sorted(maria[collection]!), collection).toEqual(sorted(postgres[collection]!));
    }
  });

  it('returns the values as stored', () => {
    expect(maria.customer).toEqual([{ id: 1, email: 'customer-1@example.com', name: 'John Customer', created: '2020-04-01T11:47:42+00:00', address_id: '1' }]);
    expect(maria.service_request).toEqual([{ id: 'ser_aaa-aaa', email: 'customer-1@example.com', alt_email: 'customer-1-alt@example.com', opened: '2021-01-01', closed: '2021-01-03', employee_id: 1 }]);
    expect(maria.payment_card).toEqual([{ id: 'pay_aaa-aaa', name: 'Example Card 1', ccn: '123456789', code: 321, preferred: true, customer_id: 1, billing_address_id: '1' }]);
    expect(maria.product!.map((row) => row.price).sort()).toEqual(['10.00', '20.00']);
    // The Postgres example: a date is a date, a timestamp has no invented zone.
    expect(postgres.service_request![0]).toMatchObject({ opened: '2021-01-01', closed: '2021-01-03' });
    expect(postgres.customer![0]).toMatchObject({ created: '2020-04-01T11:47:42', address_id: '1' });
  });

  it('puts the same values in the access package, unchanged', async () => {
    const { status, body } = await packageOf(harness, id);
    expect(status).toBe(200);
    const zip = new Uint8Array(await (await fetch(body.download_url!)).arrayBuffer());
    const document = JSON.parse(unzipText(zip)['access-results.json']!) as { results: Record<string, Row[]> };
    expect(document.results[`${MARIADB_EXAMPLE_DATASET}:service_request`]).toEqual(maria.service_request);
    expect(document.results[`${POSTGRES_DATASET}:service_request`]![0]).toMatchObject({ opened: '2021-01-01' });
    expect(document.results[`${MARIADB_EXAMPLE_DATASET}:customer`]).toEqual(maria.customer);
  });

  it('logs each MariaDB collection under its dataset', async () => {
    const rows = await harness.sql<{ collection_name: string; row_count: number }[]>`
      select collection_name, row_count from execution_log
      where privacy_request_id = ${id} and dataset_name = ${MARIADB_EXAMPLE_DATASET} and status = 'complete' and action_type = 'access'`;
    expect(Object.fromEntries(rows.map((row) => [row.collection_name, row.row_count]))).toEqual(CUSTOMER_1_COUNTS);
  });
});

describe('erasure of names and postal addresses', () => {
  it('sets exactly customer-1 name and addresses to NULL in MariaDB (rows addressed by BIGINT keys read as text), and in Postgres', async () => {
    const before = await snapshotMariadb(mariadb.database);
    const postgresBefore = await snapshotTables(harness.target);
    const id = await harness.submit({ policy_key: 'erase_names_and_addresses', identity: customer1 });
    expect(await harness.result(id)).toEqual({ status: 'complete' });

    const expected = structuredClone(before);
    expected.customer!.find((row) => row.id === 1)!.name = null;
    for (const address of expected.address!.filter((row) => ['1', '2'].includes(String(row.id)))) Object.assign(address, { house: null, street: null, city: null, state: null, zip: null });
    expect(await snapshotMariadb(mariadb.database)).toEqual(expected);

    const postgresAfter = await snapshotTables(harness.target);
    expect(postgresAfter.customer!.find((row) => row.id === 1)!.name).toBeNull();
    expect(postgresAfter.address!.filter((row) => row.street === null).map((row) => row.id).sort()).toEqual([1, 2]);
    expect(postgresAfter.customer!.filter((row) => row.id !== 1)).toEqual(postgresBefore.customer!.filter((row) => row.id !== 1));

    const completed = await harness.sql<{ collection_name: string; row_count: number }[]>`
      select collection_name, row_count from execution_log
      where privacy_request_id = ${id} and dataset_name = ${MARIADB_EXAMPLE_DATASET} and action_type = 'erasure' and status = 'complete' order by collection_name`;
    expect(completed).toEqual([
      { collection_name: 'address', row_count: 2 },
      { collection_name: 'customer', row_count: 1 },
      { collection_name: 'employee', row_count: 0 },
    ]);
  });
});

describe('a value Postgres cannot store', () => {
  it('puts the collection in error as bad data, once, with nothing of it stored, when a MariaDB name holds a NUL character', async () => {
    const admin = await mariadbAdmin(mariadb.database);
    try {
      await admin.query("update customer set name = concat('Jane', char(0), 'Doe') where email = 'customer-2@example.com'");
    } finally {
      await admin.end();
    }
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-2@example.com' } });
    await harness.waitForStatus(id, 'error');
    const errors = await harness.sql<{ dataset_name: string; collection_name: string; error_category: string; message: string }[]>`
      select dataset_name, collection_name, error_category, message from execution_log where privacy_request_id = ${id} and status = 'error'`;
    expect(errors).toEqual([
      {
        dataset_name: MARIADB_EXAMPLE_DATASET,
        collection_name: 'customer',
        error_category: 'bad_data',
        message: expect.stringMatching(/^bad_data: Row 1 of mariadb_example_test_dataset\.customer holds a NUL character in name, which dsrflow cannot store/),
      },
    ]);
    // Not retried (bad data), and nothing of the collection stored.
    const [task] = await harness.sql<{ status: string; attempts: number }[]>`
      select status, attempts from request_task where privacy_request_id = ${id} and collection = ${`${MARIADB_EXAMPLE_DATASET}:customer`} and action_type = 'access'`;
    expect(task).toEqual({ status: 'error', attempts: 1 });
    expect(await harness.sql`select 1 from access_result where privacy_request_id = ${id} and dataset_name = ${MARIADB_EXAMPLE_DATASET} and collection_name = 'customer'`).toHaveLength(0);
  });
});
