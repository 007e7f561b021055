/**
 * The worker process: runs privacy request workflows and their activities on the task queue.
 * Scaled out by running more of them; each holds a pool to dsrflow's database and one per
 * target connection it has used.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { temporalAddress, type Config } from '../config.js';
import { ConnectorRegistry } from '../connectors/registry.js';
import { SnapshotCache } from '../execution/context.js';
import type { Sql } from '../db/client.js';
import { createLogger } from '../logger.js';
import { createStorage } from '../storage/index.js';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../temporal/codec.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { startMaintenance } from './maintenance.js';
import { createMailer, type Mailer } from '../messages/smtp.js';

/** The SMTP mailer; without DSRFLOW_SMTP_URL none, and messages are recorded as skipped (said once, here). */
function messagingMailer(config: Config): (Mailer & { close(): void }) | undefined {
  const log = createLogger('worker', config.logLevel);
  if (!config.messaging.smtp) {
    log.info('Messages to data subjects are recorded as skipped: DSRFLOW_SMTP_URL is not set');
    return undefined;
  }
  const mailer = createMailer(config.messaging.smtp, config.messaging.from);
  log.info('Messages to data subjects go through SMTP', { server: mailer.server, tls: config.messaging.smtp.secure ? 'smtps' : 'starttls-if-offered' });
  return mailer;
}

/** The workflow entry point: TypeScript sources under tsx and vitest, compiled JavaScript in dist/. */
export function workflowsPath(): string {
  const compiled = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
}

/**
 * Bundles the workflow code for the worker's sandbox, with the failure converter it needs, and
 * the bundler's own report only on warnings (its module list is noise in `npm start`).
 */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: workflowsPath(), failureConverterPath: FAILURE_CONVERTER_PATH, logger: new DefaultLogger('WARN') });
}

/** Writes the workflow bundle to `path` (JavaScript, with its source map inline), for DSRFLOW_WORKFLOW_BUNDLE. */
export async function writeWorkflowBundle(path: string): Promise<void> {
  await writeFile(path, (await bundleWorkflows()).code);
}

/**
 * The worker's Temporal settings (docs/decisions.md, "Worker settings"): also the floor
 * benchmark's (bench/throughput.ts), so that dsrflow is compared with Temporal on equal terms.
 */
export const WORKER_TUNING = {} satisfies Partial<WorkerOptions>;

export interface DsrWorker {
  worker: Worker;
  /** Runs until shutdown() is called or the worker fails. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface CreateWorkerOptions {
  config: Config;
  sql: Sql;
  encryptionKey: Buffer;
  /** A prebuilt workflow bundle (tests build it once per file); otherwise bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  connection?: NativeConnection;
}

export async function createWorker({ config, sql, encryptionKey, workflowBundle, connection }: CreateWorkerOptions): Promise<DsrWorker> {
  const nativeConnection = connection ?? (await NativeConnection.connect({ address: temporalAddress(config) }));
  const client = await Connection.connect({ address: temporalAddress(config) });
  try {
    await ensureSearchAttributes(client, config.temporal.namespace);
  } finally {
    await client.close();
  }
  const connectors = new ConnectorRegistry(sql, encryptionKey, { allow: config.connections.allow, saasLoopbackHttp: config.connections.saasLoopbackHttp, saasRequestTimeoutMs: config.connections.saasRequestTimeoutMs });
  const mailer = messagingMailer(config);
  const packageStorage = createStorage(config.accessPackages.storage);
  const activities = createActivities(
    { sql, connectors, encryptionKey, snapshots: new SnapshotCache(), mailer, publicUrl: config.accessPackages.publicUrl },
    config.execution,
    packageStorage,
    config.webhooks,
  );
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    dataConverter: dataConverter(encryptionKey),
    workflowBundle: workflowBundle ?? (config.workflowBundlePath ? { codePath: config.workflowBundlePath } : await bundleWorkflows()),
    ...WORKER_TUNING,
  });
  let running: Promise<void> | undefined;
  return {
    worker,
    run() {
      if (!running) {
        // Housekeeping (purges, expired access packages) runs while the worker does.
        const maintenance = startMaintenance({ sql, intervalMs: config.maintenanceIntervalMs, storage: packageStorage, log: createLogger('worker', config.logLevel).info });
        running = worker.run().finally(async () => {
          await maintenance.stop();
          await connectors.closeAll();
          mailer?.close();
          if (!connection) await nativeConnection.close();
        });
      }
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
