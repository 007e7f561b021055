/**
 * A policy rule of action type `consent` sends the person's opt-out (or opt-in) to every SaaS
 * connection whose saas_config has consent_requests, once access and erasure are done: here
 * Fides' Mailchimp config, unchanged, against the Mailchimp stand-in's transactional allowlist.
 * Real API, Temporal, worker and Postgres.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccessPolicy } from '../../src/example/load.js';
import { createHarness, type Harness } from '../support/harness.js';
import { startMailchimp, type MailchimpServer } from '../support/vendors/mailchimp.js';

let harness: Harness;
let mailchimp: MailchimpServer;

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_SAAS_LOOPBACK_HTTP: 'true' } });
  mailchimp = await startMailchimp();
  const secrets = { domain: mailchimp.host, username: 'any', api_key: mailchimp.apiKey, transactional_domain: `${mailchimp.host}/api/1.0`, transactional_api_key: mailchimp.transactionalKey };
  const saved = await harness.fetch('/api/v1/connection', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ key: 'mailchimp_instance', connection_type: 'saas', access: 'write', secrets }]),
  });
  expect(saved.status).toBe(200);
  const text = await readFile(new URL('../../src/example/fides-saas/mailchimp_config.yml', import.meta.url), 'utf8');
  expect((await harness.fetch('/api/v1/connection/mailchimp_instance/saas_config', { method: 'PUT', headers: { 'content-type': 'application/x-yaml' }, body: text })).status).toBe(200);
  // Opt-out of sale alone: nothing is read, the vendors are told.
  await harness.savePolicy({ key: 'opt_out_of_sale', name: 'Do not sell or share', requires_approval: false, requires_erasure_confirmation: false, rules: [{ key: 'opt_out', name: 'Opt out', action_type: 'consent', masking_strategy: null, targets: [] }] });
  await harness.startWorker();
});
afterAll(async () => {
  await mailchimp?.close();
  await harness?.close();
});

const allowlistCalls = () => mailchimp.requests.filter((request) => request.path.startsWith('/api/1.0/allowlists/')).map((request) => [request.path, JSON.parse(request.body).email]);
const auditOf = (id: string) => harness.sql<{ action: string; message: string | null }[]>`select action, message from audit_log where privacy_request_id = ${id} order by created_at, id`;

describe('a consent rule', () => {
  it('sends the opt-out to the vendors that take it, reads nothing, and records what it sent', async () => {
    mailchimp.data.allowlist.add('jane@example.com');
    const id = await harness.submit({ policy_key: 'opt_out_of_sale', identity: { email: 'jane@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(mailchimp.data.allowlist.has('jane@example.com')).toBe(false);
    expect(allowlistCalls()).toEqual([['/api/1.0/allowlists/delete', 'jane@example.com']]);
    expect(await auditOf(id)).toContainEqual({ action: 'consent_sent', message: 'opt_out sent to mailchimp_instance' });
    // Consent alone reads no collection.
    const [{ n }] = await harness.sql<{ n: number }[]>`select count(*)::int as n from execution_log where privacy_request_id = ${id}`;
    expect(n).toBe(0);
    const shown = await harness.request(id);
    expect(shown).toMatchObject({ status: 'complete', action_types: ['consent'] });
  });

  it('goes after access, with the preference the rule names (opt_in), through the policy API', async () => {
    mailchimp.requests.length = 0;
    const created = await harness.fetch('/api/v1/dsr/policy', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ key: 'access_and_opt_in', name: 'Access, and opt back in' }]),
    });
    expect(created.status).toBe(200);
    const rules = await harness.fetch('/api/v1/dsr/policy/access_and_opt_in/rule', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { key: 'access_all_data', name: 'Access all data', action_type: 'access' },
        { key: 'opt_in', name: 'Opt in', action_type: 'consent', consent_preference: 'opt_in' },
        // Refused, each naming its field; nothing of them is stored.
        { key: 'bad_access', name: 'Bad', action_type: 'access', consent_preference: 'opt_out' },
        { key: 'bad_consent', name: 'Bad', action_type: 'consent', masking_strategy: { strategy: 'null_rewrite' } },
        { key: 'bad_preference', name: 'Bad', action_type: 'consent', consent_preference: 'maybe' },
      ]),
    });
    // A preference that is not one refuses the whole body, naming the field; nothing is stored.
    const body = await rules.text();
    expect(rules.status, body).toBe(422);
    expect(body).toMatch(/\[4\]\.consent_preference/);
    expect(((await (await harness.fetch('/api/v1/dsr/policy/access_and_opt_in')).json()) as { rules: unknown[] }).rules).toEqual([]);
    const good = await harness.fetch('/api/v1/dsr/policy/access_and_opt_in/rule', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { key: 'access_all_data', name: 'Access all data', action_type: 'access' },
        { key: 'opt_in', name: 'Opt in', action_type: 'consent', consent_preference: 'opt_in' },
        { key: 'bad_access', name: 'Bad', action_type: 'access', consent_preference: 'opt_out' },
        { key: 'bad_consent', name: 'Bad', action_type: 'consent', masking_strategy: { strategy: 'null_rewrite' } },
      ]),
    });
    expect(good.status).toBe(200);
    const saved = (await good.json()) as { succeeded: { key: string; consent_preference?: string }[]; failed: { message: string }[] };
    expect(saved.succeeded.map((rule) => [rule.key, rule.consent_preference])).toEqual([
      ['access_all_data', undefined],
      ['opt_in', 'opt_in'],
    ]);
    expect(saved.failed.map((failure) => failure.message)).toEqual([
      'body[2].consent_preference: only a consent rule takes a consent preference',
      'body[3].masking_strategy: a consent rule takes no masking strategy',
    ]);
    const targets = await harness.fetch('/api/v1/dsr/policy/access_and_opt_in/rule/access_all_data/target', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(defaultAccessPolicy.rules[0]!.targets.map((target) => ({ key: target.key, data_category: target.data_category }))),
    });
    expect(targets.status).toBe(200);

    const id = await harness.submit({ policy_key: 'access_and_opt_in', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect(allowlistCalls()).toEqual([['/api/1.0/allowlists/add', 'customer-1@example.com']]);
    expect(mailchimp.data.allowlist.has('customer-1@example.com')).toBe(true);
    const audit = await auditOf(id);
    expect(audit).toContainEqual({ action: 'consent_sent', message: 'opt_in sent to mailchimp_instance' });
    // After the collections were read (the access package is made before consent goes out).
    const [{ n }] = await harness.sql<{ n: number }[]>`select count(*)::int as n from access_result where privacy_request_id = ${id}`;
    expect(n).toBeGreaterThan(0);
    expect(audit.findIndex((row) => row.action === 'consent_sent')).toBeLessThan(audit.findIndex((row) => row.action === 'finished'));
  });
});
