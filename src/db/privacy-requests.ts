/**
 * SQL for `privacy_request` and `privacy_request_identity`, including the reporting listing
 * (reference 000): filtered, counted and paged newest first, and streamed for CSV. Every listing
 * is served by an index of migrations 0001 and 0003, also at a million requests:
 * test/integration/explain.test.ts checks the plans and bench/reporting.ts the times.
 */
import { randomBytes } from 'node:crypto';
import { decrypt, encrypt } from '../crypto.js';
import type { Regulation } from '../domain/deadlines.js';
import type { ActionType } from '../domain/policies.js';
import type { Identity, PrivacyRequestStatus } from '../domain/privacy-requests.js';
import type { PendingQuery, Row } from 'postgres';
import { asJson, type Sql, type TransactionSql } from './client.js';

export interface StoppedCollectionDetails {
  step: ActionType;
  collection: string;
  action_needed: unknown[] | null;
}


export interface PrivacyRequestRow {
  id: string;
  external_id: string | null;
  policy_key: string;
  action_types: ActionType[];
  status: PrivacyRequestStatus;
  requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  /** The client or user who submitted it (`client:<id>`, `user:<name>`). */
  created_by: string | null;
  started_processing_at: Date | null;
  finished_processing_at: Date | null;
  errored_at: Date | null;
  canceled_at: Date | null;
  paused_at: Date | null;
  stopped_collection_details: StoppedCollectionDetails | null;
  requires_erasure_confirmation: boolean;
  denial_reason: string | null;
  erasure_preview: Record<string, number> | null;
  warnings: { phase: ActionType; collection: string; reason: string }[] | null;
  regulation: Regulation;
  due_at: Date | null;
  acknowledge_by: Date | null;
  extended_due_at: Date | null;
  extension_reason: string | null;
  extended_at: Date | null;
  extended_by: string | null;
  identity_verified_at: Date | null;
  denial_reason_code: string | null;
  duplicate_of: string | null;
  legal_hold: boolean;
  legal_hold_reason: string | null;
}

export interface NewPrivacyRequest {
  id: string;
  external_id: string | null;
  policy_key: string;
  action_types: ActionType[];
  requested_at: Date | null;
  requires_erasure_confirmation?: boolean;
  created_by?: string | null;
  /** Absent: gdpr, no due date (requests made before deadlines). */
  regulation?: Regulation;
  status?: 'pending' | 'identity_unverified' | 'duplicate';
  created_at?: Date;
  due_at?: Date | null;
  acknowledge_by?: Date | null;
  duplicate_of?: string | null;
  identity_digest?: string | null;
}

export async function insertPrivacyRequest(sql: TransactionSql | Sql, request: NewPrivacyRequest): Promise<PrivacyRequestRow> {
  // No identities: nothing to encrypt, so no key and no time to live.
  return (await insertRequestsWithIdentities(sql, [{ request, identity: {} }], Buffer.alloc(0), 0))[0]!;
}

const identityContext = (privacyRequestId: string, field: string) => `identity:${privacyRequestId}:${field}`;

/**
 * Requests and their identities (encrypted) in one statement: what intake writes for requests
 * whose workflows have started (src/service/privacy-requests.ts). One round trip for a group of
 * requests instead of a transaction of four per request; the identities' foreign key is checked
 * at the statement's end. Answers the rows in the order given.
 */
