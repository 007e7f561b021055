/**
 * A worker process is killed (SIGKILL) in the middle of a paginated SaaS read (Stripe charges,
 * cursor pagination): the vendor holds one page's answer while the worker waits for it. A new
 * worker reads the collection again; its rows are stored exactly once, since a streamed read's
 * batches and its completion commit in one transaction.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultAccessPolicy } from '../../src/example/load.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { startStripe, stripeData, type StripeServer } from '../support/vendors/stripe.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const example = (name: string) => readFile(new URL(`../../src/example/fides-saas/${name}`, import.meta.url), 'utf8');
const CHARGES = 50;
let harness: Harness;
let stripe: StripeServer;
let child: ChildProcess | undefined;
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));
let holding = true;

beforeAll(async () => {
  harness = await createHarness({ example: false, env: { DSRFLOW_SAAS_LOOPBACK_HTTP: 'true', DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '2s', DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '5' } });
  await harness.savePolicy(defaultAccessPolicy);
  stripe = await startStripe({ data: stripeData('jane@example.com', CHARGES) });
  const send = (path: string, init: RequestInit) => harness.fetch(path, { ...init, headers: { 'content-type': init.body && String(init.body).startsWith('[') ? 'application/json' : 'application/x-yaml' } });
  await send('/api/v1/connection', { method: 'PATCH', body: JSON.stringify([{ key: 'stripe', connection_type: 'saas', access: 'read', secrets: { host: stripe.host, api_key: stripe.apiKey, payment_types: 'card', items_per_page: 2 } }]) });
  expect((await send('/api/v1/connection/stripe/saas_config', { method: 'PUT', body: await example('stripe_config.yml') })).status).toBe(200);
  expect((await send('/api/v1/connection/stripe/dataset', { method: 'PATCH', body: await example('stripe_dataset.yml') })).status).toBe(200);
});
afterAll(async () => {
  child?.kill('SIGKILL');
  release();
  await harness?.close();
  await stripe?.close();
});

it('stores the charges exactly once after the worker dies mid-read', async () => {
  stripe.hold = async (request) => {
    if (holding && request.path === '/v1/charges' && request.query.get('starting_after') === 'ch_cus_jane_000019') await held;
  };
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/worker.ts'], { cwd: ROOT, env: { ...process.env, ...harness.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = worker;
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const id = await harness.submit({ policy_key: defaultAccessPolicy.key, identity: { email: 'jane@example.com' } });

  // Ten pages read (twenty charges passed on), the eleventh asked for and held.
  await eventually(
    async () => {
      if (worker.exitCode !== null) throw new Error(`worker exited early:\n${output}`);
      return stripe.requests.some((request) => request.query.get('starting_after') === 'ch_cus_jane_000019') ? true : undefined;
    },
    { what: 'the worker to wait for the held page', timeoutMs: 60_000 },
  );
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
  holding = false;
  release();

  await harness.startWorker();
  await harness.waitForStatus(id, 'complete', 60_000);
  const [charges] = await harness.sql<{ count: number; distinct: number; indexes: number }[]>`
    select count(*)::int as count, count(distinct row ->> 'id')::int as distinct, count(distinct row_index)::int as indexes
    from access_result where privacy_request_id = ${id} and collection_name = 'charge'`;
  expect(charges).toEqual({ count: CHARGES, distinct: CHARGES, indexes: CHARGES });
  const [completed] = await harness.sql<{ count: number }[]>`
    select count(*)::int as count from execution_log where privacy_request_id = ${id} and collection_name = 'charge' and status = 'complete'`;
  expect(completed!.count).toBe(1);
  // The first worker's pages were read again by the second: the vendor saw the first pages twice.
  expect(stripe.requests.filter((request) => request.path === '/v1/charges' && request.query.get('starting_after') === null).length).toBe(2);
});
