/**
 * One harness per test file: its own service database and example target database (cloned
 * from the run's templates), its own task queue on the run's Temporal dev server, the API on a
 * real HTTP port, and workers built from one workflow bundle. close() tears everything down.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime, type Logger } from '@temporalio/worker';
import postgres from 'postgres';
import { expect, inject } from 'vitest';
import { apiDeps, createApp, type ApiDeps } from '../../src/api/app.js';
import { ensureRootClient } from '../../src/auth/service.js';
import { listen, type ApiServer } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { connect, type Sql } from '../../src/db/client.js';
import { upsertConnection } from '../../src/db/connections.js';
import { savePolicy } from '../../src/db/policies.js';
import type { Policy } from '../../src/domain/policies.js';
import { registerExample } from '../../src/example/load.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { createWorker, type DsrWorker } from '../../src/worker/index.js';
import type { PrivacyRequestOutcome } from '../../workflows/definitions.js';
import { cloneDatabase } from './databases.js';

/**
 * The Temporal runtime is installed once per process, and test files share the process
 * (vitest.config.ts): its logs go to the logger the running file's first harness brought, or
 * warnings only.
 */
const warningsOnly = new DefaultLogger('WARN');
const fileLoggers = new Map<string, Logger>();
const currentFile = () => expect.getState().testPath ?? '';
const runtimeLogger = (): Logger => fileLoggers.get(currentFile()) ?? warningsOnly;
const forwardingLogger: Logger = {
  log: (level, message, meta) => runtimeLogger().log(level, message, meta),
  trace: (message, meta) => runtimeLogger().trace(message, meta),
  debug: (message, meta) => runtimeLogger().debug(message, meta),
  info: (message, meta) => runtimeLogger().info(message, meta),
  warn: (message, meta) => runtimeLogger().warn(message, meta),
  error: (message, meta) => runtimeLogger().error(message, meta),
};
let runtimeInstalled = false;
function quietRuntime(logger?: Logger) {
  if (logger && !fileLoggers.has(currentFile())) fileLoggers.set(currentFile(), logger);
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: forwardingLogger });
}

/** The workflow bundle, built once per test run (test/global-setup.ts). */
export async function workflowBundle(): Promise<{ codePath: string }> {
  quietRuntime();
  return { codePath: inject('workflowBundlePath') };
}

export interface HarnessOptions {
  /** Extra environment for loadConfig (timeouts, limits…). */
  env?: Record<string, string>;
  /** Register the Fides example connection, dataset and default access policy (default true). */
  example?: boolean;
  /** The Temporal runtime's logger (workflow, activity and SDK logs), when this is the file's first harness. */
  runtimeLogger?: Logger;
}