export async function insertRequestsWithIdentities(sql: Sql | TransactionSql, requests: { request: NewPrivacyRequest; identity: Identity }[], key: Buffer, ttlMs: number): Promise<PrivacyRequestRow[]> {
  if (!requests.length) return [];
  const expiresAt = new Date(Date.now() + ttlMs);
  const rows = requests.map(({ request }) => ({
    id: request.id,
    external_id: request.external_id,
    policy_key: request.policy_key,
    action_types: request.action_types,
    status: request.status ?? 'pending',
    requested_at: request.requested_at?.toISOString() ?? null,
    requires_erasure_confirmation: request.requires_erasure_confirmation ?? false,
    created_by: request.created_by ?? null,
    regulation: request.regulation ?? 'gdpr',
    created_at: (request.created_at ?? new Date()).toISOString(),
    due_at: request.due_at?.toISOString() ?? null,
    acknowledge_by: request.acknowledge_by?.toISOString() ?? null,
    duplicate_of: request.duplicate_of ?? null,
    identity_digest: request.identity_digest ?? null,
  }));
  const identities = requests.flatMap(({ request, identity }) =>
    Object.entries(identity).map(([field, value]) => ({
      privacy_request_id: request.id,
      field_name: field,
      value: encrypt(key, value, identityContext(request.id, field)).toString('base64'),
    })),
  );
  const stored = await sql<PrivacyRequestRow[]>`
    with request as (
      insert into privacy_request (id, external_id, policy_key, action_types, status, requested_at, requires_erasure_confirmation, created_by,
        regulation, created_at, due_at, acknowledge_by, duplicate_of, identity_digest)
      select x.id, x.external_id, x.policy_key, array(select jsonb_array_elements_text(x.action_types)), x.status, x.requested_at, x.requires_erasure_confirmation,
        x.created_by, x.regulation, x.created_at, x.due_at, x.acknowledge_by, x.duplicate_of, x.identity_digest
      from jsonb_to_recordset(${sql.json(rows)}) as x(id text, external_id text, policy_key text, action_types jsonb, status text, requested_at timestamptz,
        requires_erasure_confirmation boolean, created_by text, regulation text, created_at timestamptz, due_at timestamptz, acknowledge_by timestamptz,
        duplicate_of text, identity_digest text)
      returning ${sql(PUBLIC_COLUMNS)}
    ), identities as (
      insert into privacy_request_identity (privacy_request_id, field_name, value_encrypted, expires_at)
      select x.privacy_request_id, x.field_name, decode(x.value, 'base64'), ${expiresAt}
      from jsonb_to_recordset(${sql.json(identities)}) as x(privacy_request_id text, field_name text, value text)
    )
    select * from request`;
  const byId = new Map(stored.map((row) => [row.id, row]));
  return requests.map(({ request }) => byId.get(request.id)!);
}

export async function insertIdentities(tx: TransactionSql | Sql, privacyRequestId: string, identity: Identity, key: Buffer, ttlMs: number): Promise<void> {
  const expiresAt = new Date(Date.now() + ttlMs);
  const rows = Object.entries(identity).map(([field, value]) => ({
    privacy_request_id: privacyRequestId,
    field_name: field,
    value_encrypted: encrypt(key, value, identityContext(privacyRequestId, field)),
    expires_at: expiresAt,
  }));
  if (rows.length) await tx`insert into privacy_request_identity ${tx(rows)}`;
}

/** The request's identity values that have not expired, decrypted. */
export async function readIdentities(sql: Sql, privacyRequestId: string, key: Buffer): Promise<Identity> {
  const rows = await sql<{ field_name: string; value_encrypted: Buffer }[]>`
    select field_name, value_encrypted from privacy_request_identity
    where privacy_request_id = ${privacyRequestId} and expires_at > now()
    order by field_name`;
  return Object.fromEntries(rows.map((row) => [row.field_name, decrypt(key, row.value_encrypted, identityContext(privacyRequestId, row.field_name))]));
}

/** The identity values of several requests that have not expired, decrypted; `{}` for the others. */
export async function readIdentitiesOf(sql: Sql, privacyRequestIds: string[], key: Buffer): Promise<Map<string, Identity>> {
  const identities = new Map<string, Identity>(privacyRequestIds.map((id) => [id, {}]));
  if (!privacyRequestIds.length) return identities;
  const rows = await sql<{ privacy_request_id: string; field_name: string; value_encrypted: Buffer }[]>`
    select privacy_request_id, field_name, value_encrypted from privacy_request_identity
    where privacy_request_id = any(${sql.array(privacyRequestIds)}::text[]) and expires_at > now()
    order by privacy_request_id, field_name`;
  for (const row of rows) {
    identities.get(row.privacy_request_id)![row.field_name] = decrypt(key, row.value_encrypted, identityContext(row.privacy_request_id, row.field_name));
  }
  return identities;
}

/**
 * Deletes identity values whose time to live has passed, a batch at a time (each batch its own
 * statement, so a large backlog never holds long locks). Several workers may run it at once:
 * rows another purge holds are skipped. Returns how many it deleted.
 */
export async function purgeExpiredIdentities(sql: Sql, batchSize = 5000): Promise<number> {
  let purged = 0;
  for (;;) {
    const deleted = await sql`
      delete from privacy_request_identity where ctid = any(array(
        select ctid from privacy_request_identity where expires_at <= now()
        limit ${batchSize} for update skip locked))`;
    purged += deleted.count;
    if (deleted.count < batchSize) return purged;
  }
}

