/**
 * The one-statement writes of a collection step (src/db/collection-steps.ts) against a real
 * Postgres: a step's start is written once and not after its completion, a later attempt's
 * `retrying` row follows its `in_processing` row, and two attempts completing side by side store
 * the rows, the log row and the task exactly once. The steps of a batch start in one statement, and
 * read the values they look up in one.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { connect, type Sql } from '../../src/db/client.js';
import { recordAccessCompletion, recordStepStart, recordStepStarts, recordStepFinished } from '../../src/db/collection-steps.js';
import { together } from '../../src/execution/context.js';
import { accessResultValues, accessResultValuesOf } from '../../src/db/access-results.js';
import type { ExecutionLogEntry } from '../../src/db/execution-log.js';
import { cloneDatabase } from '../support/databases.js';

let sql: Sql;
const REQUEST = 'pri_collection_steps';
const entry = (event_key: string, status: ExecutionLogEntry['status'], row_count: number | null = null): ExecutionLogEntry => ({
  privacy_request_id: REQUEST,
  event_key,
  connection_key: 'postgres_example',
  dataset_name: 'example',
  collection_name: 'customer',
  action_type: 'access',
  status,
  message: status,
  fields_affected: [],
  row_count,
});
const attempt = (n: number) => ({ privacyRequestId: REQUEST, phase: 'access' as const, collection: 'example:customer', connectionKey: 'postgres_example', run: 1, attempt: n });
const start = (n: number) =>
  recordStepStart(sql, {
    start: entry('access:example:customer:1:in_processing', 'in_processing'),
    retrying: n > 1 ? entry(`access:example:customer:1:retrying:${n}`, 'retrying') : undefined,
    task: attempt(n),
    doneKeys: ['access:example:customer:1:complete'],
  });
const complete = (rows: Record<string, unknown>[]) =>
  recordAccessCompletion(sql, {
    entry: entry('access:example:customer:1:complete', 'complete', rows.length),
    dataset: 'example',
    collection: 'customer',
    rows,
    task: { privacyRequestId: REQUEST, phase: 'access', collection: 'example:customer', run: 1, status: 'complete', rowCount: rows.length, skippedReason: null },
  });

beforeAll(async () => {
  sql = connect(await cloneDatabase(inject('serviceTemplate'), `${inject('runId')}_steps`), { max: 4 });
  await sql`insert into privacy_request (id, status, policy_key, action_types) values (${REQUEST}, 'in_processing', 'none', '{access}')`;
});
afterAll(async () => {
  await sql?.end();
});

it('writes a start once, a retry after it, two completions once, and no start after completion', async () => {
  expect(await start(1)).toBeUndefined();
  expect(await start(1)).toBeUndefined();
  expect(await start(2)).toBeUndefined();
  const log = await sql<{ event_key: string; status: string }[]>`select event_key, status from execution_log where privacy_request_id = ${REQUEST} order by id`;
  expect(log).toEqual([
    { event_key: 'access:example:customer:1:in_processing', status: 'in_processing' },
    { event_key: 'access:example:customer:1:retrying:2', status: 'retrying' },
  ]);
  const [task] = await sql`select status, attempts, run from request_task where privacy_request_id = ${REQUEST}`;
  expect(task).toMatchObject({ status: 'in_processing', attempts: 2, run: 1 });

  // Two attempts complete at once (a zombie and its successor): one stores, the other finds it done.
  const rows = [{ id: 1, email: 'a@example.com', created: new Date('2026-01-01T00:00:00Z') }, { id: 2, email: null }];
  const results = await Promise.all([complete(rows), complete([...rows, { id: 3 }])]);
  const stored = await sql<{ row_index: number; row: Record<string, unknown> }[]>`select row_index, row from access_result where privacy_request_id = ${REQUEST} order by row_index`;
  const [logged] = await sql<{ row_count: number }[]>`select row_count from execution_log where privacy_request_id = ${REQUEST} and status = 'complete'`;
  expect(stored.length).toBe(logged!.row_count);
  expect(results).toEqual([{ rowCount: logged!.row_count }, { rowCount: logged!.row_count }]);
  expect(stored[0]).toEqual({ row_index: 0, row: { id: 1, email: 'a@example.com', created: '2026-01-01T00:00:00.000Z' } });
  expect(await sql`select 1 from execution_log where privacy_request_id = ${REQUEST} and status = 'complete'`).toHaveLength(1);
  expect((await sql`select status, row_count from request_task where privacy_request_id = ${REQUEST}`)[0]).toEqual({ status: 'complete', row_count: logged!.row_count });

  // A late attempt finds the step done and writes nothing.
  expect(await start(3)).toMatchObject({ event_key: 'access:example:customer:1:complete', row_count: logged!.row_count });
  expect(await sql`select 1 from execution_log where privacy_request_id = ${REQUEST} and event_key like '%retrying:3'`).toHaveLength(0);
  expect((await sql`select attempts from request_task where privacy_request_id = ${REQUEST}`)[0]).toEqual({ attempts: 2 });
});

it('records a final entry once and the task with it', async () => {
  const finished = { entry: { ...entry('erasure:example:customer:1:skipped', 'skipped', 0), action_type: 'erasure' as const }, task: { privacyRequestId: REQUEST, phase: 'erasure' as const, collection: 'example:customer', run: 1, status: 'skipped' as const, rowCount: 0, skippedReason: 'no rule' } };
  await sql`insert into request_task (privacy_request_id, action_type, collection, connection_key, status) values (${REQUEST}, 'erasure', 'example:customer', 'postgres_example', 'pending')`;
  await recordStepFinished(sql, finished);
  await recordStepFinished(sql, finished);
  expect(await sql`select 1 from execution_log where privacy_request_id = ${REQUEST} and event_key = 'erasure:example:customer:1:skipped'`).toHaveLength(1);
  expect((await sql`select status, skipped_reason from request_task where privacy_request_id = ${REQUEST} and action_type = 'erasure'`)[0]).toEqual({ status: 'skipped', skipped_reason: 'no rule' });
});

it('starts the steps of a batch in one statement: each answered in its order, the done ones untouched', async () => {
  const BATCH = 'pri_collection_batch';
  await sql`insert into privacy_request (id, status, policy_key, action_types) values (${BATCH}, 'in_processing', 'none', '{access}')`;
  const step = (collection: string, attempt: number) => {
    const key = (suffix: string) => `access:example:${collection}:1:${suffix}`;
    const logged = (event_key: string, status: ExecutionLogEntry['status']) => ({ ...entry(event_key, status), privacy_request_id: BATCH, collection_name: collection });
    return {
      start: logged(key('in_processing'), 'in_processing'),
      retrying: attempt > 1 ? logged(key(`retrying:${attempt}`), 'retrying') : undefined,
      task: { privacyRequestId: BATCH, phase: 'access' as const, collection: `example:${collection}`, connectionKey: 'postgres_example', run: 1, attempt },
      doneKeys: [key('complete')],
    };
  };
  await sql`insert into execution_log (privacy_request_id, event_key, connection_key, dataset_name, collection_name, action_type, status, message, row_count)
    values (${BATCH}, 'access:example:orders:1:complete', 'postgres_example', 'example', 'orders', 'access', 'complete', 'done before', 7)`;
  const statements: string[] = [];
  Object.assign(sql.options, { debug: (_connection: number, query: string) => statements.push(query) });
  const answers = await recordStepStarts(sql, [step('customer', 1), step('orders', 2), step('address', 2)]);
  Object.assign(sql.options, { debug: undefined });
  expect(statements).toHaveLength(1);
  expect(answers).toHaveLength(3);
  expect(answers[0]).toBeUndefined();
  expect(answers[1]).toMatchObject({ event_key: 'access:example:orders:1:complete', row_count: 7 });
  expect(answers[2]).toBeUndefined();
  const log = await sql<{ event_key: string; status: string; message: string; fields_affected: unknown }[]>`
    select event_key, status, message, fields_affected from execution_log where privacy_request_id = ${BATCH} order by id`;
  expect(log).toEqual([
    { event_key: 'access:example:orders:1:complete', status: 'complete', message: 'done before', fields_affected: null },
    { event_key: 'access:example:customer:1:in_processing', status: 'in_processing', message: 'in_processing', fields_affected: [] },
    { event_key: 'access:example:address:1:in_processing', status: 'in_processing', message: 'in_processing', fields_affected: [] },
    { event_key: 'access:example:address:1:retrying:2', status: 'retrying', message: 'retrying', fields_affected: [] },
  ]);
  const tasks = await sql<{ collection: string; attempts: number; status: string }[]>`select collection, attempts, status from request_task where privacy_request_id = ${BATCH} order by collection`;
  expect(tasks).toEqual([
    { collection: 'example:address', attempts: 2, status: 'in_processing' },
    { collection: 'example:customer', attempts: 1, status: 'in_processing' },
  ]);
  // Again, as a retried batch would: nothing new, the same answers.
  expect(await recordStepStarts(sql, [step('customer', 1), step('orders', 2), step('address', 2)])).toEqual([undefined, answers[1], undefined]);
  expect(await sql`select 1 from execution_log where privacy_request_id = ${BATCH}`).toHaveLength(4);
  await expect(recordStepStarts(sql, [step('customer', 1), step('customer', 2)])).rejects.toThrow(/twice/);
});

it('carries out calls made together in one call, each answered with its own result or the shared error', async () => {
  const calls: number[][] = [];
  const double = together(async (inputs: number[]) => {
    calls.push(inputs);
    if (inputs.includes(-1)) throw new Error('refused');
    return inputs.map((input) => input * 2);
  });
  expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
  expect(await double(4)).toBe(8);
  expect(calls).toEqual([[1, 2, 3], [4]]);
  const settled = await Promise.allSettled([double(5), double(-1)]);
  expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected']);
});

it('reads the values several steps look up in one statement, each answered in its order', async () => {
  const LOOKUP = 'pri_collection_lookup';
  await sql`insert into privacy_request (id, status, policy_key, action_types) values (${LOOKUP}, 'in_processing', 'none', '{access}')`;
  const rows = [
    { id: 1, email: 'a@example.com', address: { city: 'Oslo' }, tags: ['x', 'y'] },
    { id: 2, email: null, address: { city: 'Oslo' }, tags: ['y'] },
    { id: 3, email: 'c@example.com', address: null, tags: null },
  ];
  await sql`insert into access_result ${sql(rows.map((row, row_index) => ({ privacy_request_id: LOOKUP, dataset_name: 'example', collection_name: 'customer', row_index, row: sql.json(row) })))}`;
  const lookup = (fieldPath: string, collection = 'customer') => ({ privacyRequestId: LOOKUP, dataset: 'example', collection, fieldPath });
  const statements: string[] = [];
  Object.assign(sql.options, { debug: (_connection: number, query: string) => statements.push(query) });
  const [ids, emails, cities, tags, none] = await accessResultValuesOf(sql, [lookup('id'), lookup('email'), lookup('address.city'), lookup('tags'), lookup('id', 'orders')]);
  Object.assign(sql.options, { debug: undefined });
  expect(statements).toHaveLength(1);
  expect(ids!.sort()).toEqual([1, 2, 3]);
  expect(emails!.sort()).toEqual(['a@example.com', 'c@example.com']);
  expect(cities).toEqual(['Oslo']);
  expect(tags!.sort()).toEqual(['x', 'y']);
  expect(none).toEqual([]);
  expect(await accessResultValues(sql, LOOKUP, 'example', 'customer', 'address.city')).toEqual(['Oslo']);
});
