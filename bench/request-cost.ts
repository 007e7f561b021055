/**
 * What one request costs (issue 14, item 7): the Fides example's access request and an erasure
 * request (example_erasure_policy, confirmed through the API), on its 11 collections, measured
 * over BENCH_COST_REQUESTS requests of each kind (default 50) after BENCH_COST_WARM_UP unmeasured
 * ones (default 3), one kind after the other, on a Temporal dev server of its own (SQLite in
 * memory) and the machine's Postgres, with the API and one worker in this process.
 *
 * - Temporal, from every measured workflow's history: events by type, workflow tasks, activities
 *   (and their attempts), local activity and patch markers, timers, signals, updates, search
 *   attribute upserts, child workflows, and the history's size in bytes (the History proto
 *   encoded, and describe()'s historySize).
 * - Temporal Cloud actions, counted from those histories by the rules of
 *   https://docs.temporal.io/cloud/actions, and the Temporal server's own `action` counter.
 * - The Temporal server's persistence requests by operation (its `persistence_requests` and
 *   `visibility_persistence_requests` counters, read from the dev server's /metrics).
 * - dsrflow's Postgres: rows inserted, updated and deleted per table (pg_stat_user_tables
 *   deltas) and the bytes the tables grew by (pg_total_relation_size), the statements and
 *   transactions dsrflow's pool sent (counted at the client, with postgres.js's debug hook), and
 *   the access package files written.
 * - CPU milliseconds per request of this process (API and worker), the Temporal server, Postgres.
 */
import { appendFileSync } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import protoPackage from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import postgres from 'postgres';
import { apiDeps, createApp } from '../src/api/app.js';
import { listen } from '../src/api/server.js';
import { defaultAccessPolicy, exampleErasurePolicy } from '../src/example/load.js';
import { dataConverter } from '../src/temporal/codec.js';
import { freePort } from '../src/temporal/dev-server.js';
import { bundleWorkflows, createWorker } from '../src/worker/index.js';
import { postgresCpu, processCpu } from './cpu.js';
import type { Benchmark, BenchmarkResult } from './run.js';
import { databaseUrl, openBenchService } from './service.js';

const REQUESTS = Number(process.env.BENCH_COST_REQUESTS ?? 50);
const WARM_UP = Number(process.env.BENCH_COST_WARM_UP ?? 3);
const BATCH = 50;
/** The example's customers (src/example/fides-postgres-example/postgres_sample.sql). */
const CUSTOMERS = ['customer-1@example.com', 'customer-2@example.com', 'jane@example.com'];
/** activities/index.ts heartbeats every third of the heartbeat timeout (30 s by default). */
const HEARTBEAT_EVERY_MS = 10_000;
const STATS_DELAY_MS = 11_000;

type Kind = 'access' | 'erasure';
const POLICY: Record<Kind, string> = { access: defaultAccessPolicy.key, erasure: exampleErasurePolicy.key };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const f = (value: number, digits = 1) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const mean = (values: number[]) => (values.length ? sum(values) / values.length : 0);

// ---- Temporal histories ------------------------------------------------------------------------

interface WorkflowCost {
  events: number;
  bytes: number;
  /** describe()'s historySize: the server's own count of the history's bytes. */
  serverBytes: number;
  byType: Record<string, number>;
  workflowTasks: number;
  activities: number;
  activityAttempts: number;
  activityTypes: Record<string, number>;
  longestActivityMs: number;
  /** At most one heartbeat per HEARTBEAT_EVERY_MS an activity ran (the SDK throttles further). */
  heartbeats: number;
  markers: Record<string, number>;
  /** Workflow tasks whose completion recorded at least one marker: Temporal Cloud bills each as one action. */
  markerTasks: number;
  timers: number;
  signals: number;
  updates: number;
  upserts: number;
  /** Upserts of TemporalChangeVersion alone (patches), which Temporal Cloud does not bill. */
  changeVersionUpserts: number;
  children: number;
  continuedAsNew: number;
}

