/**
 * A privacy request over thousands of collections, end to end on a real Temporal dev server and
 * Postgres: 5,000 tables fanning out from a customer table (each references its parent's id, eight
 * children per parent), one access request for the customer. It shows that such a request stays
 * within Temporal's history limits (51,200 events per run; dsrflow continues as new at
 * DSRFLOW_HISTORY_EVENT_LIMIT, default 10,000) and how long it takes.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import postgres from 'postgres';
import { apiDeps, createApp } from '../src/api/app.js';
import { listen } from '../src/api/server.js';
import { ensureRootClient, issueClientToken } from '../src/auth/service.js';
import { loadConfig } from '../src/config.js';
import { connect, ensureDatabase } from '../src/db/client.js';
import { upsertConnection } from '../src/db/connections.js';
import { upsertDataset } from '../src/db/datasets.js';
import { migrate } from '../src/db/migrate.js';
import { savePolicy } from '../src/db/policies.js';
import type { Dataset } from '../src/domain/datasets.js';
import { defaultAccessPolicy } from '../src/example/load.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { dataConverter } from '../src/temporal/codec.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { bundleWorkflows, createWorker } from '../src/worker/index.js';
import type { Benchmark, BenchmarkResult } from './run.js';

const COLLECTIONS = Number(process.env.BENCH_LONG_COLLECTIONS ?? 5000);
const FAN_OUT = 8;
const SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();
const table = (i: number) => `t_${String(i).padStart(5, '0')}`;

function dataset(): Dataset {
  return <Dataset>{
    fides_key: 'wide',
    collections: Array.from({ length: COLLECTIONS }, (_, i) => ({
      name: table(i),
      fields: [
        { name: 'id', data_categories: ['system.operations'], fides_meta: { primary_key: true } },
        i === 0
          ? { name: 'email', data_categories: ['user.contact.email'], fides_meta: { identity: 'email', data_type: 'string' } }
          : { name: 'parent_id', data_categories: ['system.operations'], fides_meta: { references: [{ dataset: 'wide', field: `${table(Math.floor((i - 1) / FAN_OUT))}.id`, direction: 'from' as const }] } },
        { name: 'note', data_categories: ['user.content'] },
      ],
    })),
  };
}

async function run(): Promise<BenchmarkResult> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const id = randomBytes(3).toString('hex');
  const serviceDb = `dsrflow_bench_long_${id}`;
  const targetDb = `dsrflow_bench_long_target_${id}`;
  const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH });
  const temporal = await startDevServer({ cliPath, port: 0, uiPort: false });
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  try {
    // Target: 2,000 tables, each with the customer's rows (one row per table).
    await ensureDatabase(databaseUrl(targetDb));
    const target = postgres(databaseUrl(targetDb), { max: 1, onnotice: () => {} });
    const statements = Array.from({ length: COLLECTIONS }, (_, i) =>
      i === 0
        ? `create table ${table(0)} (id int primary key, email text, note text); insert into ${table(0)} values (1, 'wide@example.com', 'root');`
        : `create table ${table(i)} (id int primary key, parent_id int, note text); insert into ${table(i)} values (1, 1, 'row ${i}');`,
    );
    // In batches: one transaction creating thousands of tables runs out of lock slots.
    for (let start = 0; start < statements.length; start += 500) await target.unsafe(statements.slice(start, start + 500).join('\n'));
    await target.end();

    await ensureDatabase(databaseUrl(serviceDb));
    const config = loadConfig({
      DATABASE_URL: databaseUrl(serviceDb),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `bench-${id}`,
      DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
    });
    const sql = connect(config.databaseUrl);
    await migrate(sql);
    const key = config.encryptionKey!;
    await upsertConnection(sql, { key: 'wide', connection_type: 'postgres', access: 'read' }, { url: databaseUrl(targetDb) }, key);
    await upsertDataset(sql, 'wide', dataset());
    await sql.begin((tx) => savePolicy(tx, defaultAccessPolicy));

    const bundle = await bundleWorkflows();
    const worker = await createWorker({ config, sql, encryptionKey: key, workflowBundle: bundle });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverter(key) });
    const api = await listen(createApp(apiDeps(config, { sql, temporal: client, encryptionKey: key })), '127.0.0.1', 0);

    const root = { id: 'bench-root', secret: randomBytes(32).toString('base64url') };
    await ensureRootClient(sql, root);
    const issued = await issueClientToken(sql, config.auth, { clientId: root.id, clientSecret: root.secret });
    if ('error' in issued) throw new Error(issued.error_description);

    const started = Date.now();
    const response = await fetch(`${api.url}/api/v1/privacy-request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.access_token}` },
      body: JSON.stringify([{ policy_key: defaultAccessPolicy.key, identity: { email: 'wide@example.com' } }]),
    });
    const requestId = ((await response.json()) as { succeeded: { id: string }[] }).succeeded[0]!.id;
    const outcome = await client.workflow.getHandle(requestId).result();
    const seconds = (Date.now() - started) / 1000;

    const runs: { runId: string; events: number }[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = "${requestId}"` })) {
      const history = await client.workflow.getHandle(requestId, execution.runId).fetchHistory();
      runs.push({ runId: execution.runId, events: history.events?.length ?? 0 });
    }
    const [completed] = await sql<{ count: number; distinct: number }[]>`
      select count(*)::int as count, count(distinct collection_name)::int as distinct from execution_log
      where privacy_request_id = ${requestId} and status = 'complete'`;
    const [rows] = await sql<{ count: number }[]>`select count(*)::int as count from access_result where privacy_request_id = ${requestId}`;

    await api.close();
    await worker.shutdown();
    await running;
    await client.connection.close();
    await sql.end();

    const maxEvents = Math.max(...runs.map((entry) => entry.events));
    const totalEvents = runs.reduce((sum, entry) => sum + entry.events, 0);
    const passed = outcome.status === 'complete' && completed!.count === COLLECTIONS && completed!.distinct === COLLECTIONS && rows!.count === COLLECTIONS && maxEvents < 51_200;
    return {
      title: `A request over ${COLLECTIONS.toLocaleString('en-US')} collections stays within Temporal's history limits`,
      rows: [
        {
          collections: COLLECTIONS.toLocaleString('en-US'),
          outcome: outcome.status,
          'wall time (s)': seconds.toFixed(1),
          'collections per second': (COLLECTIONS / seconds).toFixed(1),
          runs: String(runs.length),
          'largest run (events)': maxEvents.toLocaleString('en-US'),
          'all runs (events)': totalEvents.toLocaleString('en-US'),
          'completed once each': completed!.count === COLLECTIONS && completed!.distinct === COLLECTIONS ? 'yes' : 'no',
        },
      ],
      notes: [
        `Target: the request completes, every collection completes exactly once, and no run's history reaches Temporal's limit of 51,200 events. Without continue-as-new, one run would have held all ${totalEvents.toLocaleString('en-US')} events. ${passed ? 'Met.' : 'NOT met.'}`,
        `Setup: ${COLLECTIONS.toLocaleString('en-US')} Postgres tables, one row each, each referencing its parent's id (${FAN_OUT} children per parent); the default access policy; DSRFLOW_HISTORY_EVENT_LIMIT=${config.execution.historyEventLimit.toLocaleString('en-US')}, DSRFLOW_COLLECTION_CONCURRENCY=${config.execution.collectionConcurrency}; the Temporal CLI dev server (SQLite in memory), one worker and the API in this process.`,
      ],
      passed,
    };
  } finally {
    await temporal.stop();
    await admin`drop database if exists ${admin(serviceDb)} with (force)`.catch(() => undefined);
    await admin`drop database if exists ${admin(targetDb)} with (force)`.catch(() => undefined);
    await admin.end();
  }
}

export const longRequest: Benchmark = { name: 'long-request', run };
