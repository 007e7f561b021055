/**
 * Fides' saas_example, Mailchimp and Stripe configs, loaded unchanged through the API, with the
 * Postgres example and a small config of our own whose lookup takes the customer id Postgres
 * found: an access and an erasure request end to end (real API, Temporal, worker and Postgres;
 * only the vendors are loopback stand-ins), through 429s and 5xx bursts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, CUSTOMER_1_COUNTS, erasurePolicy, type Harness } from '../support/harness.js';
import { createSaasConnection, fidesSaasFile } from '../support/saas-connections.js';
import { mailchimpData, startMailchimp, subscriberHash, type MailchimpServer } from '../support/vendors/mailchimp.js';
import { startVendor, type VendorServer } from '../support/vendors/server.js';
import { startStripe, stripeData, type StripeServer } from '../support/vendors/stripe.js';

const EMAIL = 'customer-1@example.com';

/** A vendor whose members are found by the customer id of the Postgres example (link pagination in the body). */
const LOYALTY_CONFIG = `saas_config:
  fides_key: loyalty
  name: Loyalty program
  connector_params:
    - name: domain
    - name: api_key
  client_config:
    protocol: https
    host: <domain>
    authentication:
      strategy: api_key
      configuration:
        headers:
          - name: X-Api-Key
            value: <api_key>
  endpoints:
    - name: member
      requests:
        read:
          method: GET
          path: /members
          query_params:
            - name: customer_id
              value: <customer_id>
          param_values:
            - name: customer_id
              references:
                - dataset: postgres_example_test_dataset
                  field: customer.id
                  direction: from
          data_path: members
          pagination:
            strategy: link
            configuration:
              source: body
              path: next
        delete:
          method: DELETE
          path: /members/<member_id>
          param_values:
            - name: member_id
              references:
                - dataset: loyalty
                  field: member.id
                  direction: from
    - name: visit
      requests:
        read:
          method: GET
          path: /stores/<store>/members/<member_id>/visits
          grouped_inputs: [store, member_id]
          param_values:
            - name: store
              references:
                - dataset: loyalty
                  field: member.store
                  direction: from
            - name: member_id
              references:
                - dataset: loyalty
                  field: member.id
                  direction: from
          data_path: visits
`;
const LOYALTY_DATASET = `dataset:
  - fides_key: loyalty
    collections:
      - name: member
        fields:
          - name: id
            fides_meta:
              primary_key: true
          - name: customer_id
          - name: name
            data_categories: [user.name]
          - name: points
            data_categories: [user.financial]
          - name: store
      - name: visit
        fields:
          - name: id
          - name: at
            data_categories: [user.behavior]
`;

let harness: Harness;
let mailchimp: MailchimpServer;
let stripe: StripeServer;
let loyalty: VendorServer;
const loyaltyMembers = new Map<string, { id: string; customer_id: number; name: string; points: number; store: string }>();

/** A connection whose saas_config and dataset are Fides' files as shipped, through the API. */
const fidesConnection = async (key: string, secrets: Record<string, unknown>, name: string) =>
  createSaasConnection(harness, { key, secrets, config: await fidesSaasFile(`${name}_config.yml`), dataset: await fidesSaasFile(`${name}_dataset.yml`) });

