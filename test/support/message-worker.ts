/**
 * A worker that runs only the test workflow of test/fixtures/message-workflow.ts with the real
 * activities (so `sendMessage` goes through the same adapter as in production), on a task queue
 * of its own. Used in the test process and, through test/fixtures/message-worker-process.ts, in a
 * child process the test can SIGKILL.
 */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { temporalAddress, type Config } from '../../src/config.js';
import { ConnectorRegistry } from '../../src/connectors/registry.js';
import type { Sql } from '../../src/db/client.js';
import { createMailer } from '../../src/messages/smtp.js';
import { createStorage } from '../../src/storage/index.js';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../../src/temporal/codec.js';

export const messageTaskQueue = (config: Config) => `${config.temporal.taskQueue}-messages`;

export function bundleMessageWorkflow(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../fixtures/message-workflow.ts', import.meta.url)),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
}

export interface MessageWorker {
  running: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startMessageWorker(options: { config: Config; sql: Sql; encryptionKey: Buffer; bundle: WorkflowBundleWithSourceMap }): Promise<MessageWorker> {
  const { config, sql, encryptionKey } = options;
  const connection = await NativeConnection.connect({ address: temporalAddress(config) });
  const mailer = config.messaging.smtp ? createMailer(config.messaging.smtp, config.messaging.from) : undefined;
  const activities = createActivities({ sql, connectors: new ConnectorRegistry(sql, encryptionKey), encryptionKey, mailer }, config.execution, createStorage(config.accessPackages.storage));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: messageTaskQueue(config),
    activities,
    dataConverter: dataConverter(encryptionKey),
    workflowBundle: options.bundle,
  });
  const running = worker.run().finally(() => connection.close());
  return {
    running,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
