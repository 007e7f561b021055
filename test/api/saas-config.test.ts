/**
 * `PUT /api/v1/connection/{key}/saas_config`: Fides' configs load unchanged through the API with
 * their datasets; a config dsrflow cannot run is answered 422 naming the YAML line, and nothing
 * changes.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowList } from '../../src/connectors/allow-list.js';
import { createHarness, type Harness } from '../support/harness.js';
import { startMailchimp, type MailchimpServer } from '../support/vendors/mailchimp.js';

const example = (name: string) => readFile(new URL(`../../src/example/fides-saas/${name}`, import.meta.url), 'utf8');

let harness: Harness;
let mailchimp: MailchimpServer;

const yaml = (text: string) => ({ 'content-type': 'application/x-yaml' });
const put = (key: string, text: string, headers: Record<string, string> = yaml(text)) => harness.fetch(`/api/v1/connection/${key}/saas_config`, { method: 'PUT', headers, body: text });
const patchDataset = (key: string, text: string) => harness.fetch(`/api/v1/connection/${key}/dataset`, { method: 'PATCH', headers: { 'content-type': 'application/x-yaml' }, body: text });

async function connection(key: string, type = 'saas', secrets?: Record<string, unknown>) {
  const response = await harness.fetch('/api/v1/connection', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ key, connection_type: type, access: 'write', ...(secrets ? { secrets } : {}) }]),
  });
  const body = (await response.json()) as { failed: unknown[] };
  expect(body.failed).toEqual([]);
}

beforeAll(async () => {
  harness = await createHarness({ example: false, env: { DSRFLOW_SAAS_LOOPBACK_HTTP: 'true' } });
  mailchimp = await startMailchimp();
});
afterAll(async () => {
  await mailchimp?.close();
  await harness?.close();
});

describe("Fides' configs", () => {
  it.each([
    ['saas_example', 'saas_example_config.yml', 'saas_example_dataset.yml', 'saas_connector_example'],
    ['mailchimp_instance', 'mailchimp_config.yml', 'mailchimp_dataset.yml', 'mailchimp_instance'],
    ['stripe', 'stripe_config.yml', 'stripe_dataset.yml', 'stripe_connector_example'],
  ])('%s: the config and its dataset load unchanged', async (key, configFile, datasetFile, fidesKey) => {
    await connection(key);
    const response = await put(key, await example(configFile));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ connection_key: key, fides_key: fidesKey, saas_config: { fides_key: fidesKey } });
    const dataset = await patchDataset(key, await example(datasetFile));
    const body = (await dataset.json()) as { succeeded: { fides_key: string }[]; failed: unknown[] };
    expect(body.failed).toEqual([]);
    expect(body.succeeded.map((item) => item.fides_key)).toEqual([fidesKey]);
    const stored = await harness.fetch(`/api/v1/connection/${key}/saas_config`);
    expect(await stored.json()).toMatchObject({ fides_key: fidesKey });
  });

  it('tests a connection with the config\'s test_request and the stored params', async () => {
    await connection('mailchimp_tested', 'saas', { domain: mailchimp.host, username: 'any', api_key: mailchimp.apiKey });
    expect((await put('mailchimp_tested', await example('mailchimp_config.yml'))).status).toBe(200);
    const ok = await harness.fetch('/api/v1/connection/mailchimp_tested/test');
    expect(await ok.json()).toMatchObject({ test_status: 'succeeded' });
    await harness.fetch('/api/v1/connection/mailchimp_tested/secret', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: mailchimp.host, username: 'any', api_key: 'wrong-key-1234' }) });
    const refused = (await (await harness.fetch('/api/v1/connection/mailchimp_tested/test')).json()) as { test_status: string; category: string; msg: string };
    expect(refused).toMatchObject({ test_status: 'failed', category: 'permission' });
    expect(refused.msg).not.toContain('wrong-key-1234');
  });
});

describe('bad input: 422 naming the line, nothing stored', () => {
  const base = `saas_config:
  fides_key: vendor
  name: Vendor
  connector_params:
    - name: domain
    - name: api_key
  client_config:
    protocol: https
    host: <domain>
    authentication:
      strategy: bearer
      configuration:
        token: <api_key>
  endpoints:
    - name: user
      requests:
        read:
          method: GET
          path: /users
          query_params:
            - name: email
              value: <email>
          param_values:
            - name: email
              identity: email
        update:
          method: PUT
          path: /users/<user_id>
          param_values:
            - name: user_id
              references:
                - dataset: vendor
                  field: user.id
                  direction: from
          body: '{<masked_object_fields>}'
`;

  beforeAll(async () => {
    await connection('vendor');
    await patchDataset('vendor', 'dataset:\n  - fides_key: vendor\n    collections:\n      - name: user\n        fields:\n          - name: id\n          - name: email\n');
    expect((await put('vendor', base)).status).toBe(200);
  });

  it.each([
    ['an unknown pagination strategy', base.replace("          param_values:\n            - name: email", "          pagination:\n            strategy: page_number\n          param_values:\n            - name: email"), 24, /unknown pagination strategy page_number/],
    ['an unknown authentication strategy', base.replace('strategy: bearer', 'strategy: hmac'), 11, /unknown authentication strategy hmac/],
    ['an unknown postprocessor', base.replace("          param_values:\n            - name: email", "          postprocessors:\n            - strategy: sort\n          param_values:\n            - name: email"), 24, /unknown postprocessor strategy sort/],
    ['a placeholder nothing supplies', base.replace('path: /users\n', 'path: /users/<tenant>\n'), 19, /<tenant>, which nothing supplies/],
    ['a reference to a field the dataset does not have', base.replace('field: user.id', 'field: user.uuid'), 33, /references unknown field vendor\.user\.uuid/],
    ['a host that is not a host name', base.replace('host: <domain>', 'host: https://api.vendor.example/v1'), 9, /is not a host name/],
    ['a body that is not JSON once filled', base.replace("body: '{<masked_object_fields>}'", "body: '{\"user\": <masked_object_fields>}'"), 35, /not valid JSON once its placeholders are filled/],
  ])('%s', async (_name, text, line, message) => {
    const response = await put('vendor', text);
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: string; message: string; problems: { line: number; message: string }[]; detail: { msg: string }[] };
    expect(body.error).toBe('validation_error');
    expect(body.problems).toEqual([expect.objectContaining({ line, message: expect.stringMatching(message) })]);
    expect(body.message).toContain(`(line ${line})`);
    // Nothing changed: the stored config is the one before.
    const stored = (await (await harness.fetch('/api/v1/connection/vendor/saas_config')).json()) as { saas_config: { client_config: { host: string; authentication: { strategy: string } } } };
    expect(stored.saas_config.client_config).toMatchObject({ host: '<domain>', authentication: { strategy: 'bearer' } });
  });

  it('refuses a dataset that the stored config references into a field it lacks', async () => {
    const response = await patchDataset('vendor', 'dataset:\n  - fides_key: vendor\n    collections:\n      - name: user\n        fields:\n          - name: uuid\n');
    const body = (await response.json()) as { succeeded: unknown[]; failed: { message: string }[] };
    expect(body.succeeded).toEqual([]);
    expect(body.failed[0]!.message).toMatch(/references unknown field vendor\.user\.id/);
  });

  it('refuses a config for a connection that is not of type saas, and YAML that does not parse', async () => {
    await connection('plain_pg', 'manual');
    const wrongType = await put('plain_pg', base);
    expect(wrongType.status).toBe(422);
    expect(((await wrongType.json()) as { message: string }).message).toMatch(/of type manual/);
    const broken = await put('vendor', 'saas_config:\n  fides_key: [\n');
    expect(broken.status).toBe(422);
    expect(((await broken.json()) as { problems: { line?: number }[] }).problems[0]!.line).toEqual(expect.any(Number));
    expect((await put('missing', base)).status).toBe(404);
    expect((await put('vendor', base, { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('takes the same scope as dataset uploads', async () => {
    const token = await harness.tokenFor(['dataset:read']);
    const response = await harness.fetch('/api/v1/connection/vendor/saas_config', { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-yaml' }, body: base });
    expect(response.status).toBe(403);
  });

  it('accepts the config as JSON too, bare or wrapped, with lines for its problems', async () => {
    const config = { fides_key: 'vendor', name: 'Vendor', connector_params: [{ name: 'domain' }], client_config: { protocol: 'https', host: '<domain>' }, endpoints: [] };
    expect((await put('vendor', JSON.stringify(config), { 'content-type': 'application/json' })).status).toBe(200);
    const bad = await put('vendor', JSON.stringify({ saas_config: { ...config, client_config: { protocol: 'https', host: 'not a host' } } }, null, 2), { 'content-type': 'application/json' });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { problems: { line: number }[] }).problems[0]!.line).toBe(12);
    expect((await put('vendor', base)).status).toBe(200);
  });
});

describe("a SaaS connection's secrets are its config's connector params", () => {
  const secret = (key: string, secrets: Record<string, unknown>, app?: ReturnType<Harness['createApp']>) =>
    app
      ? app.request(`${harness.api.url}/api/v1/connection/${key}/secret`, { method: 'PUT', headers: { host: new URL(harness.api.url).host, authorization: `Bearer ${harness.token}`, 'content-type': 'application/json' }, body: JSON.stringify(secrets) })
      : harness.fetch(`/api/v1/connection/${key}/secret`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(secrets) });

  beforeAll(async () => {
    await connection('stripe_secrets');
    expect((await put('stripe_secrets', await example('stripe_config.yml'))).status).toBe(200);
  });

  it('refuses an unknown param, a missing one, a value that is not a scalar, and a host that is not a host name, naming the param', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ host: 'api.stripe.com', api_key: 'sk', payment_types: 'card', items_per_page: 10, region: 'eu' }, 'region', /not a connector param/],
      [{ host: 'api.stripe.com', payment_types: 'card', items_per_page: 10 }, 'api_key', /required/],
      [{ host: 'api.stripe.com', api_key: { nested: true }, payment_types: 'card', items_per_page: 10 }, 'api_key', /string, a number/],
      [{ host: 'https://api.stripe.com', api_key: 'sk', payment_types: 'card', items_per_page: 10 }, 'host', /is not a host name/],
    ];
    for (const [secrets, field, message] of cases) {
      const response = await secret('stripe_secrets', secrets);
      expect(response.status, field).toBe(422);
      const body = (await response.json()) as { detail: { loc: string[]; msg: string }[] };
      expect(body.detail[0]).toMatchObject({ loc: ['body', field], msg: expect.stringMatching(message) });
    }
    expect((await secret('stripe_secrets', { host: 'api.stripe.com', api_key: 'sk_test', payment_types: 'card', items_per_page: 10 })).status).toBe(200);
  });

  it('applies DSRFLOW_CONNECTION_ALLOW to the hosts the params fill in', async () => {
    const app = harness.createApp({ connections: { ...harness.config.connections, allow: parseAllowList('api.stripe.com') } });
    const refused = await secret('stripe_secrets', { host: 'evil.example.com', api_key: 'sk', payment_types: 'card', items_per_page: 10 }, app);
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { detail: { loc: string[]; msg: string }[] }).detail[0]).toMatchObject({ loc: ['body', 'host'], msg: expect.stringMatching(/DSRFLOW_CONNECTION_ALLOW/) });
    expect((await secret('stripe_secrets', { host: 'api.stripe.com', api_key: 'sk', payment_types: 'card', items_per_page: 10 }, app)).status).toBe(200);
  });
});
