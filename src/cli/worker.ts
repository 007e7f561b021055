/** `npm run worker`: runs privacy request workflows and activities. Scale it out by running more. */
import { loadConfigOrExit } from '../config.js';
import { resolveEncryptionKey } from '../crypto.js';
import { createLogger } from '../logger.js';
import { createWorker } from '../worker/index.js';
import { fail, onShutdown, openDatabase } from './bootstrap.js';
import { installSafetyNet } from './safety-net.js';

const config = loadConfigOrExit();
const log = createLogger('worker', config.logLevel);
let stop = async () => {};
installSafetyNet(log, { stop: () => stop() });
try {
  const { sql } = await openDatabase(config.databaseUrl, 'dsrflow-worker');
  const encryptionKey = await resolveEncryptionKey(config.encryptionKey, config.dataDir);
  const worker = await createWorker({ config, sql, encryptionKey });
  stop = async () => {
    await worker.shutdown();
    await sql.end({ timeout: 5 });
  };
  onShutdown(stop);
  log.info('Worker polling', { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace });
  await worker.run();
  await sql.end({ timeout: 5 });
} catch (error) {
  fail(error);
}
