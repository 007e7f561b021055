/** SQL for `audit_log`: what happened to a request as a whole, and who did it. */
import type { AuditLogAction } from '../domain/lifecycle.js';
import type { PendingQuery, Row } from 'postgres';
import type { Sql, TransactionSql } from './client.js';

export interface AuditLogEntry {
  privacy_request_id: string;
  event_key: string;
  action: AuditLogAction;
  user_id: string | null;
  message: string | null;
}

export interface AuditLogRow extends AuditLogEntry {
  id: number;
  created_at: Date;
}

export async function recordAuditLog(sql: Sql | TransactionSql, entry: AuditLogEntry, at?: Date): Promise<boolean> {
  const rows = await auditLogInsert(sql, entry, at);
  return rows.length === 1;
}

/** recordAuditLog's insert as a fragment, for a statement that writes other tables with it (src/db/transitions.ts). */
export function auditLogInsert(sql: Sql | TransactionSql, entry: AuditLogEntry, at?: Date): PendingQuery<Row[]> {
  return sql`
    insert into audit_log (privacy_request_id, event_key, action, user_id, message, created_at)
    values (${entry.privacy_request_id}, ${entry.event_key}, ${entry.action}, ${entry.user_id}, ${entry.message}, ${at ?? new Date()})
    on conflict (privacy_request_id, event_key) do nothing
    returning id`;
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

/** A request's audit log, oldest first, a page at a time. */
export async function listAuditLogs(sql: Sql, privacyRequestId: string, page: number, size: number): Promise<{ items: VerboseAuditLog[]; total: number }> {
  const [items, [counted]] = await Promise.all([
    sql<VerboseAuditLog[]>`
      select id, privacy_request_id, action, user_id, message, created_at from audit_log
      where privacy_request_id = ${privacyRequestId}
      order by id limit ${size} offset ${(page - 1) * size}`,
    sql<{ total: number }[]>`select count(*)::int as total from audit_log where privacy_request_id = ${privacyRequestId}`,
  ]);
  return { items, total: counted!.total };
}
