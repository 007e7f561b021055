/**
 * The chaos run (issue 14, item 5): many mixed privacy requests in flight on real components, all
 * on loopback, while the worker is SIGKILLed, the Temporal dev server restarts and dsrflow's own
 * Postgres goes away for a while; then checks that nothing was lost, doubled or left stuck.
 *
 * Everything is its own: a Postgres cluster made with initdb for dsrflow's database (the one it
 * stops), a file-backed Temporal dev server (the one it restarts), the Fides example target in a
 * fresh database on the machine's Postgres, an SMTP server and a webhook receiver in this process,
 * the API in this process, and workers as child processes (`src/cli/worker.ts` of a copy of the
 * code, all with one workflow bundle for the whole run, DSRFLOW_WORKFLOW_BUNDLE). The driver acts as the people
 * and systems around dsrflow: it answers manual collections, confirms erasures and retries failed
 * requests through the API, and retries its own calls when the API cannot answer.
 * Everything is removed at the end, also on failure; the whole run is bounded in time.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import postgres from 'postgres';
import { apiDeps, createApp } from '../../src/api/app.js';
import { listen, type ApiServer } from '../../src/api/server.js';
import { ensureRootClient } from '../../src/auth/service.js';
import { loadConfig } from '../../src/config.js';
import { connect, ensureDatabase, type Sql } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks.js';
import { loadExampleDatabase, registerExample } from '../../src/example/load.js';
import { ensureTemporalCli } from '../../src/temporal/cli.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { runChecks, type CheckResult } from './checks.js';
import { planRequests, registerChaosConfiguration, seedTarget, type PlannedRequest } from './fixtures.js';
import { createCluster, type PrivateCluster } from './postgres-cluster.js';
import { CountingSmtpServer, CountingWebhookReceiver } from './receivers.js';
import { WorkerSupervisor } from './workers.js';

export interface ChaosOptions {
  /** Requests submitted at the start, all in flight together. */
  requests: number;
  /** SIGKILLs of the worker, each followed by a new worker. */
  workerKills: number;
  /** Stops and restarts of the Temporal dev server (same SQLite file, same port). */
  temporalRestarts: number;
  /** Stops of dsrflow's Postgres (pg_ctl stop -m fast), each for postgresOutageMs. */
  postgresOutages: number;
  postgresOutageMs: number;
  /** How long the Temporal dev server stays down. */
  temporalDownMs: number;
  /** The least time between the end of one fault and the start of the next. */
  faultSpacingMs: number;
  /** The faults are spread over this share of the requests' progress (the k-th of n waits for k/n of it). */
  faultSpread: number;
  /** The whole run, setup to teardown: past it the run fails, it does not hang. */
  timeoutMs: number;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
  /** Stops the run early (Ctrl-C): what was set up is removed all the same. */
  signal?: AbortSignal;
  /**
   * A workflow bundle already built from this code (the test suite builds one for its whole run):
   * used instead of bundling the copy again, which takes 10–20 s on 2 cores.
   */
  workflowBundle?: string;
}

export const DEFAULT_OPTIONS: ChaosOptions = {
  requests: 200,
  workerKills: 3,
  temporalRestarts: 1,
  postgresOutages: 1,
  postgresOutageMs: 30_000,
  temporalDownMs: 5_000,
  faultSpacingMs: 8_000,
  faultSpread: 0.8,
  timeoutMs: 20 * 60_000,
};

export type FaultKind = 'worker_kill' | 'temporal_restart' | 'postgres_outage';

export interface FaultRecord {
  kind: FaultKind;
  /** Seconds since the requests were submitted. */
  at: number;
  /** Requests not finished when it began. */
  unfinished: number;
  /** How long the component was away, seconds (a worker: until its successor polled). */
  downSeconds: number;
  detail: string;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>;
  passed: boolean;
  violations: string[];
  checks: CheckResult[];
  faults: FaultRecord[];
  /** Seconds: setup, from submission until every request finished, settling, the whole run. */
  timings: { setup: number; requests: number; settle: number; total: number };
  kinds: Record<string, number>;
  flaky: number;
  /** What the driver did through the API, and how often the API could not answer it. */
  driver: { actions: Record<string, number>; apiFailures: number; apiFailuresByKind: Record<string, number> };
  workers: { started: number; unexpectedExits: number; startupSeconds: number[] };
  notes: string[];
}

