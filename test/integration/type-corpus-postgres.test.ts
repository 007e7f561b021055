/**
 * Values as stored, Postgres: one table with every type of docs/decisions.md ("Values as
 * stored") and values at their edges, read through the connector and compared with the exact
 * expected values; the same through what access does with them (jsonb in access_result, then the
 * access package); and the same again with the worker in America/Los_Angeles (a child process
 * with TZ set) and with the session's TimeZone and DateStyle changed by the connection's options.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresConnector } from '../../src/connectors/postgres.js';
import type { CollectionQuery } from '../../src/connectors/types.js';
import { cloneDatabase } from '../support/databases.js';
import { readInChild, throughAccessPath } from '../support/type-corpus.js';

let url: string;
/** The session in another zone (+12:45/+13:45, a DST change in its past), another DateStyle. */
let otherSessionUrl: string;
const connectors: PostgresConnector[] = [];

const FIELDS = ['id', 'd', 'ts', 'tz', 'tz2', 't', 'ttz', 'n', 'n2', 'big', 'i4', 'i2', 'b', 'j', 'jb', 'u', 'by', 'txt', 'a_big', 'a_date', 'a_tz', 'a_txt', 'a_by', 'a_jb', 'a_num', 'a_b', 'a_u'];
const QUERY: CollectionQuery = { collection: 'corpus', fields: FIELDS, filters: [{ field: 'id', values: [1, 2, 3, 4] }] };

const NULLS = Object.fromEntries(FIELDS.map((field) => [field, null]));

const EXPECTED = [
  {
    id: 1,
    d: '-4712-01-01', // 4713 BC, the first date Postgres has
    ts: '-4712-01-01T00:00:00',
    tz: '0001-01-01T00:00:00+00:00',
    tz2: '1850-01-01T12:00:00.000001+00:00', // local mean time in most zones: offsets with seconds
    t: '00:00:00',
    ttz: '00:00:00+14',
    n: '123456789012345678901234567890',
    n2: '-123456789012345678901234567890.1234567890',
    big: '-9223372036854775808',
    i4: -2147483648,
    i2: -32768,
    b: false,
    j: {},
    jb: [],
    u: '00000000-0000-0000-0000-000000000000',
    by: '',
    txt: '',
    a_big: ['-9223372036854775808', null],
    a_date: ['-4712-01-01', '2024-01-02'],
    a_tz: ['2024-03-10T09:59:59.999999+00:00'],
    a_txt: [],
    a_by: ['AP8=', ''],
    a_jb: [{ a: 1 }, []],
    a_num: ['1.50', '-0.000000000000000000000000000001'],
    a_b: [true, null, false],
    a_u: ['00000000-0000-0000-0000-000000000001'],
  },
  {
    id: 2,
    d: '+5874897-12-31', // the last date Postgres has
    ts: '+294276-12-31T23:59:59.999999',
    tz: '+294276-12-31T23:59:59.999999+00:00',
    tz2: '2024-03-10T09:59:59.999999+00:00', // written with a negative offset
    t: '24:00:00',
    ttz: '23:59:59.999999-14',
    n: '-0.000000000000000000000000000001',
    n2: '123456789012345678901234567890.1234567890',
    big: '9223372036854775807',
    i4: 2147483647,
    i2: 32767,
    b: true,
    j: { b: { c: [1, 2, { d: null }] }, a: 'ü' },
    jb: { b: { c: [1, 2, { d: null }] }, a: 'ü', e: {} },
    u: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    by: 'AP8Q',
    txt: 'ñ 中文 😀 "quoted" \\ back',
    a_big: ['9223372036854775807'],
    a_date: ['+5874897-12-31'],
    a_tz: ['+294276-12-31T23:59:59.999999+00:00'],
    a_txt: ['a,b', null, 'NULL', '"'],
    a_by: [],
    a_jb: [],
    a_num: [],
    a_b: [],
    a_u: [],
  },
  {
    id: 3,
    d: '2000-02-29',
    ts: '2024-03-10T02:30:00.5', // a wall-clock time that does not exist in Los Angeles
    tz: '2024-11-03T08:30:00+00:00', // one that happens twice there
    tz2: '2000-02-29T17:45:00.000001+00:00',
    t: '12:34:56.5',
    ttz: '12:00:00+05:30',
    n: '0',
    n2: '0.0000000001',
    big: '0',
    i4: 0,
    i2: 0,
    b: null,
    j: [[], {}, '', 0],
    jb: { nested: { deeper: { deepest: [{}] } } },
    u: '123e4567-e89b-12d3-a456-426614174000',
    by: Buffer.from('ñ 😀').toString('base64'),
    txt: '\u{10FFFF}\u00a0',
    a_big: null,
    a_date: null,
    a_tz: null,
    a_txt: null,
    a_by: null,
    a_jb: null,
    a_num: null,
    a_b: null,
    a_u: null,
  },
  { ...NULLS, id: 4 },
];

