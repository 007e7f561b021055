/**
 * A dsrflow worker in a process of its own, for the SaaS benchmarks (bench/saas.ts): the parent
 * builds the workflow bundle once and passes its path, so the worker's memory is the worker's,
 * not webpack's. Prints `ready` when it polls; stops on SIGTERM. BENCH_HOLD_ALL=true makes it
 * read SaaS collections whole before storing them (what streaming avoids), for comparison.
 */
import { loadConfig } from '../src/config.js';
import { connect } from '../src/db/client.js';
import { createWorker } from '../src/worker/index.js';
import { SaasConnector } from '../src/connectors/saas.js';

// For comparison only: without `stream`, access reads every page before storing any.
if (process.env.BENCH_HOLD_ALL === 'true') Object.defineProperty(SaasConnector.prototype, 'stream', { value: undefined });

const config = loadConfig(process.env);
const sql = connect(config.databaseUrl);
const worker = await createWorker({ config, sql, encryptionKey: config.encryptionKey!, workflowBundle: { codePath: process.env.BENCH_WORKFLOW_BUNDLE! } });
const running = worker.run();
process.stdout.write('ready\n');
// What the worker holds, not what it has yet to collect: every 100 ms a full collection
// (node --expose-gc), then the live heap, printed for the parent to read.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  setInterval(() => {
    gc();
    process.stdout.write(`heap ${Date.now()} ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(1)}\n`);
  }, 100).unref();
}
process.on('SIGTERM', () => {
  void worker.shutdown();
});
await running;
await sql.end({ timeout: 5 });
