/**
 * One harness per test file: its own service database and example target database (cloned
 * from the run's templates), its own task queue on the run's Temporal dev server, the API on a
 * real HTTP port, and workers built from one workflow bundle. close() tears everything down.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { listen, type ApiServer } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { connect, type Sql } from '../../src/db/client.js';
import { registerExample } from '../../src/example/load.js';
import { createWorker, workflowsPath, type DsrWorker } from '../../src/worker/index.js';
import type { PrivacyRequestOutcome } from '../../workflows/definitions.js';
import { cloneDatabase } from './databases.js';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: new DefaultLogger('WARN') });
  return bundle;
}

export interface HarnessOptions {
  /** Extra environment for loadConfig (timeouts, limits…). */
  env?: Record<string, string>;
  /** Register the Fides example connection, dataset and default access policy (default true). */
  example?: boolean;
}

export interface Harness {
  config: Config;
  sql: Sql;
  /** The example target database, private to this file. */
  target: Sql;
  targetUrl: string;
  client: Client;
  api: ApiServer;
  encryptionKey: Buffer;
  /** Env that reproduces this harness's configuration in a child process. */
  env: Record<string, string>;
  startWorker(): Promise<DsrWorker>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  postJson(path: string, body: unknown): Promise<Response>;
  handle(privacyRequestId: string): WorkflowHandle;
  /** Waits for the workflow to finish and returns its outcome. */
  result(privacyRequestId: string): Promise<PrivacyRequestOutcome>;
  /** Submits one request through the API and returns its id. */
  submit(body: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  quietRuntime();
  const runId = inject('runId');
  const databaseUrl = await cloneDatabase(inject('serviceTemplate'), `${runId}_svc`);
  const targetUrl = await cloneDatabase(inject('exampleTemplate'), `${runId}_tgt`);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(4).toString('hex')}`,
    DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '2s',
    DSRFLOW_ACTIVITY_INITIAL_RETRY_INTERVAL: '100ms',
    DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '3',
    DSRFLOW_EXAMPLE_DATABASE_URL: targetUrl,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const config = loadConfig(env);
  const encryptionKey = config.encryptionKey!;
  const sql = connect(databaseUrl, { applicationName: 'dsrflow-test' });
  const target = postgres(targetUrl, { max: 2, onnotice: () => {} });
  if (options.example !== false) await registerExample(sql, targetUrl, encryptionKey);

  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = createApp({ sql, temporal: client, taskQueue: config.temporal.taskQueue, encryptionKey, identityTtlMs: config.identityTtlMs });
  const api = await listen(app, '127.0.0.1', 0);
  const workers: DsrWorker[] = [];
  const running: Promise<void>[] = [];

  const harness: Harness = {
    config,
    sql,
    target,
    targetUrl,
    client,
    api,
    encryptionKey,
    env,
    async startWorker() {
      const worker = await createWorker({ config, sql, encryptionKey, workflowBundle: await workflowBundle() });
      workers.push(worker);
      running.push(worker.run());
      return worker;
    },
    fetch: (path, init) => fetch(`${api.url}${path}`, init),
    postJson: (path, body) =>
      fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    handle: (id) => client.workflow.getHandle(id),
    result: (id) => client.workflow.getHandle(id).result() as Promise<PrivacyRequestOutcome>,
    async submit(body) {
      const response = await harness.postJson('/api/v1/privacy-request', [body]);
      const json = (await response.json()) as { succeeded: { id: string }[]; failed: unknown[] };
      if (response.status !== 200 || json.succeeded.length !== 1) throw new Error(`submit failed: ${response.status} ${JSON.stringify(json)}`);
      return json.succeeded[0]!.id;
    },
    async close() {
      await Promise.allSettled(workers.map((worker) => worker.shutdown()));
      await Promise.allSettled(running);
      await api.close();
      await connection.close();
      await target.end();
      await sql.end();
    },
  };
  return harness;
}

/** Polls until the check returns a value other than undefined, or fails after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Row counts per collection that an access request for customer-1@example.com must find. */
export const CUSTOMER_1_COUNTS: Record<string, number> = {
  customer: 1,
  address: 2,
  login: 6,
  orders: 3,
  order_item: 4,
  product: 2,
  payment_card: 1,
  service_request: 1,
  visit: 1,
  employee: 0,
  report: 0,
};
