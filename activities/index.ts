/**
 * Temporal activities: thin adapters from the workflow to the execution steps in src/execution.
 * They add what only an activity knows (attempt number, heartbeats) and turn errors into
 * failures the workflow understands (retryable or not, with the error category).
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ConnectorError } from '../src/connectors/errors.js';
import { isDatabaseUnavailable } from '../src/db/client.js';
import { accessCollection, storeManualRows } from '../src/execution/access.js';
import { deleteAccessPackage, expireAccessPackage, prepareAccessPackage, recordAccessPackageFailure } from '../src/execution/access-package.js';
import { batchMemo, ConfigurationError, PrivacyRequestNotFound, together, type ExecutionContext } from '../src/execution/context.js';
import { recordStepStarts } from '../src/db/collection-steps.js';
import { accessResultValuesOf } from '../src/db/access-results.js';
import { eraseCollection, previewErasure } from '../src/execution/erasure.js';
import { propagateConsent } from '../src/execution/consent.js';
import { confirmManualErasure, manualDeadlinePassed, openManualStep } from '../src/execution/manual.js';
import { planPrivacyRequest } from '../src/execution/plan.js';
import type { PlannedRequest as LifecyclePlan } from '../src/domain/lifecycle.js';
import { recordAudit, recordCollectionEvent, recordTransition } from '../src/execution/transitions.js';
import { recordBatch, recordBookkeeping } from '../src/execution/bookkeeping.js';
import { MessageRefused, sendMessage } from '../src/execution/messages.js';
import { issueVerificationCode, messageDataSubject } from '../src/execution/notices.js';
import { SmtpError } from '../src/messages/smtp.js';
import type { PackageStorage } from '../src/storage/index.js';
import { deliverWebhook, deliverWebhooksNow, markWebhookFailed, WebhookAttemptFailed, WebhookRefused, type WebhookSettings } from '../src/execution/webhooks.js';
import { FAILURE_TYPES, type ExecutionSettings } from '../workflows/definitions.js';
import { describeFailure } from '../workflows/activity-failures.js';
import { WEBHOOK_FAILURE_TYPES } from '../workflows/webhook-delivery.js';

function toFailure(error: unknown): unknown {
  if (error instanceof ConnectorError) {
    // A data store that said when to come back (an HTTP Retry-After) is retried then, not on the backoff schedule.
    const nextRetryDelay = error.retryable && error.retryAfterMs !== undefined ? error.retryAfterMs : undefined;
    return ApplicationFailure.create({ type: FAILURE_TYPES.connector, message: error.message, nonRetryable: !error.retryable, details: [error.category], ...(nextRetryDelay !== undefined ? { nextRetryDelay } : {}) });
  }
  if (error instanceof ConfigurationError) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.configuration, message: error.message, nonRetryable: true });
  }
  if (error instanceof PrivacyRequestNotFound) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.notFound, message: error.message });
  }
  return error;
}

/** Heartbeats every third of the activity's heartbeat timeout until stopped, so a dead worker's activity is retried after that timeout. */
function heartbeating(context: Context): () => void {
  const timeout = context.info.heartbeatTimeoutMs;
  const timer = timeout ? setInterval(() => context.heartbeat(), Math.max(200, Math.floor(timeout / 3))) : undefined;
  return () => timer && clearInterval(timer);
}

/** Runs a step, heartbeating while it runs. */
async function step<T>(run: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const stop = heartbeating(context);
  try {
    return await waitingForOwnDatabase(context, run);
  } catch (error) {
    throw toFailure(error);
  } finally {
    stop();
  }
}

/**
 * dsrflow's own Postgres unreachable for a while (a restart, a failover) is not the data store's
 * fault: the step runs again once it answers, heartbeating meanwhile, instead of spending the
 * request's attempts (with five attempts a 15-second outage would put collections in error). It
 * waits at most until shortly before the attempt's own timeout; steps are idempotent, as Temporal's
 * retries already require (docs/decisions.md, "dsrflow's own database down").
 */
async function waitingForOwnDatabase<T>(context: Context, run: () => Promise<T>): Promise<T> {
  const { startToCloseTimeoutMs, currentAttemptScheduledTimestampMs } = context.info;
  const giveUpAt = currentAttemptScheduledTimestampMs + startToCloseTimeoutMs - 5_000;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await run();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + delay > giveUpAt) throw error;
      log.warn("dsrflow's database is unavailable: the step waits for it", { error: (error as Error).message, retryInMs: delay });
      await context.sleep(delay);
    }
  }
}

const attempt = () => Context.current().info.attempt;

/** How one collection of a batch went (runCollections): its result, or its failure as the workflow would have seen it. */
export type CollectionOutcome =
  | { collection: string; run: number; ok: true; rowCount: number; skipped: string | null; warning: string | null }
  | { collection: string; run: number; ok: false; attempt: number; type: string | null; message: string; category: string | null; retryable: boolean; retryAfterMs: number | null };

