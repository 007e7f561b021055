/**
 * The Postgres connector registers array types itself (postgres.js's own fetch_types is off: its
 * failure was a rejection nobody handled, which ended the process). Against the real server:
 * array columns come back as arrays of their elements' values (NULL elements as null, quotes,
 * commas, backslashes, nested arrays, explicit bounds, int8 exact as text, dates as stored, box's `;`), and `= any`
 * binds keys of any type (uuid, enum, text with quotes and commas, int8). A failure of the type
 * query is the operation's error.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors.js';
import { PostgresConnector } from '../../src/connectors/postgres.js';
import { cloneDatabase } from '../support/databases.js';

let url: string;
let admin: postgres.Sql;
const connectors: PostgresConnector[] = [];
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);

const connector = (secrets: { url: string; db_schema?: string }) => {
  const created = new PostgresConnector(secrets);
  connectors.push(created);
  return created;
};

beforeAll(async () => {
  process.on('unhandledRejection', recordUnhandled);
  url = await cloneDatabase(inject('exampleTemplate'), `${inject('runId')}_arrays`);
  admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`
    create schema kinds;
    create type kinds.mood as enum ('calm', 'busy, very', 'say "hi"');
    create table kinds.thing (
      id uuid primary key,
      code text not null,
      big int8 not null,
      mood kinds.mood not null,
      tags text[],
      nums int4[],
      grid int4[][],
      bounded int4[],
      bigs int8[],
      moods kinds.mood[],
      days date[],
      boxes box[]
    );
    insert into kinds.thing values
      ('00000000-0000-0000-0000-000000000001', 'a,"b"\\c', 9007199254740993, 'busy, very',
       array['x', null, 'NULL', 'a"b', 'c,d', 'e\\f', '{}', ''], array[1, null, 3], array[[1, 2], [3, 4]], '[0:1]={5,6}',
       array[9007199254740993, 1], array['calm', 'say "hi"']::kinds.mood[], array['2024-01-02'::date], array[box(point(1, 2), point(3, 4)), box(point(0, 0), point(1, 1))]),
      ('00000000-0000-0000-0000-000000000002', 'plain', 2, 'calm', '{}', '{}', null, null, null, null, null, null);
  `);
});

afterAll(async () => {
  process.off('unhandledRejection', recordUnhandled);
  await Promise.all(connectors.map((created) => created.close()));
  await admin?.end();
});

const FIELDS = ['id', 'code', 'big', 'mood', 'tags', 'nums', 'grid', 'bounded', 'bigs', 'moods', 'days', 'boxes'];

describe('array columns and keys', () => {
  it('come back as arrays of their elements, NULL as null', async () => {
    const rows = await connector({ url, db_schema: 'kinds' }).retrieve({ collection: 'thing', fields: FIELDS, filters: [{ field: 'code', values: ['a,"b"\\c'] }] });
    expect(rows).toEqual([
      {
        id: '00000000-0000-0000-0000-000000000001',
        code: 'a,"b"\\c',
        big: '9007199254740993',
        mood: 'busy, very',
        tags: ['x', null, 'NULL', 'a"b', 'c,d', 'e\\f', '{}', ''],
        nums: [1, null, 3],
        grid: [
          [1, 2],
          [3, 4],
        ],
        bounded: [5, 6],
        bigs: ['9007199254740993', '1'],
        moods: ['calm', 'say "hi"'],
        days: ['2024-01-02'],
        boxes: ['(3,4),(1,2)', '(1,1),(0,0)'],
      },
    ]);
  });

  it.each([
    ['id', ['00000000-0000-0000-0000-000000000002']],
    ['mood', ['calm']],
    ['code', ['plain', 'not there']],
    ['big', [2]],
  ])('binds %s keys with = any', async (field, values) => {
    const rows = await connector({ url, db_schema: 'kinds' }).retrieve({ collection: 'thing', fields: ['id', 'tags', 'nums'], filters: [{ field, values }] });
    expect(rows).toEqual([{ id: '00000000-0000-0000-0000-000000000002', tags: [], nums: [] }]);
  });

  it('masks array columns with array values', async () => {
    const store = connector({ url, db_schema: 'kinds' });
    const key = { id: '00000000-0000-0000-0000-000000000002' };
    expect(await store.mask({ collection: 'thing', rows: [{ key, values: { tags: ['masked', 'with "quotes", commas'], nums: [7, null] } }] })).toBe(1);
    // As the server prints them (postgres.js's own parser would read that NULL as NaN).
    const [row] = await admin`select tags::text, nums::text from kinds.thing where id = ${key.id}`;
    expect(row).toEqual({ tags: '{masked,"with \\"quotes\\", commas"}', nums: '{7,NULL}' });
  });
});

describe('when the type query fails', () => {
  it("is each operation's ConnectorError (timeout, retried), never a stray rejection", async () => {
    const slow = new URL(url);
    // JIT for every query makes each take far longer than 1 ms, however warm the server is.
    slow.searchParams.set('options', '-c statement_timeout=1 -c jit_above_cost=0 -c jit_inline_above_cost=0');
    const store = connector({ url: slow.toString() });
    for (let attempt = 0; attempt < 3; attempt++) {
      const failure = await store.retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'email', values: ['customer-1@example.com'] }] }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConnectorError);
      expect(failure).toMatchObject({ category: 'timeout', retryable: true });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unhandled).toEqual([]);
  });
});
