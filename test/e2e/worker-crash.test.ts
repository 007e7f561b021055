/**
 * A worker process is killed (SIGKILL) while a collection's activity runs. A new worker finishes
 * the request: each collection has exactly one completed execution log row and the stored rows
 * are not duplicated.
 *
 * The test holds an ACCESS EXCLUSIVE lock on the target's `login` table, so the worker's login
 * query is provably in flight (waiting in Postgres) when the process is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, CUSTOMER_1_COUNTS, eventually, type Harness } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let harness: Harness;
let child: ChildProcess | undefined;

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '2s', DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '5' } });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await harness?.close();
});

function startWorkerProcess(): { process: ChildProcess; output: () => string } {
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...harness.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { process: worker, output: () => output };
}

it('finishes the request on a new worker after the first one is killed mid-activity', async () => {
  const lock = await harness.target.reserve();
  await lock`begin`;
  await lock`lock table login in access exclusive mode`;

  const worker = startWorkerProcess();
  child = worker.process;
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });

  // The login activity has started and its query waits on our lock.
  await eventually(
    async () => {
      if (child!.exitCode !== null) throw new Error(`worker exited early:\n${worker.output()}`);
      const waiting = await harness.target`
        select 1 from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query ilike '%"login"%'`;
      return waiting.length > 0 ? true : undefined;
    },
    { what: 'the login query to wait on the lock', timeoutMs: 60_000 },
  );
  const [started] = await harness.sql`
    select 1 from execution_log where privacy_request_id = ${id} and collection_name = 'login' and status = 'in_processing'`;
  expect(started).toBeDefined();

  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  await lock`rollback`;
  lock.release();

  await harness.startWorker();
  await harness.waitForStatus(id, 'complete', 60_000); // says where it stands if it does not finish
  expect(await harness.result(id)).toEqual({ status: 'complete' });

  const completed = await harness.sql<{ collection_name: string; count: number }[]>`
    select collection_name, count(*)::int as count from execution_log
    where privacy_request_id = ${id} and status = 'complete' group by collection_name`;
  expect(Object.fromEntries(completed.map((row) => [row.collection_name, row.count]))).toEqual(
    Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, 1])),
  );

  const stored = await harness.sql<{ collection_name: string; count: number }[]>`
    select collection_name, count(*)::int as count from access_result where privacy_request_id = ${id} group by collection_name`;
  expect(Object.fromEntries(Object.keys(CUSTOMER_1_COUNTS).map((name) => [name, stored.find((row) => row.collection_name === name)?.count ?? 0]))).toEqual(CUSTOMER_1_COUNTS);

  // The login step really was retried on the new worker, and says so in the log.
  const loginLog = await harness.sql<{ status: string }[]>`
    select status from execution_log where privacy_request_id = ${id} and collection_name = 'login' order by id`;
  expect(loginLog.map((row) => row.status)).toEqual(['in_processing', 'retrying', 'complete']);

  const audit = await harness.sql<{ action: string }[]>`select action from audit_log where privacy_request_id = ${id} order by id`;
  expect(audit.map((row) => row.action)).toEqual(['approved', 'finished']);
}, 120_000); // a worker process starts from source (tsx) and bundles its workflows first
