/**
 * What the workflow shares with its callers: names, inputs, signals, updates, search attributes.
 * Pure definitions only, so both workflow code and clients import them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { ACTION_NAMES, type ActionName, type ActionPayload } from '../src/domain/actions.js';
import type { LifecycleState, PlannedDeadline } from '../src/domain/lifecycle.js';
import type { PrivacyRequestStatus } from '../src/domain/privacy-requests.js';

/** The workflow of a privacy request: a shell around the lifecycle machine (workflows/privacy-request.ts). */
export const PRIVACY_REQUEST_WORKFLOW = 'privacyRequest';

/**
 * The workflow requests ran on before the lifecycle machine (workflows/legacy/): kept, unchanged,
 * so that requests started on it replay and finish on it (docs/decisions.md).
 */
export const LEGACY_PRIVACY_REQUEST_WORKFLOW = 'privacyRequestWorkflow';

export interface PrivacyRequestInput {
  /** `pri_<uuid>`; also the workflow id. The workflow reads everything else from Postgres. */
  privacyRequestId: string;
  /** Set by continue-as-new: the whole lifecycle state of the run it continues. */
  state?: LifecycleState;
  /** The deadline the API set at receipt: it holds from the first moment, before the plan. */
  deadline?: PlannedDeadline | null;
}

/** Where a continued run picks up: what is already done, so nothing runs twice. */
export interface ResumeState {
  phase: 'access' | 'erasure';
  /** Collections of the current phase that finished, with the run they finished in. */
  done: Record<string, { status: 'complete' | 'skipped'; run: number }>;
  /** Run numbers above 1 of collections not yet done (retried after an error). */
  runs: Record<string, number>;
  erasureConfirmed: boolean;
  retries: number;
  rejections: number;
  /** Manual input received but not yet stored (access) or confirmed (erasure). */
  inbox: { phase: 'access' | 'erasure'; collection: string; payload: ActionPayload<'manualInput'> | ActionPayload<'erasureConfirm'> }[];
}

export interface PrivacyRequestWorkflowInput {
  /** `pri_<uuid>`; also the workflow id. The workflow reads everything else from Postgres. */
  privacyRequestId: string;
  /** Set by continue-as-new on long requests. */
  resume?: ResumeState;
}

/**
 * Search attributes, so the Temporal UI can filter privacy requests. They never hold identity values.
 * Registered by the dev server at start and by the worker on other clusters (src/temporal/search-attributes.ts).
 */
export const SEARCH_ATTRIBUTES = {
  status: defineSearchAttributeKey('DsrStatus', SearchAttributeType.KEYWORD),
  policyKey: defineSearchAttributeKey('DsrPolicyKey', SearchAttributeType.KEYWORD),
  actionTypes: defineSearchAttributeKey('DsrActionTypes', SearchAttributeType.KEYWORD_LIST),
  /** When the request is due (the extended date once extended): `DsrDueAt < now` finds overdue work. */
  dueAt: defineSearchAttributeKey('DsrDueAt', SearchAttributeType.DATETIME),
} as const;

export { DEFAULT_ACCESS_PACKAGE_EXPIRY_MS, eventKey, type ExecutionSettings } from '../src/domain/lifecycle.js';

/** The workflow that deletes a request's access package when it expires: one per request. */
export const accessPackageWorkflowId = (privacyRequestId: string) => `${privacyRequestId}:access-package`;

export interface AccessPackageExpiryInput {
  privacyRequestId: string;
  /** ISO time of the expiry, as recorded with the package. */
  expiresAt: string;
}

export interface PrivacyRequestOutcome {
  status: 'complete' | 'error' | 'denied' | 'canceled';
}

/** Failure types the activities and the workflow raise (ApplicationFailure.type). */
export const FAILURE_TYPES = {
  connector: 'ConnectorError',
  configuration: 'ConfigurationError',
  notFound: 'PrivacyRequestNotFound',
  rejected: 'ActionRejected',
} as const;

/** What an accepted update answers: the request's status once the action took effect. */
export interface ActionResult {
  status: PrivacyRequestStatus;
}

type Signals = { [A in ActionName]: ReturnType<typeof defineSignal<[ActionPayload<A>]>> };
type Updates = { [A in ActionName]: ReturnType<typeof defineUpdate<ActionResult, [ActionPayload<A>]>> };


/**
 * Every action is a signal (fire and forget, for external systems) and an update (the API's
 * path: the caller learns whether it was accepted). Both run the same validation in the workflow.
 */
export const signals = Object.fromEntries(ACTION_NAMES.map((name) => [name, defineSignal(name)])) as Signals;
export const updates = Object.fromEntries(ACTION_NAMES.map((name) => [name, defineUpdate(`${name}Update`)])) as Updates;
