/**
 * Once per test run: a real Temporal dev server (the CLI, built with Go if missing), fresh
 * Postgres databases (a migrated service database and the Fides example target database, which
 * test files clone with CREATE DATABASE … TEMPLATE, so each file starts from the same state), and
 * the workflow bundle (about 3 s to build, once instead of once per file). Everything is removed
 * at the end.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { connect, ensureDatabase } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { loadExampleDatabase } from '../src/example/load.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { writeWorkflowBundle } from '../src/worker/index.js';
import { dropDatabasesWithPrefix, serverUrl } from './support/databases.js';
import { dropMariadbDatabasesWithPrefix } from './support/mariadb-cleanup.js';

export default async function setup(project: TestProject) {
  const runId = `dsrflow_test_${randomBytes(4).toString('hex')}`;
  const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log: (line) => console.log(line) });
  const temporal = await startDevServer({ cliPath, port: 0, uiPort: false });

  const serviceTemplate = `${runId}_service`;
  const exampleTemplate = `${runId}_example`;
  await ensureDatabase(serverUrl(serviceTemplate));
  const sql = connect(serverUrl(serviceTemplate), { max: 1 });
  await migrate(sql);
  await sql.end();
  await loadExampleDatabase(serverUrl(exampleTemplate));
  // Loaded by the workers in test processes and by the worker processes tests start
  // (DSRFLOW_WORKFLOW_BUNDLE), so that neither bundles again.
  const workflowBundlePath = join(tmpdir(), `${runId}-workflow-bundle.js`);
  await writeWorkflowBundle(workflowBundlePath);

  project.provide('temporalAddress', temporal.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('runId', runId);
  project.provide('serviceTemplate', serviceTemplate);
  project.provide('exampleTemplate', exampleTemplate);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await temporal.stop();
    await rm(workflowBundlePath, { force: true });
    const admin = postgres(serverUrl('postgres'), { max: 1, onnotice: () => {} });
    try {
      await dropDatabasesWithPrefix(admin, runId);
    } finally {
      await admin.end();
    }
    // MariaDB databases a test file left behind (each file drops its own; a crash may not).
    await dropMariadbDatabasesWithPrefix(runId).catch(() => undefined);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    runId: string;
    serviceTemplate: string;
    exampleTemplate: string;
    /** The workflow bundle (JavaScript, its source map inline), built once for the run. */
    workflowBundlePath: string;
  }
}
