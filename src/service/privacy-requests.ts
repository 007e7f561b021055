/**
 * Submitting privacy requests: each one becomes a row (with its identities encrypted) and a
 * workflow whose id is the request id. The row and the workflow start together: the row is
 * inserted in a transaction that commits only after the workflow started, so a request that
 * failed to start leaves nothing behind.
 */
import type { Client } from '@temporalio/client';
import type { Sql } from '../db/client.js';
import { getPolicy } from '../db/policies.js';
import { insertIdentities, insertPrivacyRequest, type PrivacyRequestRow } from '../db/privacy-requests.js';
import { policyActionTypes, type Policy } from '../domain/policies.js';
import { newPrivacyRequestId, type Identity } from '../domain/privacy-requests.js';
import { PRIVACY_REQUEST_WORKFLOW, SEARCH_ATTRIBUTES, type PrivacyRequestInput } from '../../workflows/definitions.js';

export interface SubmitDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  encryptionKey: Buffer;
  identityTtlMs: number;
}

export interface PrivacyRequestSubmission {
  external_id?: string | null | undefined;
  requested_at?: string | null | undefined;
  policy_key: string;
  identity: Identity;
  requires_erasure_confirmation?: boolean | undefined;
}

export interface SubmitResult {
  succeeded: PrivacyRequestRow[];
  failed: { message: string; data: { external_id: string | null; policy_key: string } }[];
}

/** Loads the policies the submissions name; the caller rejects the call when one is missing. */
export async function loadPolicies(sql: Sql, keys: string[]): Promise<Map<string, Policy>> {
  const policies = new Map<string, Policy>();
  for (const key of new Set(keys)) {
    const policy = await getPolicy(sql, key);
    if (policy) policies.set(key, policy);
  }
  return policies;
}

export async function submitPrivacyRequests(deps: SubmitDeps, submissions: PrivacyRequestSubmission[], policies: Map<string, Policy>, createdBy: string | null = null): Promise<SubmitResult> {
  const result: SubmitResult = { succeeded: [], failed: [] };
  for (const submission of submissions) {
    const policy = policies.get(submission.policy_key)!;
    const id = newPrivacyRequestId();
    const actionTypes = policyActionTypes(policy);
    let started = false;
    try {
      const row = await deps.sql.begin(async (tx) => {
        const inserted = await insertPrivacyRequest(tx, {
          id,
          external_id: submission.external_id ?? null,
          policy_key: policy.key,
          action_types: actionTypes,
          requested_at: submission.requested_at ? new Date(submission.requested_at) : null,
          requires_erasure_confirmation: submission.requires_erasure_confirmation ?? false,
          created_by: createdBy,
        });
        await insertIdentities(tx, id, submission.identity, deps.encryptionKey, deps.identityTtlMs);
        const input: PrivacyRequestInput = { privacyRequestId: id };
        await deps.temporal.workflow.start(PRIVACY_REQUEST_WORKFLOW, {
          workflowId: id,
          taskQueue: deps.taskQueue,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.status, value: 'pending' },
            { key: SEARCH_ATTRIBUTES.policyKey, value: policy.key },
            { key: SEARCH_ATTRIBUTES.actionTypes, value: actionTypes },
          ],
        });
        started = true;
        return inserted;
      });
      result.succeeded.push(row);
    } catch (error) {
      if (started) {
        // The workflow started but the row did not commit: stop the workflow so nothing runs for it.
        await deps.temporal.workflow
          .getHandle(id)
          .terminate('the privacy request could not be stored')
          .catch(() => undefined);
      }
      result.failed.push({
        message: `The privacy request could not be started: ${(error as Error).message}`,
        data: { external_id: submission.external_id ?? null, policy_key: submission.policy_key },
      });
    }
  }
  return result;
}

/** Where a paused or failed request is resumed (reference 000: resume_endpoint). */
export function resumeEndpoint(row: PrivacyRequestRow): string | null {
  if (row.status === 'error') return `/privacy-request/${row.id}/retry`;
  if (row.status === 'paused' && row.stopped_collection_details) {
    return `/privacy-request/${row.id}/${row.stopped_collection_details.step === 'erasure' ? 'erasure_confirm' : 'manual_input'}`;
  }
  return null;
}

/** A timestamp as the API writes it (ISO 8601, UTC), or null. */
export const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export function toPrivacyRequestResponse(row: PrivacyRequestRow) {
  return {
    id: row.id,
    external_id: row.external_id,
    status: row.status,
    policy_key: row.policy_key,
    action_types: row.action_types,
    requested_at: iso(row.requested_at),
    created_at: iso(row.created_at),
    reviewed_at: iso(row.reviewed_at),
    reviewed_by: row.reviewed_by,
    created_by: row.created_by,
    started_processing_at: iso(row.started_processing_at),
    finished_processing_at: iso(row.finished_processing_at),
    errored_at: iso(row.errored_at),
    canceled_at: iso(row.canceled_at),
    paused_at: iso(row.paused_at),
    denial_reason: row.denial_reason,
    requires_erasure_confirmation: row.requires_erasure_confirmation,
    erasure_preview: row.erasure_preview,
    warnings: row.warnings ?? [],
    stopped_collection_details: row.stopped_collection_details,
    resume_endpoint: resumeEndpoint(row),
  };
}
