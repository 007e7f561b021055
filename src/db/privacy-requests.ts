/** SQL for `privacy_request` and `privacy_request_identity`. */
import { decrypt, encrypt } from '../crypto.js';
import type { ActionType } from '../domain/policies.js';
import type { Identity, PrivacyRequestStatus } from '../domain/privacy-requests.js';
import type { Sql, TransactionSql } from './client.js';

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
  started_processing_at: Date | null;
  finished_processing_at: Date | null;
  errored_at: Date | null;
  canceled_at: Date | null;
  stopped_collection_details: StoppedCollectionDetails | null;
}

export interface NewPrivacyRequest {
  id: string;
  external_id: string | null;
  policy_key: string;
  action_types: ActionType[];
  requested_at: Date | null;
}

export async function insertPrivacyRequest(tx: TransactionSql | Sql, request: NewPrivacyRequest): Promise<PrivacyRequestRow> {
  const [row] = await tx<PrivacyRequestRow[]>`
    insert into privacy_request (id, external_id, policy_key, action_types, status, requested_at)
    values (${request.id}, ${request.external_id}, ${request.policy_key}, ${tx.array(request.action_types)}, 'pending', ${request.requested_at})
    returning *`;
  return row!;
}

const identityContext = (privacyRequestId: string, field: string) => `identity:${privacyRequestId}:${field}`;

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

/** The names of the identities a request carries (not their values). */
export async function identityNames(sql: Sql, privacyRequestId: string): Promise<string[]> {
  const rows = await sql<{ field_name: string }[]>`
    select field_name from privacy_request_identity where privacy_request_id = ${privacyRequestId} order by field_name`;
  return rows.map((row) => row.field_name);
}

export async function getPrivacyRequest(sql: Sql, id: string): Promise<PrivacyRequestRow | undefined> {
  const [row] = await sql<PrivacyRequestRow[]>`select * from privacy_request where id = ${id}`;
  return row;
}

export interface StatusChange {
  status: PrivacyRequestStatus;
  /** When the transition happened (workflow time). */
  at: Date;
  stoppedCollectionDetails?: StoppedCollectionDetails | null;
  /** Set by a person's approval or denial; automatic approvals leave the review fields empty. */
  reviewedBy?: string | null;
}

/**
 * Mirrors a status transition and its timestamps. Idempotent: running it twice leaves the same row.
 * Timestamps of a phase are set once (the first time the request enters it).
 */
export async function recordStatus(sql: Sql | TransactionSql, id: string, change: StatusChange): Promise<void> {
  const { status, at } = change;
  await sql`
    update privacy_request set
      status = ${status},
      updated_at = ${at},
      started_processing_at = case when ${status} = 'in_processing' then coalesce(started_processing_at, ${at}) else started_processing_at end,
      finished_processing_at = case when ${status} = 'complete' then ${at}::timestamptz else finished_processing_at end,
      errored_at = case when ${status} = 'error' then ${at}::timestamptz else errored_at end,
      canceled_at = case when ${status} = 'canceled' then ${at}::timestamptz else canceled_at end,
      reviewed_at = case when ${change.reviewedBy ?? null}::text is not null then ${at}::timestamptz else reviewed_at end,
      reviewed_by = coalesce(${change.reviewedBy ?? null}::text, reviewed_by),
      stopped_collection_details = ${change.stoppedCollectionDetails === undefined ? null : sql.json(change.stoppedCollectionDetails as never)}
    where id = ${id}`;
}

export interface ListFilters {
  request_id?: string | undefined;
  external_id?: string | undefined;
  status?: PrivacyRequestStatus[] | undefined;
}

export async function listPrivacyRequests(sql: Sql, filters: ListFilters, page: number, size: number): Promise<{ items: PrivacyRequestRow[]; total: number }> {
  const conditions = [
    filters.request_id !== undefined ? sql`id = ${filters.request_id}` : undefined,
    filters.external_id !== undefined ? sql`external_id like ${escapeLike(filters.external_id) + '%'}` : undefined,
    filters.status?.length ? sql`status = any(${sql.array(filters.status)})` : undefined,
  ].filter((condition) => condition !== undefined);
  const where = conditions.length ? conditions.reduce((all, condition, i) => (i === 0 ? sql`where ${condition}` : sql`${all} and ${condition}`), sql``) : sql``;
  const [counted] = await sql<{ total: number }[]>`select count(*)::int as total from privacy_request ${where}`;
  const total = counted!.total;
  const items = await sql<PrivacyRequestRow[]>`
    select * from privacy_request ${where}
    order by created_at desc, id desc
    limit ${size} offset ${(page - 1) * size}`;
  return { items, total };
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