const EventType = protoPackage.temporal.api.enums.v1.EventType;
const eventMs = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(String(time?.seconds ?? 0)) * 1000 + (time?.nanos ?? 0) / 1e6;

async function workflowCost(client: Client, workflowId: string): Promise<WorkflowCost> {
  const handle = client.workflow.getHandle(workflowId);
  const history = await handle.fetchHistory();
  const description = await handle.describe();
  const cost: WorkflowCost = {
    events: 0,
    bytes: protoPackage.temporal.api.history.v1.History.encode(history).finish().length,
    serverBytes: description.historySize ?? 0,
    byType: {},
    workflowTasks: 0,
    activities: 0,
    activityAttempts: 0,
    activityTypes: {},
    longestActivityMs: 0,
    heartbeats: 0,
    markers: {},
    markerTasks: 0,
    timers: 0,
    signals: 0,
    updates: 0,
    upserts: 0,
    changeVersionUpserts: 0,
    children: 0,
    continuedAsNew: 0,
  };
  const startedAt = new Map<string, number>();
  const markerTasks = new Set<string>();
  for (const event of history.events ?? []) {
    cost.events += 1;
    const name = (EventType[event.eventType ?? 0] ?? '?').replace(/^EVENT_TYPE_/, '').toLowerCase();
    cost.byType[name] = (cost.byType[name] ?? 0) + 1;
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        cost.workflowTasks += 1;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        cost.activities += 1;
        const type = event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        cost.activityTypes[type] = (cost.activityTypes[type] ?? 0) + 1;
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        // Only the last attempt's start is in the history; its number says how many there were.
        cost.activityAttempts += event.activityTaskStartedEventAttributes?.attempt ?? 1;
        startedAt.set(String(event.activityTaskStartedEventAttributes?.scheduledEventId), eventMs(event.eventTime));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const started = startedAt.get(String(event.activityTaskCompletedEventAttributes?.scheduledEventId));
        if (started === undefined) break;
        const ranMs = eventMs(event.eventTime) - started;
        cost.longestActivityMs = Math.max(cost.longestActivityMs, ranMs);
        cost.heartbeats += Math.floor(ranMs / HEARTBEAT_EVERY_MS);
        break;
      }
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const marker = event.markerRecordedEventAttributes?.markerName ?? '?';
        cost.markers[marker] = (cost.markers[marker] ?? 0) + 1;
        markerTasks.add(String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId));
        break;
      }
      case EventType.EVENT_TYPE_TIMER_STARTED:
        cost.timers += 1;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        cost.signals += 1;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        cost.updates += 1;
        break;
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        cost.upserts += 1;
        const fields = Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (fields.length > 0 && fields.every((field) => field === 'TemporalChangeVersion')) cost.changeVersionUpserts += 1;
        break;
      }
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        cost.children += 1;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        cost.continuedAsNew += 1;
        break;
    }
  }
  cost.markerTasks = markerTasks.size;
  return cost;
}

/** Temporal Cloud actions of one workflow by https://docs.temporal.io/cloud/actions, from its history. */
function cloudActions(cost: WorkflowCost): Record<string, number> {
  return {
    'workflow started': 1 + cost.continuedAsNew,
    'activity started or retried': cost.activityAttempts,
    'local activities (all markers of one workflow task)': cost.markerTasks,
    'timer started': cost.timers,
    'search attribute upsert (TemporalChangeVersion alone excluded)': cost.upserts - cost.changeVersionUpserts,
    'signal sent': cost.signals,
    'update received by worker': cost.updates,
    'child workflow (2 each)': 2 * cost.children,
    // Only activities running longer than the heartbeat interval heartbeat (activities/index.ts).
    'activity heartbeat (at most)': cost.heartbeats,
  };
}

// ---- The Temporal server's own counters --------------------------------------------------------

type Counters = Map<string, number>;

