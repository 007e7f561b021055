/**
 * Values as stored, MariaDB: one table with every type of docs/decisions.md ("Values as stored")
 * and values at their edges, read through the connector and compared with the exact expected
 * values; the same through what access does with them (jsonb in access_result, then the access
 * package); the same again with the worker in America/Los_Angeles (a child process with TZ set)
 * and with the server's time_zone changed. TIMESTAMP rows are written by a session at -08:00:
 * what is stored is the instant, read in UTC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MariadbConnector } from '../../src/connectors/mariadb.js';
import type { CollectionQuery } from '../../src/connectors/types.js';
import { createMariadbDatabase, mariadbAdmin } from '../support/mariadb.js';
import { readInChild, throughAccessPath } from '../support/type-corpus.js';

let database: Awaited<ReturnType<typeof createMariadbDatabase>>;
const connectors: MariadbConnector[] = [];

const FIELDS = ['id', 'd', 'dt', 'ts', 't', 'n', 'n2', 'price', 'big', 'ubig', 'i', 'si', 'ti', 'bo', 'j', 'u', 'bl', 'bin', 'vb', 'txt', 'y', 'f'];
const QUERY: CollectionQuery = { collection: 'corpus', fields: FIELDS, filters: [{ field: 'id', values: [1, 2, 3, 4] }] };
const NULLS = Object.fromEntries(FIELDS.map((field) => [field, null]));

const EXPECTED = [
  {
    id: 1,
    d: '1000-01-01',
    dt: '1000-01-01T00:00:00',
    ts: '1970-01-01T00:00:01+00:00', // the first instant a TIMESTAMP holds
    t: '-838:59:59',
    n: '123456789012345678901234567890',
    n2: '-99999999999999999999999999999999999.999999999999999999999999999999',
    price: '10.00',
    big: '-9223372036854775808',
    ubig: '0',
    i: -2147483648,
    si: -32768,
    ti: -128,
    bo: false,
    j: {},
    u: '00000000-0000-0000-0000-000000000000',
    bl: '',
    bin: 'AAAAAA==',
    vb: '',
    txt: '',
    y: 1901,
    f: -1.5,
  },
  {
    id: 2,
    d: '9999-12-31',
    dt: '9999-12-31T23:59:59.999999',
    ts: '2038-01-19T03:14:07.999999+00:00', // the last one
    t: '838:59:59',
    n: '-999999999999999999999999999999',
    n2: '0.000000000000000000000000000001',
    price: '-0.01',
    big: '9223372036854775807',
    ubig: '18446744073709551615',
    i: 2147483647,
    si: 32767,
    ti: 127,
    bo: true,
    j: { b: { c: [1, 2, { d: null }] }, a: 'ü', e: [] },
    u: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    bl: 'AP8Q',
    bin: 'AP8Qqw==',
    vb: '/w==',
    txt: 'ñ 中文 😀 "quoted" \\ back',
    y: 2155,
    f: 1e308,
  },
  {
    id: 3,
    d: '2000-02-29',
    dt: '2024-03-10T02:30:00.5', // a wall-clock time that does not exist in Los Angeles
    ts: '2024-03-10T09:59:59.999999+00:00', // written as 01:59:59.999999 at -08:00
    t: '12:34:56.5',
    n: '0',
    n2: '0.000000000000000000000000000000',
    price: '0.00',
    big: '0',
    ubig: '9007199254740993',
    i: 0,
    si: 0,
    ti: 0,
    bo: null,
    j: [[], {}, '', 0],
    u: '123e4567-e89b-12d3-a456-426614174000',
    bl: Buffer.from('ñ 😀').toString('base64'),
    bin: 'AQIDBA==',
    vb: null,
    txt: '\u{10FFFF}\u00a0',
    y: 2000,
    f: 0,
  },
  { ...NULLS, id: 4 },
];

beforeAll(async () => {
  database = await createMariadbDatabase('corpus');
  const admin = await mariadbAdmin(database.database);
  try {
    await admin.query(`
      set time_zone = '-08:00';
      create table corpus (
        id int primary key, d date, dt datetime(6), ts timestamp(6) null default null, t time(6),
        n decimal(30, 0), n2 decimal(65, 30), price decimal(10, 2), big bigint, ubig bigint unsigned, i int, si smallint, ti tinyint,
        bo boolean, j json, u uuid, bl blob, bin binary(4), vb varbinary(10), txt varchar(100) character set utf8mb4, y year, f double
      ) character set utf8mb4;
      insert into corpus values
        (1, '1000-01-01', '1000-01-01 00:00:00', '1969-12-31 16:00:01', '-838:59:59',
         123456789012345678901234567890, -99999999999999999999999999999999999.999999999999999999999999999999, 10.00,
         -9223372036854775808, 0, -2147483648, -32768, -128, false, '{}', '00000000-0000-0000-0000-000000000000', '', x'00000000', x'', '', 1901, -1.5),
        (2, '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-18 19:14:07.999999', '838:59:59',
         -999999999999999999999999999999, 0.000000000000000000000000000001, -0.01,
         9223372036854775807, 18446744073709551615, 2147483647, 32767, 127, true, '{"b": {"c": [1, 2, {"d": null}]}, "a": "ü", "e": []}',
         'ffffffff-ffff-ffff-ffff-ffffffffffff', x'00ff10', x'00ff10ab', x'ff', 'ñ 中文 😀 "quoted" \\\\ back', 2155, 1e308),
        (3, '2000-02-29', '2024-03-10 02:30:00.5', '2024-03-10 01:59:59.999999', '12:34:56.500000',
         0, 0, 0, 0, 9007199254740993, 0, 0, 0, null, '[[], {}, "", 0]', '123e4567-e89b-12d3-a456-426614174000',
         convert('ñ 😀' using utf8mb4), x'01020304', null, concat(char(0xF48FBFBF using utf8mb4), char(0xC2A0 using utf8mb4)), 2000, 0),
        (4, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    `);
  } finally {
    await admin.end();
  }
});

afterAll(async () => {
  await Promise.all(connectors.map((connector) => connector.close()));
  await database?.drop();
});

const byId = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));
const read = async () => {
  const connector = new MariadbConnector({ url: database.url });
  connectors.push(connector);
  return byId(await connector.retrieve(QUERY));
};

describe('the MariaDB type corpus', () => {
  it('reads every value exactly as stored', async () => {
    expect(await read()).toEqual(EXPECTED);
  });

  it('is unchanged through access_result (jsonb) and the access package', async () => {
    expect(byId(await throughAccessPath(await read()))).toEqual(EXPECTED);
  });

  it("is unchanged when the server's time_zone is another", async () => {
    const admin = await mariadbAdmin();
    const [[{ zone }]] = (await admin.query('select @@global.time_zone as zone')) as unknown as [{ zone: string }[]];
    try {
      // New sessions start in this zone; the connector's own sessions are UTC whatever it is.
      await admin.query("set global time_zone = '+05:45'");
      expect(await read()).toEqual(EXPECTED);
    } finally {
      await admin.query('set global time_zone = ?', [zone]);
      await admin.end();
    }
  });

  it('is unchanged when the worker runs in America/Los_Angeles', async () => {
    const { tz, results } = await readInChild('mariadb', [database.url], QUERY, 'America/Los_Angeles');
    expect(tz).toBe('America/Los_Angeles');
    expect(results.map(byId)).toEqual([EXPECTED]);
  });

  it('binds every value back: each row is found by each of its values, and masking writes them unchanged', async () => {
    const connector = new MariadbConnector({ url: database.url });
    connectors.push(connector);
    for (const expected of EXPECTED.slice(0, 3)) {
      for (const field of ['d', 'dt', 'ts', 't', 'n', 'n2', 'price', 'big', 'ubig', 'u', 'bl', 'bin', 'txt', 'y']) {
        const value = (expected as Record<string, unknown>)[field];
        if (value === null) continue;
        const found = await connector.retrieve({ collection: 'corpus', fields: ['id'], filters: [{ field, values: [value] }] });
        expect(found, `${field} of row ${expected.id}`).toEqual([{ id: expected.id }]);
      }
      const { id, ...values } = expected;
      expect(await connector.mask({ collection: 'corpus', rows: [{ key: { id }, values }] }), `row ${id}`).toBe(1); // rows matched (FOUND_ROWS), as Postgres counts them
    }
    expect(await read()).toEqual(EXPECTED);
  });
});
