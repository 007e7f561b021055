/**
 * The SaaS connector against loopback stand-ins of the vendors, with Fides' configs unchanged:
 * auth, pagination, postprocessors, updates and deletes, consent, and the HTTP outcomes
 * (429 with Retry-After, 5xx bursts, resets, timeouts, refusals). The rate limiter runs on a
 * real Postgres.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parseAllowList } from '../../src/connectors/allow-list.js';
import { ConnectorError } from '../../src/connectors/errors.js';
import { PostgresRateLimiter } from '../../src/connectors/rate-limiter.js';
import { SaasConnector, type SaasConnectorOptions } from '../../src/connectors/saas.js';
import { connect, type Sql } from '../../src/db/client.js';
import { parseSaasConfigYaml, type SaasConfig } from '../../src/domain/saas/config.js';
import { cloneDatabase } from '../support/databases.js';
import { startMailchimp, subscriberHash, type MailchimpServer, mailchimpData } from '../support/vendors/mailchimp.js';
import { startVendor } from '../support/vendors/server.js';
import { startStripe, stripeData, type StripeServer } from '../support/vendors/stripe.js';

const example = (name: string) => readFile(new URL(`../../src/example/fides-saas/${name}`, import.meta.url), 'utf8');
const EMAIL = 'jane@example.com';

let mailchimp: MailchimpServer;
let stripe: StripeServer;
let mailchimpConfig: SaasConfig;
let stripeConfig: SaasConfig;

const options = (overrides: Partial<SaasConnectorOptions> = {}): SaasConnectorOptions => ({ connectionKey: 'test', loopbackHttp: true, timeoutMs: 2000, backoffMs: 20, ...overrides });
const mailchimpConnector = (overrides: Partial<SaasConnectorOptions> = {}, secrets: Record<string, unknown> = {}) =>
  new SaasConnector(mailchimpConfig, { domain: mailchimp.host, username: 'anystring', api_key: mailchimp.apiKey, transactional_domain: `${mailchimp.host}/api/1.0`, transactional_api_key: mailchimp.transactionalKey, ...secrets }, options(overrides));
const stripeConnector = (overrides: Partial<SaasConnectorOptions> = {}) =>
  new SaasConnector(stripeConfig, { host: stripe.host, api_key: stripe.apiKey, payment_types: 'card', items_per_page: 2 }, options(overrides));

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error('expected a ConnectorError');
}

beforeAll(async () => {
  mailchimp = await startMailchimp({ data: mailchimpData(EMAIL, 2500) });
  stripe = await startStripe({ data: stripeData(EMAIL, 5) });
  mailchimpConfig = parseSaasConfigYaml(await example('mailchimp_config.yml'), { instanceKey: 'mailchimp_instance' });
  stripeConfig = parseSaasConfigYaml(await example('stripe_config.yml'));
});
afterAll(async () => {
  await mailchimp?.close();
  await stripe?.close();
});

describe('Mailchimp (basic auth, offset pagination, data_path, filter)', () => {
  it('finds the member by email at exact_matches.members, with basic auth', async () => {
    const rows = await mailchimpConnector().retrieve({ collection: 'member', fields: ['id', 'email_address', 'merge_fields'], filters: [{ field: 'email', values: [EMAIL] }] });
    expect(rows).toEqual([{ id: subscriberHash(EMAIL), email_address: EMAIL, merge_fields: expect.objectContaining({ FNAME: 'Jane' }) }]);
    const request = mailchimp.requests.at(-1)!;
    expect(request.path).toBe('/3.0/search-members');
    expect(request.query.get('query')).toBe(EMAIL);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`anystring:${mailchimp.apiKey}`).toString('base64')}`);
  });

  it('pages through conversations by offset, 1000 at a time, until a page is empty', async () => {
    const before = mailchimp.requests.length;
    const batches: number[] = [];
    for await (const batch of mailchimpConnector({ batchSize: 1000 }).stream({ collection: 'conversations', fields: ['id', 'campaign_id', 'list_id'], filters: [{ field: 'placeholder', values: [EMAIL] }] })) batches.push(batch.length);
    expect(batches).toEqual([1000, 1000, 500]);
    const offsets = mailchimp.requests.slice(before).map((request) => `${request.query.get('count')}/${request.query.get('offset')}`);
    expect(offsets).toEqual(['1000/0', '1000/1000', '1000/2000', '1000/3000']);
  });

  it('keeps only the messages from the person (filter on the email identity), one request per conversation', async () => {
    const rows = await mailchimpConnector().retrieve({
      collection: 'messages',
      fields: ['id', 'from_email', 'message'],
      filters: [{ field: 'conversation_id', values: ['conv_0', 'conv_2', 'conv_missing'] }],
      identities: { email: EMAIL },
    });
    expect(rows.map((row) => row.id)).toEqual(['msg_0_a', 'msg_2_a']);
  });

  it('erases a member with PUT and the masked fields as JSON, addressed by the record itself', async () => {
    const connector = mailchimpConnector();
    const [member] = await connector.retrieve({ collection: 'member', fields: ['id', 'list_id', 'email_address', 'merge_fields'], filters: [{ field: 'email', values: [EMAIL] }] });
    const changed = await connector.mask({ collection: 'member', rows: [{ key: {}, row: member!, values: { merge_fields: { FNAME: null, LNAME: 'MASKED' } } }], identities: { email: EMAIL } });
    expect(changed).toBe(1);
    const put = mailchimp.requests.at(-1)!;
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(`/3.0/lists/list_1/members/${subscriberHash(EMAIL)}`);
    expect(JSON.parse(put.body)).toEqual({ merge_fields: { FNAME: null, LNAME: 'MASKED' } });
    expect(mailchimp.data.members[0]!.merge_fields).toMatchObject({ FNAME: null, LNAME: 'MASKED', PHONE: '555-0100' });
  });

  it('sends opt_in and opt_out to the transactional host with the api key in the body', async () => {
    const connector = mailchimpConnector();
    expect(await connector.consent('opt_in', { email: EMAIL })).toBe(true);
    expect(mailchimp.data.allowlist.has(EMAIL)).toBe(true);
    const add = mailchimp.requests.at(-1)!;
    expect(add.path).toBe('/api/1.0/allowlists/add');
    expect(JSON.parse(add.body)).toEqual({ email: EMAIL, key: mailchimp.transactionalKey });
    expect(add.headers.authorization).toBeUndefined();
    await connector.consent('opt_out', { email: EMAIL });
    expect(mailchimp.data.allowlist.has(EMAIL)).toBe(false);
  });

  it('answers the connection test with the lists endpoint; a wrong key is permission, not retried', async () => {
    await mailchimpConnector().test();
    const before = mailchimp.requests.length;
    const error = await failure(mailchimpConnector({}, { api_key: 'wrong-key-000' }).test());
    expect(error).toMatchObject({ category: 'permission', retryable: false, status: 401 });
    expect(error.message).toMatch(/^GET \/3\.0\/lists answered 401: .*API Key Invalid/);
    expect(mailchimp.requests.length - before).toBe(1);
  });
});

describe('Stripe (bearer auth, cursor pagination, form-encoded updates, deletes)', () => {
  it('finds the customer by email and pages through charges with starting_after', async () => {
    const connector = stripeConnector();
    const [customer] = await connector.retrieve({ collection: 'customer', fields: ['id', 'email'], filters: [{ field: 'email', values: [EMAIL] }] });
    expect(customer).toEqual({ id: 'cus_jane', email: EMAIL });
    expect(stripe.requests.at(-1)!.headers.authorization).toBe(`Bearer ${stripe.apiKey}`);
    const before = stripe.requests.length;
    const charges = await connector.retrieve({ collection: 'charge', fields: ['id', 'amount'], filters: [{ field: 'customer_id', values: ['cus_jane'] }] });
    expect(charges.map((charge) => charge.id)).toEqual([0, 1, 2, 3, 4].map((i) => `ch_cus_jane_00000${i}`));
    const cursors = stripe.requests.slice(before).map((request) => `${request.query.get('customer')} ${request.query.get('limit')} ${request.query.get('starting_after')}`);
    expect(cursors).toEqual(['cus_jane 2 null', 'cus_jane 2 ch_cus_jane_000001', 'cus_jane 2 ch_cus_jane_000003', 'cus_jane 2 ch_cus_jane_000004']);
  });

  it('looks disputes up by each charge and each payment intent, and returns each dispute once', async () => {
    const rows = await stripeConnector().retrieve({
      collection: 'dispute',
      fields: ['id', 'charge'],
      filters: [
        { field: 'charge_id', values: ['ch_cus_jane_000000', 'ch_cus_jane_000001'] },
        { field: 'payment_intent_id', values: ['pi_cus_jane'] },
      ],
    });
    expect(rows).toEqual([{ id: 'dp_cus_jane', charge: 'ch_cus_jane_000000' }]);
  });

  it('updates a customer with all its fields, form-encoded, leaving read-only ones out', async () => {
    const connector = stripeConnector();
    const [customer] = await connector.retrieve({ collection: 'customer', fields: ['id', 'object', 'address', 'email', 'name', 'phone', 'created'], filters: [{ field: 'email', values: [EMAIL] }] });
    const changed = await connector.mask({
      collection: 'customer',
      rows: [{ key: { id: 'cus_jane' }, row: customer!, values: { name: 'MASKED', phone: null, address: { city: null } } }],
      readOnly: ['id', 'object', 'created'],
    });
    expect(changed).toBe(1);
    const post = stripe.requests.at(-1)!;
    expect(post.method).toBe('POST');
    expect(post.path).toBe('/v1/customers/cus_jane');
    expect(post.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(post.body).get('name')).toBe('MASKED');
    expect(new URLSearchParams(post.body).has('created')).toBe(false);
    expect(stripe.of('customer', 'cus_jane')).toMatchObject({ name: 'MASKED', phone: null, address: { city: null, line1: '1 Main St' } });
  });

  it('deletes tax ids through the delete request; a paid invoice refused with 400 is ignored as the config says', async () => {
    const connector = stripeConnector();
    expect(await connector.deleteRows({ collection: 'tax_id', keys: [{ id: 'txi_cus_jane' }], rows: [{ id: 'txi_cus_jane', customer: 'cus_jane' }] })).toBe(1);
    expect(stripe.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/v1/customers/cus_jane/tax_ids/txi_cus_jane' });
    expect(stripe.of('tax_id', 'txi_cus_jane')).toBeUndefined();
    // Again, as a retried erasure would: the record is gone (404), which is what was asked.
    expect(await connector.deleteRows({ collection: 'tax_id', keys: [{ id: 'txi_cus_jane' }], rows: [{ id: 'txi_cus_jane', customer: 'cus_jane' }] })).toBe(1);
    expect(await connector.deleteRows({ collection: 'invoice', keys: [{ id: 'in_cus_jane_draft' }, { id: 'in_cus_jane_paid' }] })).toBe(2);
    expect(stripe.of('invoice', 'in_cus_jane_draft')).toBeUndefined();
    expect(stripe.of('invoice', 'in_cus_jane_paid')).toBeDefined();
  });
});

describe('HTTP outcomes', () => {
  const read = (connector: SaasConnector) => connector.retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'email', values: [EMAIL] }] });

  it('waits out a 429 with a short Retry-After and then reads', async () => {
    stripe.fail({ status: 429, headers: { 'retry-after': '1' } });
    const started = Date.now();
    expect(await read(stripeConnector())).toEqual([{ id: 'cus_jane' }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('fails a 429 with a long Retry-After as rate_limited, carrying the delay for the activity', async () => {
    stripe.fail({ status: 429, headers: { 'retry-after': '30' }, body: '{"error":{"message":"Too many requests"}}' });
    const error = await failure(read(stripeConnector()));
    expect(error).toMatchObject({ category: 'rate_limited', retryable: true, retryAfterMs: 30_000, status: 429 });
  });

  it('retries a burst of 5xx and resets, then reads; a longer burst is a retryable server error', async () => {
    stripe.fail({ status: 503 }, { reset: true });
    expect(await read(stripeConnector())).toEqual([{ id: 'cus_jane' }]);
    stripe.fail({ status: 500 }, { status: 502 }, { status: 503 });
    const error = await failure(read(stripeConnector()));
    expect(error).toMatchObject({ category: 'server', retryable: true, status: 503 });
  });

  it('times a request out at its deadline', async () => {
    const silent = await startVendor(() => new Promise(() => undefined));
    try {
      const connector = new SaasConnector(stripeConfig, { host: silent.host, api_key: 'k', items_per_page: 2 }, options({ timeoutMs: 200, retries: 0 }));
      const error = await failure(read(connector));
      expect(error).toMatchObject({ category: 'timeout', retryable: true });
    } finally {
      await silent.close();
    }
  });

  it('reads a 404 as no data, and fails other statuses with a short excerpt, secrets masked', async () => {
    stripe.fail({ status: 404, body: '{"error":{"message":"No such customer"}}' });
    expect(await read(stripeConnector())).toEqual([]);
    stripe.fail({ status: 400, body: JSON.stringify({ error: { message: `Bad key ${stripe.apiKey} ${'x'.repeat(500)}` } }) });
    const error = await failure(read(stripeConnector()));
    expect(error).toMatchObject({ category: 'bad_data', retryable: false, status: 400 });
    expect(error.message).toContain('Bad key ***');
    expect(error.message).not.toContain(stripe.apiKey);
    expect(error.message.length).toBeLessThan(300);
  });

  it('refuses a host outside DSRFLOW_CONNECTION_ALLOW before sending anything', async () => {
    const before = stripe.requests.length;
    const error = await failure(read(stripeConnector({ allow: parseAllowList('api.stripe.com') })));
    expect(error).toMatchObject({ category: 'permission' });
    expect(stripe.requests.length).toBe(before);
    expect(await read(stripeConnector({ allow: parseAllowList('127.0.0.1') }))).toEqual([{ id: 'cus_jane' }]);
  });
});

describe('strategies the three configs do not use', () => {
  const config = (pagination: string, auth = 'strategy: bearer\n      configuration:\n        token: <token>') =>
    parseSaasConfigYaml(`saas_config:
  fides_key: vendor
  name: Vendor
  connector_params:
    - name: host
    - name: token
    - name: client_id
    - name: client_secret
  client_config:
    protocol: https
    host: <host>
    authentication:
      ${auth}
  endpoints:
    - name: item
      requests:
        read:
          method: GET
          path: /items
          query_params:
            - name: email
              value: <email>
          param_values:
            - name: email
              identity: email
          data_path: items
${pagination}`);

  it('follows Link headers and body links on the same host', async () => {
    const vendor = await startVendor((request) => {
      const page = Number(request.query.get('page') ?? 1);
      const next = page < 3 ? `http://${request.headers.host}/items?email=x&page=${page + 1}` : undefined;
      return { status: 200, body: { items: [{ id: page }], links: { next: next ?? null } }, headers: (next ? { link: `<${next}>; rel="next"` } : {}) as Record<string, string> };
    });
    try {
      for (const pagination of ['          pagination:\n            strategy: link\n            configuration:\n              source: headers\n              rel: next\n', '          pagination:\n            strategy: link\n            configuration:\n              source: body\n              path: links.next\n']) {
        const connector = new SaasConnector(config(pagination), { host: vendor.host, token: 't' }, options());
        expect(await connector.retrieve({ collection: 'item', fields: ['id'], filters: [{ field: 'email', values: [EMAIL] }] })).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
      }
    } finally {
      await vendor.close();
    }
  });

  it('gets an OAuth2 client-credentials token once, and a new one before it expires', async () => {
    let tokens = 0;
    const vendor = await startVendor((request) => {
      if (request.path === '/oauth/token') {
        tokens += 1;
        const form = new URLSearchParams(request.body);
        if (form.get('client_secret') !== 'shh-secret') return { status: 401, body: { error: 'invalid_client' } };
        return { status: 200, body: { access_token: `token-${tokens}`, token_type: 'bearer', expires_in: 1 } };
      }
      return request.headers.authorization === `Bearer token-${tokens}` ? { status: 200, body: { items: [{ id: 1 }] } } : { status: 401, body: {} };
    });
    try {
      const oauth = `strategy: oauth2_client_credentials
      configuration:
        token_request:
          method: POST
          path: /oauth/token
          headers:
            - name: Content-Type
              value: application/x-www-form-urlencoded
          body: '{"grant_type": "client_credentials", "client_id": "<client_id>", "client_secret": "<client_secret>"}'`;
      const connector = new SaasConnector(config('', oauth), { host: vendor.host, client_id: 'id', client_secret: 'shh-secret' }, options());
      const query = { collection: 'item', fields: ['id'], filters: [{ field: 'email', values: [EMAIL] }] };
      await connector.retrieve(query);
      await connector.retrieve(query);
      expect(tokens).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 950));
      expect(await connector.retrieve(query)).toEqual([{ id: 1 }]);
      expect(tokens).toBe(2);
    } finally {
      await vendor.close();
    }
  });
});

describe('the rate limit, held in Postgres', () => {
  let sql: Sql;
  beforeAll(async () => {
    sql = connect(await cloneDatabase(inject('serviceTemplate'), `${inject('runId')}_rl`), { max: 4 });
  });
  afterAll(() => sql?.end());

  it('holds two connectors (two workers) to 5 requests a second together, by waiting', async () => {
    const limited = { ...stripeConfig, rate_limit_config: { limits: [{ rate: 5, period: 'second' as const }] } };
    const make = () => new SaasConnector(limited, { host: stripe.host, api_key: stripe.apiKey, items_per_page: 2 }, options({ limiter: new PostgresRateLimiter(sql), connectionKey: 'shared' }));
    const [a, b] = [make(), make()];
    // Start at the beginning of a second, so the windows are whole.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 10));
    const before = stripe.requests.length;
    const started = Date.now();
    await Promise.all([a, b].flatMap((connector) => Array.from({ length: 6 }, () => read(connector))));
    const elapsed = Date.now() - started;
    expect(stripe.requests.length - before).toBe(12);
    // 12 requests at 5 a second: windows 0, 1 and 2 (at least two seconds).
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    const [{ windows }] = await sql<{ windows: number }[]>`select count(*)::int as windows from saas_rate_limit where key like 'saas:shared:%'`;
    expect(windows).toBeGreaterThanOrEqual(3);
  });

  const read = (connector: SaasConnector) => connector.retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'email', values: [EMAIL] }] });
});
