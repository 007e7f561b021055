/**
 * Names from configuration (collections and fields with quotes, semicolons, comments, unicode) and
 * identity values with SQL in them are harmless on every SQL connector: names are quoted
 * identifiers, values are bound. A table whose real name is made of such characters is reached
 * exactly, and nothing else in the target database changes. Connectors are listed in CONNECTORS;
 * each new SQL connector joins the corpus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors.js';
import { PostgresConnector } from '../../src/connectors/postgres.js';
import type { Connector } from '../../src/connectors/types.js';
import type { Sql } from '../../src/db/client.js';
import { createHarness, type Harness } from '../support/harness.js';

/** A table name and column names that would break any SQL built by concatenation. */
const WEIRD_TABLE = 'we"ird; drop table customer; --';
const WEIRD_ID = 'id; --';
const WEIRD_EMAIL = 'e"mail';
const WEIRD_TEXT = 'naïve ünï 名前';

const HOSTILE_NAMES = [
  'customer"; drop table customer; --',
  "customer'; drop table customer; --",
  'customer where 1=1 --',
  'customer" where "1"="1',
  '"',
  ';',
  '\\',
  'x\\"; select pg_sleep(10); --',
  '$$; drop table customer; $$',
  'pg_catalog"."pg_authid',
  // Dots are characters of a name, not a way out of the configured schema.
  'pg_catalog.pg_authid',
  'public.customer',
  'ünïcødé; 表',
  '/* comment */ customer',
  'a'.repeat(200),
];

const HOSTILE_VALUES = [
  "' or '1'='1",
  "customer-1@example.com' or '1'='1",
  "x'); drop table customer; --",
  '"; drop table customer; --',
  '\\x27 or 1=1',
  '$$ or true $$',
  '%',
  '_',
  'customer-1@example.com\'--',
  '١٢٣ ünï 🙂',
  'x'.repeat(10_000),
];

let harness: Harness;

/** Every table of the target database, row by row, with names quoted properly (the weird table too). */
async function snapshot(sql: Sql): Promise<Record<string, unknown[]>> {
  const tables = await sql<{ table_name: string }[]>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  const result: Record<string, unknown[]> = {};
  // sql.unsafe with doubled quotes: postgres.js's sql(name) would split the weird name on its dots.
  for (const { table_name } of tables) result[table_name] = [...(await sql.unsafe(`select * from public."${table_name.replace(/"/g, '""')}" order by 1`))];
  return result;
}

const CONNECTORS: Record<string, () => Connector> = {
  postgres: () => new PostgresConnector({ url: harness.targetUrl }, { max: 2 }),
};

beforeAll(async () => {
  harness = await createHarness();
  const target = harness.target;
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  await target.unsafe(`create table public.${q(WEIRD_TABLE)} (${q(WEIRD_ID)} int primary key, ${q(WEIRD_EMAIL)} text, ${q(WEIRD_TEXT)} text)`);
  await target.unsafe(`insert into public.${q(WEIRD_TABLE)} values (1, 'victim@example.com', 'keep'), (2, 'bystander@example.com', 'keep')`);
});
afterAll(() => harness?.close());

