/**
 * SQL for the reporting listings (reference 000): privacy requests filtered, counted and paged
 * newest first, streamed for CSV, and the log entries a verbose listing embeds.
 *
 * Every query here is served by an index of migrations 0001 and 0003, also at a million requests:
 * test/integration/explain.test.ts checks the plans and bench/reporting.ts the times.
 */
import type { ActionType } from '../domain/policies.js';
import type { PrivacyRequestStatus } from '../domain/privacy-requests.js';
import type { Sql } from './client.js';
import type { AuditLogAction } from './audit-log.js';
import type { ExecutionLogStatus } from './execution-log.js';
import { PUBLIC_COLUMNS, type PrivacyRequestRow } from './privacy-requests.js';

export interface PrivacyRequestFilters {
  /** Several ids: a request must have each (the listing's `request_id` and `id` both given). */
  request_id?: string | string[] | undefined;
  /** Prefix of the external id. */
  external_id?: string | undefined;
  status?: PrivacyRequestStatus[] | undefined;
  action_type?: ActionType | undefined;
  policy_key?: string | undefined;
  created_lt?: Date | undefined;
  created_gt?: Date | undefined;
  started_lt?: Date | undefined;
  started_gt?: Date | undefined;
  completed_lt?: Date | undefined;
  completed_gt?: Date | undefined;
  errored_lt?: Date | undefined;
  errored_gt?: Date | undefined;
}

/** The column each date filter compares (`completed_*` is when processing finished). */
const DATE_FILTERS = {
  created: 'created_at',
  started: 'started_processing_at',
  completed: 'finished_processing_at',
  errored: 'errored_at',
} as const;

/** `like` matches `_` and `%` as wildcards: a prefix is matched as written. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * The smallest text greater, byte by byte, than every text that starts with the prefix (its last
 * character moved to the next code point), or undefined when there is none.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const characters = [...prefix];
  while (characters.length) {
    let next = characters.pop()!.codePointAt(0)! + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // surrogates are not characters
    if (next <= 0x10ffff) return characters.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/**
 * Starts with the prefix. `like` alone cannot use the index in a prepared statement's generic
 * plan (the pattern is a parameter), so the prefix is also given as a range of the
 * text_pattern_ops index (byte order, whatever the collation); `like` keeps the match exact.
 */
function startsWith(sql: Sql, prefix: string) {
  const upper = prefixUpperBound(prefix);
  return sql`external_id ~>=~ ${prefix} ${upper === undefined ? sql`` : sql`and external_id ~<~ ${upper}`} and external_id like ${escapeLike(prefix) + '%'}`;
}

function where(sql: Sql, filters: PrivacyRequestFilters) {
  const conditions = [
    ...[filters.request_id ?? []].flat().map((id) => sql`id = ${id}`),
    filters.external_id !== undefined ? startsWith(sql, filters.external_id) : undefined,
    filters.status?.length ? sql`status = any(${sql.array(filters.status)}::text[])` : undefined,
    // A constant, not a parameter: erasure requests have a partial index of their own (0003).
    filters.action_type === 'erasure' ? sql`action_types @> '{erasure}'` : undefined,
    filters.action_type === 'access' ? sql`action_types @> '{access}'` : undefined,
    filters.policy_key !== undefined ? sql`policy_key = ${filters.policy_key}` : undefined,
    ...Object.entries(DATE_FILTERS).flatMap(([name, column]) => {
      const before = filters[`${name}_lt` as keyof PrivacyRequestFilters] as Date | undefined;
      const after = filters[`${name}_gt` as keyof PrivacyRequestFilters] as Date | undefined;
      return [
        before !== undefined ? sql`${sql(column)} < ${before}` : undefined,
        after !== undefined ? sql`${sql(column)} > ${after}` : undefined,
      ];
    }),
  ].filter((condition) => condition !== undefined);
  return conditions.reduce((all, condition, i) => (i === 0 ? sql`where ${condition}` : sql`${all} and ${condition}`), sql``);
}

export async function countPrivacyRequests(sql: Sql, filters: PrivacyRequestFilters): Promise<number> {
  const [counted] = await sql<{ total: number }[]>`select count(*)::int as total from privacy_request ${where(sql, filters)}`;
  return counted!.total;
}

/** One page, newest first; requests made in the same instant are ordered by id, so pages never overlap. */
export async function pageOfPrivacyRequests(sql: Sql, filters: PrivacyRequestFilters, page: number, size: number): Promise<PrivacyRequestRow[]> {
  return sql<PrivacyRequestRow[]>`
    select ${sql(PUBLIC_COLUMNS)} from privacy_request ${where(sql, filters)}
    order by created_at desc, id desc
    limit ${size} offset ${(page - 1) * size}`;
}

/** A page and the total. A page that is not full is the last one: its total needs no count. */
export async function listPrivacyRequests(sql: Sql, filters: PrivacyRequestFilters, page: number, size: number): Promise<{ items: PrivacyRequestRow[]; total: number }> {
  const items = await pageOfPrivacyRequests(sql, filters, page, size);
  if ((items.length > 0 || page === 1) && items.length < size) return { items, total: (page - 1) * size + items.length };
  return { items, total: await countPrivacyRequests(sql, filters) };
}

