/**
 * A dsrflow worker in a process of its own, for the SaaS benchmarks (bench/saas.ts): the parent
 * builds the workflow bundle once and passes its path, so the worker's memory is the worker's,
 * not webpack's. Prints `ready` when it polls; stops on SIGTERM.
 */
import { loadConfig } from '../src/config.js';
import { connect } from '../src/db/client.js';
import { createWorker } from '../src/worker/index.js';

const config = loadConfig(process.env);
const sql = connect(config.databaseUrl);
const worker = await createWorker({ config, sql, encryptionKey: config.encryptionKey!, workflowBundle: { codePath: process.env.BENCH_WORKFLOW_BUNDLE! } });
const running = worker.run();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void worker.shutdown();
});
await running;
await sql.end({ timeout: 5 });