beforeAll(async () => {
  url = await cloneDatabase(inject('exampleTemplate'), `${inject('runId')}_corpus`);
  const options = new URL(url);
  options.searchParams.set('options', '-c TimeZone=Pacific/Chatham -c DateStyle=SQL,DMY -c IntervalStyle=sql_standard');
  otherSessionUrl = options.toString();
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`
      set time zone 'UTC';
      create table corpus (
        id int primary key, d date, ts timestamp(6), tz timestamptz(6), tz2 timestamptz(6), t time(6), ttz timetz,
        n numeric, n2 numeric(40, 10), big int8, i4 int4, i2 int2, b boolean, j json, jb jsonb, u uuid, by bytea, txt text,
        a_big int8[], a_date date[], a_tz timestamptz[], a_txt text[], a_by bytea[], a_jb jsonb[], a_num numeric[], a_b bool[], a_u uuid[]
      );
      insert into corpus values
        (1, '4713-01-01 BC', '4713-01-01 00:00:00 BC', '0001-01-01 00:00:00+00', '1850-01-01 12:00:00.000001+00', '00:00:00', '00:00:00+14',
         123456789012345678901234567890, -123456789012345678901234567890.1234567890, -9223372036854775808, -2147483648, -32768, false,
         '{}', '[]', '00000000-0000-0000-0000-000000000000', '\\x', '',
         array[-9223372036854775808, null]::int8[], array['4713-01-01 BC', '2024-01-02']::date[], array['2024-03-10 01:59:59.999999-08']::timestamptz[],
         '{}', array['\\x00ff'::bytea, '\\x'::bytea], array['{"a": 1}'::jsonb, '[]'::jsonb], array[1.50, -0.000000000000000000000000000001]::numeric[],
         array[true, null, false], array['00000000-0000-0000-0000-000000000001'::uuid]),
        (2, '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', '2024-03-10 01:59:59.999999-08', '24:00:00', '23:59:59.999999-14',
         -0.000000000000000000000000000001, 123456789012345678901234567890.1234567890, 9223372036854775807, 2147483647, 32767, true,
         '{"b": {"c": [1, 2, {"d": null}]}, "a": "ü"}', '{"b": {"c": [1, 2, {"d": null}]}, "a": "ü", "e": {}}', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x00ff10',
         'ñ 中文 😀 "quoted" \\ back',
         array[9223372036854775807], array['5874897-12-31']::date[], array['294276-12-31 23:59:59.999999+00']::timestamptz[],
         array['a,b', null, 'NULL', '"'], '{}', '{}', '{}', '{}', '{}'),
        (3, '2000-02-29', '2024-03-10 02:30:00.5', '2024-11-03 01:30:00-07', '2000-02-29 23:30:00.000001+05:45', '12:34:56.500000', '12:00:00+05:30',
         0, 0.0000000001, 0, 0, 0, null,
         '[[], {}, "", 0]', '{"nested": {"deeper": {"deepest": [{}]}}}', '123e4567-e89b-12d3-a456-426614174000', convert_to('ñ 😀', 'UTF8'), U&'\\+10FFFF\\00A0',
         null, null, null, null, null, null, null, null, null),
        (4, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    `);
  } finally {
    await admin.end();
  }
});

afterAll(async () => {
  await Promise.all(connectors.map((connector) => connector.close()));
});

const read = async (at: string) => {
  const connector = new PostgresConnector({ url: at });
  connectors.push(connector);
  const rows = await connector.retrieve(QUERY);
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
};
const byId = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));

describe('the Postgres type corpus', () => {
  it('reads every value exactly as stored', async () => {
    expect(await read(url)).toEqual(EXPECTED);
  });

  it('is unchanged through access_result (jsonb) and the access package', async () => {
    expect(byId(await throughAccessPath(await read(url)))).toEqual(EXPECTED);
  });

  it('is unchanged when the session has another TimeZone and DateStyle', async () => {
    expect(await read(otherSessionUrl)).toEqual(EXPECTED);
  });

  it('is unchanged when the worker runs in America/Los_Angeles, with either session', async () => {
    const { tz, results } = await readInChild('postgres', [url, otherSessionUrl], QUERY, 'America/Los_Angeles');
    expect(tz).toBe('America/Los_Angeles');
    expect(results.map(byId)).toEqual([EXPECTED, EXPECTED]);
  });

  it('binds every value back: each row is found by each of its values, and masking writes them unchanged', async () => {
    const connector = new PostgresConnector({ url });
    connectors.push(connector);
    for (const expected of EXPECTED.slice(0, 3)) {
      for (const field of ['d', 'ts', 'tz', 'tz2', 'n', 'n2', 'big', 'u', 'by', 'txt']) {
        const found = await connector.retrieve({ collection: 'corpus', fields: ['id'], filters: [{ field, values: [(expected as Record<string, unknown>)[field]] }] });
        expect(found, `${field} of row ${expected.id}`).toEqual([{ id: expected.id }]);
      }
      const { id, ...values } = expected;
      expect(await connector.mask({ collection: 'corpus', rows: [{ key: { id }, values }] })).toBe(1);
    }
    expect(await read(url)).toEqual(EXPECTED);
  });
});
