/**
 * The entry points' safety net (src/cli/safety-net.ts), in real child processes of `npm run api`
 * and `npm run worker`'s entry points, faulted on cue by test/fixtures/process-faults.mjs:
 * - an unhandled rejection is logged (JSON, level error) and the process keeps serving: the API
 *   answers /health, the worker runs the next request to completion;
 * - an uncaught exception is logged, and the process stops and exits with status 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAULTS = fileURLToPath(new URL('../fixtures/process-faults.mjs', import.meta.url));

let harness: Harness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  harness = await createHarness();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await harness?.close();
});

interface Entry {
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  output: () => string;
  waitForLog(message: string): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function start(entry: 'api' | 'worker'): Entry {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', FAULTS, `src/cli/${entry}.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...harness.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line (the bundler, the SDK)
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    output: () => output,
    exited,
    waitForLog: (message) =>
      eventually(async () => logs.find((line) => line.message === message) ?? (child.exitCode !== null ? Promise.reject(new Error(`exited ${child.exitCode}:\n${output}`)) : undefined), {
        timeoutMs: 60_000,
        what: () => `the log line "${message}" in:\n${output}`,
      }),
  };
}

describe('the API process', () => {
  it('logs an unhandled rejection and keeps answering', async () => {
    const api = start('api');
    const { url } = (await api.waitForLog('API listening')) as { url: string };
    api.child.kill('SIGWINCH');
    const line = await api.waitForLog('Unhandled promise rejection; the process keeps running');
    expect(line).toMatchObject({ level: 'error', component: 'api', error: 'Error', reason: 'stray rejection from a test' });
    // The child's own API, on the port it chose: not the harness's.
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(api.child.exitCode).toBeNull();
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });

  it('logs an uncaught exception, stops, and exits with status 1', async () => {
    const api = start('api');
    await api.waitForLog('API listening');
    api.child.kill('SIGHUP');
    const line = await api.waitForLog('Uncaught exception; the process stops');
    expect(line).toMatchObject({ level: 'error', origin: 'uncaughtException', error: 'Error', reason: 'stray exception from a test' });
    expect(await api.exited).toBe(1);
  });
});

describe('the worker process', () => {
  it('logs an unhandled rejection and runs the next request to completion', async () => {
    const worker = start('worker');
    await worker.waitForLog('Worker polling');
    worker.child.kill('SIGWINCH');
    await worker.waitForLog('Unhandled promise rejection; the process keeps running');
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(worker.child.exitCode).toBeNull();
    worker.child.kill('SIGTERM');
    await worker.exited;
  });
});
