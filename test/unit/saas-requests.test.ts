/** Request building, records and pagination for saas_config requests: pure, no servers. */
import { describe, expect, it } from 'vitest';
import type { SaasRequest } from '../../src/domain/saas/config.js';
import {
  buildRequest,
  connectorParamValues,
  filterRecords,
  formEncode,
  linkHeaderTarget,
  missingConnectorParams,
  nextPage,
  postprocess,
  readCombinations,
  recordsAt,
  writeValues,
  type BuiltRequest,
} from '../../src/domain/saas/requests.js';

const request = (overrides: Partial<SaasRequest>): SaasRequest => ({ method: 'GET', path: '/x', ...overrides });

describe('connector params', () => {
  it('take the secret given, else the default', () => {
    const params = [{ name: 'domain' }, { name: 'transactional_domain', default_value: 'mandrillapp.com/api/1.0' }, { name: 'transactional_api_key', default_value: null }];
    expect(connectorParamValues(params, { domain: 'x.api.mailchimp.com' })).toEqual({ domain: 'x.api.mailchimp.com', transactional_domain: 'mandrillapp.com/api/1.0', transactional_api_key: null });
    expect(missingConnectorParams(params, {})).toEqual(['domain']);
  });
});

describe('templates', () => {
  const template = request({
    path: '/<version>/payment_methods/<id>',
    headers: [
      { name: 'On-Behalf-Of', value: '<email>' },
      { name: 'Token', value: 'Custom <api_key>' },
      { name: 'X-Missing', value: '<nothing>' },
    ],
    query_params: [
      { name: 'limit', value: '<limit>' },
      { name: 'query', value: '<email>' },
      { name: 'cursor', value: '<unset>' },
      { name: 'count', value: '1000' },
    ],
  });

  it('fill path (encoded), query params and headers; leave out a query param or header nothing fills', () => {
    const built = buildRequest(template, { version: 'v1', id: 'a/b c', email: 'jane+1@example.com', api_key: 'k', limit: 10 });
    expect(built).toEqual({
      method: 'GET',
      path: '/v1/payment_methods/a%2Fb%20c',
      query: [['limit', '10'], ['query', 'jane+1@example.com'], ['count', '1000']],
      headers: [['On-Behalf-Of', 'jane+1@example.com'], ['Token', 'Custom k']],
    });
  });

  it('do not build a request whose path cannot be filled', () => {
    expect(buildRequest(template, { version: 'v1' })).toBeUndefined();
  });

  it('write masked fields into a JSON body as members, escaping values inside strings', () => {
    const built = buildRequest(request({ method: 'PUT', body: '{\n  <masked_object_fields>\n}' }), {}, { masked: { email_address: 'x"y', merge_fields: { FNAME: null } }, all: {} });
    expect(JSON.parse(built!.body!)).toEqual({ email_address: 'x"y', merge_fields: { FNAME: null } });
    expect(built!.headers).toEqual([['Content-Type', 'application/json']]);
    const consent = buildRequest(request({ method: 'POST', body: '{"email": "<email>", "n": <n>}' }), { email: 'a"b@example.com', n: 3 });
    expect(JSON.parse(consent!.body!)).toEqual({ email: 'a"b@example.com', n: 3 });
    const empty = buildRequest(request({ method: 'PUT', body: '{<masked_object_fields>}' }), {}, { masked: {}, all: {} });
    expect(empty!.body).toBe('{}');
  });

  it('form-encode the body when the request says application/x-www-form-urlencoded (Stripe-style nesting)', () => {
    const built = buildRequest(
      request({ method: 'POST', headers: [{ name: 'Content-Type', value: 'application/x-www-form-urlencoded' }], body: '{<all_object_fields>}' }),
      {},
      { masked: {}, all: { name: 'MASKED', address: { city: null, line1: 'x' }, preferred_locales: ['en', 'fr'] } },
    );
    expect(built!.body).toBe('name=MASKED&address%5Bcity%5D=&address%5Bline1%5D=x&preferred_locales%5B0%5D=en&preferred_locales%5B1%5D=fr');
    expect(formEncode({ a: 1 })).toBe('a=1');
  });
});

