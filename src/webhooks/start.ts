/**
 * Starts the `webhookDelivery` workflow of each delivery that enqueueWebhookEvent created, with
 * the configured retry schedule. Starting one that already runs (or ran) finds it: the workflow id
 * is the delivery's, so a retried caller never sends a delivery twice.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { WEBHOOK_DELIVERY_WORKFLOW, webhookDeliveryWorkflowId, type webhookDelivery, type WebhookDeliveryInput } from '../../workflows/webhook-delivery.js';

/** The workflow's input for a delivery under these settings (DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL, DSRFLOW_WEBHOOK_RETRY_FOR). */
export const webhookDeliveryInput = (deliveryId: string, settings: Pick<Config['webhooks'], 'maxRetryIntervalMs' | 'retryForMs'>): WebhookDeliveryInput => ({
  deliveryId,
  maxRetryIntervalMs: settings.maxRetryIntervalMs,
  retryForMs: settings.retryForMs,
});

export async function startWebhookDeliveries(
  client: Client,
  options: { taskQueue: string; settings: Pick<Config['webhooks'], 'maxRetryIntervalMs' | 'retryForMs'> },
  deliveryIds: readonly string[],
): Promise<void> {
  for (const deliveryId of deliveryIds) {
    try {
      await client.workflow.start<typeof webhookDelivery>(WEBHOOK_DELIVERY_WORKFLOW, {
        workflowId: webhookDeliveryWorkflowId(deliveryId),
        taskQueue: options.taskQueue,
        args: [webhookDeliveryInput(deliveryId, options.settings)],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}
