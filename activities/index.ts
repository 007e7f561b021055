/**
 * Temporal activities: thin adapters from the workflow to the execution steps in src/execution.
 * They add what only an activity knows (attempt number, heartbeats) and turn errors into
 * failures the workflow understands (retryable or not, with the error category).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ConnectorError } from '../src/connectors/errors.js';
import { accessCollection } from '../src/execution/access.js';
import { ConfigurationError, type ExecutionContext } from '../src/execution/context.js';
import { planPrivacyRequest, type PlannedRequest } from '../src/execution/plan.js';
import { recordCollectionEvent, recordTransition, type CollectionEvent, type Transition } from '../src/execution/transitions.js';
import { FAILURE_TYPES, type ExecutionSettings } from '../workflows/definitions.js';

function toFailure(error: unknown): unknown {
  if (error instanceof ConnectorError) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.connector, message: error.message, nonRetryable: !error.retryable, details: [error.category] });
  }
  if (error instanceof ConfigurationError) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.configuration, message: error.message, nonRetryable: true });
  }
  return error;
}

async function adapt<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw toFailure(error);
  }
}

/** Heartbeats while a long step runs, so a dead worker's activity is retried after the heartbeat timeout. */
async function withHeartbeat<T>(step: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timeout = context.info.heartbeatTimeoutMs;
  const timer = timeout ? setInterval(() => context.heartbeat(), Math.max(200, Math.floor(timeout / 3))) : undefined;
  try {
    return await step();
  } finally {
    if (timer) clearInterval(timer);
  }
}

export function createActivities(context: ExecutionContext, settings: ExecutionSettings) {
  return {
    async planPrivacyRequest({ privacyRequestId }: { privacyRequestId: string }): Promise<PlannedRequest & { settings: ExecutionSettings }> {
      return { ...(await adapt(() => planPrivacyRequest(context, privacyRequestId))), settings };
    },

    async accessCollection(step: { privacyRequestId: string; collection: string; run: number }): Promise<{ rowCount: number }> {
      const attempt = Context.current().info.attempt;
      return withHeartbeat(() => adapt(() => accessCollection(context, { ...step, attempt })));
    },

    async recordTransition(transition: Transition): Promise<void> {
      await adapt(() => recordTransition(context, transition));
    },

    async recordCollectionEvent(event: CollectionEvent): Promise<void> {
      await adapt(() => recordCollectionEvent(context, event));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
