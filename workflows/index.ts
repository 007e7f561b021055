export { privacyRequest } from './privacy-request.js';
export { accessPackageExpiryWorkflow } from './access-package.js';
export { webhookDelivery } from './webhook-delivery.js';
// Requests started before the lifecycle machine run to their end on the workflow of that time.
export { privacyRequestWorkflow } from './legacy/privacy-request-workflow.js';
