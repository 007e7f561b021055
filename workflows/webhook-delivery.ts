/**
 * Sends one webhook delivery (workflow id `webhook:<delivery id>`), retrying until the receiver
 * answers 2xx or the time allowed runs out.
 *
 * The delivery row is written with its event (src/db/webhooks.ts, an outbox); whoever writes it
 * starts this workflow. Attempts back off from 1 s, doubling, up to `maxRetryIntervalMs`, for
 * `retryForMs` in all (Standard Webhooks recommends a schedule of days). A refusal (a host the
 * allow-list does not admit, a disabled subscription, 410 Gone) is not retried. When it finally
 * fails, the delivery is marked `failed`. Workflow code: deterministic, no I/O.
 */
import { ActivityFailure, ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { describeFailure } from './activity-failures.js';

export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';

/** One workflow per delivery: starting it twice finds the first. */
export const webhookDeliveryWorkflowId = (deliveryId: string) => `webhook:${deliveryId}`;

export const DEFAULT_WEBHOOK_MAX_RETRY_INTERVAL_MS = 60_000;
export const DEFAULT_WEBHOOK_RETRY_FOR_MS = 3 * 24 * 60 * 60 * 1000;

export interface WebhookDeliveryInput {
  /** `whd_<uuid>`: the delivery row to send. */
  deliveryId: string;
  /** The longest wait between two attempts (DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL); default 60 s. */
  maxRetryIntervalMs?: number;
  /** How long to keep trying, all attempts included (DSRFLOW_WEBHOOK_RETRY_FOR); default 3 days. */
  retryForMs?: number;
}

export interface WebhookDeliveryOutcome {
  status: 'delivered' | 'failed' | 'missing';
}

/** Failure types of the webhook activities (ApplicationFailure.type). */
export const WEBHOOK_FAILURE_TYPES = { attemptFailed: 'WebhookAttemptFailed', refused: 'WebhookRefused' } as const;

const bookkeeping = () =>
  proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });

export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryOutcome> {
  const maximumInterval = Math.max(1000, input.maxRetryIntervalMs ?? DEFAULT_WEBHOOK_MAX_RETRY_INTERVAL_MS);
  const retryFor = Math.max(1000, input.retryForMs ?? DEFAULT_WEBHOOK_RETRY_FOR_MS);
  const { deliverWebhook } = proxyActivities<Activities>({
    // One attempt is bounded by DSRFLOW_WEBHOOK_TIMEOUT (5 minutes at most) in the activity;
    // heartbeats let a dead worker's attempt be retried soon.
    startToCloseTimeout: '6 minutes',
    heartbeatTimeout: '30 seconds',
    scheduleToCloseTimeout: retryFor,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval,
      nonRetryableErrorTypes: [WEBHOOK_FAILURE_TYPES.refused],
    },
  });
  try {
    const result = await deliverWebhook({ deliveryId: input.deliveryId });
    return { status: result.status };
  } catch (error) {
    if (!(error instanceof ActivityFailure) && !(error instanceof ApplicationFailure)) throw error;
    const failure = describeFailure(error);
    const reason = failure.type === WEBHOOK_FAILURE_TYPES.refused ? undefined : `gave up after retrying for ${retryFor} ms: ${failure.message}`;
    await bookkeeping().markWebhookFailed({ deliveryId: input.deliveryId, ...(reason ? { reason } : {}) });
    log.warn('Webhook delivery failed', { deliveryId: input.deliveryId });
    return { status: 'failed' };
  }
}
