/**
 * End-to-end throughput: N access requests (BENCH_REQUESTS, default 300) for the Fides example's
 * customers, submitted through the HTTP API in batches of 50, on a real Temporal dev server and
 * Postgres, with one worker and the API in this process. It measures the wall time from the first
 * submission until every request's workflow has completed (requests per second), and each
 * request's own time (created_at → finished_processing_at) from the database.
 *
 * BENCH_FEATURES=on (the default) adds what a production deployment has: a webhook subscription
 * to every event type, pointing at a receiver on loopback that answers 204, and an SMTP server on
 * loopback (DSRFLOW_SMTP_URL) for the messages to the data subject; deadlines keep their default
 * settings. BENCH_FEATURES=off runs without either; BENCH_FEATURES=webhooks or smtp with one of
 * them, to tell their costs apart. On code from before these features (commit
 * a9bf615) only `off` exists: the run is labelled `base`.
 *
 * Each run is one row. With BENCH_THROUGHPUT_RUNS=FILE, every run also appends its row to FILE
 * (JSON lines), and the section shows every row of FILE and compares the variants: runs of
 * several checkouts (the baseline in a worktree of its own) and alternated in time end up in one
 * table.
 * The runs of this repository's report are kept in bench/results/notices-cost-runs.jsonl; the
 * rounds were run with bench/notices-cost-rounds.sh. BENCH_THROUGHPUT_SINCE=COMMIT counts the runs
 * of every commit from COMMIT on as one variant; BENCH_THROUGHPUT_REPORT_ONLY=1 only rewrites the
 * section from FILE.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import protoPackage from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import postgres from 'postgres';
import { apiDeps, createApp } from '../src/api/app.js';
import { listen } from '../src/api/server.js';
import { ensureRootClient } from '../src/auth/service.js';
import { loadConfig } from '../src/config.js';
import { connect, ensureDatabase } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { defaultAccessPolicy, loadExampleDatabase, registerExample } from '../src/example/load.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { dataConverter } from '../src/temporal/codec.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { bundleWorkflows, createWorker } from '../src/worker/index.js';
import { machineBusy, postgresCpu, processCpu } from './cpu.js';
import type { Benchmark, BenchmarkResult } from './run.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 10);
const BATCH = 50;
const SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();
/** The example's customers (src/example/fides-postgres-example/postgres_sample.sql). */
const CUSTOMERS = ['customer-1@example.com', 'customer-2@example.com', 'jane@example.com'];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Code from before deadlines, verification, messages and webhooks has none of them. */
const HAS_FEATURES = existsSync(join(ROOT, 'src/domain/webhooks.ts'));
const TARGET_RATIO = 0.9;

/** on: webhooks and messages; off: neither; webhooks or smtp: one of them (to tell their costs apart). */
type Mode = 'on' | 'off' | 'webhooks' | 'smtp';
const MODES: readonly Mode[] = ['on', 'off', 'webhooks', 'smtp'];