/** The names of the identities a request carries (not their values). */
export async function identityNames(sql: Sql, privacyRequestId: string): Promise<string[]> {
  const rows = await sql<{ field_name: string }[]>`
    select field_name from privacy_request_identity where privacy_request_id = ${privacyRequestId} order by field_name`;
  return rows.map((row) => row.field_name);
}

/** Every column but the masking secret. */
export const PUBLIC_COLUMNS = [
  'id', 'external_id', 'policy_key', 'action_types', 'status', 'requested_at', 'created_at', 'updated_at', 'reviewed_at', 'reviewed_by', 'created_by',
  'started_processing_at', 'finished_processing_at', 'errored_at', 'canceled_at', 'paused_at', 'stopped_collection_details',
  'requires_erasure_confirmation', 'denial_reason', 'erasure_preview', 'warnings',
  'regulation', 'due_at', 'acknowledge_by', 'extended_due_at', 'extension_reason', 'extended_at', 'extended_by', 'identity_verified_at',
  'denial_reason_code', 'duplicate_of', 'legal_hold', 'legal_hold_reason',
] as const;

export async function getPrivacyRequest(sql: Sql, id: string): Promise<PrivacyRequestRow | undefined> {
  const [row] = await sql<PrivacyRequestRow[]>`select ${sql(PUBLIC_COLUMNS)} from privacy_request where id = ${id}`;
  return row;
}

export interface StatusChange {
  status: PrivacyRequestStatus;
  /** When the transition happened (workflow time). */
  at: Date;
  /** Where a paused or failed request stopped; null clears it. action_needed comes from the open manual task. */
  stoppedAt?: { step: ActionType; collection: string } | null;
  /** Set by a person's approval or denial; automatic approvals leave the review fields empty. */
  reviewedBy?: string | null;
  denialReason?: string | null;
  /** A denial's reason as a code: `insuf_verification` when the person never proved who they are. */
  denialReasonCode?: string | null;
  /** What a complete request could not do. */
  warnings?: { phase: ActionType; collection: string; reason: string }[] | undefined;
}

/**
 * Mirrors a status transition and its timestamps, as a fragment of the statement that writes it
 * with its audit row (src/db/transitions.ts). Idempotent: running it twice leaves the same row.
 * Timestamps of a phase are set once (the first time the request enters it).
 */
export function statusUpdate(sql: Sql | TransactionSql, id: string, change: StatusChange): PendingQuery<Row[]> {
  const { status, at } = change;
  const step = change.stoppedAt?.step ?? null;
  const collection = change.stoppedAt?.collection ?? null;
  return sql`
    update privacy_request set
      status = ${status},
      updated_at = ${at},
      started_processing_at = case when ${status} = 'in_processing' then coalesce(started_processing_at, ${at}) else started_processing_at end,
      finished_processing_at = case when ${status} = 'complete' then ${at}::timestamptz else finished_processing_at end,
      errored_at = case when ${status} = 'error' then ${at}::timestamptz else errored_at end,
      canceled_at = case when ${status} = 'canceled' then ${at}::timestamptz else canceled_at end,
      paused_at = case when ${status} = 'paused' then ${at}::timestamptz else paused_at end,
      reviewed_at = case when ${change.reviewedBy ?? null}::text is not null then ${at}::timestamptz else reviewed_at end,
      reviewed_by = coalesce(${change.reviewedBy ?? null}::text, reviewed_by),
      denial_reason = coalesce(${change.denialReason ?? null}::text, denial_reason),
      denial_reason_code = coalesce(${change.denialReasonCode ?? null}::text, denial_reason_code),
      denied_at = case when ${status} = 'denied' then coalesce(denied_at, ${at}::timestamptz) else denied_at end,
      warnings = coalesce(${change.warnings?.length ? sql.json(asJson(change.warnings)) : null}::jsonb, warnings),
      stopped_collection_details = case when ${collection}::text is null then null else jsonb_build_object(
        'step', ${step}::text,
        'collection', ${collection}::text,
        'action_needed', (
          select task.action_needed from manual_task task
          where task.privacy_request_id = ${id} and task.collection = ${collection} and task.action_type = ${step}
            and ${status} = 'paused' and task.status = 'awaiting_input'
          order by task.run desc limit 1))
      end
    where id = ${id}`;
}

