/**
 * Consent propagation: a request's opt-out (then opt-in) reaches Mailchimp's transactional
 * allowlist through the consent_requests of Fides' mailchimp config, unchanged.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectorRegistry } from '../../src/connectors/registry.js';
import { propagateConsent } from '../../src/execution/consent.js';
import { createHarness, type Harness } from '../support/harness.js';
import { startMailchimp, type MailchimpServer } from '../support/vendors/mailchimp.js';

let harness: Harness;
let mailchimp: MailchimpServer;

beforeAll(async () => {
  harness = await createHarness();
  mailchimp = await startMailchimp();
  const secrets = { domain: mailchimp.host, username: 'any', api_key: mailchimp.apiKey, transactional_domain: `${mailchimp.host}/api/1.0`, transactional_api_key: mailchimp.transactionalKey };
  await harness.fetch('/api/v1/connection', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'mailchimp_instance', connection_type: 'saas', access: 'write', secrets }]) });
  const text = await readFile(new URL('../../src/example/fides-saas/mailchimp_config.yml', import.meta.url), 'utf8');
  const put = await harness.fetch('/api/v1/connection/mailchimp_instance/saas_config', { method: 'PUT', headers: { 'content-type': 'application/x-yaml' }, body: text });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await mailchimp?.close();
  await harness?.close();
});

it("sends the request's opt-out and opt-in to the vendors that take them", async () => {
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'jane@example.com' } });
  const context = { sql: harness.sql, connectors: new ConnectorRegistry(harness.sql, harness.encryptionKey, { saasLoopbackHttp: true }), encryptionKey: harness.encryptionKey };
  mailchimp.data.allowlist.add('jane@example.com');
  expect(await propagateConsent(context, { privacyRequestId: id, preference: 'opt_out' })).toEqual([{ connectionKey: 'mailchimp_instance', sent: true }]);
  expect(mailchimp.data.allowlist.has('jane@example.com')).toBe(false);
  // Again: the same answer, nothing else changes.
  await propagateConsent(context, { privacyRequestId: id, preference: 'opt_out' });
  expect(mailchimp.data.allowlist.size).toBe(0);
  await propagateConsent(context, { privacyRequestId: id, preference: 'opt_in' });
  expect([...mailchimp.data.allowlist]).toEqual(['jane@example.com']);
  const sent = mailchimp.requests.filter((request) => request.path.startsWith('/api/1.0/'));
  expect(sent.map((request) => [request.path, JSON.parse(request.body)])).toEqual([
    ['/api/1.0/allowlists/delete', { email: 'jane@example.com', key: mailchimp.transactionalKey }],
    ['/api/1.0/allowlists/delete', { email: 'jane@example.com', key: mailchimp.transactionalKey }],
    ['/api/1.0/allowlists/add', { email: 'jane@example.com', key: mailchimp.transactionalKey }],
  ]);
  await context.connectors.closeAll();
});