describe('which requests a read makes', () => {
  const params = { page_limit: 25 };
  it('puts identities and connector params into one request', () => {
    const template = request({ param_values: [{ name: 'email', identity: 'email' }, { name: 'limit', connector_param: 'page_limit' }] });
    expect(readCombinations(template, new Map([['email', ['jane@example.com']]]), params)).toEqual([{ page_limit: 25, email: 'jane@example.com', limit: 25 }]);
  });

  it('makes one request per value of each reference param (any one of them finds the record)', () => {
    const template = request({
      param_values: [
        { name: 'charge_id', references: [{ dataset: 's', field: 'charge.id', direction: 'from' }] },
        { name: 'payment_intent_id', references: [{ dataset: 's', field: 'payment_intent.id', direction: 'from' }] },
      ],
    });
    const combos = readCombinations(template, new Map([['charge_id', ['ch_1', 'ch_2']], ['payment_intent_id', ['pi_1']]]), {});
    expect(combos).toEqual([{ charge_id: 'ch_1' }, { charge_id: 'ch_2' }, { payment_intent_id: 'pi_1' }]);
    expect(readCombinations(template, new Map(), {})).toEqual([]);
  });

  it('combines grouped inputs', () => {
    const template = request({
      grouped_inputs: ['organization_slug', 'project_slug', 'query'],
      param_values: [
        { name: 'organization_slug', references: [{ dataset: 's', field: 'projects.organization.slug', direction: 'from' }] },
        { name: 'project_slug', references: [{ dataset: 's', field: 'projects.slug', direction: 'from' }] },
        { name: 'query', identity: 'email' },
      ],
    });
    const combos = readCombinations(template, new Map([['organization_slug', ['org']], ['project_slug', ['p1', 'p2']], ['query', ['jane@example.com']]]), {});
    expect(combos).toEqual([
      { organization_slug: 'org', project_slug: 'p1', query: 'jane@example.com' },
      { organization_slug: 'org', project_slug: 'p2', query: 'jane@example.com' },
    ]);
  });

  it('keeps grouped values from one upstream record together when the records are known', () => {
    const template = request({
      grouped_inputs: ['organization_slug', 'project_slug', 'query'],
      param_values: [
        { name: 'organization_slug', references: [{ dataset: 's', field: 'projects.organization.slug', direction: 'from' }] },
        { name: 'project_slug', references: [{ dataset: 's', field: 'projects.slug', direction: 'from' }] },
        { name: 'query', identity: 'email' },
      ],
    });
    const inputs = new Map([['organization_slug', ['org-a', 'org-b']], ['project_slug', ['p1', 'p2']], ['query', ['jane@example.com']]]);
    const groups = [
      { organization_slug: 'org-a', project_slug: 'p1' },
      { organization_slug: 'org-b', project_slug: 'p2' },
      { organization_slug: 'org-b', project_slug: 'p2' },
    ];
    expect(readCombinations(template, inputs, {}, groups)).toEqual([
      { organization_slug: 'org-a', project_slug: 'p1', query: 'jane@example.com' },
      { organization_slug: 'org-b', project_slug: 'p2', query: 'jane@example.com' },
    ]);
    // Without the records, every combination (four).
    expect(readCombinations(template, inputs, {})).toHaveLength(4);
  });

  it('fills an update from the record it erases', () => {
    const template = request({
      method: 'PUT',
      param_values: [
        { name: 'list_id', references: [{ dataset: 'm', field: 'member.list_id', direction: 'from' }] },
        { name: 'subscriber_hash', references: [{ dataset: 'm', field: 'member.id', direction: 'from' }] },
      ],
    });
    expect(writeValues(template, { id: 'h1', list_id: 'l1' }, { email: 'e' }, {})).toEqual({ email: 'e', list_id: 'l1', subscriber_hash: 'h1' });
  });
});

