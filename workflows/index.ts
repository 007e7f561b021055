export { privacyRequestWorkflow } from './privacy-request.js';
export { accessPackageExpiryWorkflow } from './access-package.js';
