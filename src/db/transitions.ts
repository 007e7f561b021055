/**
 * A status transition and its audit row, written in one statement: one round trip and one commit,
 * where a transaction took four (begin, update, insert, commit). Both or neither, as the
 * transaction made them (issue 14; docs/decisions.md, "A transition's writes"). Each table's SQL
 * stays in its own module; this one joins their fragments.
 */
import { auditLogInsert, type AuditLogEntry } from './audit-log.js';
import type { Sql, TransactionSql } from './client.js';
import { statusUpdate, type StatusChange } from './privacy-requests.js';

export async function recordStatusChange(sql: Sql | TransactionSql, privacyRequestId: string, change: StatusChange, audit?: AuditLogEntry): Promise<void> {
  if (!audit) {
    await statusUpdate(sql, privacyRequestId, change);
    return;
  }
  await sql`
    with status as (${statusUpdate(sql, privacyRequestId, change)}),
    audit as (${auditLogInsert(sql, audit, change.at)})
    select 1`;
}
