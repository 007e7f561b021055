/**
 * Submitting privacy requests: each one becomes a row (with its identities encrypted) and a
 * workflow whose id is the request id. The row is stored only once the workflow started, so a
 * request that failed to start leaves nothing behind; a row that cannot be stored terminates its
 * workflow (and a workflow whose row never appears ends at its plan step).
 *
 * The items of one call are submitted side by side (INTAKE_CONCURRENCY at a time): a workflow
 * start is a round trip to Temporal, and one after the other they made a batch of 50 take as long
 * as 50 round trips (docs/decisions.md, "Intake"). When duplicates are recognised, items for the
 * same person and policy still go one after the other, in the order given: the first is the original.
 */
import type { Client } from '@temporalio/client';
import { createHmac } from 'node:crypto';
import { recordAuditLog } from '../db/audit-log.js';
import type { Sql, TransactionSql } from '../db/client.js';
import { acknowledgeBy, daysLeft, dueAt, type Regulation } from '../domain/deadlines.js';
import { DEFAULT_DEADLINE_SETTINGS, type DeadlineSettings } from '../domain/lifecycle.js';
import { getPolicies } from '../db/policies.js';
import { insertIdentities, insertPrivacyRequest, insertRequestWithIdentities, type NewPrivacyRequest, type PrivacyRequestRow } from '../db/privacy-requests.js';
import { policyActionTypes, type Policy } from '../domain/policies.js';
import { newPrivacyRequestId, type Identity } from '../domain/privacy-requests.js';
import { PRIVACY_REQUEST_WORKFLOW, SEARCH_ATTRIBUTES, type PrivacyRequestInput } from '../../workflows/definitions.js';

export interface SubmitDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  encryptionKey: Buffer;
  identityTtlMs: number;
  deadlines?: DeadlineSettings | undefined;
  duplicates?: { enabled: boolean; windowMs: number } | undefined;
}

export interface PrivacyRequestSubmission {
  external_id?: string | null | undefined;
  requested_at?: string | null | undefined;
  policy_key: string;
  identity: Identity;
  requires_erasure_confirmation?: boolean | undefined;
  /** The regime the request follows; the policy's when omitted. */
  regulation?: Regulation | undefined;
}

/** Why a submission cannot be taken as it is: the field and the reason (422, nothing stored). */
export function submissionProblem(submission: PrivacyRequestSubmission, policy: Policy): { field: string; message: string } | undefined {
  const regulation = submission.regulation ?? policy.regulation ?? 'gdpr';
  if (regulation === 'custom' && !policy.custom_days) {
    return { field: 'regulation', message: `policy ${policy.key} sets no number of days (custom_days), so requests under it cannot follow the custom regulation` };
  }
  if (policy.requires_identity_verification && !submission.identity.email) {
    return { field: 'identity.email', message: `policy ${policy.key} requires identity verification: an email identity is needed to send the code to` };
  }
  return undefined;
}

/**
 * The identities as one keyed digest (never the values): what recognises a second request for
 * the same person. Keyed, so the digest alone does not confirm a guessed address.
 */
export function identityDigest(key: Buffer, identity: Identity): string {
  const canonical = JSON.stringify(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b)));
  return createHmac('sha256', key).update(`identity-digest:${canonical}`).digest('hex');
}

export interface SubmitResult {
  succeeded: PrivacyRequestRow[];
  failed: { message: string; data: { external_id: string | null; policy_key: string } }[];
}

/** Loads the policies the submissions name; the caller rejects the call when one is missing. */
export function loadPolicies(sql: Sql, keys: string[]): Promise<Map<string, Policy>> {
  return getPolicies(sql, keys);
}

/** Items of one call started at once: below the API's pool of 10 connections, each held while its workflow starts. */
export const INTAKE_CONCURRENCY = 8;

type Outcome = { row: PrivacyRequestRow } | { failure: SubmitResult['failed'][number] };

export async function submitPrivacyRequests(deps: SubmitDeps, submissions: PrivacyRequestSubmission[], policies: Map<string, Policy>, createdBy: string | null = null): Promise<SubmitResult> {
  // Lanes run side by side. With duplicates recognised, a lane holds the items for one person and
  // policy, in their order (the first is the original); otherwise each item is a lane of its own.
  const lanes = new Map<string, number[]>();
  submissions.forEach((submission, index) => {
    const lane = deps.duplicates?.enabled ? `${submission.policy_key}\u0000${identityDigest(deps.encryptionKey, submission.identity)}` : String(index);
    lanes.set(lane, [...(lanes.get(lane) ?? []), index]);
  });
  const outcomes: Outcome[] = new Array(submissions.length);
  const queue = [...lanes.values()];
  const runLanes = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const index of lane) outcomes[index] = await submitOne(deps, submissions[index]!, policies, createdBy);
    }
  };
  await Promise.all(Array.from({ length: Math.min(INTAKE_CONCURRENCY, queue.length) }, runLanes));
  const result: SubmitResult = { succeeded: [], failed: [] };
  for (const outcome of outcomes) {
    if ('row' in outcome) result.succeeded.push(outcome.row);
    else result.failed.push(outcome.failure);
  }
  return result;
}