/** The dev server's /metrics: `action` by action_type, persistence requests by operation. */
async function serverCounters(metricsUrl: string): Promise<Counters> {
  const text = await (await fetch(metricsUrl)).text();
  const counters: Counters = new Map();
  for (const line of text.split('\n')) {
    const match = /^(action|persistence_requests|visibility_persistence_requests)(?:_total)?\{([^}]*)\}\s+([0-9.e+-]+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]]));
    const key = match[1] === 'action' ? `action ${labels.action_type ?? '?'}` : `${match[1] === 'persistence_requests' ? 'persistence' : 'visibility'} ${labels.operation ?? '?'}`;
    counters.set(key, (counters.get(key) ?? 0) + Number(match[3]));
  }
  return counters;
}

function counterDelta(before: Counters, after: Counters): Counters {
  const delta: Counters = new Map();
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0);
    if (change > 0) delta.set(key, change);
  }
  return delta;
}

// ---- dsrflow's Postgres ------------------------------------------------------------------------

interface TableStats {
  inserted: number;
  updated: number;
  deleted: number;
  bytes: number;
}

async function tableStats(meter: postgres.Sql): Promise<Map<string, TableStats>> {
  const rows = await meter<{ relname: string; ins: number; upd: number; del: number; bytes: number }[]>`
    select relname, n_tup_ins::float8 as ins, n_tup_upd::float8 as upd, n_tup_del::float8 as del, pg_total_relation_size(relid)::float8 as bytes
    from pg_stat_user_tables`;
  return new Map(rows.map((row) => [row.relname, { inserted: row.ins, updated: row.upd, deleted: row.del, bytes: row.bytes }]));
}

/** What dsrflow's pool sends, counted at the client. */
interface StatementCount {
  statements: number;
  transactions: number;
  reads: number;
  writes: number;
  /** Statements that write a table, by table (a statement writing two counts for both). */
  writesByTable: Record<string, number>;
}

function statementCounter(sql: postgres.Sql): { read(): StatementCount } {
  const count: StatementCount = { statements: 0, transactions: 0, reads: 0, writes: 0, writesByTable: {} };
  const inTransaction = new Set<number>();
  // BENCH_COST_STATEMENT_LOG=path: every statement's text on a line of its own, to see which ones a request sends.
  const logPath = process.env.BENCH_COST_STATEMENT_LOG;
  // postgres.js calls options.debug for every query it sends, on every connection of the pool.
  Object.assign(sql.options, {
    debug: (connection: number, query: string) => {
      const text = query.trim().toLowerCase();
      if (logPath) appendFileSync(logPath, `${connection}\t${text.replace(/\s+/g, ' ').slice(0, 300)}\n`);
      if (/^(begin|start transaction)\b/.test(text)) {
        inTransaction.add(connection);
        count.transactions += 1;
        return;
      }
      if (/^(commit|rollback|end)\b/.test(text)) {
        inTransaction.delete(connection);
        return;
      }
      if (/^(savepoint|release)\b/.test(text)) return;
      count.statements += 1;
      if (!inTransaction.has(connection)) count.transactions += 1;
      const tables = [...text.matchAll(/\binsert\s+into\s+"?(\w+)"?|\bupdate\s+"?(\w+)"?\s+(?:as\s+\w+\s+|\w+\s+)?set\b|\bdelete\s+from\s+"?(\w+)"?/g)].map((match) => match[1] ?? match[2] ?? match[3]!);
      if (tables.length) {
        count.writes += 1;
        for (const table of new Set(tables)) count.writesByTable[table] = (count.writesByTable[table] ?? 0) + 1;
      } else count.reads += 1;
    },
  });
  return { read: () => structuredClone(count) };
}

