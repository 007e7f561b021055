/**
 * What the end-to-end benchmarks share (bench/throughput.ts, bench/request-cost.ts): a Temporal
 * dev server of their own, fresh service and example databases on the machine's Postgres,
 * migrated and loaded with the Fides example, a root client, and the teardown that removes it all.
 * (bench/notices-cost.ts keeps its own copy: it also runs in an old worktree, without this file.)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { ApiServer } from '../src/api/server.js';
import { ensureRootClient } from '../src/auth/service.js';
import { loadConfig, type Config } from '../src/config.js';
import { connect, ensureDatabase, type Sql } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { loadExampleDatabase, registerExample } from '../src/example/load.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.js';

export const SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const databaseUrl = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();

export interface BenchService {
  id: string;
  serviceDb: string;
  targetDb: string;
  dataDir: string;
  temporal: DevServer;
  root: { id: string; secret: string };
  key: Buffer;
  /** The service's configuration, its requests on this task queue. */
  configFor(taskQueue: string): Config;
  sql: Sql;
  /** Run at the end, first added last. */
  closers: (() => Promise<unknown>)[];
  /** A token of the root client from the API's token endpoint. */
  rootToken(api: ApiServer): Promise<string>;
  close(): Promise<void>;
}

export async function openBenchService(
  name: string,
  options: {
    /** Wraps the Temporal CLI (for example to name its metrics port); gets the real binary's path and the data directory. */
    cli?: (realCli: string, dataDir: string) => Promise<string>;
    env?: Record<string, string>;
  } = {},
): Promise<BenchService> {
  const id = randomBytes(3).toString('hex');
  const serviceDb = `dsrflow_bench_${name}_${id}`;
  const targetDb = `dsrflow_bench_${name}_target_${id}`;
  const dataDir = await mkdtemp(join(os.tmpdir(), 'dsrflow-bench-'));
  const realCli = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH });
  const temporal = await startDevServer({ cliPath: options.cli ? await options.cli(realCli, dataDir) : realCli, port: 0, uiPort: false });
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const closer of closers) await closer().catch(() => undefined);
    await temporal.stop();
    await admin`drop database if exists ${admin(serviceDb)} with (force)`.catch(() => undefined);
    await admin`drop database if exists ${admin(targetDb)} with (force)`.catch(() => undefined);
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await loadExampleDatabase(databaseUrl(targetDb));
    await ensureDatabase(databaseUrl(serviceDb));
    const root = { id: 'bench-root', secret: randomBytes(32).toString('base64url') };
    const key = randomBytes(32);
    const configFor = (taskQueue: string): Config =>
      loadConfig({
        DATABASE_URL: databaseUrl(serviceDb),
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        DSRFLOW_ENCRYPTION_KEY: key.toString('base64'),
        DSRFLOW_EXAMPLE_DATABASE_URL: databaseUrl(targetDb),
        DSRFLOW_DATA_DIR: dataDir,
        DSRFLOW_ROOT_CLIENT_ID: root.id,
        DSRFLOW_ROOT_CLIENT_SECRET: root.secret,
        LOG_LEVEL: 'warn',
        ...options.env,
      });
    const sql = connect(databaseUrl(serviceDb));
    closers.unshift(() => sql.end());
    await migrate(sql);
    await registerExample(sql, databaseUrl(targetDb), key);
    await ensureRootClient(sql, root);
    const rootToken = async (api: ApiServer) => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: root.id, client_secret: root.secret });
      const response = await fetch(`${api.url}/api/v1/oauth/token`, { method: 'POST', body: form });
      const { access_token: token } = (await response.json()) as { access_token: string };
      if (!response.ok || !token) throw new Error(`token refused: ${response.status}`);
      return token;
    };
    return { id, serviceDb, targetDb, dataDir, temporal, root, key, configFor, sql, closers, rootToken, close };
  } catch (error) {
    await close();
    throw error;
  }
}