describe('records', () => {
  const identities = { email: 'Jane@Example.com' };
  it('are found at data_path, as a list', () => {
    expect(recordsAt({ exact_matches: { members: [{ id: 1 }, { id: 2 }] } }, 'exact_matches.members')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(recordsAt({ id: 1 }, undefined)).toEqual([{ id: 1 }]);
    expect(recordsAt({ data: null }, 'data')).toEqual([]);
  });

  it('are unwrapped and filtered by the postprocessors, in order', () => {
    const template = request({
      postprocessors: [
        { strategy: 'unwrap', configuration: { data_path: 'conversation_messages' } },
        { strategy: 'filter', configuration: { field: 'from_email', value: { identity: 'email' } } },
      ],
    });
    const body = [{ conversation_messages: [{ id: 'a', from_email: 'Jane@Example.com' }, { id: 'b', from_email: 'other@example.com' }] }];
    expect(postprocess(body, template, identities)).toEqual([{ id: 'a', from_email: 'Jane@Example.com' }]);
  });

  it('are filtered exactly and case-sensitively unless told otherwise; list fields match by element', () => {
    const records = [{ e: 'jane@example.com' }, { e: 'JANE@EXAMPLE.COM' }, { e: 'x-jane@example.com-y' }, { e: ['a', 'jane@example.com'] }, { e: null }];
    expect(filterRecords(records, { field: 'e', value: 'jane@example.com' }, {})).toEqual([records[0], records[3]]);
    expect(filterRecords(records, { field: 'e', value: 'jane@example.com', case_sensitive: false }, {})).toEqual([records[0], records[1], records[3]]);
    expect(filterRecords(records, { field: 'e', value: 'jane@example.com', exact: false }, {})).toEqual([records[0], records[2], records[3]]);
    expect(filterRecords(records, { field: 'e', value: { identity: 'phone_number' } }, identities)).toEqual([]);
  });
});

describe('pagination', () => {
  const first: BuiltRequest = { method: 'GET', path: '/3.0/conversations', query: [['count', '1000'], ['offset', '0']], headers: [] };
  const response = (records: unknown[], extra: { body?: unknown; link?: string } = {}) => ({
    status: 200,
    headers: new Headers(extra.link ? { link: extra.link } : {}),
    body: extra.body ?? { data: records },
    records: records as Record<string, unknown>[],
  });

  it('offset: adds increment_by until a page is empty or the limit is passed', () => {
    const template = request({ pagination: { strategy: 'offset', configuration: { incremental_param: 'offset', increment_by: 1000, limit: 2000 } } });
    const second = nextPage(template, first, response([{ id: 1 }]), {}) as BuiltRequest;
    expect(second.query).toEqual([['count', '1000'], ['offset', '1000']]);
    const third = nextPage(template, second, response([{ id: 1 }]), {}) as BuiltRequest;
    expect(third.query).toContainEqual(['offset', '2000']);
    expect(nextPage(template, third, response([{ id: 1 }]), {})).toBeUndefined();
    expect(nextPage(template, first, response([]), {})).toBeUndefined();
    const byParam = request({ pagination: { strategy: 'offset', configuration: { incremental_param: 'offset', increment_by: 10, limit: '<max>' } } });
    expect(nextPage(byParam, { ...first, query: [['offset', '10']] }, response([{}]), { max: 15 })).toBeUndefined();
  });

  it('cursor: passes the last record\'s field until a page is empty', () => {
    const template = request({ pagination: { strategy: 'cursor', configuration: { cursor_param: 'starting_after', field: 'id' } } });
    const next = nextPage(template, { ...first, query: [['limit', '2']] }, response([{ id: 'ch_1' }, { id: 'ch_2' }]), {}) as BuiltRequest;
    expect(next.query).toEqual([['limit', '2'], ['starting_after', 'ch_2']]);
    expect(nextPage(template, next, response([]), {})).toBeUndefined();
  });

  it('link: follows rel=next in the Link header, or a URL in the body', () => {
    const headers = request({ pagination: { strategy: 'link', configuration: { source: 'headers', rel: 'next' } } });
    const link = '<https://api.example.com/items?page=1>; rel="prev", <https://api.example.com/items?page=3>; rel="next"';
    expect(nextPage(headers, first, response([{}], { link }), {})).toEqual({ url: 'https://api.example.com/items?page=3' });
    expect(nextPage(headers, first, response([{}]), {})).toBeUndefined();
    const body = request({ pagination: { strategy: 'link', configuration: { source: 'body', path: 'links.next' } } });
    expect(nextPage(body, first, response([{}], { body: { links: { next: '/items?page=2' } } }), {})).toEqual({ url: '/items?page=2' });
    expect(nextPage(body, first, response([{}], { body: { links: { next: null } } }), {})).toBeUndefined();
    expect(linkHeaderTarget('<a>; rel="next last"', 'last')).toBe('a');
  });
});