/** What the lifecycle decided about the request besides its status: its deadline, verification and legal hold. */
export interface RequestFacts {
  dueAt?: string;
  extension?: { extendedDueAt: string; reason: string; by: string | null; at: string };
  identityVerifiedAt?: string;
  legalHold?: { held: boolean; reason: string | null };
}

/** Mirrors the facts the workflow decided. Idempotent. */
export async function recordRequestFacts(sql: Sql | TransactionSql, id: string, facts: RequestFacts): Promise<void> {
  const extension = facts.extension;
  await sql`
    update privacy_request set
      due_at = coalesce(${facts.dueAt ?? null}::timestamptz, due_at),
      extended_due_at = coalesce(${extension?.extendedDueAt ?? null}::timestamptz, extended_due_at),
      extension_reason = coalesce(${extension?.reason ?? null}::text, extension_reason),
      extended_by = case when ${extension ? 1 : 0}::int = 1 then ${extension?.by ?? null}::text else extended_by end,
      extended_at = coalesce(${extension?.at ?? null}::timestamptz, extended_at),
      identity_verified_at = coalesce(${facts.identityVerifiedAt ?? null}::timestamptz, identity_verified_at),
      legal_hold = coalesce(${facts.legalHold ? facts.legalHold.held : null}::boolean, legal_hold),
      legal_hold_reason = case when ${facts.legalHold ? 1 : 0}::int = 1 then ${facts.legalHold?.reason ?? null}::text else legal_hold_reason end
    where id = ${id}`;
}

const maskingContext = (privacyRequestId: string) => `masking-secret:${privacyRequestId}`;

/**
 * The request's masking secret: created on first use and stored encrypted, so every attempt of
 * an erasure (and every worker) computes the same masked values.
 */
export async function maskingSecret(sql: Sql, privacyRequestId: string, key: Buffer): Promise<Buffer> {
  const candidate = randomBytes(32);
  await sql`
    update privacy_request set masking_secret_encrypted = ${encrypt(key, candidate.toString('base64'), maskingContext(privacyRequestId))}
    where id = ${privacyRequestId} and masking_secret_encrypted is null`;
  const [row] = await sql<{ masking_secret_encrypted: Buffer | null }[]>`select masking_secret_encrypted from privacy_request where id = ${privacyRequestId}`;
  if (!row?.masking_secret_encrypted) throw new Error(`Privacy request ${privacyRequestId} does not exist`);
  return Buffer.from(decrypt(key, row.masking_secret_encrypted, maskingContext(privacyRequestId)), 'base64');
}

/** Per collection, how many rows erasure would change; shown while the request awaits confirmation. */
export async function recordErasurePreview(sql: Sql, privacyRequestId: string, preview: Record<string, number>): Promise<void> {
  await sql`update privacy_request set erasure_preview = ${sql.json(preview)} where id = ${privacyRequestId}`;
}

// ---- Reporting: the listing and the CSV export -----------------------------------------------

