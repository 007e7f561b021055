/**
 * What the workflow shares with its callers: names, input types, search attributes.
 * Pure definitions only, so both workflow code and clients import them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const PRIVACY_REQUEST_WORKFLOW = 'privacyRequestWorkflow';

export interface PrivacyRequestWorkflowInput {
  /** `pri_<uuid>`; also the workflow id. The workflow reads everything else from Postgres. */
  privacyRequestId: string;
}

/**
 * Search attributes, so the Temporal UI can filter privacy requests. They never hold identity values.
 * Registered by the dev server at start and by the worker on other clusters (src/temporal/search-attributes.ts).
 */
export const SEARCH_ATTRIBUTES = {
  status: defineSearchAttributeKey('DsrStatus', SearchAttributeType.KEYWORD),
  policyKey: defineSearchAttributeKey('DsrPolicyKey', SearchAttributeType.KEYWORD),
  actionTypes: defineSearchAttributeKey('DsrActionTypes', SearchAttributeType.KEYWORD_LIST),
} as const;

/** Idempotency key of one execution log event: `access:dataset:collection:run:event`. */
export const eventKey = (phase: 'access' | 'erasure', collection: string, run: number, event: string): string => `${phase}:${collection}:${run}:${event}`;

/** How the worker wants collection steps run; returned by the plan step so replays see the same values. */
export interface ExecutionSettings {
  startToCloseTimeoutMs: number;
  heartbeatTimeoutMs: number;
  maxAttempts: number;
  initialRetryIntervalMs: number;
  collectionConcurrency: number;
}

export interface PrivacyRequestOutcome {
  status: 'complete' | 'error' | 'denied' | 'canceled';
}

/** Failure types the activities raise (ApplicationFailure.type). */
export const FAILURE_TYPES = {
  connector: 'ConnectorError',
  configuration: 'ConfigurationError',
} as const;
