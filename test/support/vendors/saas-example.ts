/**
 * Fides' saas_example config describes Mailchimp's Marketing API (its dataset covers the
 * conversations, messages and member endpoints; the others are not visited), with basic auth
 * and no pagination: the Mailchimp stand-in serves it.
 */
export { mailchimpData as saasExampleData, startMailchimp as startSaasExample } from './mailchimp.js';
