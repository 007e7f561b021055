/**
 * A worker process is killed (SIGKILL) in the middle of an erasure. After a new worker takes
 * over, the request completes, every masked value is the one a run without the crash writes
 * (computed from the request's masking secret), and no log row is duplicated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { maskingSecret } from '../../src/db/privacy-requests.js';
import { maskValue, parseMaskingStrategy } from '../../src/domain/masking.js';
import { createHarness, erasurePolicy, eventually, type Harness } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STRATEGY = { strategy: 'hmac', configuration: { algorithm: 'SHA-256' } };
let harness: Harness;
let child: ChildProcess | undefined;

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '2s', DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '5' } });
  // Names and emails, so several collections and rows are masked.
  await harness.savePolicy(erasurePolicy('hmac_contact', { targets: ['user.name', 'user.contact.email'], masking_strategy: STRATEGY }, { requires_erasure_confirmation: true }));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await harness?.close();
});

it('completes after the worker dies mid-erasure, with the same masked values and no duplicated log rows', async () => {
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/worker.ts'], { cwd: ROOT, env: { ...process.env, ...harness.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = worker;
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const id = await harness.submit({ policy_key: 'hmac_contact', identity: { email: 'customer-1@example.com' } });
  await harness.waitForStatus(id, 'awaiting_erasure_confirmation', 60_000).catch((error: Error) => {
    throw new Error(`${error.message}\nworker output:\n${output}`);
  });
  const originals = {
    customer: await harness.target<{ id: number; email: string; name: string }[]>`select id, email, name from customer where id = 1`,
    visit: await harness.target<{ email: string }[]>`select email from visit where email = 'customer-1@example.com'`,
  };

  // The erasure of customer will wait on this lock: the worker is killed while its UPDATE is in flight.
  const lock = await harness.target.reserve();
  await lock`begin`;
  await lock`lock table customer in access exclusive mode`;
  const confirmed = await harness.postJson(`/api/v1/privacy-request/${id}/confirm_erasure`, {});
  expect(confirmed.status).toBe(200);
  await eventually(
    async () => ((await harness.target`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'update%"customer"%'`).length ? true : undefined),
    { what: 'the customer UPDATE to wait on the lock', timeoutMs: 60_000 },
  );
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
  await lock`rollback`;
  lock.release();

  await harness.startWorker();
  expect(await harness.result(id)).toEqual({ status: 'complete' });

  // What a run without the crash writes: the strategy applied with this request's secret.
  const secret = await maskingSecret(harness.sql, id, harness.encryptionKey);
  const strategy = parseMaskingStrategy(STRATEGY);
  const expectedName = maskValue(strategy, originals.customer[0]!.name, { secret, data_type: 'string', length: 40 });
  const expectedEmail = maskValue(strategy, originals.customer[0]!.email, { secret, data_type: 'string' });
  const [customer] = await harness.target<{ email: string; name: string }[]>`select email, name from customer where id = 1`;
  expect(customer).toEqual({ email: expectedEmail, name: expectedName });
  expect(customer!.name).not.toBe(originals.customer[0]!.name);
  // visit has no primary key in the dataset: it cannot be addressed, so it is skipped and untouched.
  expect(await harness.target`select email from visit where email = 'customer-1@example.com'`).toHaveLength(originals.visit.length);

  const duplicates = await harness.sql`
    select action_type, collection_name, status, count(*) from execution_log
    where privacy_request_id = ${id} and status in ('complete', 'skipped', 'error')
    group by 1, 2, 3 having count(*) > 1`;
  expect(duplicates).toEqual([]);
  const customerErasure = await harness.sql<{ status: string }[]>`
    select status from execution_log where privacy_request_id = ${id} and action_type = 'erasure' and collection_name = 'customer' order by id`;
  expect(customerErasure.map((row) => row.status)).toEqual(['in_processing', 'retrying', 'complete']);
  const audit = await harness.sql<{ action: string }[]>`select action from audit_log where privacy_request_id = ${id} order by id`;
  // visit keeps the email (its dataset declares no primary key): the request says so.
  expect(audit.map((row) => row.action)).toEqual(['approved', 'erasure_confirmed', 'warning', 'finished']);
}, 120_000); // a worker process starts from source (tsx) and bundles its workflows first