export interface Run {
  label: string;
  commit: string;
  features: Mode;
  requests: number;
  date: string;
  load: number;
  wallS: number;
  perSecond: number;
  p50S: number;
  p95S: number;
  /** CPU seconds of this process (API, worker, submitter, receivers) and of the Temporal server, per request. */
  cpuMsPerRequest: number;
  temporalCpuMsPerRequest: number;
  /** Postgres transactions committed in dsrflow's database, per request. */
  transactionsPerRequest: number;
  /** From a sample of the requests' histories. */
  eventsPerRequest: number;
  activitiesPerRequest: number;
  localActivitiesPerRequest: number;
  timersPerRequest: number;
  childrenPerRequest: number;
  /** History events of the webhook delivery workflows a request started. */
  childEventsPerRequest?: number;
  /** Delivery workflows of the sampled requests' webhooks (none when the first attempt was sent without one). */
  deliveryWorkflowsPerRequest?: number;
  activityTypes: Record<string, number>;
  webhooks: number;
  messages: number;
  /** Seconds after the last workflow completed until every webhook and message had arrived. */
  drainS: number;
  /** Postgres (all its processes), per request; the machine's busy share; CPU seconds of everything else (other work on the machine). */
  postgresCpuMsPerRequest?: number;
  machineBusyPercent?: number;
  otherCpuS?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The last commit that changed the code (not the benchmarks or docs), and `+changes` when the working tree differs from it. */
function commit(): string {
  try {
    const head = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%h', '--', 'src', 'workflows', 'activities', 'package.json'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'workflows', 'activities', 'package.json'], { encoding: 'utf8' }).trim();
    return changed ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Whether the run's code (`abc1234` or `abc1234+changes`) is `ancestor` or comes after it. */
function descends(code: string, ancestor: string): boolean {
  try {
    execFileSync('git', ['-C', ROOT, 'merge-base', '--is-ancestor', ancestor, code.replace(/\+changes$/, '')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

async function measure(): Promise<Run> {
  const mode = (process.env.BENCH_FEATURES ?? (HAS_FEATURES ? 'on' : 'off')) as Mode;
  if (!MODES.includes(mode)) throw new Error(`BENCH_FEATURES must be one of ${MODES.join(', ')}, not ${String(mode)}`);
  const webhooksOn = mode === 'on' || mode === 'webhooks';
  const smtpOn = mode === 'on' || mode === 'smtp';
  if (mode !== 'off' && !HAS_FEATURES) throw new Error(`BENCH_FEATURES=${mode} needs the code with webhooks and messages (this checkout has neither)`);
  const load = os.loadavg()[0]!;
  const code = commit(); // at the start: others may commit while it runs
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const id = randomBytes(3).toString('hex');
  const serviceDb = `dsrflow_bench_tp_${id}`;
  const targetDb = `dsrflow_bench_tp_target_${id}`;
  const dataDir = await mkdtemp(join(os.tmpdir(), 'dsrflow-bench-'));
  const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH });
  const temporal = await startDevServer({ cliPath, port: 0, uiPort: false });
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // The receivers: counted, and the webhook one answers 204 as a healthy endpoint does.
    let webhooks = 0;
    let messages = 0;
    const env: Record<string, string> = {};
    if (webhooksOn) {
      const receiver: Server = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          webhooks += 1;
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => receiver.close(resolve)));
      env.BENCH_WEBHOOK_URL = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    }
    if (smtpOn) {
      // A devDependency of the code that has messages; imported here so the baseline needs none.
      const { SMTPServer } = await import('smtp-server');
      const smtp = new SMTPServer({
        disabledCommands: ['STARTTLS'],
        authOptional: true,
        logger: false,
        onData(stream, _session, callback) {
          stream.resume();
          stream.on('end', () => {
            messages += 1;
            callback();
          });
        },
      });
      // A client that dies resets its connection; smtp-server emits that as an 'error', which unheard ends the process.
      smtp.on('error', () => undefined);
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
      env.DSRFLOW_SMTP_URL = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
    }

    await loadExampleDatabase(databaseUrl(targetDb));
    await ensureDatabase(databaseUrl(serviceDb));
    const root = { id: 'bench-root', secret: randomBytes(32).toString('base64url') };
    const config = loadConfig({
      DATABASE_URL: databaseUrl(serviceDb),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `bench-${id}`,
      DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DSRFLOW_EXAMPLE_DATABASE_URL: databaseUrl(targetDb),
      DSRFLOW_DATA_DIR: dataDir,
      DSRFLOW_ROOT_CLIENT_ID: root.id,
      DSRFLOW_ROOT_CLIENT_SECRET: root.secret,
      LOG_LEVEL: 'warn',
      ...(env.DSRFLOW_SMTP_URL ? { DSRFLOW_SMTP_URL: env.DSRFLOW_SMTP_URL, DSRFLOW_MESSAGE_FROM: 'Privacy team <privacy@dsrflow.test>' } : {}),
    });
    const sql = connect(config.databaseUrl);
    closers.unshift(() => sql.end());
    await migrate(sql);
    const key = config.encryptionKey!;
    await registerExample(sql, databaseUrl(targetDb), key);
    await ensureRootClient(sql, root);

    const bundle = await bundleWorkflows();
    const worker = await createWorker({ config, sql, encryptionKey: key, workflowBundle: bundle });
    const running = worker.run();
    closers.unshift(async () => {
      await worker.shutdown();
      await running;
    });
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverter(key) });
    closers.unshift(() => client.connection.close());
    const api = await listen(createApp(apiDeps(config, { sql, temporal: client, encryptionKey: key })), '127.0.0.1', 0);
    closers.unshift(() => api.close());

    // A token as a client gets one (README, "Credentials").
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: root.id, client_secret: root.secret });
    const tokenResponse = await fetch(`${api.url}/api/v1/oauth/token`, { method: 'POST', body: form });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    if (!tokenResponse.ok || !token) throw new Error(`token refused: ${tokenResponse.status}`);
    const post = (path: string, body: unknown) =>
      fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

    if (webhooksOn) {
      const { WEBHOOK_EVENT_TYPES } = await import('../src/domain/webhooks.js');
      const subscribed = await post('/api/v1/webhook', { url: env.BENCH_WEBHOOK_URL, event_types: [...WEBHOOK_EVENT_TYPES] });
      if (subscribed.status !== 201) throw new Error(`webhook subscription refused: ${subscribed.status} ${await subscribed.text()}`);
    }

    const submit = async (count: number, offset: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let start = 0; start < count; start += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => ({
          policy_key: defaultAccessPolicy.key,
          identity: { email: CUSTOMERS[(offset + start + i) % CUSTOMERS.length]! },
        }));
        const response = await post('/api/v1/privacy-request', batch);
        const body = (await response.json()) as { succeeded: { id: string }[]; failed: unknown[] };
        if (response.status !== 200 || body.succeeded.length !== batch.length) throw new Error(`submission failed: ${response.status} ${JSON.stringify(body).slice(0, 500)}`);
        ids.push(...body.succeeded.map((request) => request.id));
      }
      return ids;
    };
    /** Until every request is finished in Postgres, then every workflow has returned its outcome. */
    const finish = async (ids: string[]) => {
      for (;;) {
        const [row] = await sql<{ open: number }[]>`select count(*)::int as open from privacy_request where id = any(${ids}) and status not in ('complete', 'error', 'denied', 'canceled')`;
        if (row!.open === 0) break;
        await sleep(100);
      }
      for (let start = 0; start < ids.length; start += BATCH) {
        const outcomes = await Promise.all(ids.slice(start, start + BATCH).map((requestId) => client.workflow.getHandle(requestId).result() as Promise<{ status: string }>));
        const wrong = outcomes.find((outcome) => outcome.status !== 'complete');
        if (wrong) throw new Error(`a request finished ${wrong.status}`);
      }
    };
    /** Until every webhook delivery and message the requests caused has arrived. */
    const drain = async () => {
      if (mode === 'off') return;
      const deadline = Date.now() + 300_000;
      for (;;) {
        const [row] = await sql<{ deliveries: number; pending: number; messages: number; sending: number }[]>`
          select (select count(*)::int from webhook_delivery) as deliveries,
                 (select count(*)::int from webhook_delivery where status = 'pending') as pending,
                 (select count(*)::int from message where status <> 'skipped') as messages,
                 (select count(*)::int from message where status = 'sending') as sending`;
        if (row!.pending === 0 && row!.sending === 0 && webhooks >= row!.deliveries && messages >= row!.messages) return;
        if (Date.now() > deadline) throw new Error(`deliveries did not drain: ${JSON.stringify(row)}, ${webhooks} webhooks and ${messages} messages received`);
        await sleep(100);
      }
    };

    // Warm-up (not measured): the connection pools, the example's target pool, the JIT.
    if (WARM_UP > 0) {
      await finish(await submit(WARM_UP, 0));
      await drain();
    }
    const webhooksBefore = webhooks;
    const messagesBefore = messages;
    const [statsBefore] = await sql<{ xacts: string }[]>`select xact_commit::text as xacts from pg_stat_database where datname = current_database()`;
    const cpuBefore = process.cpuUsage();
    const temporalBefore = await processCpu(temporal.process.pid);
    const postgresBefore = await postgresCpu();
    const machineBefore = await machineBusy();

    const started = performance.now();
    const ids = await submit(REQUESTS, WARM_UP);
    await finish(ids);
    const wallS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const temporalCpu = (await processCpu(temporal.process.pid)) - temporalBefore;
    const machineCpu = (await machineBusy()) - machineBefore;
    const postgresCpuS = (await postgresCpu()) - postgresBefore;
    const drainStarted = performance.now();
    await drain();
    const drainS = (performance.now() - drainStarted) / 1000;
    // Statistics reach pg_stat_database within a second of a transaction's end.
    await sleep(1500);
    const [statsAfter] = await sql<{ xacts: string }[]>`select xact_commit::text as xacts from pg_stat_database where datname = current_database()`;

    const durations = (
      await sql<{ seconds: number }[]>`
        select extract(epoch from finished_processing_at - created_at)::float8 as seconds from privacy_request where id = any(${ids})`
    )
      .map((row) => row.seconds)
      .sort((a, b) => a - b);

    // What a request costs in Temporal: events, activities, timers, children, from a sample of histories.
    const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / 20)) === 0).slice(0, 20);
    const EventType = protoPackage.temporal.api.enums.v1.EventType;
    let deliveryWorkflows = 0;
    const totals = { events: 0, activities: 0, local: 0, timers: 0, children: 0, childEvents: 0 };
    const activityTypes: Record<string, number> = {};
    for (const requestId of sample) {
      for await (const execution of client.workflow.list({ query: `WorkflowId = "${requestId}"` })) {
        const history = await client.workflow.getHandle(requestId, execution.runId).fetchHistory();
        for (const event of history.events ?? []) {
          totals.events += 1;
          if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
            totals.activities += 1;
            const name = event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
            activityTypes[name] = (activityTypes[name] ?? 0) + 1 / sample.length;
          }
          if (event.eventType === EventType.EVENT_TYPE_MARKER_RECORDED) totals.local += 1;
          if (event.eventType === EventType.EVENT_TYPE_TIMER_STARTED) totals.timers += 1;
          if (event.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) totals.children += 1;
        }
      }
      if (webhooksOn) {
        for (const delivery of await sql<{ id: string; event_type: string; status: string; attempts: number }[]>`
          select id, event_type, status, attempts from webhook_delivery where privacy_request_id = ${requestId}`) {
          try {
            totals.childEvents += (await client.workflow.getHandle(`webhook:${delivery.id}`).fetchHistory()).events?.length ?? 0;
            deliveryWorkflows += 1;
          } catch (error) {
            // Sent by its first attempt without a workflow of its own (dd5a5cf and later).
            if ((error as { code?: number }).code !== 5) throw error; // 5: NOT_FOUND
          }
        }
      }
    }

    return {
      label: process.env.BENCH_LABEL ?? (HAS_FEATURES ? mode : 'base'),
      commit: code,
      features: mode,
      requests: REQUESTS,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      load,
      wallS,
      perSecond: REQUESTS / wallS,
      p50S: percentile(durations, 50),
      p95S: percentile(durations, 95),
      cpuMsPerRequest: ((cpu.user + cpu.system) / 1000 / REQUESTS),
      temporalCpuMsPerRequest: (temporalCpu * 1000) / REQUESTS,
      transactionsPerRequest: (Number(statsAfter!.xacts) - Number(statsBefore!.xacts)) / REQUESTS,
      eventsPerRequest: totals.events / sample.length,
      activitiesPerRequest: totals.activities / sample.length,
      localActivitiesPerRequest: totals.local / sample.length,
      timersPerRequest: totals.timers / sample.length,
      childrenPerRequest: totals.children / sample.length,
      childEventsPerRequest: totals.childEvents / sample.length,
      deliveryWorkflowsPerRequest: deliveryWorkflows / sample.length,
      activityTypes,
      webhooks: webhooks - webhooksBefore,
      messages: messages - messagesBefore,
      drainS,
      postgresCpuMsPerRequest: (postgresCpuS * 1000) / REQUESTS,
      machineBusyPercent: (100 * machineCpu) / (wallS * os.availableParallelism()),
      otherCpuS: machineCpu - (cpu.user + cpu.system) / 1e6 - temporalCpu - postgresCpuS,
    };
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await temporal.stop();
    await admin`drop database if exists ${admin(serviceDb)} with (force)`.catch(() => undefined);
    await admin`drop database if exists ${admin(targetDb)} with (force)`.catch(() => undefined);
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Other processes took more than a tenth of the machine during the run. */
const disturbed = (entry: Run) => entry.otherCpuS !== undefined && entry.otherCpuS > 0.1 * entry.wallS * os.availableParallelism();
/** Student's t at 97.5% for 1 to 10 degrees of freedom (more: 2.2). */
const T975 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];
/** ` (95% interval a–b)` of the mean of these values, when there are at least three. */
function interval(values: number[]): string {
  if (values.length < 3) return '';
  const m = mean(values);
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1));
  const half = (T975[values.length - 2] ?? 2.2) * (sd / Math.sqrt(values.length));
  return ` (95% interval ${f(m - half)}–${f(m + half)}%)`;
}
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const f = (value: number, digits = 1) => value.toFixed(digits);