async function completed(id: string, actionType: 'access' | 'erasure', dataset: string) {
  const rows = await harness.sql<{ collection_name: string; row_count: number; status: string }[]>`
    select collection_name, row_count, status from execution_log
    where privacy_request_id = ${id} and action_type = ${actionType} and dataset_name = ${dataset} and status in ('complete', 'skipped') order by collection_name`;
  return Object.fromEntries(rows.map((row) => [row.collection_name, row.status === 'skipped' ? 'skipped' : row.row_count]));
}

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_SAAS_LOOPBACK_HTTP: 'true', DSRFLOW_ACTIVITY_MAX_ATTEMPTS: '4' } });
  mailchimp = await startMailchimp({ data: mailchimpData(EMAIL, 5) });
  stripe = await startStripe({ data: stripeData(EMAIL, 5) });
  loyaltyMembers.set('lm_1', { id: 'lm_1', customer_id: 1, name: 'John Customer', points: 120, store: 's1' });
  loyaltyMembers.set('lm_2', { id: 'lm_2', customer_id: 1, name: 'John C.', points: 5, store: 's2' });
  loyaltyMembers.set('lm_3', { id: 'lm_3', customer_id: 2, name: 'Jill Customer', points: 40, store: 's1' });
  loyalty = await startVendor((request) => {
    if (request.headers['x-api-key'] !== 'loyal-key') return { status: 403, body: { error: 'forbidden' } };
    if (request.method === 'GET' && request.path === '/members') {
      const all = [...loyaltyMembers.values()].filter((member) => String(member.customer_id) === request.query.get('customer_id'));
      const page = Number(request.query.get('page') ?? 0);
      return { status: 200, body: { members: all.slice(page, page + 1), next: page + 1 < all.length ? `/members?customer_id=${request.query.get('customer_id')}&page=${page + 1}` : null } };
    }
    const visits = /^\/stores\/([^/]+)\/members\/([^/]+)\/visits$/.exec(request.path);
    if (request.method === 'GET' && visits) {
      const member = loyaltyMembers.get(visits[2]!);
      return member && member.store === visits[1] ? { status: 200, body: { visits: [{ id: `v_${member.id}`, at: '2026-01-01' }] } } : { status: 404, body: { error: 'no such member in that store' } };
    }
    const match = /^\/members\/([^/]+)$/.exec(request.path);
    if (request.method === 'DELETE' && match && loyaltyMembers.delete(match[1]!)) return { status: 204 };
    return { status: 404, body: { error: 'not found' } };
  });

  await fidesConnection('saas_example', { domain: mailchimp.host, username: 'any', api_key: mailchimp.apiKey, api_version: '2.0', page_limit: 10 }, 'saas_example');
  await fidesConnection('mailchimp_instance', { domain: mailchimp.host, username: 'any', api_key: mailchimp.apiKey }, 'mailchimp');
  await fidesConnection('stripe', { host: stripe.host, api_key: stripe.apiKey, payment_types: 'card', items_per_page: 2 }, 'stripe');
  await createSaasConnection(harness, { key: 'loyalty', secrets: { domain: loyalty.host, api_key: 'loyal-key' }, config: LOYALTY_CONFIG, dataset: LOYALTY_DATASET });
  await harness.savePolicy(erasurePolicy('erase_names', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }));
  await harness.startWorker();
});
afterAll(async () => {
  await harness?.close();
  await Promise.all([mailchimp?.close(), stripe?.close(), loyalty?.close()]);
});

describe('an access request across Postgres and four SaaS connections', () => {
  let id: string;
  let started: number;
  beforeAll(async () => {
    // A short 429 and a 5xx burst are absorbed by the connector; a longer Retry-After fails the
    // activity, which Temporal retries after that delay (nextRetryDelay).
    stripe.fail({ status: 429, headers: { 'retry-after': '1' }, match: (request) => request.path === '/v1/charges' });
    stripe.fail({ status: 503 }, { status: 502 }, { match: (request) => request.path === '/v1/invoices', status: 500 });
    mailchimp.fail({ status: 429, headers: { 'retry-after': '3' }, match: (request) => request.path === '/3.0/search-members' });
    started = Date.now();
    id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: EMAIL } });
    const outcome = await Promise.race([harness.result(id), new Promise((resolve) => setTimeout(() => resolve('timeout'), 50_000))]);
    if (outcome === 'timeout') throw new Error(await harness.diagnose(id));
    expect(outcome).toEqual({ status: 'complete' });
  }, 60_000);

  it('finds the person in every store, each collection after the ones it takes values from', async () => {
    expect(await completed(id, 'access', 'postgres_example_test_dataset')).toEqual(CUSTOMER_1_COUNTS);
    expect(await completed(id, 'access', 'mailchimp_instance')).toEqual({ conversations: 5, member: 1, messages: 5 });
    expect(await completed(id, 'access', 'saas_connector_example')).toEqual({ conversations: 5, member: 1, messages: 5 });
    expect(await completed(id, 'access', 'stripe_connector_example')).toEqual({
      bank_account: 1, card: 1, charge: 5, credit_note: 1, customer: 1, customer_balance_transaction: 1, dispute: 1, invoice: 2, invoice_item: 1, payment_intent: 1, payment_method: 1, subscription: 1, tax_id: 1,
    });
    // The loyalty lookup took customer-1's id from Postgres, and followed the body's next link.
    expect(await completed(id, 'access', 'loyalty')).toEqual({ member: 2, visit: 2 });
    expect(loyalty.requests.filter((request) => request.path === '/members').map((request) => request.query.get('customer_id'))).toEqual(['1', '1']);
    // grouped_inputs: each member with its own store, not every store with every member.
    expect(loyalty.requests.filter((request) => request.path.endsWith('/visits')).map((request) => request.path).sort()).toEqual(['/stores/s1/members/lm_1/visits', '/stores/s2/members/lm_2/visits']);
  });

  it('stores what the vendors returned, only the fields the dataset declares', async () => {
    const rows = await harness.sql<{ collection_name: string; row: Record<string, unknown> }[]>`
      select collection_name, row from access_result where privacy_request_id = ${id} and dataset_name = 'stripe_connector_example' and collection_name = 'customer'`;
    expect(rows[0]!.row).toMatchObject({ id: 'cus_jane', email: EMAIL, name: 'Jane Doe' });
    expect(rows[0]!.row).not.toHaveProperty('customer_id');
    const messages = await harness.sql<{ row: Record<string, unknown> }[]>`
      select row from access_result where privacy_request_id = ${id} and dataset_name = 'mailchimp_instance' and collection_name = 'messages'`;
    expect(messages.every(({ row }) => row.from_email === EMAIL)).toBe(true);
  });

  it('waited for the vendor that asked it to, through a Temporal retry', async () => {
    const retries = await harness.sql<{ collection_name: string }[]>`
      select collection_name from execution_log where privacy_request_id = ${id} and status = 'retrying'`;
    expect(retries.map((row) => row.collection_name)).toContain('member');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
  });
});