const TARGET_SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const serverUrl = (database: string) => Object.assign(new URL(TARGET_SERVER), { pathname: `/${database}` }).toString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects when the promise takes longer than the timeout. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${Math.round(ms / 1000)} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The faults in the order they are injected: kills spread between the restarts and outages. */
export function faultSchedule(options: Pick<ChaosOptions, 'workerKills' | 'temporalRestarts' | 'postgresOutages'>): FaultKind[] {
  const others: FaultKind[] = [];
  for (let i = 0; i < Math.max(options.temporalRestarts, options.postgresOutages); i++) {
    if (i < options.temporalRestarts) others.push('temporal_restart');
    if (i < options.postgresOutages) others.push('postgres_outage');
  }
  const schedule: FaultKind[] = [];
  let kills = options.workerKills;
  // A kill first, then a kill after each other fault while kills last; the rest at the end.
  if (kills > 0) {
    schedule.push('worker_kill');
    kills -= 1;
  }
  for (const fault of others) {
    schedule.push(fault);
    if (kills > 0) {
      schedule.push('worker_kill');
      kills -= 1;
    }
  }
  while (kills-- > 0) schedule.push('worker_kill');
  return schedule;
}

interface Tracker {
  request: PlannedRequest & { id: string };
  status: string;
  step: string | undefined;
  done: boolean;
  /** Error episodes seen (status turned error). */
  errors: number;
  busy: boolean;
  /** The last action sent and when; repeated only when the request still waits after a while. */
  lastAction: string | undefined;
  lastActionAt: number;
  lastActionOk: boolean;
  /** The API's last answer to an action: status and the start of its body, for diagnosis. */
  lastAnswer: string | undefined;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const execFileAsync = promisify(execFile);

/** A copy of the code the workers run (node_modules linked, not copied). */
async function snapshotTree(base: string): Promise<string> {
  const tree = join(base, 'tree');
  await mkdir(tree, { recursive: true });
  for (const entry of ['src', 'activities', 'workflows', 'package.json', 'tsconfig.json']) {
    await cp(join(ROOT, entry), join(tree, entry), { recursive: true });
  }
  await symlink(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  return tree;
}

/** The copy's workflow bundle, written by its own `npm run bundle` (src/cli/bundle.ts). */
async function writeBundle(tree: string, path: string): Promise<void> {
  const { stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/bundle.ts', path], { cwd: tree });
  if (!existsSync(path)) throw new Error(`the workflow bundle was not written:\n${stderr}`);
}

/** The whole history of an unfinished request, kept after the run for a person to read. */
async function dumpHistory(client: Client, id: string, dir: string): Promise<void> {
  const history = await within(client.workflow.getHandle(id).fetchHistory(), 20_000, 'history');
  const events = (history.events ?? []).map((event) => ({
    id: Number(event.eventId),
    type: String(proto.temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? event.eventType).replace('EVENT_TYPE_', ''),
    time: event.eventTime?.seconds ? new Date(Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6)).toISOString() : undefined,
    activity: event.activityTaskScheduledEventAttributes?.activityType?.name,
    scheduled: event.activityTaskCompletedEventAttributes?.scheduledEventId ?? event.activityTaskFailedEventAttributes?.scheduledEventId ?? event.activityTaskTimedOutEventAttributes?.scheduledEventId,
    marker: event.markerRecordedEventAttributes?.markerName,
    markerFailure: event.markerRecordedEventAttributes?.failure?.message,
    update: event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name,
    updateOutcome: event.workflowExecutionUpdateCompletedEventAttributes ? (event.workflowExecutionUpdateCompletedEventAttributes.outcome?.failure?.message ?? 'success') : undefined,
    signal: event.workflowExecutionSignaledEventAttributes?.signalName,
    failure: event.workflowTaskFailedEventAttributes?.failure?.message ?? event.activityTaskFailedEventAttributes?.failure?.message,
    timeout: event.workflowTaskTimedOutEventAttributes?.timeoutType ?? event.activityTaskTimedOutEventAttributes?.failure?.message,
  }));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${id}.json`), JSON.stringify(events.map((event) => Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined && value !== null))), null, 1));
}

/** Where a request stands, for a run that stopped moving: its status, its last log rows, its workflow. */
async function diagnose(client: Client, sql: Sql, tracker: Tracker): Promise<string> {
  const id = tracker.request.id;
  const lines = [`${id} (${tracker.request.kind}${tracker.request.flaky ? ', flaky' : ''}) ${tracker.status}/${tracker.step ?? '-'}; last answer: ${tracker.lastAnswer ?? 'none'}${tracker.busy ? ` (a call in flight for ${((Date.now() - tracker.lastActionAt) / 1000).toFixed(0)} s)` : ''}`];
  const logs = await sql<{ action_type: string; collection_name: string; status: string }[]>`
    select action_type, collection_name, status from execution_log where privacy_request_id = ${id} order by id desc limit 3`;
  lines.push(`  log: ${logs.map((row) => `${row.action_type} ${row.collection_name} ${row.status}`).join('; ')}`);
  const handle = client.workflow.getHandle(id);
  const description = await within(handle.describe(), 10_000, 'describe');
  const pendingActivities = (description.raw.pendingActivities ?? []).map((activity) => `${activity.activityType?.name} attempt ${activity.attempt}`);
  lines.push(`  workflow ${description.status.name}, history ${description.historyLength}, workflow task pending: ${Boolean(description.raw.pendingWorkflowTask)}, activities: ${pendingActivities.join(', ') || 'none'}`);
  const history = await within(handle.fetchHistory(), 10_000, 'history');
  const events = (history.events ?? []).slice(-10).map((event) => {
    const type = String(proto.temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? event.eventType).replace('EVENT_TYPE_', '');
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name ?? event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? event.workflowTaskFailedEventAttributes?.failure?.message;
    return name ? `${type}(${name})` : type;
  });
  lines.push(`  last events: ${events.join(', ')}`);
  return lines.join('\n');
}

export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const options: ChaosOptions = { ...DEFAULT_OPTIONS, ...partial };
  const log = options.log ?? ((line: string) => console.log(line));
  const began = Date.now();
  const deadline = began + options.timeoutMs;
  const remaining = () => deadline - Date.now();
  const runId = randomBytes(3).toString('hex');
  const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
  const violations: string[] = [];
  const notes: string[] = [];
  const faults: FaultRecord[] = [];
  const actions: Record<string, number> = {};
  const apiFailuresByKind: Record<string, number> = {};
  let apiFailures = 0;
  const smtp = new CountingSmtpServer();
  const receiver = new CountingWebhookReceiver();
  let workers: WorkerSupervisor | undefined;
  let checks: CheckResult[] = [];
  const timings = { setup: 0, requests: 0, settle: 0, total: 0 };
  const requests = planRequests(options.requests, runId);
  const stallReports: string[] = [];
  const kinds: Record<string, number> = {};
  for (const request of requests) kinds[request.kind] = (kinds[request.kind] ?? 0) + 1;

  const stopIfAborted = () => {
    if (options.signal?.aborted) throw new Error('interrupted during setup');
  };
  try {
    // ---- Setup ---------------------------------------------------------------------------------
    const base = await mkdtemp(join(tmpdir(), 'dsrflow-chaos-'));
    cleanups.push({ what: 'temporary directory', run: () => rm(base, { recursive: true, force: true }) });
    log(`chaos ${runId}: ${options.requests} requests; private Postgres, Temporal dev server and workers under ${base}`);

    const cluster: PrivateCluster = await createCluster(base);
    cleanups.push({ what: 'private Postgres cluster', run: () => cluster.remove() });
    const serviceUrl = cluster.url('dsrflow');
    await ensureDatabase(serviceUrl);
    log(`dsrflow's Postgres: a private cluster on 127.0.0.1:${cluster.port}`);

    const targetDb = `dsrflow_chaos_${runId}_target`;
    const targetUrl = serverUrl(targetDb);
    cleanups.push({
      what: 'target database',
      run: async () => {
        const admin = postgres(serverUrl('postgres'), { max: 1, onnotice: () => {} });
        try {
          await admin`drop database if exists ${admin(targetDb)} with (force)`;
        } finally {
          await admin.end();
        }
      },
    });
    await loadExampleDatabase(targetUrl);
    const target = postgres(targetUrl, { max: 2, onnotice: () => {} });
    cleanups.push({ what: 'target pool', run: () => target.end({ timeout: 2 }) });
    await seedTarget(target, requests);
    stopIfAborted();

    const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log });
    const temporalPort = await freePort();
    const dbFilename = join(base, 'temporal.sqlite');
    let devServer: DevServer = await startDevServer({ cliPath, port: temporalPort, uiPort: false, dbFilename, startTimeoutMs: 120_000 });
    cleanups.push({ what: 'Temporal dev server', run: () => devServer.stop() });
    log(`Temporal dev server: ${devServer.address}, file-backed (${dbFilename})`);

