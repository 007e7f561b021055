/**
 * Deletes a request's access package when it expires (workflow id `<request id>:access-package`),
 * for requests started before 'lean-requests' (workflows/privacy-request.ts); later ones leave it
 * to the workers' maintenance sweep, which costs no workflow per request.
 *
 * Started by the request's workflow once the package is available, as a child it abandons, so
 * the request finishes at once while this one sleeps on a durable timer until the expiry (days
 * by default; worker restarts do not matter). Then the link stops working (`expired`) and the
 * file is deleted from its storage (`deleted`), each step retried until the storage answers.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { log, ParentClosePolicy, proxyActivities, sleep, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { describeFailure } from './activity-failures.js';
import { accessPackageWorkflowId, type AccessPackageExpiryInput } from './definitions.js';

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function accessPackageExpiryWorkflow({ privacyRequestId, expiresAt }: AccessPackageExpiryInput): Promise<{ status: 'deleted' }> {
  const remaining = Date.parse(expiresAt) - Date.now(); // workflow time: the same on replay
  if (remaining > 0) await sleep(remaining);
  await bookkeeping.expireAccessPackage({ privacyRequestId });
  await bookkeeping.deleteAccessPackage({ privacyRequestId, at: new Date().toISOString() });
  return { status: 'deleted' };
}

/**
 * Writes a request's access package once access is done (called by the request's workflow). A
 * failure (after the retries) is recorded on the package and the request goes on. Requests
 * before 'lean-requests' start a child workflow, left running when the request's ends, that
 * deletes the file at the expiry; later ones leave that to the workers' maintenance sweep.
 */
export async function writeAccessPackage(
  steps: Pick<Activities, 'prepareAccessPackage'>,
  records: Pick<Activities, 'recordAccessPackageFailure'>,
  { privacyRequestId, expiresInMs, expiry }: { privacyRequestId: string; expiresInMs: number; expiry: 'swept' | 'child' },
): Promise<void> {
  let written: Awaited<ReturnType<Activities['prepareAccessPackage']>>;
  try {
    written = await steps.prepareAccessPackage({ privacyRequestId, expiresInMs });
  } catch (error) {
    await records.recordAccessPackageFailure({ privacyRequestId, at: new Date().toISOString(), message: describeFailure(error).message });
    log.warn('Access package failed', { privacyRequestId });
    return;
  }
  // Since 'lean-requests' the workers' maintenance deletes it (src/worker/maintenance.ts).
  if (!written.expiresAt || expiry === 'swept') return;
  try {
    await startChild(accessPackageExpiryWorkflow, {
      workflowId: accessPackageWorkflowId(privacyRequestId),
      args: [{ privacyRequestId, expiresAt: written.expiresAt }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (error) {
    // Already running (the package was written before): that one deletes it.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
