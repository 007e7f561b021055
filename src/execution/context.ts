/** What the execution steps need: the service database, the connectors, the encryption key. */
import type { ConnectorRegistry } from '../connectors/registry.js';
import type { ValuesLookup } from '../db/access-results.js';
import type { Sql } from '../db/client.js';
import type { StepStart } from '../db/collection-steps.js';
import type { ExecutionLogRow } from '../db/execution-log.js';
import type { PlanSnapshot } from '../db/plans.js';
import type { Mailer } from '../messages/smtp.js';

export interface ExecutionContext {
  sql: Sql;
  connectors: ConnectorRegistry;
  encryptionKey: Buffer;
  /**
   * Plan snapshots by request id. A snapshot never changes once stored, and a large request's
   * is megabytes of JSON that every collection step needs: the worker keeps the recent ones.
   */
  snapshots?: SnapshotCache;
  /**
   * Within one batch of collection steps (runCollections): reads that every step of the batch
   * would make alike (the request's identities, the connection's settings), made once.
   */
  shared?: <T>(key: string, load: () => Promise<T>) => Promise<T>;
  /** Within one batch of collection steps: the steps' starts, those asked for together written in one statement. */
  stepStarts?: (step: StepStart) => Promise<ExecutionLogRow | undefined>;
  /** Within one batch of collection steps: the values upstream collections found, those asked for together read in one statement. */
  upstreamValues?: (lookup: ValuesLookup) => Promise<unknown[]>;
  /** Sends messages to the data subject; undefined when no SMTP server is configured (messages are `skipped`). */
  mailer?: Mailer | undefined;
  /** The API's public address (DSRFLOW_PUBLIC_URL): links in messages point there. */
  publicUrl?: string | undefined;
}

/**
 * The plan snapshots of the requests a worker runs, least recently used forgotten first, within a
 * count and a size (the bytes Postgres stores them in, compressed: about a fifth of their size in
 * memory). Steps of a request that ask at the same moment share one read. A burst of requests
 * (hundreds in flight, each asking for its snapshot once per collection) read each about once;
 * 32 entries were too few for that, and every step read its snapshot again (issue 14).
 */
export class SnapshotCache {
  private readonly kept = new Map<string, { snapshot: PlanSnapshot; bytes: number }>();
  private readonly loading = new Map<string, Promise<PlanSnapshot | undefined>>();
  private bytes = 0;
  constructor(
    readonly maxEntries = 1000,
    readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.kept.size;
  }

  /** The snapshot, from memory or from `load` (one read at a time per request); undefined when there is none yet, which is not kept. */
  async get(privacyRequestId: string, load: () => Promise<{ snapshot: PlanSnapshot; bytes: number } | undefined>): Promise<PlanSnapshot | undefined> {
    const kept = this.kept.get(privacyRequestId);
    if (kept) {
      this.kept.delete(privacyRequestId);
      this.kept.set(privacyRequestId, kept);
      return kept.snapshot;
    }
    const pending = this.loading.get(privacyRequestId);
    if (pending) return pending;
    const loaded = load().then(
      (found) => {
        this.loading.delete(privacyRequestId);
        if (found) this.remember(privacyRequestId, found.snapshot, found.bytes);
        return found?.snapshot;
      },
      (error: unknown) => {
        this.loading.delete(privacyRequestId);
        throw error;
      },
    );
    this.loading.set(privacyRequestId, loaded);
    return loaded;
  }

  remember(privacyRequestId: string, snapshot: PlanSnapshot, bytes: number): void {
    const before = this.kept.get(privacyRequestId);
    if (before) this.bytes -= before.bytes;
    this.kept.delete(privacyRequestId);
    this.kept.set(privacyRequestId, { snapshot, bytes });
    this.bytes += bytes;
    // The newest stays even when it alone is over the size: the steps of its request need it now.
    while (this.kept.size > 1 && (this.kept.size > this.maxEntries || this.bytes > this.maxBytes)) {
      const [oldest, entry] = this.kept.entries().next().value!;
      this.kept.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }
}

/** A read the steps of one batch share (ExecutionContext.shared); made afresh outside a batch. */
export function sharedRead<T>(context: ExecutionContext, key: string, load: () => Promise<T>): Promise<T> {
  return context.shared ? context.shared(key, load) : load();
}

/**
 * A memo for one batch of steps: each key loaded once. A failed load fails the steps that were
 * waiting for it, as each would have failed on its own, and is forgotten: a step that tries again
 * (dsrflow's database back) reads afresh.
 */
export function batchMemo(): NonNullable<ExecutionContext['shared']> {
  const loads = new Map<string, Promise<unknown>>();
  return <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let loading = loads.get(key) as Promise<T> | undefined;
    if (!loading) {
      loading = load();
      loads.set(key, loading);
      loading.catch(() => loads.delete(key));
    }
    return loading;
  };
}

/**
 * Calls of `one` made in the same turn of the event loop, carried out by one call of `all` (the
 * steps of a batch start side by side: one statement instead of one each). Each caller gets its
 * own answer, or the error of the call they shared.
 */
export function together<I, O>(all: (inputs: I[]) => Promise<O[]>): (input: I) => Promise<O> {
  let waiting: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  const flush = () => {
    const calls = waiting;
    waiting = [];
    all(calls.map(({ input }) => input)).then(
      (outputs) => calls.forEach(({ resolve }, i) => resolve(outputs[i]!)),
      (error: unknown) => calls.forEach(({ reject }) => reject(error)),
    );
  };
  return (input) =>
    new Promise<O>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ input, resolve, reject });
    });
}

/** The request is not (yet) in the database: the API commits it right after starting the workflow. */
export class PrivacyRequestNotFound extends Error {
  override name = 'PrivacyRequestNotFound';
}

/** The request cannot run as configured (unknown policy, unreachable collections…): retrying will not help. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}
