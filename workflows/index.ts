export { privacyRequestWorkflow } from './privacy-request.js';
