/**
 * Bulk upserts of configuration: each item applies in its own transaction, whole or not at all.
 * An item that is refused (or fails in the database) is listed under `failed` and leaves nothing
 * behind; the others are applied.
 */
import type { ZodError } from 'zod';
import type { Sql, TransactionSql } from '../db/client.js';
import { formatPath, issueMessage } from '../domain/messages.js';
import type { Logger } from '../logger.js';

/** Thrown by an item's apply function: the item is listed as failed with this message. */
export class ItemRejected extends Error {
  override name = 'ItemRejected';
  constructor(
    message: string,
    /** More to say about the failure, merged into the failed entry (for example a dataset's problems). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** `body[2].secrets.dbname: is required; …` for the issues of one item, located under `base`. */
export function issuesMessage(error: ZodError, base: (string | number)[]): string {
  return error.issues.map((issue) => `${formatPath([...base, ...(issue.path as (string | number)[])])}: ${issueMessage(issue)}`).join('; ');
}

export interface BulkResult<S, D> {
  succeeded: S[];
  failed: ({ message: string; data: D } & Record<string, unknown>)[];
}

/** What an unexpected database error means for one item, without echoing any value. */
function databaseFailure(error: unknown): string | undefined {
  switch ((error as { code?: string }).code) {
    case '23503':
      return 'refers to something that was deleted meanwhile; nothing was changed';
    case '23505':
      return 'was created by another call at the same time; nothing was changed, send it again';
    case '40001':
    case '40P01':
      return 'conflicted with another change at the same time; nothing was changed, send it again';
    default:
      return undefined;
  }
}

export async function applyEach<I, S, D>(
  deps: { sql: Sql; logger?: Logger | undefined },
  items: readonly I[],
  apply: (tx: TransactionSql, item: I, index: number) => Promise<S>,
  describe: (item: I) => D,
): Promise<BulkResult<S, D>> {
  const result: BulkResult<S, D> = { succeeded: [], failed: [] };
  for (const [index, item] of items.entries()) {
    try {
      result.succeeded.push((await deps.sql.begin((tx) => apply(tx, item, index))) as S);
    } catch (error) {
      if (error instanceof ItemRejected) {
        result.failed.push({ message: error.message, data: describe(item), ...error.extra });
        continue;
      }
      const known = databaseFailure(error);
      if (!known) deps.logger?.error('Configuration item could not be saved', { error: (error as Error).message, code: (error as { code?: string }).code });
      result.failed.push({ message: `body[${index}]: ${known ?? 'could not be saved; nothing was changed and the error was logged'}`, data: describe(item) });
    }
  }
  return result;
}

export const pageCount = (total: number, size: number) => Math.ceil(total / size);

/** A page of a listing as the API answers it: the items shown as `show` shows them, and where the page stands. */
export const pageAnswer = <R, T>({ items, total }: { items: R[]; total: number }, { page, size }: { page: number; size: number }, show: (row: R) => T) => ({
  items: items.map(show),
  total,
  page,
  size,
  pages: pageCount(total, size),
});
