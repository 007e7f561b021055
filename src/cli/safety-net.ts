/**
 * The last line of defence of the api and worker processes (installed by the entry points only,
 * never by modules tests import: vitest must keep failing a run on an unhandled error).
 *
 * - An unhandled rejection is logged, and the process keeps running: a promise nobody awaited
 *   has already failed its own work, and nothing else was interrupted.
 * - An uncaught exception is logged, then the process stops as on SIGTERM (bounded by a grace
 *   period) and exits with status 1: the throw cut some code short, in a state nobody can know,
 *   and Node does not support carrying on. Work is durable in Postgres and Temporal, so a
 *   restart loses nothing (docs/decisions.md).
 */
import type { Logger } from '../logger.js';

/** What a log line may say about an error: its kind, code and message (`reason`), and where it was thrown. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error, reason: String(error).slice(0, 500) };
  const { code } = error as { code?: unknown };
  return {
    error: error.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    reason: error.message.slice(0, 500),
    // Frames only: the first line repeats the message.
    stack: error.stack?.split('\n').slice(1, 8).map((line) => line.trim()),
  };
}

export interface SafetyNetOptions {
  /** Stops the process's work (server, worker, pools) before it exits. */
  stop: () => Promise<void>;
  /** How long `stop` may take after an uncaught exception (default 10 s). */
  graceMs?: number;
}

export function installSafetyNet(log: Logger, { stop, graceMs = 10_000 }: SafetyNetOptions): void {
  process.on('unhandledRejection', (reason) => {
    log.error('Unhandled promise rejection; the process keeps running', describeError(reason));
  });
  let stopping = false;
  process.on('uncaughtException', (error, origin) => {
    log.error('Uncaught exception; the process stops', { origin, ...describeError(error) });
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), graceMs).unref();
    stop()
      .catch((failure: unknown) => log.error('Stopping failed', describeError(failure)))
      .finally(() => process.exit(1));
  });
}