describe.each(Object.keys(CONNECTORS))('the %s connector', (name) => {
  let connector: Connector;
  beforeAll(() => {
    connector = CONNECTORS[name]!();
  });
  afterAll(() => connector?.close());

  /** Runs the call; a refusal must be a categorised ConnectorError, never anything else. */
  const attempt = async (call: () => Promise<unknown>) => {
    try {
      return { value: await call() };
    } catch (error) {
      expect(error).toBeInstanceOf(ConnectorError);
      expect(['not_found', 'bad_data', 'permission']).toContain((error as ConnectorError).category);
      return { error: error as ConnectorError };
    }
  };

  it('treats hostile collection and field names as names: no such table or column, and nothing changes', async () => {
    const before = await snapshot(harness.target);
    for (const hostile of HOSTILE_NAMES) {
      const asCollection = await attempt(() => connector.retrieve({ collection: hostile, fields: ['id'], filters: [{ field: 'email', values: ['customer-1@example.com'] }] }));
      expect(asCollection.error, hostile).toBeDefined();
      const asField = await attempt(() => connector.retrieve({ collection: 'customer', fields: [hostile], filters: [{ field: 'email', values: ['customer-1@example.com'] }] }));
      expect(asField.error, hostile).toBeDefined();
      const asFilter = await attempt(() => connector.retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: hostile, values: ['customer-1@example.com'] }] }));
      expect(asFilter.error, hostile).toBeDefined();
      const asMaskedColumn = await attempt(() => connector.mask({ collection: 'customer', rows: [{ key: { id: 1 }, values: { [hostile]: null } }] }));
      expect(asMaskedColumn.error, hostile).toBeDefined();
    }
    expect(await snapshot(harness.target)).toEqual(before);
  });

  it('binds hostile identity values: they match nothing, and nothing changes', async () => {
    const before = await snapshot(harness.target);
    for (const hostile of HOSTILE_VALUES) {
      const found = await attempt(() => connector.retrieve({ collection: 'customer', fields: ['id', 'email'], filters: [{ field: 'email', values: [hostile] }] }));
      expect(found.value, hostile).toEqual([]);
      const deleted = await attempt(() => connector.deleteRows({ collection: 'customer', keys: [{ email: hostile }] }));
      expect(deleted.value ?? 0, hostile).toBe(0);
    }
    expect(await snapshot(harness.target)).toEqual(before);
  });

  it('reaches a table whose real names are made of quotes, semicolons and unicode, exactly', async () => {
    const rows = await connector.retrieve({ collection: WEIRD_TABLE, fields: [WEIRD_ID, WEIRD_EMAIL, WEIRD_TEXT], filters: [{ field: WEIRD_EMAIL, values: ['victim@example.com'] }] });
    expect(rows).toEqual([{ [WEIRD_ID]: 1, [WEIRD_EMAIL]: 'victim@example.com', [WEIRD_TEXT]: 'keep' }]);

    // A masked value with SQL in it is stored as written, in that one row, and nowhere else.
    const before = await snapshot(harness.target);
    const masked = "'); drop table customer; --";
    expect(await connector.mask({ collection: WEIRD_TABLE, rows: [{ key: { [WEIRD_ID]: 1 }, values: { [WEIRD_TEXT]: masked } }] })).toBe(1);
    const after = await snapshot(harness.target);
    expect(after[WEIRD_TABLE]).toEqual([
      { [WEIRD_ID]: 1, [WEIRD_EMAIL]: 'victim@example.com', [WEIRD_TEXT]: masked },
      { [WEIRD_ID]: 2, [WEIRD_EMAIL]: 'bystander@example.com', [WEIRD_TEXT]: 'keep' },
    ]);
    expect({ ...after, [WEIRD_TABLE]: undefined }).toEqual({ ...before, [WEIRD_TABLE]: undefined });
    await harness.target.unsafe(`update public."${WEIRD_TABLE.replace(/"/g, '""')}" set "${WEIRD_TEXT}" = 'keep'`);
  });
});

describe('end to end, a dataset with such names and a request with such an identity', () => {
  it('finds exactly the data subject and changes nothing', async () => {
    await harness.startWorker();
    const dataset = {
      fides_key: 'weird_names',
      collections: [
        {
          name: WEIRD_TABLE,
          fields: [
            { name: WEIRD_ID, data_categories: ['system.operations'], fides_meta: { primary_key: true } },
            { name: WEIRD_EMAIL, data_categories: ['user.contact.email'], fides_meta: { identity: 'email' } },
            { name: WEIRD_TEXT, data_categories: ['user.name'] },
          ],
        },
      ],
    };
    const saved = await harness.fetch('/api/v1/connection/postgres_example/dataset', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify([dataset]) });
    expect(((await saved.json()) as { failed: unknown[] }).failed).toEqual([]);

    const before = await snapshot(harness.target);
    const victim = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'victim@example.com' } });
    const hostile = await harness.submit({ policy_key: 'default_access_policy', identity: { email: "victim'--@example.com" } });
    expect(await harness.result(victim)).toEqual({ status: 'complete' });
    expect(await harness.result(hostile)).toEqual({ status: 'complete' });
    const found = async (id: string) =>
      harness.sql<{ row: Record<string, unknown> }[]>`select row from access_result where privacy_request_id = ${id} and collection_name = ${WEIRD_TABLE}`;
    expect((await found(victim)).map(({ row }) => row)).toEqual([{ [WEIRD_ID]: 1, [WEIRD_EMAIL]: 'victim@example.com', [WEIRD_TEXT]: 'keep' }]);
    expect(await found(hostile)).toEqual([]);
    expect(await snapshot(harness.target)).toEqual(before);
  });
});