/** What the CSV export holds of a request, in the order of its columns (its header). */
export const CSV_COLUMNS = [
  'id', 'external_id', 'status', 'policy_key', 'action_types', 'requested_at', 'created_at', 'reviewed_at', 'reviewed_by',
  'started_processing_at', 'finished_processing_at', 'errored_at', 'canceled_at', 'paused_at', 'denial_reason',
] as const;

/** A column as the JSON listing writes it: timestamps in ISO (UTC, milliseconds), action types joined by `;`. */
function csvValue(column: (typeof CSV_COLUMNS)[number]): string {
  if (column.endsWith('_at')) return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  if (column === 'action_types') return `array_to_string(action_types, ';')`;
  return column;
}

/** RFC 4180: a field with a quote, a comma or a line break is quoted, its quotes doubled; null is empty. */
const csvField = (value: string) =>
  `case when ${value} is null then '' when ${value} ~ '[",\\r\\n]' then '"' || replace(${value}, '"', '""') || '"' else ${value} end`;

/**
 * Each request as one CSV record (without its line end), written by Postgres. The text is made of
 * the constant column names only.
 */
const CSV_RECORD = `concat_ws(',', ${CSV_COLUMNS.map((column) => csvField(`csv.${column}_text`)).join(', ')}) as record`;
const CSV_VALUES = CSV_COLUMNS.map((column) => `${csvValue(column)} as ${column}_text`).join(', ');

/**
 * Every request the filters select as CSV records (UTF-8 bytes), in listing order, a batch at a
 * time through a server-side cursor: memory holds one batch, whatever the number of requests.
 * The records arrive raw, as slices of what Postgres sent: no string or row object per request,
 * which keeps the API's heap from growing with the size of the export.
 */
export function csvRecordBatches(sql: Sql, filters: PrivacyRequestFilters, batchSize: number): AsyncIterable<Buffer[]> {
  const batches = sql`
    select ${sql.unsafe(CSV_RECORD)}
    from privacy_request cross join lateral (select ${sql.unsafe(CSV_VALUES)}) as csv
    ${where(sql, filters)}
    order by created_at desc, id desc`
    .raw()
    .cursor(batchSize) as unknown as AsyncIterable<Buffer[][]>;
  return {
    async *[Symbol.asyncIterator]() {
      for await (const rows of batches) yield rows.map(([record]) => record!);
    },
  };
}

export interface VerboseExecutionLog {
  id: number;
  privacy_request_id: string;
  dataset_name: string;
  collection_name: string;
  action_type: ActionType;
  status: ExecutionLogStatus;
  message: string | null;
  fields_affected: unknown[] | null;
  created_at: Date;
}

/**
 * The first `limit` execution log entries of each dataset of each request. The datasets of a
 * request are found by skipping through the (privacy_request_id, dataset_name, id) index, and
 * each dataset reads at most `limit` entries: the cost does not grow with the size of the log.
 */
export async function firstExecutionLogsPerDataset(sql: Sql, privacyRequestIds: string[], limit: number): Promise<VerboseExecutionLog[]> {
  if (!privacyRequestIds.length) return [];
  return sql<VerboseExecutionLog[]>`
    with recursive dataset (privacy_request_id, dataset_name) as (
      select request.id, (select min(log.dataset_name) from execution_log log where log.privacy_request_id = request.id)
      from unnest(${sql.array(privacyRequestIds)}::text[]) as request (id)
      union all
      select dataset.privacy_request_id, (
        select min(log.dataset_name) from execution_log log
        where log.privacy_request_id = dataset.privacy_request_id and log.dataset_name > dataset.dataset_name)
      from dataset where dataset.dataset_name is not null
    )
    select entry.* from dataset cross join lateral (
      select log.id, log.privacy_request_id, log.dataset_name, log.collection_name, log.action_type, log.status, log.message, log.fields_affected, log.created_at
      from execution_log log
      where log.privacy_request_id = dataset.privacy_request_id and log.dataset_name = dataset.dataset_name
      order by log.id
      limit ${limit}
    ) entry
    where dataset.dataset_name is not null
    order by entry.privacy_request_id, entry.id`;
}

export interface VerboseAuditLog {
  id: number;
  privacy_request_id: string;
  action: AuditLogAction;
  user_id: string | null;
  message: string | null;
  created_at: Date;
}

/** The first `limit` audit entries of each kind (approved, finished…) of each request. */
export async function firstAuditLogsPerAction(sql: Sql, privacyRequestIds: string[], limit: number): Promise<VerboseAuditLog[]> {
  if (!privacyRequestIds.length) return [];
  return sql<VerboseAuditLog[]>`
    select id, privacy_request_id, action, user_id, message, created_at from (
      select audit.*, row_number() over (partition by audit.privacy_request_id, audit.action order by audit.id) as position
      from audit_log audit
      where audit.privacy_request_id = any(${sql.array(privacyRequestIds)}::text[])
    ) numbered
    where position <= ${limit}
    order by privacy_request_id, id`;
}