export interface PrivacyRequestFilters {
  /** Several ids: a request must have each (the listing's `request_id` and `id` both given). */
  request_id?: string | string[] | undefined;
  /** Prefix of the external id. */
  external_id?: string | undefined;
  status?: PrivacyRequestStatus[] | undefined;
  action_type?: ActionType | undefined;
  policy_key?: string | undefined;
  regulation?: Regulation | undefined;
  has_warnings?: boolean | undefined;
  created_lt?: Date | undefined;
  created_gt?: Date | undefined;
  started_lt?: Date | undefined;
  started_gt?: Date | undefined;
  completed_lt?: Date | undefined;
  completed_gt?: Date | undefined;
  errored_lt?: Date | undefined;
  errored_gt?: Date | undefined;
  /** The due date that counts (extended once extended). */
  due_before?: Date | undefined;
  due_after?: Date | undefined;
  /** Not finished and past the due date that counts. */
  overdue?: boolean | undefined;
  /** Not finished (true) or finished (false): complete, denied, canceled and duplicate are finished. */
  open?: boolean | undefined;
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
    filters.regulation !== undefined ? sql`regulation = ${filters.regulation}` : undefined,
    filters.has_warnings === true ? sql`warnings is not null` : undefined,
    filters.has_warnings === false ? sql`warnings is null` : undefined,
    // The expression of the partial index privacy_request_due (0007).
    filters.due_before !== undefined ? sql`coalesce(extended_due_at, due_at) < ${filters.due_before}` : undefined,
    filters.due_after !== undefined ? sql`coalesce(extended_due_at, due_at) > ${filters.due_after}` : undefined,
    filters.overdue === true ? sql`coalesce(extended_due_at, due_at) < now() and status not in ('complete', 'denied', 'canceled', 'duplicate')` : undefined,
    filters.overdue === false ? sql`not (coalesce(extended_due_at, due_at) < now() and status not in ('complete', 'denied', 'canceled', 'duplicate')) or due_at is null` : undefined,
    // Written as the predicate of the partial index privacy_request_due (0007), so due-date ranges of open requests use it.
    filters.open === true ? sql`status not in ('complete', 'denied', 'canceled', 'duplicate')` : undefined,
    filters.open === false ? sql`status in ('complete', 'denied', 'canceled', 'duplicate')` : undefined,
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

/**
 * A page and the total. A page that is not full is the last one: its total needs no count. With
 * `countLimit`, at most that many matching rows are counted (a count over a million rows costs
 * hundreds of milliseconds; a bounded one does not): `capped` says the total is that lower bound.
 */
export async function listPrivacyRequests(
  sql: Sql,
  filters: PrivacyRequestFilters,
  page: number,
  size: number,
  options: { countLimit?: number | undefined } = {},
): Promise<{ items: PrivacyRequestRow[]; total: number; capped: boolean }> {
  const items = await pageOfPrivacyRequests(sql, filters, page, size);
  if ((items.length > 0 || page === 1) && items.length < size) return { items, total: (page - 1) * size + items.length, capped: false };
  if (options.countLimit === undefined) return { items, total: await countPrivacyRequests(sql, filters), capped: false };
  const [counted] = await sql<{ total: number }[]>`
    select count(*)::int as total from (select 1 from privacy_request ${where(sql, filters)} limit ${options.countLimit + 1}) matching`;
  const total = counted!.total;
  return total > options.countLimit ? { items, total: options.countLimit, capped: true } : { items, total, capped: false };
}

/** What the CSV export holds of a request, in the order of its columns (its header). */
export const CSV_COLUMNS = [
  'id', 'external_id', 'status', 'policy_key', 'action_types', 'requested_at', 'created_at', 'reviewed_at', 'reviewed_by', 'created_by',
  'started_processing_at', 'finished_processing_at', 'errored_at', 'canceled_at', 'paused_at', 'denial_reason', 'warnings',
  'regulation', 'due_at', 'extended_due_at', 'acknowledge_by', 'extension_reason', 'identity_verified_at', 'denial_reason_code', 'duplicate_of', 'legal_hold',
] as const;

/** A column as the JSON listing writes it: timestamps in ISO (UTC, milliseconds), action types joined by `;`. */
function csvValue(column: (typeof CSV_COLUMNS)[number]): string {
  if (column.endsWith('_at') || column === 'acknowledge_by') return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  if (column === 'action_types') return `array_to_string(action_types, ';')`;
  if (column === 'legal_hold') return `legal_hold::text`;
  // `erasure dataset:collection: reason; …`
  if (column === 'warnings') return `(select string_agg(concat_ws(' ', w ->> 'phase', (w ->> 'collection') || ':', w ->> 'reason'), '; ') from jsonb_array_elements(warnings) w)`;
  return column;
}

/**
 * RFC 4180: a field with a quote, a comma or a line break is quoted, its quotes doubled; null is
 * empty. A field that a spreadsheet would run as a formula (starting with = + - @, a tab or a CR)
 * gets a leading apostrophe first, as OWASP advises against CSV injection; a signed number or a
 * phone number (digits, spaces, dots, dashes, parentheses) holds no function and is left as it is.
 */
const csvField = (value: string) => {
  const safe = `(case when ${value} ~ '^[=+@\\t\\r-]' and ${value} !~ '^[+-][0-9 ().-]*[0-9][0-9 ().-]*$' then '''' || ${value} else ${value} end)`;
  return `case when ${value} is null then '' when ${safe} ~ '[",\\r\\n]' then '"' || replace(${safe}, '"', '""') || '"' else ${safe} end`;
};

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