    await smtp.listen();
    cleanups.push({ what: 'SMTP server', run: () => smtp.close() });
    await receiver.start();
    cleanups.push({ what: 'webhook receiver', run: () => receiver.stop() });

    const root = { id: 'chaos-root', secret: randomBytes(32).toString('base64url') };
    const dataDir = join(base, 'data');
    const env: Record<string, string> = {
      DATABASE_URL: serviceUrl,
      TEMPORAL_ADDRESS: devServer.address,
      TEMPORAL_TASK_QUEUE: `chaos-${runId}`,
      DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // A killed worker's activities are taken over after this long.
      DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '5s',
      // The default attempts (5): an outage of dsrflow's own Postgres is waited out inside each step, not spent on attempts.
      DSRFLOW_EXAMPLE_DATABASE_URL: targetUrl,
      DSRFLOW_DATA_DIR: dataDir,
      DSRFLOW_ROOT_CLIENT_ID: root.id,
      DSRFLOW_ROOT_CLIENT_SECRET: root.secret,
      DSRFLOW_AUTH_RATE_LIMIT: '1000000',
      DSRFLOW_MAX_PAGE_SIZE: '1000',
      DSRFLOW_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      DSRFLOW_SMTP_TIMEOUT: '10s',
      DSRFLOW_WEBHOOK_ALLOW: '127.0.0.1',
      DSRFLOW_WEBHOOK_TIMEOUT: '5s',
      DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL: '5s',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const encryptionKey = config.encryptionKey!;

    const sql: Sql = connect(serviceUrl, { applicationName: 'dsrflow-chaos-api', max: 10 });
    cleanups.push({ what: 'API pool', run: () => sql.end({ timeout: 2 }) });
    await migrate(sql);
    await registerExample(sql, targetUrl, encryptionKey);
    await registerChaosConfiguration(sql, targetUrl, encryptionKey);
    await ensureRootClient(sql, root);

    const connection = await Connection.connect({ address: devServer.address });
    cleanups.push({ what: 'Temporal client', run: () => connection.close() });
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(encryptionKey) });
    const api: ApiServer = await listen(createApp(apiDeps(config, { sql, temporal: client, encryptionKey })), '127.0.0.1', 0);
    cleanups.push({ what: 'API', run: () => api.close() });
    log(`API: ${api.url} (in this process); SMTP 127.0.0.1:${smtp.port}; webhooks ${receiver.url}`);

    const tokenResponse = await fetch(`${api.url}/api/v1/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: root.id, client_secret: root.secret }),
    });
    const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await response.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // Not JSON: kept as text for the message.
      }
      return { status: response.status, json };
    };
    const subscribed = await call('POST', '/api/v1/webhook', { url: receiver.url, event_types: [...WEBHOOK_EVENT_TYPES], description: 'chaos receiver' });
    if (subscribed.status !== 201) throw new Error(`webhook subscription refused: ${subscribed.status} ${JSON.stringify(subscribed.json)}`);
    receiver.secret = (subscribed.json as { secret: string }).secret;

    // The workers run a copy of the code as it is now, and one workflow bundle built from it: every
    // worker of the run runs the same code, as in a deployment, even if the working tree changes
    // while the run goes on (a worker bundling edited workflows would fail its replays).
    const tree = await snapshotTree(base);
    const bundlePath = options.workflowBundle ?? join(base, 'workflows.js');
    if (!options.workflowBundle) await writeBundle(tree, bundlePath);
    stopIfAborted();
    workers = new WorkerSupervisor({ ...env, LOG_LEVEL: 'info', DSRFLOW_WORKFLOW_BUNDLE: bundlePath }, tree, log);
    const supervisor = workers;
    cleanups.push({ what: 'workers', run: () => supervisor.stop() });
    await supervisor.start(Math.min(180_000, remaining()));
    log(`first worker polling after ${supervisor.startupSeconds[0]?.toFixed(1)} s`);

    // ---- Submit ------------------------------------------------------------------------------
    const submittedAt = Date.now();
    timings.setup = (submittedAt - began) / 1000;
    const trackers = new Map<string, Tracker>();
    for (let start = 0; start < requests.length; start += 50) {
      const chunk = requests.slice(start, start + 50);
      const answer = await call('POST', '/api/v1/privacy-request', chunk.map((request) => ({ external_id: request.externalId, policy_key: request.policyKey, identity: { email: request.email } })));
      const body = answer.json as { succeeded?: { id: string; external_id: string }[]; failed?: unknown[] };
      if (answer.status !== 200 || body.succeeded?.length !== chunk.length) throw new Error(`submission refused: ${answer.status} ${JSON.stringify(answer.json).slice(0, 500)}`);
      for (const created of body.succeeded) {
        const request = chunk.find((candidate) => candidate.externalId === created.external_id)!;
        trackers.set(created.id, { request: { ...request, id: created.id }, status: 'pending', step: undefined, done: false, errors: 0, busy: false, lastAction: undefined, lastActionAt: 0, lastActionOk: false, lastAnswer: undefined });
      }
    }
    const tracked = [...trackers.values()];
    log(`${tracked.length} requests submitted in ${((Date.now() - submittedAt) / 1000).toFixed(1)} s`);
    const since = () => (Date.now() - submittedAt) / 1000;
    const unfinished = () => tracked.filter((tracker) => !tracker.done).length;

    // ---- Faults ------------------------------------------------------------------------------
    const schedule = faultSchedule(options);
    let nextFault = 0;
    let faultRunning = false;
    let lastFaultEnded = Date.now();
    const inject = async (kind: FaultKind) => {
      const start = Date.now();
      const record: FaultRecord = { kind, at: since(), unfinished: unfinished(), downSeconds: 0, detail: '' };
      log(`[${record.at.toFixed(1)} s] fault: ${kind} (${record.unfinished} requests unfinished)`);
      if (kind === 'worker_kill') {
        const pid = await supervisor.killAndReplace();
        const startup = await supervisor.waitReady(Math.min(180_000, remaining()));
        record.downSeconds = (Date.now() - start) / 1000;
        record.detail = `worker ${pid} SIGKILLed; a new worker polled ${startup.toFixed(1)} s after it started`;
      } else if (kind === 'temporal_restart') {
        await devServer.stop();
        await sleep(options.temporalDownMs);
        devServer = await startDevServer({ cliPath, port: temporalPort, uiPort: false, dbFilename, startTimeoutMs: 120_000 });
        record.downSeconds = (Date.now() - start) / 1000;
        record.detail = `stopped (SIGTERM) and started again on the same port and SQLite file`;
      } else {
        await cluster.stop();
        const stopped = Date.now();
        await sleep(options.postgresOutageMs);
        await cluster.start();
        record.downSeconds = (Date.now() - stopped) / 1000;
        record.detail = `pg_ctl stop -m fast, start again ${(options.postgresOutageMs / 1000).toFixed(0)} s later`;
      }
      log(`[${since().toFixed(1)} s] fault over: ${kind}, ${record.detail}`);
      faults.push(record);
    };
    // A fifth of the requests wait at their first manual step until every fault has happened, so
    // each fault finds requests in flight however fast the others go; the faults are spread over
    // the first faultSpread (80%) of the others' progress.
    const heldFrom = Math.ceil(tracked.length * 0.8);
    const held = (tracker: Tracker) => schedule.length > 0 && tracker.request.index >= heldFrom;
    const faultsDone = () => nextFault >= schedule.length && !faultRunning;
    const maybeInject = () => {
      if (faultRunning || nextFault >= schedule.length) return;
      const threshold = (options.faultSpread * nextFault) / schedule.length;
      const others = tracked.filter((tracker) => !held(tracker));
      const finishedShare = others.length ? others.filter((tracker) => tracker.done).length / others.length : 1;
      if (Date.now() - lastFaultEnded < options.faultSpacingMs || finishedShare < threshold) return;
      const kind = schedule[nextFault++]!;
      faultRunning = true;
      void inject(kind)
        .catch((error: unknown) => violations.push(`fault ${kind} could not be injected: ${(error as Error).message}`))
        .finally(() => {
          faultRunning = false;
          lastFaultEnded = Date.now();
        });
    };

    // ---- Drive ---------------------------------------------------------------------------------
    let actionsInFlight = 0;
    const MAX_ACTIONS_IN_FLIGHT = 16;
    const act = async (tracker: Tracker, name: string, path: string, body: unknown) => {
      actionsInFlight += 1;
      tracker.busy = true;
      tracker.lastAction = name;
      tracker.lastActionAt = Date.now();
      try {
        const answer = await call('POST', `/api/v1/privacy-request/${tracker.request.id}/${path}`, body);
        tracker.lastActionOk = answer.status === 200;
        tracker.lastAnswer = `${name} ${answer.status} ${JSON.stringify(answer.json).slice(0, 160)}`;
        if (answer.status === 200) actions[name] = (actions[name] ?? 0) + 1;
        else if (answer.status !== 409) {
          // 409: it no longer waits for this (an earlier call went through); anything else: the API could not answer.
          apiFailures += 1;
          apiFailuresByKind[`${name} ${answer.status}`] = (apiFailuresByKind[`${name} ${answer.status}`] ?? 0) + 1;
        }
      } catch (error) {
        tracker.lastActionOk = false;
        tracker.lastAnswer = `${name} ${(error as Error).name}: ${(error as Error).message}`;
        apiFailures += 1;
        const kind = `${name} ${(error as Error).name}`;
        apiFailuresByKind[kind] = (apiFailuresByKind[kind] ?? 0) + 1;
      } finally {
        tracker.busy = false;
        actionsInFlight -= 1;
      }
    };
    const poll = async () => {
      const answer = await call('GET', `/api/v1/privacy-request?external_id=chaos-${runId}-&size=1000`);
      if (answer.status !== 200) throw new Error(`listing answered ${answer.status}`);
      return (answer.json as { items: { id: string; status: string; stopped_collection_details: { step?: string } | null }[] }).items;
    };

    let lastProgressLog = 0;
    let lastFinished = 0;
    let lastActions = 0;
    let lastMovement = Date.now();
    let lastStallReport = 0;
    while (unfinished() > 0) {
      if (options.signal?.aborted) {
        violations.push(`interrupted ${since().toFixed(0)} s after submission, ${unfinished()} requests unfinished`);
        break;
      }
      if (remaining() < 60_000) {
        violations.push(`time bound: ${unfinished()} requests unfinished ${since().toFixed(0)} s after submission`);
        break;
      }
      maybeInject();
      let items;
      try {
        items = await poll();
      } catch (error) {
        apiFailures += 1;
        const kind = `list ${(error as Error).name === 'Error' ? (error as Error).message : (error as Error).name}`;
        apiFailuresByKind[kind] = (apiFailuresByKind[kind] ?? 0) + 1;
        await sleep(1_000);
        continue;
      }
      for (const item of items) {
        const tracker = trackers.get(item.id);
        if (!tracker || tracker.done) continue;
        if (item.status === 'error' && tracker.status !== 'error') tracker.errors += 1;
        tracker.status = item.status;
        tracker.step = item.stopped_collection_details?.step;
        if (item.status === 'complete') {
          tracker.done = true;
          continue;
        }
        if (tracker.busy || (held(tracker) && !faultsDone())) continue;
        const request = tracker.request;
        let next: [string, string, unknown] | undefined;
        if (item.status === 'paused' && tracker.step === 'access') next = ['manual_input', 'manual_input', request.manualRows];
        else if (item.status === 'paused' && tracker.step === 'erasure') next = ['erasure_confirm', 'erasure_confirm', { row_count: request.manualRows.length }];
        else if (item.status === 'awaiting_erasure_confirmation') next = ['confirm_erasure', 'confirm_erasure', {}];
        else if (item.status === 'error') next = ['retry', 'retry', {}];
        if (!next) continue;
        // The same action again only when the request still waits for it a while after an answer.
        const wait = tracker.lastActionOk ? 5_000 : 2_000;
        if (tracker.lastAction === next[0] && Date.now() - tracker.lastActionAt < wait) continue;
        if (actionsInFlight >= MAX_ACTIONS_IN_FLIGHT) continue;
        void act(tracker, ...next);
      }
      if (Date.now() - lastProgressLog > 10_000) {
        lastProgressLog = Date.now();
        const counts: Record<string, number> = {};
        for (const tracker of tracked) counts[tracker.done ? 'complete' : tracker.status] = (counts[tracker.done ? 'complete' : tracker.status] ?? 0) + 1;
        const sent = Object.entries(actions).map(([name, count]) => `${count} ${name}`).join(', ') || 'none';
        const failed = Object.entries(apiFailuresByKind).map(([kind, count]) => `${count} ${kind}`).join(', ') || 'none';
        log(`[${since().toFixed(1)} s] ${Object.entries(counts).map(([status, count]) => `${count} ${status}`).join(', ')}; actions ${sent}; API failures ${failed}; ${actionsInFlight} calls in flight`);
      }
      const finishedNow = tracked.length - unfinished();
      if (finishedNow !== lastFinished || Object.values(actions).reduce((a, b) => a + b, 0) !== lastActions) {
        lastFinished = finishedNow;
        lastActions = Object.values(actions).reduce((a, b) => a + b, 0);
        lastMovement = Date.now();
      } else if (Date.now() - lastMovement > 30_000 && Date.now() - lastStallReport > 30_000) {
        lastStallReport = Date.now();
        const stalled = tracked.filter((tracker) => !tracker.done && !held(tracker)).slice(0, 3);
        const lines = await Promise.all(stalled.map((tracker) => diagnose(client, sql, tracker).catch((error: unknown) => `${tracker.request.id}: ${(error as Error).message}`)));
        const line = `[${since().toFixed(1)} s] no request finished and no action went through for ${((Date.now() - lastMovement) / 1000).toFixed(0)} s:\n${lines.join('\n')}`;
        log(line);
        stallReports.push(line);
      }
      await sleep(500);
    }
    // Faults not yet injected (everything finished first) would make the run prove less than it says.
    while (faultRunning) await sleep(200);
    if (nextFault < schedule.length) violations.push(`only ${nextFault} of ${schedule.length} faults were injected while requests were in flight`);
    for (const fault of faults) if (fault.unfinished === 0) violations.push(`${fault.kind} at ${fault.at.toFixed(1)} s found no request in flight`);
    timings.requests = since();
    log(`[${since().toFixed(1)} s] ${tracked.length - unfinished()} of ${tracked.length} requests complete`);

    // ---- Settle: deliveries and messages retried after the faults finish -------------------------
    const settleStart = Date.now();
    const settleUntil = Math.min(Date.now() + 120_000, deadline - 30_000);
    let openWorkflows: Record<string, number> = {};
    for (;;) {
      const [pending] = await sql<{ deliveries: number; messages: number }[]>`
        select (select count(*)::int from webhook_delivery where status = 'pending') as deliveries,
               (select count(*)::int from message where status = 'sending') as messages`;
      openWorkflows = {};
      for await (const workflow of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
        openWorkflows[workflow.type] = (openWorkflows[workflow.type] ?? 0) + 1;
      }
      const running = Object.entries(openWorkflows).filter(([type]) => type !== 'accessPackageExpiryWorkflow').reduce((sum, [, count]) => sum + count, 0);
      if ((pending!.deliveries === 0 && pending!.messages === 0 && running === 0) || Date.now() > settleUntil) break;
      await sleep(1_000);
    }
    timings.settle = (Date.now() - settleStart) / 1000;

    // ---- Check ---------------------------------------------------------------------------------
    checks = await runChecks({ sql, target, requests: tracked.map((tracker) => tracker.request), smtp, receiver, openWorkflows });
    for (const check of checks) violations.push(...check.violations.map((violation) => `${check.check}: ${violation}`));
    const stuck = tracked.filter((tracker) => !tracker.done);
    if (stuck.length) {
      // Kept after the run (the rest is removed): what each unfinished request's workflow did.
      const dumpDir = join(tmpdir(), `dsrflow-chaos-${runId}-unfinished`);
      for (const tracker of stuck.slice(0, 10)) await dumpHistory(client, tracker.request.id, dumpDir).catch(() => undefined);
      notes.push(`The histories of ${Math.min(stuck.length, 10)} unfinished requests are in ${dumpDir}.`);
    }
    for (const tracker of stuck.slice(0, 5)) {
      const logs = await sql<{ action_type: string; collection_name: string; status: string; message: string | null }[]>`
        select action_type, collection_name, status, message from execution_log where privacy_request_id = ${tracker.request.id} order by id desc limit 4`;
      notes.push(`Unfinished ${tracker.request.id} (${tracker.request.kind}${tracker.request.flaky ? ', flaky' : ''}): ${tracker.status}; last log rows: ${logs.map((row) => `${row.action_type} ${row.collection_name} ${row.status}${row.message ? ` (${row.message})` : ''}`).join('; ')}`);
    }
    notes.push(...stallReports.slice(0, 3));
    const errorEpisodes = tracked.reduce((sum, tracker) => sum + tracker.errors, 0);
    notes.push(`The driver saw ${errorEpisodes} error episodes and sent ${actions.retry ?? 0} retries.`);
    for (const exit of supervisor.unexpectedExits) {
      notes.push(`A worker (pid ${exit.pid}) exited on its own at ${((exit.at - submittedAt) / 1000).toFixed(1)} s (${exit.code ?? exit.signal}): ${exit.output.trim().split('\n').slice(-3).join(' / ')}`);
    }
  } catch (error) {
    violations.push(`the run failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await within(cleanup.run(), 60_000, `removing the ${cleanup.what}`);
      } catch (error) {
        notes.push(`Cleanup of the ${cleanup.what} failed: ${(error as Error).message}`);
      }
    }
  }
  timings.total = (Date.now() - began) / 1000;
  const { log: _log, signal: _signal, ...rest } = options;
  return {
    options: rest,
    passed: violations.length === 0,
    violations,
    checks,
    faults,
    timings,
    kinds,
    flaky: requests.filter((request) => request.flaky).length,
    driver: { actions, apiFailures, apiFailuresByKind },
    workers: { started: workers?.started ?? 0, unexpectedExits: workers?.unexpectedExits.length ?? 0, startupSeconds: workers?.startupSeconds ?? [] },
    notes,
  };
}