async function run(): Promise<BenchmarkResult> {
  const file = process.env.BENCH_THROUGHPUT_RUNS;
  // BENCH_THROUGHPUT_REPORT_ONLY=1: the section again from the runs of FILE, measuring nothing.
  const reportOnly = process.env.BENCH_THROUGHPUT_REPORT_ONLY === '1';
  if (reportOnly && !file) throw new Error('BENCH_THROUGHPUT_REPORT_ONLY needs BENCH_THROUGHPUT_RUNS');
  const current = reportOnly ? undefined : await measure();
  let runs = current ? [current] : [];
  if (file) {
    if (current) await appendFile(file, `${JSON.stringify(current)}\n`);
    runs = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Run);
  }
  return report(runs);
}

/** The section for these runs: each one a row, then the variants compared. */
export function report(runs: Run[]): BenchmarkResult {
  const rows = runs.map((entry, i) => ({
    '#': String(i + 1),
    variant: entry.label,
    commit: entry.commit,
    requests: String(entry.requests),
    'load at start': f(entry.load, 2),
    'wall time (s)': f(entry.wallS),
    'requests/s': f(entry.perSecond, 2),
    'p50 (s)': f(entry.p50S),
    'p95 (s)': f(entry.p95S),
    'CPU ms/request, API+worker': f(entry.cpuMsPerRequest, 0),
    'CPU ms/request, Temporal': f(entry.temporalCpuMsPerRequest, 0),
    'CPU ms/request, Postgres': entry.postgresCpuMsPerRequest === undefined ? '' : f(entry.postgresCpuMsPerRequest, 0),
    'machine busy': entry.machineBusyPercent === undefined ? '' : `${f(entry.machineBusyPercent, 0)}%`,
    'other CPU (s)': entry.otherCpuS === undefined ? '' : f(entry.otherCpuS, 1),
    'DB commits/request': f(entry.transactionsPerRequest),
    'history events/request': f(entry.eventsPerRequest),
    'delivery workflow events/request': f(entry.childEventsPerRequest ?? 0),
    'webhooks, messages': `${entry.webhooks}, ${entry.messages}`,
    'drain after (s)': f(entry.drainS),
  }));

  // Runs during which other work took more than a tenth of the machine are listed, not averaged.
  const counted = runs.filter((entry) => !disturbed(entry));
  const excluded = runs.flatMap((entry, i) => (disturbed(entry) ? [`#${i + 1} (${entry.label}: other processes used ${f(entry.otherCpuS!)} CPU seconds, ${f((100 * entry.otherCpuS!) / (entry.wallS * os.availableParallelism()), 0)}% of the machine)`] : []));
  // Variants by code: the baseline is one commit; the others are compared at the code they ran, or,
  // with BENCH_THROUGHPUT_SINCE=COMMIT, together for every commit from that one on (other work
  // committing between rounds should not split the runs of one change).
  const since = process.env.BENCH_THROUGHPUT_SINCE;
  const groupOf = (entry: Run) => (entry.label === 'base' ? 'base' : since && descends(entry.commit, since) ? `${entry.label} since ${since}` : `${entry.label} ${entry.commit}`);
  const groups = new Map<string, Run[]>();
  for (const entry of counted) groups.set(groupOf(entry), [...(groups.get(groupOf(entry)) ?? []), entry]);
  const base = groups.get('base');
  const latestRun = [...counted].reverse().find((entry) => entry.label !== 'base');
  const latest = latestRun ? groupOf(latestRun).slice(latestRun.label.length + 1) : undefined;
  const on = groups.get(`on ${latest}`);
  const baseRate = base ? mean(base.map((e) => e.perSecond)) : undefined;
  const notes: string[] = [];
  const avg = (entries: Run[], pick: (entry: Run) => number | undefined, digits = 0) => {
    const values = entries.map(pick).filter((value): value is number => value !== undefined);
    return values.length ? f(mean(values), digits) : '?';
  };
  const summary = [
    '| variant | runs | requests/s, mean (min–max) | of base | CPU ms/request, API+worker | CPU ms/request, Temporal | CPU ms/request, Postgres | DB commits/request | history events/request, own + delivery workflows | activities/request | timers/request | webhooks, messages/request |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...[...groups].map(([name, entries]) => {
      const rates = entries.map((e) => e.perSecond);
      const types: Record<string, number> = {};
      for (const entry of entries) for (const [type, count] of Object.entries(entry.activityTypes)) types[type] = (types[type] ?? 0) + count / entries.length;
      const activities = Object.entries(types)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, count]) => `${type} ${f(count)}`)
        .join(', ');
      return `| ${name} | ${entries.length} | ${f(mean(rates), 2)} (${f(Math.min(...rates), 2)}–${f(Math.max(...rates), 2)}) | ${baseRate ? `${f((mean(rates) / baseRate) * 100)}%` : ''} | ${avg(entries, (e) => e.cpuMsPerRequest)} | ${avg(entries, (e) => e.temporalCpuMsPerRequest)} | ${avg(entries, (e) => e.postgresCpuMsPerRequest)} | ${avg(entries, (e) => e.transactionsPerRequest, 1)} | ${avg(entries, (e) => e.eventsPerRequest)} + ${avg(entries, (e) => e.childEventsPerRequest)} | ${activities} | ${avg(entries, (e) => e.timersPerRequest, 1)} | ${avg(entries, (e) => e.webhooks / e.requests, 1)}, ${avg(entries, (e) => e.messages / e.requests, 1)} |`;
    }),
  ].join('\n');
  let passed: boolean | undefined;
  if (base && on && baseRate) {
    const ratio = mean(on.map((e) => e.perSecond)) / baseRate;
    // Each `on` run against the baseline run just before it (same round, same state of the machine).
    const paired = on.flatMap((entry) => {
      const before = counted.slice(0, counted.indexOf(entry)).reverse().find((other) => other.label === 'base');
      return before ? [{ at: runs.indexOf(entry) + 1, base: runs.indexOf(before) + 1, ratio: entry.perSecond / before.perSecond }] : [];
    });
    const pairedRatio = paired.length ? mean(paired.map((pair) => pair.ratio)) : ratio;
    passed = ratio >= TARGET_RATIO && pairedRatio >= TARGET_RATIO;
    notes.push(
      `Target: with deadlines (durable timers), messages over SMTP and signed webhooks on, throughput is at least ${TARGET_RATIO * 100}% of the code before them (${base[0]!.commit}). ` +
        `${passed ? 'Met' : 'NOT met'} at ${latest}: ${f(ratio * 100)}% (${f(mean(on.map((e) => e.perSecond)), 2)} against ${f(baseRate, 2)} requests/s, means of ${on.length} and ${base.length} runs)` +
        (paired.length ? `; each \`on\` run against the baseline run just before it: ${paired.map((pair) => `#${pair.at}/#${pair.base} ${f(pair.ratio * 100)}%`).join(', ')}, mean ${f(pairedRatio * 100)}%${interval(paired.map((pair) => pair.ratio * 100))}.` : '.'),
    );
    // The same pairing over every run, those shared with other work included: that work slowed
    // both runs of a round more or less alike, and it is most of the evidence on a busy machine.
    const everyOn = runs.filter((entry) => entry.label === 'on' && groupOf(entry) === `on ${latest}`);
    const everyPair = everyOn.flatMap((entry) => {
      const before = runs.slice(0, runs.indexOf(entry)).reverse().find((other) => other.label === 'base');
      return before ? [(100 * entry.perSecond) / before.perSecond] : [];
    });
    if (everyPair.length > paired.length) {
      const sorted = [...everyPair].sort((a, b) => a - b);
      notes.push(
        `Every \`on\` run at ${latest} against the baseline run just before it, runs shared with other work included (${everyPair.length} pairs): mean ${f(mean(everyPair))}%${interval(everyPair)}, median ${f(sorted[Math.floor(sorted.length / 2)]!)}%.`,
      );
    }
  } else {
    notes.push('The verdict needs BENCH_THROUGHPUT_RUNS holding runs of both the baseline and `on`.');
  }
  notes.push(`Per variant (means of its runs; activities from 20 sampled histories per run):\n\n${summary}`);
  if (excluded.length) notes.push(`Not averaged, because other work shared the machine (the "other CPU" column: the machine's busy time less this process, the Temporal server and Postgres): ${excluded.join('; ')}.`);
  notes.push(
    `Setup: ${REQUESTS} access requests (BENCH_REQUESTS) under the Fides example's default_access_policy, one of ${CUSTOMERS.length} example customers' emails each, POST /api/v1/privacy-request in batches of ${BATCH} with a client-credentials token, after ${WARM_UP} unmeasured warm-up requests; ` +
      `wall time from the first submission until every workflow returned its outcome; p50/p95 of created_at → finished_processing_at. ` +
      `The Temporal CLI dev server (SQLite in memory), one worker with default settings and the API in this process, Postgres on the same machine. ` +
      `Variants: base = the code before deadlines, verification, messages and webhooks (git worktree, BENCH_FEATURES=off); off = this code without SMTP URL or webhook subscription (deadline timers stay: they are always on); on = a subscription to every event type (receiver on loopback answering 204) and an SMTP server on loopback; webhooks, smtp = one of the two. ` +
      `"Drain after" is how long after the last workflow completed the last webhook or message arrived. CPU: this process (API, worker, submitter and receivers) and the Temporal server, per measured request. Runs were alternated (base, off, on, …) because the machine's load varies by about 10%.`,
  );
  return { title: 'End-to-end throughput with deadlines, messages and webhooks on and off', rows, notes, ...(passed === undefined ? {} : { passed }) };
}

export const noticesCost: Benchmark = { name: 'notices-cost', run };