async function submitOne(deps: SubmitDeps, submission: PrivacyRequestSubmission, policies: Map<string, Policy>, createdBy: string | null): Promise<Outcome> {
  const policy = policies.get(submission.policy_key)!;
  const id = newPrivacyRequestId();
  const actionTypes = policyActionTypes(policy);
  const regulation = submission.regulation ?? policy.regulation ?? 'gdpr';
  const settings = deps.deadlines ?? DEFAULT_DEADLINE_SETTINGS;
  const receivedAt = new Date();
  const options = { timeZone: settings.timeZone, customDays: policy.custom_days ?? null, periodOverrideMs: settings.periodOverrideMs };
  const digest = identityDigest(deps.encryptionKey, submission.identity);
  /** The row; a duplicate (of `original`) has no deadline and never runs. */
  const request = (original?: string): NewPrivacyRequest => ({
    id,
    external_id: submission.external_id ?? null,
    policy_key: policy.key,
    action_types: actionTypes,
    requested_at: submission.requested_at ? new Date(submission.requested_at) : null,
    requires_erasure_confirmation: submission.requires_erasure_confirmation ?? false,
    created_by: createdBy,
    regulation,
    created_at: receivedAt,
    due_at: original ? null : dueAt(regulation, receivedAt, options),
    acknowledge_by: original ? null : acknowledgeBy(regulation, receivedAt, options),
    status: original ? 'duplicate' : policy.requires_identity_verification ? 'identity_unverified' : 'pending',
    duplicate_of: original ?? null,
    identity_digest: digest,
  });
  let started = false;
  const startWorkflow = async (due: Date | null | undefined) => {
    const input: PrivacyRequestInput = {
      privacyRequestId: id,
      deadline: due ? { regulation, customDays: policy.custom_days ?? null, receivedAt: receivedAt.toISOString(), dueAt: due.toISOString(), extendedDueAt: null } : null,
    };
    await deps.temporal.workflow.start(PRIVACY_REQUEST_WORKFLOW, {
      workflowId: id,
      taskQueue: deps.taskQueue,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.status, value: 'pending' },
        { key: SEARCH_ATTRIBUTES.policyKey, value: policy.key },
        { key: SEARCH_ATTRIBUTES.actionTypes, value: actionTypes },
        ...(due ? [{ key: SEARCH_ATTRIBUTES.dueAt, value: due }] : []),
      ],
    });
    started = true;
  };
  try {
    if (!deps.duplicates?.enabled) {
      // Started, then stored in one statement (docs/decisions.md, "Intake"): the guarantee of a
      // transaction held open across the start (a row that cannot be stored terminates its
      // workflow; a workflow whose row never appears ends at its plan step), in one round trip
      // instead of four.
      const fields = request();
      await startWorkflow(fields.due_at);
      return { row: await insertRequestWithIdentities(deps.sql, fields, submission.identity, deps.encryptionKey, deps.identityTtlMs) };
    }
    const row = await deps.sql.begin(async (tx) => {
      // One submission at a time per person and policy, so that two at once cannot both be the original.
      const original = await findOriginal(tx, digest, policy.key, deps.duplicates!.windowMs);
      const inserted = await insertPrivacyRequest(tx, request(original));
      await insertIdentities(tx, id, submission.identity, deps.encryptionKey, deps.identityTtlMs);
      if (original) {
        // A duplicate is recorded and linked, and never run: no workflow.
        await recordAuditLog(tx, { privacy_request_id: id, event_key: 'duplicate', action: 'duplicate', user_id: 'system', message: `duplicate of ${original}: same identity and policy` }, receivedAt);
        return inserted;
      }
      await startWorkflow(inserted.due_at);
      return inserted;
    });
    return { row };
  } catch (error) {
    if (started) {
      // The workflow started but the row was not stored: stop the workflow so nothing runs for it.
      await deps.temporal.workflow
        .getHandle(id)
        .terminate('the privacy request could not be stored')
        .catch(() => undefined);
    }
    return {
      failure: {
        message: `The privacy request could not be started: ${(error as Error).message}`,
        data: { external_id: submission.external_id ?? null, policy_key: submission.policy_key },
      },
    };
  }
}

/** The open request (or, within the window, the recent one) this one duplicates; undefined when none. */
async function findOriginal(tx: TransactionSql, digest: string, policyKey: string, windowMs: number): Promise<string | undefined> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`duplicate:${digest}:${policyKey}`}, 0))`;
  const [row] = await tx<{ id: string }[]>`
    select id from privacy_request
    where identity_digest = ${digest} and policy_key = ${policyKey} and status <> 'duplicate'
      and (status not in ('complete', 'denied', 'canceled') or created_at > now() - ${`${windowMs} milliseconds`}::interval)
    order by created_at desc limit 1`;
  return row?.id;
}

/** Where a paused or failed request is resumed (reference 000: resume_endpoint). */
export function resumeEndpoint(row: PrivacyRequestRow): string | null {
  if (row.status === 'error') return `/privacy-request/${row.id}/retry`;
  if (row.status === 'paused' && row.stopped_collection_details) {
    return `/privacy-request/${row.id}/${row.stopped_collection_details.step === 'erasure' ? 'erasure_confirm' : 'manual_input'}`;
  }
  return null;
}

const FINAL: readonly string[] = ['complete', 'denied', 'canceled', 'duplicate'];

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
    regulation: row.regulation,
    due_at: iso(row.due_at),
    extended_due_at: iso(row.extended_due_at),
    days_left: FINAL.includes(row.status) ? null : daysLeft(row.extended_due_at ?? row.due_at, new Date()),
    acknowledge_by: iso(row.acknowledge_by),
    extension_reason: row.extension_reason,
    identity_verified_at: iso(row.identity_verified_at),
    denial_reason_code: row.denial_reason_code,
    duplicate_of: row.duplicate_of,
    legal_hold: row.legal_hold,
    legal_hold_reason: row.legal_hold_reason,
    stopped_collection_details: row.stopped_collection_details,
    resume_endpoint: resumeEndpoint(row),
  };
}
