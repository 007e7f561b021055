/**
 * saas_config validation: Fides' own configs load unchanged; what dsrflow cannot run is refused
 * with the line it is on.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseDatasetYaml, type Dataset } from '../../src/domain/datasets.js';
import { isHost, parseSaasConfigYaml, SaasConfigValidationError, substituteInstanceKey } from '../../src/domain/saas/config.js';
import { mergeSaasConfig } from '../../src/domain/saas/graph.js';
import { planTraversal } from '../../src/domain/graph.js';

const example = (name: string) => readFile(new URL(`../../src/example/fides-saas/${name}`, import.meta.url), 'utf8');

function problemsOf(text: string, options: Parameters<typeof parseSaasConfigYaml>[1] = {}) {
  try {
    parseSaasConfigYaml(text, options);
  } catch (error) {
    if (error instanceof SaasConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

const minimal = (endpoints: string, extra = '') => `saas_config:
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
${extra}  endpoints:
${endpoints}`;

const readEndpoint = `    - name: user
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
`;

describe("Fides' configs", () => {
  it.each([
    ['saas_example_config.yml', 'saas_example_dataset.yml', 'saas_connector_example'],
    ['mailchimp_config.yml', 'mailchimp_dataset.yml', 'mailchimp_instance'],
    ['stripe_config.yml', 'stripe_dataset.yml', 'stripe_connector_example'],
  ])('%s loads unchanged with its dataset, and plans from an email', async (configFile, datasetFile, instanceKey) => {
    const config = parseSaasConfigYaml(await example(configFile), { instanceKey: 'mailchimp_instance' });
    expect(config.fides_key).toBe(instanceKey);
    const [dataset] = parseDatasetYaml(await example(datasetFile)).map((item) => substituteInstanceKey(item, config.fides_key));
    expect(dataset!.fides_key).toBe(instanceKey);
    // Checked again with the dataset: every reference and endpoint resolves.
    parseSaasConfigYaml(await example(configFile), { instanceKey: 'mailchimp_instance', dataset });
    const plan = planTraversal({ datasets: [{ connectionKey: 'c', dataset: mergeSaasConfig(dataset!, config) }], identities: ['email'] });
    expect(plan.collections.length).toBeGreaterThan(2);
  });

  it('orders Stripe collections after the customer they are looked up by, and erases the customer last', async () => {
    const config = parseSaasConfigYaml(await example('stripe_config.yml'));
    const [dataset] = parseDatasetYaml(await example('stripe_dataset.yml')).map((item) => substituteInstanceKey(item, config.fides_key));
    const plan = planTraversal({ datasets: [{ connectionKey: 'c', dataset: mergeSaasConfig(dataset!, config) }], identities: ['email'] });
    const charge = plan.collections.find((collection) => collection.key === 'stripe_connector_example:charge')!;
    expect(charge.upstream).toEqual(['stripe_connector_example:customer']);
    expect(charge.inputs).toEqual([{ field: 'customer_id', from: { collection: 'stripe_connector_example:customer', field: 'id' } }]);
    const dispute = plan.collections.find((collection) => collection.key === 'stripe_connector_example:dispute')!;
    expect(dispute.upstream).toEqual(['stripe_connector_example:charge', 'stripe_connector_example:payment_intent']);
    const customer = plan.collections.find((collection) => collection.key === 'stripe_connector_example:customer')!;
    expect(customer.erasureUpstream).toContain('stripe_connector_example:charge');
  });

  it('runs saas_example users after projects (endpoint after)', async () => {
    const config = parseSaasConfigYaml(await example('saas_example_config.yml'));
    const [dataset] = parseDatasetYaml(await example('saas_example_dataset.yml'));
    const merged = mergeSaasConfig(dataset!, config);
    // The dataset has no users or projects collections: they are not planned.
    expect(merged.collections.map((collection) => collection.name)).toEqual(['messages', 'conversations', 'member']);
    const plan = planTraversal({ datasets: [{ connectionKey: 'c', dataset: merged }], identities: ['email'] });
    expect(plan.collections.find((collection) => collection.collection === 'messages')!.upstream).toEqual(['saas_connector_example:conversations']);
  });
});

describe('bad input, located by line', () => {
  it('refuses an unknown pagination, postprocessor or authentication strategy', () => {
    const text = minimal(`${readEndpoint}          pagination:
            strategy: page_number
            configuration:
              page_param: page
          postprocessors:
            - strategy: flatten
`);
    const problems = problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({ line: 27, message: expect.stringMatching(/unknown pagination strategy page_number/) }),
      expect.objectContaining({ line: 31, message: expect.stringMatching(/unknown postprocessor strategy flatten/) }),
    ]);
    const auth = problemsOf(minimal(readEndpoint).replace('strategy: bearer', 'strategy: digest'));
    expect(auth).toEqual([expect.objectContaining({ line: 11, message: expect.stringMatching(/unknown authentication strategy digest; dsrflow knows basic, bearer, api_key, oauth2_client_credentials/) })]);
  });

  it('refuses a strategy configuration that does not fit it', () => {
    const problems = problemsOf(minimal(`${readEndpoint}          pagination:
            strategy: cursor
            configuration:
              cursor_param: starting_after
`));
    expect(problems).toEqual([expect.objectContaining({ line: 29, message: expect.stringMatching(/pagination cursor: field: is required/) })]);
  });

  it('refuses a placeholder that nothing supplies', () => {
    const problems = problemsOf(minimal(readEndpoint.replace('path: /users', 'path: /users/<user_id>')));
    expect(problems).toEqual([expect.objectContaining({ at: 'saas_config.endpoints[0].requests.read.path', line: 19, message: expect.stringMatching(/<user_id>, which nothing supplies/) })]);
    const header = problemsOf(minimal(readEndpoint).replace('token: <api_key>', 'token: <api_token>'));
    expect(header).toEqual([expect.objectContaining({ line: 13, message: expect.stringMatching(/<api_token>/) })]);
  });

  it('refuses a reference to a field the dataset does not have', () => {
    const [dataset] = parseDatasetYaml('dataset:\n  - fides_key: vendor\n    collections:\n      - name: user\n        fields:\n          - name: id\n      - name: order\n        fields:\n          - name: id\n');
    const text = minimal(`${readEndpoint}    - name: order
      requests:
        read:
          method: GET
          path: /orders/<user_id>
          param_values:
            - name: user_id
              references:
                - dataset: vendor
                  field: user.uid
                  direction: from
`);
    expect(problemsOf(text, { dataset })).toEqual([expect.objectContaining({ line: 35, message: 'references unknown field vendor.user.uid' })]);
    expect(problemsOf(text)).toEqual([]);
  });

  it('refuses a host that is not a host name', () => {
    for (const host of ['https://api.example.com', 'api example.com', 'user@api.example.com', 'api.example.com:99999', '-api.example.com']) {
      const problems = problemsOf(minimal(readEndpoint).replace('host: <domain>', `host: "${host}"`));
      expect(problems, host).toEqual([expect.objectContaining({ line: 9, message: expect.stringMatching(/is not a host name/) })]);
    }
    for (const host of ['api.example.com', 'mandrillapp.com/api/1.0', '127.0.0.1:8080', '[::1]:443', 'localhost']) expect(isHost(host), host).toBe(true);
  });

  it('refuses a body that is not JSON once its placeholders are filled', () => {
    const text = minimal(`${readEndpoint}        update:
          method: PUT
          path: /users/<email>
          param_values:
            - name: email
              identity: email
          body: '{"user": {<masked_object_fields>}, }}'
`);
    expect(problemsOf(text)).toEqual([expect.objectContaining({ line: 32, message: 'the body is not valid JSON once its placeholders are filled' })]);
    const fine = text.replace(`'{"user": {<masked_object_fields>}, }}'`, `'{"user": {<masked_object_fields>}, "email": "<email>", "n": <email>}'`);
    expect(problemsOf(fine)).toEqual([]);
  });

  it('reports a schema problem at its line, and YAML that does not parse', () => {
    expect(problemsOf(minimal(readEndpoint).replace('method: GET', 'method: FETCH'))).toEqual([expect.objectContaining({ line: 18, message: expect.stringMatching(/must be one of GET/) })]);
    expect(problemsOf('saas_config:\n  fides_key: [\n')).toEqual([expect.objectContaining({ line: expect.any(Number), message: expect.stringMatching(/YAML/) })]);
  });
});

describe('endpoints in the graph', () => {
  const text = `saas_config:
  fides_key: vendor
  name: Vendor
  connector_params:
    - name: domain
  client_config:
    protocol: https
    host: <domain>
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
        delete:
          method: DELETE
          path: /users/<id>
          param_values:
            - name: id
              references:
                - dataset: vendor
                  field: user.id
                  direction: from
    - name: ticket
      erase_after: [vendor.user]
      requests:
        read:
          method: GET
          path: /tickets/<user_id>
          param_values:
            - name: user_id
              references:
                - dataset: shop
                  field: customer.vendor_id
                  direction: from
`;
  const vendor = <Dataset>{ fides_key: 'vendor', collections: [{ name: 'user', fields: [{ name: 'id' }, { name: 'email' }] }, { name: 'ticket', fields: [{ name: 'id' }, { name: 'body', data_categories: ['user.content'] }] }, { name: 'audit', fields: [{ name: 'id' }] }] };
  const shop = <Dataset>{ fides_key: 'shop', collections: [{ name: 'customer', fields: [{ name: 'email', fides_meta: { identity: 'email' } }, { name: 'vendor_id' }] }] };

  it('takes values from another store, erases in erase_after order, and leaves out collections without a read request', () => {
    const config = parseSaasConfigYaml(text);
    const merged = mergeSaasConfig(vendor, config);
    expect(merged.collections.find((collection) => collection.name === 'audit')!.fides_meta).toEqual({ skip_processing: true });
    expect(merged.collections.find((collection) => collection.name === 'user')!.fields.find((field) => field.name === 'email')!.fides_meta).toEqual({ identity: 'email' });
    const plan = planTraversal({ datasets: [{ connectionKey: 'shop', dataset: shop }, { connectionKey: 'vendor', dataset: merged }], identities: ['email'] });
    const ticket = plan.collections.find((collection) => collection.key === 'vendor:ticket')!;
    expect(ticket.upstream).toEqual(['shop:customer']);
    expect(ticket.inputs).toEqual([{ field: 'user_id', from: { collection: 'shop:customer', field: 'vendor_id' } }]);
    expect(ticket.erasureUpstream).toContain('vendor:user');
    expect(plan.collections.map((collection) => collection.key)).not.toContain('vendor:audit');
  });

  it('refuses a reference into a stored dataset that lacks the field', () => {
    const otherDatasets = new Map([['shop', <Dataset>{ ...shop, collections: [{ name: 'customer', fields: [{ name: 'email' }] }] }]]);
    expect(problemsOf(text, { otherDatasets })).toEqual([expect.objectContaining({ line: 40, message: 'references unknown field shop.customer.vendor_id' })]);
  });
});
