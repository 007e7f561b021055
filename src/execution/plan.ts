/**
 * Planning a privacy request: snapshot its policy and the datasets, and build the traversal.
 * The snapshot is stored once; a retried or replayed plan step returns the stored one, so
 * configuration edits never change a request that has been planned.
 */
import { connectionTypes } from '../db/connections.js';
import { datasetsOfEnabledConnections } from '../db/datasets.js';
import { saveSnapshot, type PlanSnapshot } from '../db/plans.js';
import { getPolicy } from '../db/policies.js';
import { getPrivacyRequest, identityNames, type PrivacyRequestRow } from '../db/privacy-requests.js';
import type { ConnectionType } from '../domain/connections.js';
import { planTraversal, PlanningError, splitCollectionKey } from '../domain/graph.js';
import type { PlannedRequest as LifecyclePlan } from '../domain/lifecycle.js';
import { consentPreference, policyActionTypes } from '../domain/policies.js';
import { ConfigurationError, PrivacyRequestNotFound, type ExecutionContext } from './context.js';
import { snapshotOf } from './inputs.js';

/** What the workflow needs to orchestrate (keys, dependencies and field names, never data); the worker adds its settings. */
export type PlannedRequest = Omit<LifecyclePlan, 'settings'>;

/** `known`: connection types read with the datasets just now; read afresh for any connection it lacks. */
async function summarize(context: ExecutionContext, snapshot: PlanSnapshot, request: PrivacyRequestRow, known?: Map<string, ConnectionType>): Promise<PlannedRequest> {
  const requestAsksConfirmation = request.requires_erasure_confirmation;
  const keys = [...new Set(snapshot.plan.collections.map((collection) => collection.connectionKey))];
  const types = known && keys.every((key) => known.has(key)) ? known : await connectionTypes(context.sql, keys);
  return {
    policyKey: snapshot.policy.key,
    actionTypes: policyActionTypes(snapshot.policy),
    requiresApproval: snapshot.policy.requires_approval,
    requiresErasureConfirmation: snapshot.policy.requires_erasure_confirmation || requestAsksConfirmation,
    collections: snapshot.plan.collections.map(({ key, connectionKey, upstream, erasureUpstream }) => {
      const { dataset, collection } = splitCollectionKey(key);
      const definition = snapshot.datasets[dataset]!.collections.find((candidate) => candidate.name === collection)!;
      return {
        key,
        connectionKey,
        upstream,
        erasureUpstream,
        manual: types.get(connectionKey) === 'manual' || definition.fides_meta?.manual === true,
        fields: definition.fields.map((field) => field.name),
      };
    }),
    // The deadline as the API set it at receipt (requests from before deadlines have none).
    deadline: request.due_at
      ? {
          regulation: request.regulation,
          customDays: snapshot.policy.custom_days ?? null,
          receivedAt: request.created_at.toISOString(),
          dueAt: request.due_at.toISOString(),
          extendedDueAt: request.extended_due_at?.toISOString() ?? null,
        }
      : null,
    requiresVerification: (snapshot.policy.requires_identity_verification ?? false) && request.identity_verified_at === null,
    ...(consentPreference(snapshot.policy) ? { consentPreference: consentPreference(snapshot.policy)! } : {}),
  };
}

export async function planPrivacyRequest(context: ExecutionContext, privacyRequestId: string): Promise<PlannedRequest> {
  const { sql } = context;
  const request = await getPrivacyRequest(sql, privacyRequestId);
  if (!request) throw new PrivacyRequestNotFound(`Privacy request ${privacyRequestId} is not in the database`);
  const existing = await snapshotOf(context, privacyRequestId);
  if (existing) return summarize(context, existing, request);

  const policy = await getPolicy(sql, request.policy_key);
  if (!policy) throw new ConfigurationError(`Policy ${request.policy_key} does not exist any more`);
  const datasets = await datasetsOfEnabledConnections(sql);
  let plan;
  try {
    plan = planTraversal({ datasets, identities: await identityNames(sql, privacyRequestId) });
  } catch (error) {
    if (error instanceof PlanningError) throw new ConfigurationError(error.message);
    throw error;
  }
  const saved = await saveSnapshot(sql, privacyRequestId, {
    policy,
    datasets: Object.fromEntries(datasets.map(({ dataset }) => [dataset.fides_key, dataset])),
    plan,
  });
  context.snapshots?.remember(privacyRequestId, saved.snapshot, saved.bytes);
  return summarize(context, saved.snapshot, request, new Map(datasets.map(({ connectionKey, connectionType }) => [connectionKey, connectionType])));
}
