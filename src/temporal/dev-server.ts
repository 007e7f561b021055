/**
 * Runs `temporal server start-dev` as a child process: a real Temporal server (SQLite-backed)
 * with its Web UI, used by `npm start` and by the test suite. Production uses a real cluster
 * through TEMPORAL_ADDRESS instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeFlags } from './search-attributes.js';

/**
 * Dynamic config the dev server starts with (docs/decisions.md, "The transfer queue's poll rate").
 * Temporal's history service hands a workflow's new tasks (an activity to run, a workflow task
 * after it) to matching through the shard's transfer queue, whose reader polls at most 20 times a
 * second by default. The dev server has one shard, so a request whose steps follow one another
 * waited up to 50 ms at every hop once the limiter's burst was spent: 1,100 collections took 13.8
 * s instead of about 7.5. The same setting belongs in a production cluster's dynamic config
 * (deploy/temporal/dynamicconfig.yaml).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, number>> = { 'history.transferProcessorMaxPollRPS': 1000 };

export interface DevServerOptions {
  cliPath: string;
  /** gRPC frontend port; 0 picks a free one. */
  port: number;
  /** Web UI port, or `false` for no UI (tests). */
  uiPort: number | false;
  /** SQLite file for persistence across restarts; in memory when omitted. */
  dbFilename?: string;
  namespace?: string;
  /** Where the Web UI asks to decode payloads (the API's codec endpoint). */
  codecEndpoint?: string;
  /**
   * How long to wait for the server to answer (DEFAULT_START_TIMEOUT_MS): a cold first start on
   * two cores, with the SQLite file created and the search attributes registered, has taken over
   * a minute.
   */
  startTimeoutMs?: number;
  /** Progress while waiting, every `progressEveryMs` (10 s). */
  log?: (line: string) => void;
  progressEveryMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Temporal frontend answers at the address within the timeout. */
export async function temporalAnswers(address: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

export const DEFAULT_START_TIMEOUT_MS = 180_000;

/** What to try when the dev server does not come up, after its own output. */
export function startFailureHints(address: string, dbFilename: string | undefined): string {
  return [
    'What to try:',
    `- another process may hold the port: \`ss -ltnp | grep ${address.split(':').pop()}\`, or set TEMPORAL_DEV_PORT`,
    ...(dbFilename ? [`- a damaged state file: move ${dbFilename} away (running requests in it are lost) and start again`] : []),
    '- a slow first start: wait longer with DSRFLOW_TEMPORAL_START_TIMEOUT (for example 5m)',
    '- or use a Temporal server you run yourself: set TEMPORAL_ADDRESS',
  ].join('\n');
}

async function waitUntilReady(
  address: string,
  namespace: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
  log: ((line: string) => void) | undefined,
  progressEveryMs: number,
  hints: string,
): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let nextProgress = started + progressEveryMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`temporal server start-dev exited (${child.exitCode ?? child.signalCode}) before it was ready. Its output:\n${output() || '(none)'}\n${hints}`);
    }
    if (log && Date.now() >= nextProgress) {
      log(`  …waiting for the Temporal dev server at ${address} (${Math.round((Date.now() - started) / 1000)} s of at most ${Math.round(timeoutMs / 1000)} s)`);
      nextProgress += progressEveryMs;
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `The Temporal dev server did not answer at ${address} within ${Math.round(timeoutMs / 1000)} s (last: ${(lastError as Error | undefined)?.message ?? 'no answer'}). Its output:\n${output() || '(none)'}\n${hints}`,
  );
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const port = options.port || (await freePort());
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...devServerSearchAttributeFlags()];
  for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) args.push('--dynamic-config-value', `${key}=${value}`);
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (options.uiPort === false) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.codecEndpoint && options.uiPort !== false) args.push('--ui-codec-endpoint', options.codecEndpoint);
  if (options.dbFilename) {
    await mkdir(dirname(options.dbFilename), { recursive: true });
    args.push('--db-filename', options.dbFilename);
  }
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitUntilReady(address, namespace, child, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, () => output, options.log, options.progressEveryMs ?? 10_000, startFailureHints(address, options.dbFilename));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address,
    uiUrl: options.uiPort === false ? undefined : `http://127.0.0.1:${options.uiPort}`,
    process: child,
    stop,
  };
}
