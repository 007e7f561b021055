/**
 * A worker in a process of its own (`src/cli/worker.ts` from source, through tsx) on a harness's
 * database and task queue, for tests that kill it (SIGKILL) in the middle of a request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerProcess {
  process: ChildProcess;
  /** What the process printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Whether it still runs; throws, with its output, if it exited on its own. */
  assertRunning(): void;
  /** SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
}

export function startWorkerProcess(harness: Pick<Harness, 'env'>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...harness.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => output,
    assertRunning() {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the worker process exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
