/**
 * `npm start`: everything a newcomer needs in one process tree.
 *
 * - Temporal: TEMPORAL_ADDRESS when set; otherwise the Temporal CLI dev server (built once with
 *   Go when missing) with its Web UI, persisted in DSRFLOW_DATA_DIR.
 * - Postgres: DATABASE_URL (default 127.0.0.1:5432), database created and migrated.
 * - The Fides example: sample rows in a target database, its connection, dataset and a default
 *   access policy.
 * - The worker and the API, in this process.
 *
 * Ctrl-C stops the API, the worker and the dev server.
 */
import { resolve } from 'node:path';
import { apiDeps, createApp } from '../api/app.js';
import { resolveCodecUiKey, resolveFirstOwner, resolveRootClient } from '../auth/provision.js';
import { ensureFirstOwner, ensureRootClient } from '../auth/service.js';
import { listen, type ApiServer } from '../api/server.js';
import { loadConfigOrExit, temporalAddress, type Config } from '../config.js';
import { resolveEncryptionKey } from '../crypto.js';
import type { Sql } from '../db/client.js';
import { DEFAULT_ACCESS_POLICY_KEY, EXAMPLE_ERASURE_POLICY_KEY, loadExampleDatabase, registerExample } from '../example/load.js';
import { createLogger } from '../logger.js';
import { ensureTemporalCli } from '../temporal/cli.js';
import { connectClient } from '../temporal/client.js';
import { startDevServer, temporalAnswers, type DevServer } from '../temporal/dev-server.js';
import { createWorker, type DsrWorker } from '../worker/index.js';
import { fail, onShutdown, openDatabase, redactUrl } from './bootstrap.js';
import { installSafetyNet } from './safety-net.js';

const say = (line: string) => console.log(line);

async function provisionTemporal(config: Config, codecUiKey: string | undefined): Promise<{ devServer?: DevServer; uiUrl?: string }> {
  if (config.temporal.address) {
    say(`Temporal: using ${config.temporal.address} (TEMPORAL_ADDRESS)`);
    return {};
  }
  const address = temporalAddress(config);
  if (await temporalAnswers(address)) {
    say(`Temporal: a server already answers at ${address}; using it`);
    return { uiUrl: `http://127.0.0.1:${config.temporal.uiPort}` };
  }
  const cliPath = await ensureTemporalCli({ explicitPath: config.temporal.cliPath, log: say });
  say(`Temporal: starting the dev server (${cliPath})…`);
  const devServer = await startDevServer({
    cliPath,
    port: config.temporal.devPort,
    uiPort: config.temporal.uiPort,
    dbFilename: resolve(config.dataDir, 'temporal.sqlite'),
    namespace: config.temporal.namespace,
    startTimeoutMs: config.temporal.startTimeoutMs,
    log: say,
    // The UI asks the API to decrypt payloads (they are encrypted by dsrflow's codec); it cannot
    // send a token, so the codec URL carries the UI key (src/api/codec.ts).
    ...(codecUiKey ? { codecEndpoint: `http://${config.http.host}:${config.http.port}/codec/ui/${codecUiKey}` } : {}),
  });
  return { devServer, uiUrl: devServer.uiUrl };
}

const config = loadConfigOrExit();
let devServer: DevServer | undefined;
let sql: Sql | undefined;
let worker: DsrWorker | undefined;
let server: ApiServer | undefined;

const stopAll = async () => {
  await server?.close();
  await worker?.shutdown();
  await sql?.end({ timeout: 5 });
  await devServer?.stop();
};
onShutdown(stopAll);
installSafetyNet(createLogger('dsrflow', config.logLevel), { stop: stopAll });

try {
  const codecUiKey = await resolveCodecUiKey(config);
  const temporal = await provisionTemporal(config, codecUiKey);
  devServer = temporal.devServer;

  const database = await openDatabase(config.databaseUrl, 'dsrflow');
  sql = database.sql;
  say(`Postgres: ${redactUrl(config.databaseUrl)}${database.applied.length ? ` (applied migrations ${database.applied.join(', ')})` : ''}`);
  const encryptionKey = await resolveEncryptionKey(config.encryptionKey, config.dataDir);

  await loadExampleDatabase(config.exampleDatabaseUrl);
  await registerExample(sql, config.exampleDatabaseUrl, encryptionKey);
  say(`Example: Fides sample data in ${redactUrl(config.exampleDatabaseUrl)}, connection postgres_example, policies ${DEFAULT_ACCESS_POLICY_KEY} and ${EXAMPLE_ERASURE_POLICY_KEY}`);

  const root = await resolveRootClient(config);
  if (root) await ensureRootClient(sql, root.client);
  const firstOwner = await resolveFirstOwner(config);
  if (firstOwner) await ensureFirstOwner(sql, firstOwner.owner);

  worker = await createWorker({ config, sql, encryptionKey });
  const running = worker.run();
  const client = await connectClient(config, encryptionKey);
  const app = createApp(apiDeps(config, { sql, temporal: client, encryptionKey, logger: createLogger('api', config.logLevel) }, { codecUiKey }));
  server = await listen(app, config.http.host, config.http.port);

  say('');
  say(`dsrflow is running.`);
  say(`  API          ${server.url}  (docs: ${server.url}/docs, health: ${server.url}/health)`);
  say(`  Console      ${server.url}/console`);
  if (firstOwner) say(`               sign in as ${firstOwner.owner.username}, password in ${firstOwner.file} (an owner; create the team's users with POST /api/v1/user)`);
  else say('               sign in with a user created through POST /api/v1/user (roles: owner, approver, analyst, viewer, respondent)');
  if (temporal.uiUrl) say(`  Temporal UI  ${temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
  if (root) {
    say(`  Root client  ${root.client.id} (${root.file ? `secret in ${root.file}` : 'DSRFLOW_ROOT_CLIENT_ID/SECRET'})`);
    say(`  Get a token: TOKEN=$(npm run --silent token)     (valid ${Math.round(config.auth.tokenTtlMs / 60_000)} min; POST /api/v1/oauth/token)`);
    say(`  Try:         curl -s -X POST ${server.url}/api/v1/privacy-request -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`);
    say(`                 -d '[{"policy_key":"${DEFAULT_ACCESS_POLICY_KEY}","identity":{"email":"customer-1@example.com"}}]'`);
  } else {
    say('  No root client: set DSRFLOW_ROOT_CLIENT_ID and DSRFLOW_ROOT_CLIENT_SECRET to create the first credentials.');
  }
  say('Press Ctrl-C to stop.');

  running.catch(async (error: unknown) => {
    console.error('The worker stopped:', error);
    await stopAll();
    process.exit(1);
  });
} catch (error) {
  await stopAll().catch(() => undefined);
  fail(error);
}
