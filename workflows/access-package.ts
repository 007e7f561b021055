/**
 * Deletes a request's access package when it expires (workflow id `<request id>:access-package`).
 *
 * Started by the request's workflow once the package is available, as a child it abandons, so
 * the request finishes at once while this one sleeps on a durable timer until the expiry (days
 * by default; worker restarts do not matter). Then the link stops working (`expired`) and the
 * file is deleted from its storage (`deleted`), each step retried until the storage answers.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AccessPackageExpiryInput } from './definitions.js';

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