/**
 * Several collections' steps in one activity, side by side (the collections of one connection the
 * workflow starts at the same moment). Each is the same idempotent step as on its own; a failing
 * one does not fail the others: the answer says how each went, and the workflow retries the
 * failed ones on their own (docs/decisions.md, "Collections in batches"). Only what is not a
 * collection's fault (a worker lost, dsrflow's own database down too long) fails the activity,
 * and Temporal retries it: collections already done answer their recorded result.
 */
async function batchOfSteps(steps: { collection: string; run: number }[], runOne: (step: { collection: string; run: number }, attempt: number) => Promise<{ rowCount: number; skipped?: string | null; warning?: string | null }>): Promise<CollectionOutcome[]> {
  const context = Context.current();
  const stop = heartbeating(context);
  const { attempt } = context.info;
  let ownDatabaseDown: unknown;
  try {
    const outcomes = await Promise.all(
      steps.map(async ({ collection, run }): Promise<CollectionOutcome | undefined> => {
        try {
          const result = await waitingForOwnDatabase(context, () => runOne({ collection, run }, attempt));
          return { collection, run, ok: true, rowCount: result.rowCount, skipped: result.skipped ?? null, warning: result.warning ?? null };
        } catch (error) {
          if (isDatabaseUnavailable(error)) {
            ownDatabaseDown = error; // not the collection's fault: the whole batch is retried once the others finished
            return undefined;
          }
          // As the workflow would have seen it had the collection failed its own activity.
          const failure = toFailure(error);
          const { type, message, category } = describeFailure(failure);
          const retryable = !(failure instanceof ApplicationFailure && failure.nonRetryable);
          const retryAfterMs = error instanceof ConnectorError && error.retryable && error.retryAfterMs !== undefined ? error.retryAfterMs : null;
          return { collection, run, ok: false, attempt, type: type ?? (error instanceof Error ? error.name : null), message, category, retryable, retryAfterMs };
        }
      }),
    );
    if (ownDatabaseDown !== undefined) throw ownDatabaseDown;
    return outcomes as CollectionOutcome[];
  } finally {
    stop();
  }
}

/** A webhook attempt that failed is retried (the status code in the details); a refusal is not. */
function webhookFailure(error: unknown): unknown {
  if (error instanceof WebhookRefused) return ApplicationFailure.create({ type: WEBHOOK_FAILURE_TYPES.refused, message: error.message, nonRetryable: true });
  if (error instanceof WebhookAttemptFailed) return ApplicationFailure.create({ type: WEBHOOK_FAILURE_TYPES.attemptFailed, message: error.message, details: [error.statusCode] });
  return error;
}

/** A message the SMTP server refused for good is not retried; one it deferred, or could not take, is. */
function messageFailure(error: unknown): unknown {
  if (error instanceof MessageRefused) return ApplicationFailure.create({ type: 'MessageRefused', message: error.message, nonRetryable: true });
  if (error instanceof SmtpError) return ApplicationFailure.create({ type: 'SmtpError', message: error.message, details: [error.responseCode ?? null] });
  return error;
}

