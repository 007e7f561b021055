/**
 * Submitting privacy requests: each one becomes a row (with its identities encrypted) and a
 * workflow whose id is the request id. The row is stored only once the workflow started, so a
 * request that failed to start leaves nothing behind; a row that cannot be stored terminates its
 * workflow (and a workflow whose row never appears ends at its plan step).
 *
 * The items of one call go INTAKE_CONCURRENCY at a time: their workflows start side by side (a
 * start is a round trip to Temporal), then their rows are stored in one statement
 * (docs/decisions.md, "Intake"). When duplicates are recognised, each item is a transaction of its
 * own, and items for the same person and policy go one after the other, in the order given: the
 * first is the original.
 */
import type { Client } from '@temporalio/client';
import { createHmac } from 'node:crypto';
import { recordAuditLog } from '../db/audit-log.js';
import type { Sql, TransactionSql } from '../db/client.js';
import { acknowledgeBy, daysLeft, dueAt, type Regulation } from '../domain/deadlines.js';
import { DEFAULT_DEADLINE_SETTINGS, type DeadlineSettings } from '../domain/lifecycle.js';
import { insertRequestsWithIdentities, type NewPrivacyRequest, type PrivacyRequestRow } from '../db/privacy-requests.js';
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

/** Items of one call whose workflows start at once. */
export const INTAKE_CONCURRENCY = 8;

type Outcome = { row: PrivacyRequestRow } | { failure: SubmitResult['failed'][number] };

export async function submitPrivacyRequests(deps: SubmitDeps, submissions: PrivacyRequestSubmission[], policies: Map<string, Policy>, createdBy: string | null = null): Promise<SubmitResult> {
  const prepared = submissions.map((submission) => prepare(deps, submission, policies.get(submission.policy_key)!, createdBy));
  const outcomes = deps.duplicates?.enabled ? await submitInLanes(deps, prepared) : await submitInGroups(deps, prepared);
  const result: SubmitResult = { succeeded: [], failed: [] };
  for (const outcome of outcomes) {
    if ('row' in outcome) result.succeeded.push(outcome.row);
    else result.failed.push(outcome.failure);
  }
  return result;
}

/**
 * Without duplicate detection: INTAKE_CONCURRENCY workflows starting at any time, and the rows of
 * those that started stored together, one statement for whatever started while the previous one
 * ran (a group commit). A statement that fails is done again row by row, so that one row the
 * database refuses does not take the others with it.
 */
async function submitInGroups(deps: SubmitDeps, items: Prepared[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(items.length);
  const insert = (group: Prepared[]) => insertRequestsWithIdentities(deps.sql, group.map((item) => ({ request: item.fields, identity: item.submission.identity })), deps.encryptionKey, deps.identityTtlMs);
  const store = async (indexes: number[]) => {
    try {
      (await insert(indexes.map((i) => items[i]!))).forEach((row, k) => (outcomes[indexes[k]!] = { row }));
    } catch {
      for (const i of indexes) {
        try {
          outcomes[i] = { row: (await insert([items[i]!]))[0]! };
        } catch (error) {
          // The workflow started but its row was not stored: stop it so nothing runs for it.
          await items[i]!.terminate();
          outcomes[i] = items[i]!.failed(error);
        }
      }
    }
  };
  const started: number[] = [];
  let storing: Promise<void> | undefined;
  const storeStarted = () => {
    storing ??= (async () => {
      while (started.length) await store(started.splice(0));
    })().finally(() => (storing = undefined));
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(INTAKE_CONCURRENCY, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        try {
          await items[i]!.start(items[i]!.fields.due_at);
        } catch (error) {
          outcomes[i] = items[i]!.failed(error);
          continue;
        }
        started.push(i);
        storeStarted();
      }
    }),
  );
  while (storing || started.length) {
    storeStarted();
    await storing;
  }
  return outcomes;
}

/**
 * With duplicate detection: lanes side by side, a lane holding the items for one person and
 * policy, in their order (the first is the original), each item in a transaction with an advisory
 * lock per person and policy.
 */
async function submitInLanes(deps: SubmitDeps, items: Prepared[]): Promise<Outcome[]> {
  const lanes = new Map<string, number[]>();
  items.forEach((item, index) => {
    const lane = `${item.fields.policy_key}\u0000${item.digest}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), index]);
  });
  const outcomes: Outcome[] = new Array(items.length);
  const queue = [...lanes.values()];
  const runLanes = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const index of lane) outcomes[index] = await submitWithDuplicates(deps, items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(INTAKE_CONCURRENCY, queue.length) }, runLanes));
  return outcomes;
}

interface Prepared {
  id: string;
  submission: PrivacyRequestSubmission;
  digest: string;
  receivedAt: Date;
  /** The row as stored when the request is no duplicate. */
  fields: NewPrivacyRequest;
  /** The row of a duplicate of `original`: no deadline, never run. */
  duplicateOf(original: string): NewPrivacyRequest;
  start(due: Date | null | undefined): Promise<void>;
  terminate(): Promise<void>;
  failed(error: unknown): Outcome;
}

function prepare(deps: SubmitDeps, submission: PrivacyRequestSubmission, policy: Policy, createdBy: string | null): Prepared {
  const id = newPrivacyRequestId();
  const actionTypes = policyActionTypes(policy);
  const regulation = submission.regulation ?? policy.regulation ?? 'gdpr';
  const settings = deps.deadlines ?? DEFAULT_DEADLINE_SETTINGS;
  const receivedAt = new Date();
  const options = { timeZone: settings.timeZone, customDays: policy.custom_days ?? null, periodOverrideMs: settings.periodOverrideMs };
  const digest = identityDigest(deps.encryptionKey, submission.identity);
  const row = (original?: string): NewPrivacyRequest => ({
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
  return {
    id,
    submission,
    digest,
    receivedAt,
    fields: row(),
    duplicateOf: row,
    async start(due) {
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
    },
    async terminate() {
      await deps.temporal.workflow
        .getHandle(id)
        .terminate('the privacy request could not be stored')
        .catch(() => undefined);
    },
    failed: (error) => ({
      failure: {
        message: `The privacy request could not be started: ${(error as Error).message}`,
        data: { external_id: submission.external_id ?? null, policy_key: submission.policy_key },
      },
    }),
  };
}

async function submitWithDuplicates(deps: SubmitDeps, item: Prepared): Promise<Outcome> {
  let started = false;
  try {
    const row = await deps.sql.begin(async (tx) => {
      // One submission at a time per person and policy, so that two at once cannot both be the original.
      const original = await findOriginal(tx, item.digest, item.fields.policy_key, deps.duplicates!.windowMs);
      const [inserted] = await insertRequestsWithIdentities(tx, [{ request: original ? item.duplicateOf(original) : item.fields, identity: item.submission.identity }], deps.encryptionKey, deps.identityTtlMs);
      if (original) {
        // A duplicate is recorded and linked, and never run: no workflow.
        await recordAuditLog(tx, { privacy_request_id: item.id, event_key: 'duplicate', action: 'duplicate', user_id: 'system', message: `duplicate of ${original}: same identity and policy` }, item.receivedAt);
        return inserted!;
      }
      await item.start(inserted!.due_at);
      started = true;
      return inserted!;
    });
    return { row };
  } catch (error) {
    // The workflow started but the row did not commit: stop the workflow so nothing runs for it.
    if (started) await item.terminate();
    return item.failed(error);
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
