/**
 * One workflow per privacy request (workflow id = request id).
 *
 * Deterministic orchestration only: every read and write happens in an activity, and the
 * history carries ids, collection keys and counts, never identities or rows.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  eventKey,
  FAILURE_TYPES,
  SEARCH_ATTRIBUTES,
  type ExecutionSettings,
  type PrivacyRequestOutcome,
  type PrivacyRequestWorkflowInput,
} from './definitions.js';

/** Bookkeeping writes to Postgres: retried until the database answers. */
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * The plan step: retried a bounded number of times, because the API commits the request row
 * just after starting the workflow and a request whose commit failed must not wait forever.
 */
const planning = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

type Status = Parameters<Activities['recordTransition']>[0]['status'];
type Transition = Omit<Parameters<Activities['recordTransition']>[0], 'privacyRequestId' | 'status' | 'at'>;

interface GraphNode {
  key: string;
  upstream: string[];
}

class CollectionFailed extends Error {
  constructor(
    readonly collection: string,
    readonly failure: unknown,
  ) {
    super(`Collection ${collection} failed`);
  }
}

/**
 * Runs every node once all its upstream nodes are done, at most `limit` at a time. After a
 * failure it starts nothing new, lets the running ones finish, and rejects with the first failure.
 */
async function runGraph(nodes: GraphNode[], limit: number, run: (key: string) => Promise<void>): Promise<void> {
  const done = new Set<string>();
  const started = new Set<string>();
  let running = 0;
  let failure: CollectionFailed | undefined;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (failure) {
        if (running === 0) reject(failure);
        return;
      }
      if (done.size === nodes.length) return resolve();
      for (const node of nodes) {
        if (running >= limit) break;
        if (started.has(node.key) || !node.upstream.every((key) => done.has(key))) continue;
        started.add(node.key);
        running += 1;
        run(node.key)
          .then(
            () => void done.add(node.key),
            (error: unknown) => void (failure ??= new CollectionFailed(node.key, error)),
          )
          .finally(() => {
            running -= 1;
            pump();
          });
      }
    };
    pump();
  });
}

/** The innermost ApplicationFailure of an activity failure: its type, message and category. */
function describeFailure(error: unknown): { type: string | undefined; message: string; category: string | undefined } {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    return { type: cause.type ?? undefined, message: cause.message, category: (cause.details?.[0] as string | undefined) ?? undefined };
  }
  return { type: undefined, message: (cause as Error | undefined)?.message ?? String(cause), category: undefined };
}

export async function privacyRequestWorkflow({ privacyRequestId }: PrivacyRequestWorkflowInput): Promise<PrivacyRequestOutcome> {
  const now = () => new Date().toISOString(); // workflow time: the same on replay

  const transition = async (status: Status, extra: Transition = {}) => {
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: status }]);
    await bookkeeping.recordTransition({ privacyRequestId, status, at: now(), ...extra });
  };

  let plan;
  try {
    plan = await planning.planPrivacyRequest({ privacyRequestId });
  } catch (error) {
    const { message } = describeFailure(error);
    log.warn('Privacy request could not be planned', { privacyRequestId, message });
    await transition('error', { audit: { eventKey: 'error:plan', action: 'error', userId: 'system', message } });
    return { status: 'error' };
  }
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.policyKey, value: plan.policyKey },
    { key: SEARCH_ATTRIBUTES.actionTypes, value: plan.actionTypes },
  ]);

  await transition('approved', {
    audit: { eventKey: 'approved', action: 'approved', userId: 'system', message: 'approved automatically: the policy does not require review' },
  });
  await transition('in_processing');

  const settings: ExecutionSettings = plan.settings;
  const collections = proxyActivities<Activities>({
    startToCloseTimeout: settings.startToCloseTimeoutMs,
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry: {
      initialInterval: settings.initialRetryIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      maximumAttempts: settings.maxAttempts,
    },
  });
  const connectionOf = new Map(plan.collections.map((collection) => [collection.key, collection.connectionKey]));
  const run = 1;

  try {
    await runGraph(plan.collections, settings.collectionConcurrency, async (collection) => {
      await collections.accessCollection({ privacyRequestId, collection, run });
    });
  } catch (error) {
    if (!(error instanceof CollectionFailed)) throw error;
    const { message, category, type } = describeFailure(error.failure);
    const reason = type === FAILURE_TYPES.connector && category ? `${category}: ${message}` : message;
    await bookkeeping.recordCollectionEvent({
      privacyRequestId,
      collection: error.collection,
      connectionKey: connectionOf.get(error.collection) ?? '',
      phase: 'access',
      eventKey: eventKey('access', error.collection, run, 'error'),
      status: 'error',
      message: reason,
    });
    await transition('error', {
      stoppedCollectionDetails: { step: 'access', collection: error.collection, action_needed: null },
      audit: { eventKey: `error:access:${error.collection}:${run}`, action: 'error', userId: 'system', message: `Collection ${error.collection} failed: ${reason}` },
    });
    return { status: 'error' };
  }

  await transition('complete', { audit: { eventKey: 'finished', action: 'finished', userId: 'system', message: null } });
  return { status: 'complete' };
}
