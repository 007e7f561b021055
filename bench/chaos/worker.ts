/**
 * A dsrflow worker for the chaos run: `src/cli/worker.ts` step for step, except that its workflow
 * code is the bundle the run built once at its start (CHAOS_WORKFLOW_BUNDLE). Every worker of a run
 * then runs the same workflow code, as in a deployment, even if the working tree changes while the
 * run goes on (a worker bundling an edited workflow would fail its replays as nondeterministic);
 * and a new worker polls a few seconds sooner.
 */
import { loadConfigOrExit } from '../../src/config.js';
import { resolveEncryptionKey } from '../../src/crypto.js';
import { createLogger } from '../../src/logger.js';
import { createWorker } from '../../src/worker/index.js';
import { fail, onShutdown, openDatabase } from '../../src/cli/bootstrap.js';
import { installSafetyNet } from '../../src/cli/safety-net.js';

const config = loadConfigOrExit();
const log = createLogger('worker', config.logLevel);
const bundlePath = process.env.CHAOS_WORKFLOW_BUNDLE;
if (!bundlePath) fail('CHAOS_WORKFLOW_BUNDLE must name the workflow bundle the chaos run built');
let stop = async () => {};
installSafetyNet(log, { stop: () => stop() });
try {
  const { sql } = await openDatabase(config.databaseUrl, 'dsrflow-worker');
  const encryptionKey = await resolveEncryptionKey(config.encryptionKey, config.dataDir);
  const worker = await createWorker({ config, sql, encryptionKey, workflowBundle: { codePath: bundlePath } });
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