export function createActivities(context: ExecutionContext, settings: ExecutionSettings, packageStorage: PackageStorage, webhookSettings: WebhookSettings = { timeoutMs: 10_000 }) {
  const packages = { ...context, storage: packageStorage };
  const webhooks = { sql: context.sql, encryptionKey: context.encryptionKey, webhooks: webhookSettings };
  return {
    planPrivacyRequest: ({ privacyRequestId }: { privacyRequestId: string }): Promise<LifecyclePlan> =>
      step(async () => ({ ...(await planPrivacyRequest(context, privacyRequestId)), settings })),

    // A collection on its own. `attemptsBefore`: the attempts it had in a batch (runCollections)
    // before the workflow retried it alone, so that its attempts count on from there.
    accessCollection: ({ attemptsBefore = 0, ...input }: { privacyRequestId: string; collection: string; run: number; attemptsBefore?: number }) => step(() => accessCollection(context, { ...input, attempt: attemptsBefore + attempt() })),
    eraseCollection: ({ attemptsBefore = 0, ...input }: { privacyRequestId: string; collection: string; run: number; attemptsBefore?: number }) => step(() => eraseCollection(context, { ...input, attempt: attemptsBefore + attempt() })),
    /** Collections of one connection started together, in one activity (since settings.batchCollections). */
    runCollections: ({ privacyRequestId, phase, steps }: { privacyRequestId: string; phase: 'access' | 'erasure'; steps: { collection: string; run: number }[] }) => {
      // The request's identities and the connection's settings are read once for the batch; the
      // steps' starts are written in one statement, and the values they look up read in one.
      const batch: ExecutionContext = {
        ...context,
        shared: batchMemo(),
        stepStarts: together((starts) => recordStepStarts(context.sql, starts)),
        upstreamValues: together((lookups) => accessResultValuesOf(context.sql, lookups)),
      };
      return batchOfSteps(steps, (one, attempt) => (phase === 'access' ? accessCollection(batch, { privacyRequestId, ...one, attempt }) : eraseCollection(batch, { privacyRequestId, ...one, attempt })));
    },
    previewErasure: ({ privacyRequestId }: { privacyRequestId: string }) => step(() => previewErasure(context, privacyRequestId)),
    /** A person's opt-in or opt-out sent to the SaaS connections with consent_requests (src/execution/consent.ts); no workflow step calls it yet. */
    propagateConsent: (input: Parameters<typeof propagateConsent>[1]) => step(() => propagateConsent(context, input)),

    openManualStep: (input: Parameters<typeof openManualStep>[1]) => step(() => openManualStep(context, input)),
    storeManualRows: (input: Parameters<typeof storeManualRows>[1]) => step(() => storeManualRows(context, input)),
    confirmManualErasure: (input: Parameters<typeof confirmManualErasure>[1]) => step(() => confirmManualErasure(context, input)),
    manualDeadlinePassed: (input: Parameters<typeof manualDeadlinePassed>[1]) => step(() => manualDeadlinePassed(context, input)),

    /** The lifecycle machine's bookkeeping, a batch at a time (workflows/privacy-request.ts). */
    recordBookkeeping: (input: Parameters<typeof recordBookkeeping>[1]) => step(() => recordBookkeeping(context, input)),
    /** A batch of bookkeeping, then its notices' first attempt within a budget; answers what failed and may succeed later. */
    recordBatch: (input: Parameters<typeof recordBatch>[2]) =>
      step(async () => {
        const attempt = await recordBatch(context, webhooks, input);
        for (const failure of attempt.messageErrors) log.warn('Message not sent', { privacyRequestId: input.privacyRequestId, idempotencyKey: failure.idempotencyKey, error: failure.error });
        return attempt;
      }),

    // Used by the legacy workflow only (workflows/legacy/): its transitions also refresh the
    // request's task rows from its execution log, which it does not write itself.
    recordTransition: (input: Parameters<typeof recordTransition>[1]) => step(() => recordTransition(context, input, { refreshTasks: true })),
    recordAudit: (input: Parameters<typeof recordAudit>[1]) => step(() => recordAudit(context, input)),
    recordCollectionEvent: (input: Parameters<typeof recordCollectionEvent>[1]) => step(() => recordCollectionEvent(context, input)),

    prepareAccessPackage: (input: Parameters<typeof prepareAccessPackage>[1]) => step(() => prepareAccessPackage(packages, input)),
    recordAccessPackageFailure: (input: Parameters<typeof recordAccessPackageFailure>[1]) => step(() => recordAccessPackageFailure(packages, input)),
    expireAccessPackage: (input: Parameters<typeof expireAccessPackage>[1]) => step(() => expireAccessPackage(packages, input)),
    deleteAccessPackage: (input: Parameters<typeof deleteAccessPackage>[1]) => step(() => deleteAccessPackage(packages, input)),

    /** A message to the data subject, at most once per idempotency key (src/execution/messages.ts). */
    sendMessage: (input: Parameters<typeof sendMessage>[1]) => step(() => sendMessage(context, input).catch((error: unknown) => Promise.reject(messageFailure(error)))),
    /** The lifecycle's messages (receipt, extension, denial, completion with the package link). */
    messageDataSubject: (input: Parameters<typeof messageDataSubject>[1]) => step(() => messageDataSubject(context, input).catch((error: unknown) => Promise.reject(messageFailure(error)))),
    /** A verification code: its hash stored, the code sent to the person (never in history). */
    issueVerificationCode: (input: Parameters<typeof issueVerificationCode>[1]) => step(() => issueVerificationCode(context, input).catch((error: unknown) => Promise.reject(messageFailure(error)))),

    /** Webhooks (workflows/webhook-delivery.ts): one signed POST per attempt, and giving a delivery up. */
    deliverWebhook: (input: Parameters<typeof deliverWebhook>[1]) => step(() => deliverWebhook(webhooks, input).catch((error: unknown) => Promise.reject(webhookFailure(error)))),
    markWebhookFailed: (input: Parameters<typeof markWebhookFailed>[1]) => step(() => markWebhookFailed(webhooks, input)),
    deliverWebhooksNow: (input: Parameters<typeof deliverWebhooksNow>[1]) => step(() => deliverWebhooksNow(webhooks, input)),
  };
}

export type Activities = ReturnType<typeof createActivities>;
