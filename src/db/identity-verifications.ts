/** SQL for identity_verification: the code a person must give, stored hashed, with its attempts. */
import type { Sql, TransactionSql } from './client.js';

export interface IdentityVerificationRow {
  privacy_request_id: string;
  code_hash: string;
  expires_at: Date;
  attempts: number;
  verified_at: Date | null;
  locked_at: Date | null;
}

/** Stores a code's hash; the same issue again (a retried activity) changes nothing. */
export async function storeVerificationCode(sql: Sql | TransactionSql, privacyRequestId: string, codeHash: string, expiresAt: Date): Promise<void> {
  await sql`
    insert into identity_verification (privacy_request_id, code_hash, expires_at)
    values (${privacyRequestId}, ${codeHash}, ${expiresAt})
    on conflict (privacy_request_id) do update set code_hash = excluded.code_hash, expires_at = excluded.expires_at,
      attempts = case when identity_verification.code_hash = excluded.code_hash then identity_verification.attempts else 0 end
    where identity_verification.verified_at is null and identity_verification.locked_at is null`;
}

export async function lockVerification(tx: TransactionSql, privacyRequestId: string): Promise<IdentityVerificationRow | undefined> {
  const [row] = await tx<IdentityVerificationRow[]>`select * from identity_verification where privacy_request_id = ${privacyRequestId} for update`;
  return row;
}

/** One attempt: counted; verified when right, locked when it was the last one allowed. */
export async function recordVerificationAttempt(tx: TransactionSql, privacyRequestId: string, outcome: { right: boolean; lock: boolean }): Promise<void> {
  await tx`
    update identity_verification set
      attempts = attempts + 1,
      verified_at = case when ${outcome.right} then now() else verified_at end,
      locked_at = case when ${outcome.lock} then now() else locked_at end
    where privacy_request_id = ${privacyRequestId}`;
}