export interface Harness {
  config: Config;
  sql: Sql;
  /** The example target database, private to this file. */
  target: Sql;
  targetUrl: string;
  client: Client;
  api: ApiServer;
  /** Another app on this harness's database and Temporal, as the configuration builds it, with some dependencies changed. */
  createApp(overrides?: Partial<ApiDeps>): ReturnType<typeof createApp>;
  encryptionKey: Buffer;
  /** The root client (every scope), and a token of it that every harness call sends unless told otherwise. */
  root: { id: string; secret: string };
  token: string;
  /** A fresh token from the token endpoint, narrowed to these scopes (all of the root's when none). */
  tokenFor(scopes?: string[]): Promise<string>;
  /** Creates the user (if new) through the API and logs in: a token acting as `user:<username>`. */
  userToken(username: string, roles?: string[]): Promise<string>;
  /** Env that reproduces this harness's configuration in a child process. */
  env: Record<string, string>;
  /** Starts a worker on this harness's task queue; `execution` overrides the configured execution settings. */
  startWorker(execution?: Partial<Config['execution']>): Promise<DsrWorker>;
  /** Calls the API with the root token, unless the request carries its own authorization header. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  postJson(path: string, body: unknown): Promise<Response>;
  handle(privacyRequestId: string): WorkflowHandle;
  /** Waits for the workflow to finish and returns its outcome. */
  result(privacyRequestId: string): Promise<PrivacyRequestOutcome>;
  /** Submits one request through the API and returns its id. */
  submit(body: Record<string, unknown>): Promise<string>;
  /** The request as the API shows it. */
  request(privacyRequestId: string): Promise<Record<string, unknown> & { status: string }>;
  /** Polls the API until the request has the status. */
  waitForStatus(privacyRequestId: string, status: string, timeoutMs?: number): Promise<Record<string, unknown> & { status: string }>;
  /**
   * Waits until the request's workflow rests: no activity or workflow task pending, and its
   * history unchanged between two looks. What it has not done by then, it does not do on its own
   * (it waits for a person, a signal or a long timer).
   */
  waitUntilIdle(privacyRequestId: string, timeoutMs?: number): Promise<void>;
  /** What the request and its workflow are doing: for messages when a test times out. */
  diagnose(privacyRequestId: string): Promise<string>;
  /** Saves a policy (with rules and targets) straight into the database. */
  savePolicy(policy: Policy): Promise<void>;
  /** Points the example connection at a fresh copy of the example database, and returns it. */
  resetTarget(): Promise<Sql>;
  close(): Promise<void>;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  quietRuntime(options.runtimeLogger);
  const runId = inject('runId');
  const databaseUrl = await cloneDatabase(inject('serviceTemplate'), `${runId}_svc`);
  const firstTargetUrl = await cloneDatabase(inject('exampleTemplate'), `${runId}_tgt`);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(4).toString('hex')}`,
    DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '2s',
    DSRFLOW_ACTIVITY_INITIAL_RETRY_INTERVAL: '100ms',
    DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '3',
    DSRFLOW_EXAMPLE_DATABASE_URL: firstTargetUrl,
    // Generated files (access packages) go to a directory of this file's own, not the clone's .data/.
    DSRFLOW_DATA_DIR: await mkdtemp(join(tmpdir(), 'dsrflow-test-')),
    DSRFLOW_ROOT_CLIENT_ID: 'test-root',
    DSRFLOW_ROOT_CLIENT_SECRET: randomBytes(32).toString('base64url'),
    // Tests ask for many tokens from one address; the limit itself is tested with a low one.
    DSRFLOW_AUTH_RATE_LIMIT: '100000',
    LOG_LEVEL: 'warn',
    // Worker processes a test starts load the run's bundle instead of bundling again.
    DSRFLOW_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    ...options.env,
  };
  const config = loadConfig(env);
  let targetUrl = firstTargetUrl;
  const encryptionKey = config.encryptionKey!;
  const sql = connect(databaseUrl, { applicationName: 'dsrflow-test' });
  let target = postgres(targetUrl, { max: 2, onnotice: () => {} });
  if (options.example !== false) await registerExample(sql, firstTargetUrl, encryptionKey);
  const root = config.auth.rootClient!;
  await ensureRootClient(sql, root);

  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(encryptionKey) });
  const appWith = (overrides: Partial<ApiDeps> = {}) => createApp({ ...apiDeps(config, { sql, temporal: client, encryptionKey }), ...overrides });
  const app = appWith();
  const api = await listen(app, '127.0.0.1', 0);
  const tokenFor = async (scopes?: string[]): Promise<string> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: root.id, client_secret: root.secret, ...(scopes ? { scope: scopes.join(' ') } : {}) });
    const response = await fetch(`${api.url}/api/v1/oauth/token`, { method: 'POST', body: form });
    const body = (await response.json()) as { access_token?: string };
    if (!response.ok || !body.access_token) throw new Error(`token refused: ${response.status} ${JSON.stringify(body)}`);
    return body.access_token;
  };
  const token = await tokenFor();
  const userToken = async (username: string, roles: string[] = ['approver']): Promise<string> => {
    const password = `password-of-${username}`;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const created = await fetch(`${api.url}/api/v1/user`, { method: 'POST', headers, body: JSON.stringify({ username, password, roles }) });
    if (created.status !== 201 && created.status !== 409) throw new Error(`user not created: ${created.status} ${await created.text()}`);
    const login = await fetch(`${api.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    const body = (await login.json()) as { access_token?: string };
    if (!login.ok || !body.access_token) throw new Error(`login refused: ${login.status} ${JSON.stringify(body)}`);
    return body.access_token;
  };
  const withToken = (init: RequestInit = {}): RequestInit => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return { ...init, headers };
  };
  const workers: DsrWorker[] = [];
  const running: Promise<void>[] = [];

  async function diagnose(id: string): Promise<string> {
    const lines: string[] = [];
    const [row] = await sql<{ status: string }[]>`select status from privacy_request where id = ${id}`;
    lines.push(`status in Postgres: ${row?.status}`);
    const logs = await sql<{ action_type: string; collection_name: string; status: string; message: string | null }[]>`
      select action_type, collection_name, status, message from execution_log where privacy_request_id = ${id} order by id desc limit 8`;
    lines.push(...logs.reverse().map((log) => `  log ${log.action_type} ${log.collection_name} ${log.status} ${log.message ?? ''}`));
    try {
      const description = await client.workflow.getHandle(id).describe();
      lines.push(`workflow ${description.status.name}, history length ${description.historyLength}`);
      for (const activity of description.raw.pendingActivities ?? []) {
        lines.push(`  pending activity ${activity.activityType?.name} state ${activity.state} attempt ${activity.attempt} ${activity.lastFailure?.message ?? ''}`);
      }
      for (const child of description.raw.pendingChildren ?? []) lines.push(`  pending child ${child.workflowId} ${child.workflowTypeName}`);
      const history = await client.workflow.getHandle(id).fetchHistory();
      const names = (history.events ?? []).slice(-12).map((event) => describeEvent(event));
      lines.push(`  last events: ${names.join(', ')}`);
    } catch (error) {
      lines.push(`describe failed: ${(error as Error).message}`);
    }
    return lines.join('\n');
  }

  const harness: Harness = {
    config,
    sql,
    get target() {
      return target;
    },
    get targetUrl() {
      return targetUrl;
    },
    client,
    api,
    createApp: appWith,
    encryptionKey,
    root,
    token,
    tokenFor,
    userToken,
    env,
    async startWorker(execution = {}) {
      const worker = await createWorker({ config: { ...config, execution: { ...config.execution, ...execution } }, sql, encryptionKey, workflowBundle: await workflowBundle() });
      workers.push(worker);
      running.push(worker.run());
      return worker;
    },
    fetch: (path, init) => fetch(`${api.url}${path}`, withToken(init)),
    postJson: (path, body) =>
      fetch(`${api.url}${path}`, withToken({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })),
    handle: (id) => client.workflow.getHandle(id),
    result: (id) => client.workflow.getHandle(id).result() as Promise<PrivacyRequestOutcome>,
    async submit(body) {
      const response = await harness.postJson('/api/v1/privacy-request', [body]);
      const json = (await response.json()) as { succeeded: { id: string }[]; failed: unknown[] };
      if (response.status !== 200 || json.succeeded.length !== 1) throw new Error(`submit failed: ${response.status} ${JSON.stringify(json)}`);
      return json.succeeded[0]!.id;
    },
    async request(id) {
      const response = await harness.fetch(`/api/v1/privacy-request?request_id=${id}`);
      const body = (await response.json()) as { items: (Record<string, unknown> & { status: string })[] };
      if (!body.items[0]) throw new Error(`No privacy request ${id}`);
      return body.items[0];
    },
    async waitForStatus(id, status, timeoutMs = 30_000) {
      let last = '';
      return eventually<Record<string, unknown> & { status: string }>(
        async () => {
          const request = await harness.request(id);
          last = request.status;
          return request.status === status ? request : undefined;
        },
        { timeoutMs, what: () => `request ${id} to be ${status} (last: ${last || 'unknown'})` },
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await diagnose(id)}`);
      });
    },
    diagnose: (id) => diagnose(id),
    async waitUntilIdle(id, timeoutMs = 30_000) {
      let last = -1;
      await eventually(
        async () => {
          const description = await client.workflow.getHandle(id).describe();
          const busy = (description.raw.pendingActivities?.length ?? 0) > 0 || Boolean(description.raw.pendingWorkflowTask);
          const length = description.historyLength;
          const rests = !busy && length === last;
          last = length;
          return rests ? true : undefined;
        },
        { timeoutMs, intervalMs: 200, what: `the workflow of ${id} to rest` },
      );
    },
    async savePolicy(policy) {
      await sql.begin((tx) => savePolicy(tx, policy));
    },
    async resetTarget() {
      targetUrl = await cloneDatabase(inject('exampleTemplate'), `${runId}_tgt`);
      await target.end();
      target = postgres(targetUrl, { max: 2, onnotice: () => {} });
      await sql.begin((tx) =>
        upsertConnection(tx, { key: 'postgres_example', name: 'Fides example Postgres', connection_type: 'postgres', access: 'write' }, { url: targetUrl }, encryptionKey),
      );
      return target;
    },
    async close() {
      // A teardown step that hangs says which one it is, instead of only the hook's timeout.
      const timed = async (what: string, run: () => Promise<unknown>) => {
        const timer = setTimeout(() => console.error(`harness.close(): ${what} has not finished after 15 s`), 15_000);
        try {
          await run();
        } finally {
          clearTimeout(timer);
        }
      };
      await timed("the workers' shutdown", () => Promise.allSettled(workers.map((worker) => worker.shutdown())));
      await rm(env.DSRFLOW_DATA_DIR!, { recursive: true, force: true });
      await timed("the workers' run()", () => Promise.allSettled(running));
      await timed('the API listener', () => api.close());
      await timed('the Temporal connection', () => connection.close());
      await timed('the target pool', () => target.end());
      await timed('the service pool (sql.end())', () => sql.end());
    },
  };
  return harness;
}

/** Polls until the check returns a value other than undefined, or fails after the timeout. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' as string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${typeof what === 'function' ? what() : what}`);
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

/** A policy with an access rule over everything and one erasure rule. */
export function erasurePolicy(key: string, erasure: { targets: string[]; masking_strategy: Record<string, unknown> }, options: Partial<Pick<Policy, 'requires_approval' | 'requires_erasure_confirmation'>> = {}): Policy {
  return {
    key,
    name: key,
    requires_approval: options.requires_approval ?? false,
    requires_erasure_confirmation: options.requires_erasure_confirmation ?? false,
    rules: [
      { key: 'access_all', name: 'Access all', action_type: 'access', masking_strategy: null, targets: [{ key: 'user', data_category: 'user' }, { key: 'system', data_category: 'system' }] },
      {
        key: 'erase',
        name: 'Erase',
        action_type: 'erasure',
        masking_strategy: erasure.masking_strategy as Policy['rules'][number]['masking_strategy'],
        targets: erasure.targets.map((category, i) => ({ key: `target_${i}`, data_category: category })),
      },
    ],
  };
}

/** Every row of every table of the example database, for before/after comparisons. */
export async function snapshotTables(target: Sql): Promise<Record<string, Record<string, unknown>[]>> {
  const tables = await target<{ table_name: string }[]>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  const snapshot: Record<string, Record<string, unknown>[]> = {};
  for (const { table_name } of tables) {
    snapshot[table_name] = await target.unsafe(`select * from public."${table_name}" order by 1, 2`);
  }
  return snapshot;
}

/** One history event as `EVENT_TYPE (activity or child name)`, for failure messages. */
function describeEvent(event: import('@temporalio/proto').temporal.api.history.v1.IHistoryEvent): string {
  const type = String(event.eventType ?? '');
  const name =
    event.activityTaskScheduledEventAttributes?.activityType?.name ??
    event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ??
    event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ??
    event.workflowExecutionSignaledEventAttributes?.signalName;
  return name ? `${type}(${name})` : type;
}
