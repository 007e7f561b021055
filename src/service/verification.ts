/**
 * The person proves who they are with the code the workflow sent them. The code is checked here,
 * against its hash, with every attempt counted in the same transaction: five wrong codes lock it
 * and deny the request (`insuf_verification`), as an expired code does. A right code tells the
 * workflow, which moves the request on.
 */
import { constantTimeEqual } from '../auth/secrets.js';
import { getPrivacyRequest } from '../db/privacy-requests.js';
import { lockVerification, recordVerificationAttempt } from '../db/identity-verifications.js';
import { verificationCodeHash } from '../execution/notices.js';
import { performAction } from './actions.js';
import type { SubmitDeps } from './privacy-requests.js';

export const MAX_VERIFICATION_ATTEMPTS = 5;

export type VerificationOutcome =
  | { ok: true; status: string }
  | { ok: false; http: 404 | 409 | 410 | 422 | 423; field?: string; message: string };

export async function verifyWithCode(deps: Pick<SubmitDeps, 'sql' | 'temporal' | 'encryptionKey'>, privacyRequestId: string, code: string): Promise<VerificationOutcome> {
  const request = await getPrivacyRequest(deps.sql, privacyRequestId);
  if (!request) return { ok: false, http: 404, message: `No privacy request with id ${privacyRequestId}` };
  const checked = await deps.sql.begin(async (tx) => {
    const row = await lockVerification(tx, privacyRequestId);
    if (!row) return { verdict: 'not_awaiting' as const };
    if (row.verified_at) return { verdict: 'already' as const };
    if (row.locked_at) return { verdict: 'locked' as const };
    if (row.expires_at.getTime() <= Date.now()) return { verdict: 'expired' as const, expiresAt: row.expires_at };
    const right = constantTimeEqual(verificationCodeHash(deps.encryptionKey, privacyRequestId, code), row.code_hash);
    const attempts = row.attempts + 1;
    const lock = !right && attempts >= MAX_VERIFICATION_ATTEMPTS;
    await recordVerificationAttempt(tx, privacyRequestId, { right, lock });
    return { verdict: right ? ('right' as const) : lock ? ('lock' as const) : ('wrong' as const), left: MAX_VERIFICATION_ATTEMPTS - attempts };
  });
  switch (checked.verdict) {
    case 'not_awaiting':
      return { ok: false, http: 409, message: `${privacyRequestId} is not awaiting identity verification (status ${request.status})` };
    case 'already':
      // Verified, but the workflow may not have heard yet (the API stopped in between): tell it again.
      if (request.status === 'identity_unverified') return tell(deps, privacyRequestId, 'verified');
      return { ok: false, http: 409, message: `${privacyRequestId} is already verified` };
    case 'locked':
      return { ok: false, http: 423, message: `Too many wrong codes: the verification of ${privacyRequestId} is locked and the request denied` };
    case 'expired':
      return { ok: false, http: 410, field: 'code', message: `The code expired at ${checked.expiresAt.toISOString()}` };
    case 'wrong':
      return { ok: false, http: 422, field: 'code', message: `wrong code; ${checked.left} attempt${checked.left === 1 ? '' : 's'} left` };
    case 'lock':
      await tell(deps, privacyRequestId, 'failed');
      return { ok: false, http: 423, field: 'code', message: `wrong code; no attempts left: the request is denied (insuf_verification)` };
    case 'right':
      return tell(deps, privacyRequestId, 'verified');
  }
}

async function tell(deps: Pick<SubmitDeps, 'sql' | 'temporal'>, privacyRequestId: string, outcome: 'verified' | 'failed'): Promise<VerificationOutcome> {
  const result = await performAction(deps, privacyRequestId, 'verifyIdentity', { outcome, method: outcome === 'verified' ? 'code' : `${MAX_VERIFICATION_ATTEMPTS} wrong codes`, user_id: 'data_subject' });
  if (result.ok) return { ok: true, status: result.request.status };
  if (outcome === 'failed') return { ok: true, status: 'denied' };
  return { ok: false, http: result.code === 'not_found' ? 404 : 409, message: result.message };
}
