/**
 * Fides' example access request end to end, on Postgres and on MariaDB: the same people, orders
 * and logins in both stores (src/example/fides-postgres-example, fides-mariadb-example), one
 * access request for customer-1@example.com through the API, timed from the POST to the
 * workflow's result. Runs alternate between the stores (only one connection is enabled at a time,
 * so each request reads one store's 11 collections), after one warm-up run each.
 * Target (issue 13): the MariaDB request takes within 1.5× the Postgres one.
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
import { migrate } from '../src/db/migrate.js';
import { createMariadbExample, dropMariadbDatabase, MARIADB_EXAMPLE_CONNECTION_KEY, registerMariadbExample } from '../src/example/load-mariadb.js';
import { defaultAccessPolicy, EXAMPLE_CONNECTION_KEY, loadExampleDatabase, registerExample } from '../src/example/load.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { dataConverter } from '../src/temporal/codec.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { bundleWorkflows, createWorker } from '../src/worker/index.js';
import type { Benchmark, BenchmarkResult } from './run.js';

const RUNS = Number(process.env.BENCH_MARIADB_RUNS ?? 12);
const TARGET_RATIO = 1.5;
const POSTGRES_SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MARIADB_SERVER = process.env.DSRFLOW_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306';
const databaseUrl = (name: string) => Object.assign(new URL(POSTGRES_SERVER), { pathname: `/${name}` }).toString();

type Store = 'postgres' | 'mariadb';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const ms = (value: number) => value.toFixed(0);

async function run(): Promise<BenchmarkResult> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const id = randomBytes(3).toString('hex');
  const serviceDb = `dsrflow_bench_mex_${id}`;
  const postgresTarget = `dsrflow_bench_mex_pg_${id}`;
  const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH });
  const temporal = await startDevServer({ cliPath, port: 0, uiPort: false });
  const admin = postgres(POSTGRES_SERVER, { max: 1, onnotice: () => {} });
  let mariadbDatabase: string | undefined;
  try {
    await loadExampleDatabase(databaseUrl(postgresTarget));
    const mariadb = await createMariadbExample(MARIADB_SERVER, `dsrflow_bench_mex_${id}`);
    mariadbDatabase = mariadb.database;

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
    await registerExample(sql, databaseUrl(postgresTarget), key);
    await registerMariadbExample(sql, mariadb.url, key);
    // One store per request: the other connection is disabled, so it is left out of the plan.
    const only = async (store: Store) => {
      await upsertConnection(sql, { key: EXAMPLE_CONNECTION_KEY, name: 'Fides example Postgres', connection_type: 'postgres', access: 'write', disabled: store !== 'postgres' }, undefined, key);
      await upsertConnection(sql, { key: MARIADB_EXAMPLE_CONNECTION_KEY, name: 'Fides example MariaDB', connection_type: 'mariadb', access: 'write', disabled: store !== 'mariadb' }, undefined, key);
    };

    const worker = await createWorker({ config, sql, encryptionKey: key, workflowBundle: await bundleWorkflows() });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverter(key) });
    const api = await listen(createApp(apiDeps(config, { sql, temporal: client, encryptionKey: key })), '127.0.0.1', 0);
    const root = { id: 'bench-root', secret: randomBytes(32).toString('base64url') };
    await ensureRootClient(sql, root);
    const issued = await issueClientToken(sql, config.auth, { clientId: root.id, clientSecret: root.secret });
    if ('error' in issued) throw new Error(issued.error_description);

    /** One access request on one store: milliseconds from the POST to the workflow's result, and the rows it found. */
    const request = async (store: Store): Promise<{ ms: number; rows: number; collections: number }> => {
      await only(store);
      const started = performance.now();
      const response = await fetch(`${api.url}/api/v1/privacy-request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.access_token}` },
        body: JSON.stringify([{ policy_key: defaultAccessPolicy.key, identity: { email: 'customer-1@example.com' } }]),
      });
      const requestId = ((await response.json()) as { succeeded: { id: string }[] }).succeeded[0]!.id;
      const outcome = await client.workflow.getHandle(requestId).result();
      const elapsed = performance.now() - started;
      if (outcome.status !== 'complete') throw new Error(`The ${store} request ended ${outcome.status}`);
      const [found] = await sql<{ rows: number; collections: number }[]>`
        select count(*)::int as rows, count(distinct collection_name)::int as collections from access_result where privacy_request_id = ${requestId}`;
      return { ms: elapsed, ...found! };
    };

    const times: Record<Store, number[]> = { postgres: [], mariadb: [] };
    const found: Partial<Record<Store, { rows: number; collections: number }>> = {};
    await request('postgres');
    await request('mariadb');
    for (let i = 0; i < RUNS; i++) {
      // Alternated, and each pair in turn starts with the other store.
      for (const store of (i % 2 ? ['mariadb', 'postgres'] : ['postgres', 'mariadb']) as Store[]) {
        const result = await request(store);
        times[store].push(result.ms);
        found[store] = { rows: result.rows, collections: result.collections };
      }
    }

    await api.close();
    await worker.shutdown();
    await running;
    await client.connection.close();
    await sql.end();

    const ratioMedian = median(times.mariadb) / median(times.postgres);
    const ratioMean = mean(times.mariadb) / mean(times.postgres);
    const sameRows = found.postgres?.rows === found.mariadb?.rows && found.postgres?.collections === found.mariadb?.collections;
    const passed = ratioMedian <= TARGET_RATIO && sameRows;
    const row = (store: Store) => ({
      store: store === 'postgres' ? 'Postgres' : 'MariaDB',
      runs: String(times[store].length),
      'rows found (in collections)': `${found[store]?.rows} (${found[store]?.collections})`,
      'median (ms)': ms(median(times[store])),
      'mean (ms)': ms(mean(times[store])),
      'min (ms)': ms(Math.min(...times[store])),
      'max (ms)': ms(Math.max(...times[store])),
      'vs Postgres (median)': store === 'postgres' ? '1.00' : ratioMedian.toFixed(2),
    });
    return {
      title: "Fides' example access request on MariaDB against Postgres",
      rows: [row('postgres'), row('mariadb')],
      notes: [
        `Target: the MariaDB request takes within ${TARGET_RATIO}× the Postgres one (median of ${RUNS} runs each), finding the same rows. MariaDB/Postgres: ${ratioMedian.toFixed(2)}× by median, ${ratioMean.toFixed(2)}× by mean. ${passed ? 'Met.' : 'NOT met.'}`,
        `Setup: one access request for customer-1@example.com with the default access policy, timed from the POST to the workflow's result; Fides' Postgres example (postgres_sample.sql) and MariaDB example (mariadb_example.sql with its rows), each one store of 11 collections; one connection enabled at a time; ${RUNS} runs per store, alternated, after one warm-up run each. The Temporal CLI dev server, one worker and the API in this process; Postgres 127.0.0.1:5432 and MariaDB 127.0.0.1:3306 on the same machine. BENCH_MARIADB_RUNS sets the number of runs.`,
      ],
      passed,
    };
  } finally {
    await temporal.stop();
    await admin`drop database if exists ${admin(serviceDb)} with (force)`.catch(() => undefined);
    await admin`drop database if exists ${admin(postgresTarget)} with (force)`.catch(() => undefined);
    await admin.end();
    if (mariadbDatabase) await dropMariadbDatabase(MARIADB_SERVER, mariadbDatabase).catch(() => undefined);
  }
}

export const mariadbExample: Benchmark = { name: 'mariadb-example', run };