describe('an erasure request (null_rewrite on user.name)', () => {
  let id: string;
  beforeAll(async () => {
    id = await harness.submit({ policy_key: 'erase_names', identity: { email: EMAIL } });
    const outcome = await Promise.race([harness.result(id), new Promise((resolve) => setTimeout(() => resolve('timeout'), 50_000))]);
    if (outcome === 'timeout') throw new Error(await harness.diagnose(id));
    expect(outcome).toEqual({ status: 'complete' });
  }, 60_000);

  it('masks the names at each vendor through its update requests', async () => {
    const member = mailchimp.data.members.find((candidate) => candidate.id === subscriberHash(EMAIL))!;
    expect(member.merge_fields).toMatchObject({ FNAME: null, LNAME: null, PHONE: '555-0100' });
    expect(mailchimp.data.members.find((candidate) => candidate.email_address !== EMAIL)!.merge_fields).toMatchObject({ FNAME: 'Some' });
    expect(stripe.of('customer', 'cus_jane')).toMatchObject({ name: null, email: EMAIL });
    expect(stripe.of('customer', 'cus_other')).toMatchObject({ name: 'Jane Doe' });
    expect(stripe.of('payment_method', 'pm_cus_jane')).toMatchObject({ billing_details: { name: null, email: EMAIL } });
    // The dataset's own override: account_holder_name cannot be unset, so it is rewritten.
    expect(stripe.of('bank_account', 'ba_cus_jane')).toMatchObject({ account_holder_name: 'MASKED' });
    expect(stripe.of('card', 'card_cus_jane')).toMatchObject({ name: null });
  });

  it('deletes what can only be deleted, and leaves what the vendor refuses where the config ignores it', async () => {
    expect(stripe.of('tax_id', 'txi_cus_jane')).toBeUndefined();
    expect(stripe.of('invoice', 'in_cus_jane_draft')).toBeUndefined();
    expect(stripe.of('invoice', 'in_cus_jane_paid')).toBeDefined();
    expect(stripe.of('tax_id', 'txi_cus_other')).toBeDefined();
    expect([...loyaltyMembers.keys()]).toEqual(['lm_3']);
  });

  it('erases the Stripe customer after the records that reference it', async () => {
    const order = await harness.sql<{ collection_name: string }[]>`
      select collection_name from execution_log where privacy_request_id = ${id} and action_type = 'erasure' and dataset_name = 'stripe_connector_example' and status = 'complete' order by id`;
    const names = order.map((row) => row.collection_name);
    expect(names.at(-1)).toBe('customer');
    expect(names).toContain('card');
    const erased = await completed(id, 'erasure', 'stripe_connector_example');
    expect(erased).toMatchObject({ customer: 1, card: 1, bank_account: 1, payment_method: 1, tax_id: 1, invoice: 2 });
  });
});