async function directoryBytes(directory: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    files += 1;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

// ---- The measure -------------------------------------------------------------------------------

interface KindCost {
  kind: Kind;
  requests: number;
  seconds: number;
  apiCalls: number;
  workflows: WorkflowCost[];
  actions: Record<string, number>;
  serverCounters: Counters;
  tables: Map<string, TableStats>;
  statements: StatementCount;
  targetRows: { inserted: number; updated: number; deleted: number };
  packages: { files: number; bytes: number };
  cpu: { own: number; temporal: number; postgres: number };
}

async function run(): Promise<BenchmarkResult> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // The dev server serves its metrics on a port chosen at start and only printed; a wrapper names it.
  const metricsPort = await freePort();
  const service = await openBenchService('cost', {
    cli: async (realCli, directory) => {
      const wrapper = join(directory, 'temporal');
      await writeFile(wrapper, `#!/bin/sh\nexec '${realCli.replace(/'/g, `'\\''`)}' "$@" --metrics-port ${metricsPort}\n`, { mode: 0o755 });
      return wrapper;
    },
    // The maintenance round runs at the worker's start, not during the measures.
    env: { DSRFLOW_MAINTENANCE_INTERVAL: '1d' },
  });
  const { id, temporal, closers, sql, key, serviceDb, targetDb, dataDir } = service;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const results: KindCost[] = [];
  try {
    const config = service.configFor(`bench-${id}`);
    const meter = postgres(databaseUrl(serviceDb), { max: 1, onnotice: () => {} });
    closers.unshift(() => meter.end());
    const targetMeter = postgres(databaseUrl(targetDb), { max: 1, onnotice: () => {} });
    closers.unshift(() => targetMeter.end());

    const worker = await createWorker({ config, sql, encryptionKey: key, workflowBundle: await bundleWorkflows() });
    const running = worker.run();
    closers.unshift(async () => {
      await worker.shutdown();
      await running;
    });
    const connection = await Connection.connect({ address: temporal.address });
    closers.unshift(() => connection.close());
    const client = new Client({ connection, dataConverter: dataConverter(key) });
    const api = await listen(createApp(apiDeps(config, { sql, temporal: client, encryptionKey: key })), '127.0.0.1', 0);
    closers.unshift(() => api.close());
    const token = await service.rootToken(api);
    const post = (path: string, body: unknown) =>
      fetch(`${api.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const statements = statementCounter(sql);
    const storage = config.accessPackages.storage;
    const packageDirectory = storage.kind === 'local' ? storage.directory : dataDir;

    let apiCalls = 0;
    /** Submits `count` requests of `kind` in batches of 50 and waits for every one to finish complete. */
    const runRequests = async (kind: Kind, count: number, offset: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let start = 0; start < count; start += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => ({ policy_key: POLICY[kind], identity: { email: CUSTOMERS[(offset + start + i) % CUSTOMERS.length]! } }));
        const response = await post('/privacy-request', batch);
        apiCalls += 1;
        const answer = (await response.json()) as { succeeded: { id: string }[]; failed: unknown[] };
        if (response.status !== 200 || answer.failed.length > 0) throw new Error(`submission failed: ${response.status} ${JSON.stringify(answer).slice(0, 500)}`);
        ids.push(...answer.succeeded.map((request) => request.id));
      }
      if (kind === 'erasure') {
        // example_erasure_policy waits for a person to confirm: the benchmark confirms through the
        // API (a Temporal update) as soon as a request shows awaiting_erasure_confirmation.
        const confirmed = new Set<string>();
        const deadline = Date.now() + 600_000;
        while (confirmed.size < ids.length) {
          if (Date.now() > deadline) throw new Error(`${ids.length - confirmed.size} erasure requests never awaited confirmation`);
          const rows = await meter<{ id: string; status: string }[]>`select id, status from privacy_request where id = any(${ids}) and status in ('awaiting_erasure_confirmation', 'error', 'complete', 'canceled', 'denied')`;
          const finished = rows.find((row) => row.status !== 'awaiting_erasure_confirmation' && !confirmed.has(row.id));
          if (finished) throw new Error(`erasure request ${finished.id} finished ${finished.status} without awaiting confirmation`);
          const waiting = rows.filter((row) => row.status === 'awaiting_erasure_confirmation' && !confirmed.has(row.id)).map((row) => row.id);
          for (let start = 0; start < waiting.length; start += 8) {
            await Promise.all(
              waiting.slice(start, start + 8).map(async (requestId) => {
                const response = await post(`/privacy-request/${requestId}/confirm_erasure`, {});
                apiCalls += 1;
                if (response.status !== 200) throw new Error(`confirm_erasure ${requestId}: ${response.status} ${await response.text()}`);
                confirmed.add(requestId);
              }),
            );
          }
          if (confirmed.size < ids.length) await sleep(200);
        }
      }
      const outcomes = await Promise.all(ids.map((requestId) => client.workflow.getHandle(requestId).result() as Promise<{ status: string }>));
      const wrong = outcomes.find((outcome) => outcome.status !== 'complete');
      if (wrong) throw new Error(`a ${kind} request finished ${wrong.status}`);
      return ids;
    };

    let offset = 0;
    for (const kind of ['access', 'erasure'] as const) {
      await runRequests(kind, WARM_UP, offset);
      offset += WARM_UP;
      // A backend that goes idle less than a second after its last report holds its counts for
      // up to 10 s (PGSTAT_IDLE_INTERVAL) before they reach pg_stat_user_tables.
      await sleep(STATS_DELAY_MS);
      const counters = await serverCounters(metricsUrl);
      const tables = await tableStats(meter);
      const [target] = await targetMeter<{ ins: number; upd: number; del: number }[]>`select sum(n_tup_ins)::float8 as ins, sum(n_tup_upd)::float8 as upd, sum(n_tup_del)::float8 as del from pg_stat_user_tables`;
      const counted = statements.read();
      const packages = await directoryBytes(packageDirectory);
      apiCalls = 0;
      const own = process.cpuUsage();
      const temporalCpu = await processCpu(temporal.process.pid);
      const postgresBefore = await postgresCpu();
      const started = performance.now();

      const ids = await runRequests(kind, REQUESTS, offset);
      offset += REQUESTS;

      const seconds = (performance.now() - started) / 1000;
      const ownUsed = process.cpuUsage(own);
      const cpu = {
        own: (ownUsed.user + ownUsed.system) / 1000 / REQUESTS,
        temporal: (((await processCpu(temporal.process.pid)) - temporalCpu) * 1000) / REQUESTS,
        postgres: (((await postgresCpu()) - postgresBefore) * 1000) / REQUESTS,
      };
      const calls = apiCalls;
      await sleep(STATS_DELAY_MS);
      const countersAfter = await serverCounters(metricsUrl);
      const tablesAfter = await tableStats(meter);
      const [targetAfter] = await targetMeter<{ ins: number; upd: number; del: number }[]>`select sum(n_tup_ins)::float8 as ins, sum(n_tup_upd)::float8 as upd, sum(n_tup_del)::float8 as del from pg_stat_user_tables`;
      const countedAfter = statements.read();
      const packagesAfter = await directoryBytes(packageDirectory);

      const workflows: WorkflowCost[] = [];
      for (const requestId of ids) workflows.push(await workflowCost(client, requestId));
      const actions: Record<string, number> = {};
      for (const workflow of workflows) for (const [what, count] of Object.entries(cloudActions(workflow))) actions[what] = (actions[what] ?? 0) + count / workflows.length;
      const tableDelta = new Map<string, TableStats>();
      for (const [table, after] of tablesAfter) {
        const before = tables.get(table) ?? { inserted: 0, updated: 0, deleted: 0, bytes: 0 };
        tableDelta.set(table, { inserted: after.inserted - before.inserted, updated: after.updated - before.updated, deleted: after.deleted - before.deleted, bytes: after.bytes - before.bytes });
      }
      const writesByTable: Record<string, number> = {};
      for (const [table, count] of Object.entries(countedAfter.writesByTable)) {
        const change = count - (counted.writesByTable[table] ?? 0);
        if (change > 0) writesByTable[table] = change;
      }
      results.push({
        kind,
        requests: REQUESTS,
        seconds,
        apiCalls: calls,
        workflows,
        actions,
        serverCounters: counterDelta(counters, countersAfter),
        tables: tableDelta,
        statements: {
          statements: countedAfter.statements - counted.statements,
          transactions: countedAfter.transactions - counted.transactions,
          reads: countedAfter.reads - counted.reads,
          writes: countedAfter.writes - counted.writes,
          writesByTable,
        },
        targetRows: { inserted: targetAfter!.ins - target!.ins, updated: targetAfter!.upd - target!.upd, deleted: targetAfter!.del - target!.del },
        packages: { files: packagesAfter.files - packages.files, bytes: packagesAfter.bytes - packages.bytes },
        cpu,
      });
    }
  } finally {
    await service.close();
  }
  return report(results);
}

// ---- The report --------------------------------------------------------------------------------

function report(results: KindCost[]): BenchmarkResult {
  const per = (pick: (result: KindCost) => number, digits = 1) => Object.fromEntries(results.map((result) => [result.kind, f(pick(result) / result.requests, digits)]));
  const perWorkflow = (pick: (workflow: WorkflowCost) => number, digits = 1) =>
    Object.fromEntries(
      results.map((result) => {
        const values = result.workflows.map(pick);
        const low = Math.min(...values);
        const high = Math.max(...values);
        return [result.kind, `${f(mean(values), digits)}${low === high ? '' : ` (${f(low, 0)}–${f(high, 0)})`}`];
      }),
    );
  const row = (measure: string, values: Record<string, string>) => ({ measure, ...values });
  const actionTotal = (result: KindCost) => sum(Object.values(result.actions));
  const serverActions = (result: KindCost) => sum([...result.serverCounters].filter(([key]) => key.startsWith('action ')).map(([, value]) => value));
  const persistence = (result: KindCost, prefix: string, write: boolean) =>
    sum([...result.serverCounters].filter(([key]) => key.startsWith(`${prefix} `) && isWrite(key.slice(prefix.length + 1)) === write).map(([, value]) => value));
  const tableTotal = (result: KindCost, pick: (stats: TableStats) => number) => sum([...result.tables.values()].map(pick));

  const rows = [
    row('requests measured (all finished complete)', Object.fromEntries(results.map((result) => [result.kind, String(result.requests)]))),
    row('history events', perWorkflow((w) => w.events)),
    row('history bytes (History proto encoded)', perWorkflow((w) => w.bytes, 0)),
    row("history bytes (describe()'s historySize)", perWorkflow((w) => w.serverBytes, 0)),
    row('workflow tasks', perWorkflow((w) => w.workflowTasks)),
    row('activities scheduled', perWorkflow((w) => w.activities)),
    row('activity attempts', perWorkflow((w) => w.activityAttempts)),
    row('local activities (markers)', perWorkflow((w) => w.markers.core_local_activity ?? 0)),
    row('patch markers', perWorkflow((w) => w.markers.core_patch ?? 0)),
    row('workflow tasks recording markers', perWorkflow((w) => w.markerTasks)),
    row('timers started', perWorkflow((w) => w.timers)),
    row('signals', perWorkflow((w) => w.signals)),
    row('updates accepted', perWorkflow((w) => w.updates)),
    row('search attribute upserts (of them TemporalChangeVersion alone)', Object.fromEntries(results.map((result) => [result.kind, `${f(mean(result.workflows.map((w) => w.upserts)))} (${f(mean(result.workflows.map((w) => w.changeVersionUpserts)))})`]))),
    row('child workflows', perWorkflow((w) => w.children)),
    row('Temporal Cloud actions, by the documented rules', Object.fromEntries(results.map((result) => [result.kind, f(actionTotal(result))]))),
    row("Temporal server's `action` counter", per(serverActions)),
    row('Temporal persistence requests: writes, reads', Object.fromEntries(results.map((result) => [result.kind, `${f(persistence(result, 'persistence', true) / result.requests)}, ${f(persistence(result, 'persistence', false) / result.requests)}`]))),
    row('Temporal visibility requests: writes, reads', Object.fromEntries(results.map((result) => [result.kind, `${f(persistence(result, 'visibility', true) / result.requests)}, ${f(persistence(result, 'visibility', false) / result.requests)}`]))),
    row('dsrflow Postgres statements (writes, reads)', Object.fromEntries(results.map((result) => [result.kind, `${f(result.statements.statements / result.requests)} (${f(result.statements.writes / result.requests)}, ${f(result.statements.reads / result.requests)})`]))),
    row('dsrflow Postgres transactions', per((result) => result.statements.transactions)),
    row('dsrflow rows inserted, updated, deleted', Object.fromEntries(results.map((result) => [result.kind, `${f(tableTotal(result, (t) => t.inserted) / result.requests)}, ${f(tableTotal(result, (t) => t.updated) / result.requests)}, ${f(tableTotal(result, (t) => t.deleted) / result.requests)}`]))),
    row('dsrflow table bytes added (heap, indexes, TOAST)', per((result) => tableTotal(result, (t) => t.bytes), 0)),
    row('access package files, bytes', Object.fromEntries(results.map((result) => [result.kind, `${f(result.packages.files / result.requests)}, ${f(result.packages.bytes / result.requests, 0)}`]))),
    row('target store rows updated (the example database)', per((result) => result.targetRows.updated)),
    row('API calls', per((result) => result.apiCalls, 2)),
    row('CPU ms: API+worker, Temporal, Postgres', Object.fromEntries(results.map((result) => [result.kind, `${f(result.cpu.own, 0)}, ${f(result.cpu.temporal, 0)}, ${f(result.cpu.postgres, 0)}`]))),
    row('wall time for the batch (s)', Object.fromEntries(results.map((result) => [result.kind, f(result.seconds)]))),
  ];

  const kinds = results.map((result) => result.kind);
  const header = (first: string) => [`| ${first} | ${kinds.join(' | ')} |`, `| --- | ${kinds.map(() => '---:').join(' | ')} |`];
  const breakdown = (title: string, keys: string[], value: (result: KindCost, key: string) => string) =>
    [title, '', ...header(''), ...keys.map((key) => `| ${key} | ${results.map((result) => value(result, key)).join(' | ')} |`)].join('\n');

  const actionKeys = Object.keys(results[0]?.actions ?? {});
  const serverActionKeys = [...new Set(results.flatMap((result) => [...result.serverCounters.keys()].filter((key) => key.startsWith('action '))))].sort();
  const tables = [...new Set(results.flatMap((result) => [...result.tables].filter(([, t]) => t.inserted || t.updated || t.deleted || t.bytes).map(([table]) => table)))].sort();
  const statementTables = [...new Set(results.flatMap((result) => Object.keys(result.statements.writesByTable)))].sort();
  const activityTypes = [...new Set(results.flatMap((result) => result.workflows.flatMap((w) => Object.keys(w.activityTypes))))].sort();
  const eventTypes = [...new Set(results.flatMap((result) => result.workflows.flatMap((w) => Object.keys(w.byType))))].sort();
  const persistenceOps = [...new Set(results.flatMap((result) => [...result.serverCounters.keys()].filter((key) => !key.startsWith('action '))))].sort();
  const meanOf = (result: KindCost, pick: (w: WorkflowCost) => number) => f(mean(result.workflows.map(pick)));

  const notes = [
    breakdown('Temporal Cloud actions per request, counted from the histories by the rules of [Temporal Cloud Actions](https://docs.temporal.io/cloud/actions):', [...actionKeys, '**total**'], (result, key) =>
      key === '**total**' ? `**${f(actionTotal(result))}**` : f(result.actions[key] ?? 0),
    ),
    breakdown(
      "The Temporal server's own `action` counter (`action_type`), per request: it counts every `UpsertWorkflowSearchAttributes` command, those of TemporalChangeVersion alone included, and one `command_BatchMarkers` per workflow task completion with markers:",
      serverActionKeys.map((key) => key.slice('action '.length)),
      (result, key) => f((result.serverCounters.get(`action ${key}`) ?? 0) / result.requests),
    ),
    `Activity heartbeats: activities heartbeat every third of their heartbeat timeout (10 s by default, activities/index.ts), so one that ends sooner sends none; the longest activity took ${results.map((result) => `${f(Math.max(...result.workflows.map((w) => w.longestActivityMs)), 0)} ms (${result.kind})`).join(', ')}.`,
    breakdown('dsrflow Postgres per request, by table: rows inserted / updated / deleted (pg_stat_user_tables), statements writing it (counted at the client), bytes added:', tables, (result, table) => {
      const stats = result.tables.get(table);
      const n = result.requests;
      return stats ? `${f(stats.inserted / n)} / ${f(stats.updated / n)} / ${f(stats.deleted / n)}; ${f((result.statements.writesByTable[table] ?? 0) / n)}; ${f(stats.bytes / n, 0)} B` : '';
    }),
    ...(statementTables.some((table) => !tables.includes(table)) ? [`Statements naming tables with no row change: ${statementTables.filter((table) => !tables.includes(table)).join(', ')}.`] : []),
    breakdown('Activities per request by type (scheduled):', activityTypes, (result, type) => meanOf(result, (w) => w.activityTypes[type] ?? 0)),
    breakdown('History events per request by type:', eventTypes, (result, type) => meanOf(result, (w) => w.byType[type] ?? 0)),
    breakdown(
      "The Temporal server's persistence requests per request, by operation (`persistence_requests`, and `visibility_persistence_requests` for the visibility store; the dev server's SQLite runs Temporal's SQL persistence layer, the one its PostgreSQL plugin also runs):",
      persistenceOps,
      (result, key) => f((result.serverCounters.get(key) ?? 0) / result.requests),
    ),
    `Setup: ${REQUESTS} requests of each kind (BENCH_COST_REQUESTS) after ${WARM_UP} unmeasured ones (BENCH_COST_WARM_UP), submitted through POST /api/v1/privacy-request in batches of ${BATCH}, for the example's ${CUSTOMERS.length} customers in turn; access first, then erasure. ` +
      `Access: default_access_policy (the Fides example's 11 collections). Erasure: example_erasure_policy (access to the same 11 collections, an access package, an erasure preview, then names nulled), which waits for confirmation: the benchmark sends POST /privacy-request/{id}/confirm_erasure (a Temporal update) as soon as the request shows awaiting_erasure_confirmation, and counts it among the API calls. ` +
      `No webhook subscription and no SMTP server (messages are recorded as skipped), default deadlines, no approval. The Temporal CLI dev server (SQLite in memory), Postgres, the API and one worker (in this process, one pool of 10) share the machine. ` +
      `Temporal figures are means over every measured workflow (min–max in brackets); Postgres figures are deltas over the batch divided by its size, read 11 s after the last request finished (Postgres reports a backend's counts within 10 s); rows are those of dsrflow's own database. Table bytes grow by whole pages, B-tree pages split in bursts, and dead row versions count until vacuum: one table's bytes in one batch can be off by a few kB per request; the total over both batches (${results.length ? f(sum(results.map((result) => sum([...result.tables.values()].map((t) => t.bytes)))) / sum(results.map((result) => result.requests)), 0) : '?'} B per request) is the steadier figure.`,
  ];
  return { title: 'What one request costs', rows, notes };
}

/** Persistence operations that write (the rest read). */
function isWrite(operation: string): boolean {
  return /^(Create|Update|Upsert|Append|Delete|Complete|RangeComplete|RangeDelete|Insert|Record|Set|Put|Conflict|Add|Lock|Save|Trim|Prune|Register|Init)/.test(operation);
}

export const requestCost: Benchmark = { name: 'request-cost', run };
