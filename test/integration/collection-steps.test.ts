/**
 * The one-statement writes of a collection step (src/db/collection-steps.ts) against a real
 * Postgres: a step's start is written once and not after its completion, a later attempt's
 * `retrying` row follows its `in_processing` row, and two attempts completing side by side store
 * the rows, the log row and the task exactly once.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { connect, type Sql } from '../../src/db/client.js';
import { recordAccessCompletion, recordStepStart, recordStepFinished } from '../../src/db/collection-steps.js';
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
