/** `npm run api`: the HTTP API process. Scale it out behind a load balancer. */
import { apiDeps, createApp } from '../api/app.js';
import { resolveCodecUiKey, resolveRootClient } from '../auth/provision.js';
import { ensureRootClient } from '../auth/service.js';
import { keepHeapNearLiveSize } from '../api/heap.js';
import { listen } from '../api/server.js';
import { loadConfigOrExit } from '../config.js';
import { resolveEncryptionKey } from '../crypto.js';
import { createLogger } from '../logger.js';
import { connectClient } from '../temporal/client.js';
import { fail, onShutdown, openDatabase } from './bootstrap.js';
import { installSafetyNet } from './safety-net.js';

const config = loadConfigOrExit();
keepHeapNearLiveSize();
const log = createLogger('api', config.logLevel);
let stop = async () => {};
installSafetyNet(log, { stop: () => stop() });
try {
  const { sql } = await openDatabase(config.databaseUrl, 'dsrflow-api');
  const encryptionKey = await resolveEncryptionKey(config.encryptionKey, config.dataDir);
  const root = await resolveRootClient(config);
  if (root) log.info(`Root client ${await ensureRootClient(sql, root.client)}`, { client_id: root.client.id });
  else log.warn('No root client: set DSRFLOW_ROOT_CLIENT_ID and DSRFLOW_ROOT_CLIENT_SECRET to create the first credentials');
  const codecUiKey = await resolveCodecUiKey(config);
  const temporal = await connectClient(config, encryptionKey);
  const app = createApp(apiDeps(config, { sql, temporal, encryptionKey, logger: log }, { codecUiKey }));
  const server = await listen(app, config.http.host, config.http.port);
  log.info('API listening', { url: server.url });
  stop = async () => {
    await server.close();
    await temporal.connection.close();
    await sql.end({ timeout: 5 });
  };
  onShutdown(stop);
} catch (error) {
  fail(error);
}
