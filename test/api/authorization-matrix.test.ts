/**
 * The authorization matrix, generated from the OpenAPI document so that a new route cannot escape
 * it: every operation × {no token, malformed token, expired token, revoked token, a token lacking
 * the scope, a token with the scope} → 401, 401, 401, 401, 403, and anything but 401/403/5xx.
 * For every refused call the service database is unchanged (every table, row by row) and no
 * workflow was started or signalled (every workflow's history length). Hono's own route table is
 * checked against the document too: a route served but not declared fails here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SCOPES } from '../../src/auth/scopes.js';
import { tokenHash } from '../../src/auth/secrets.js';
import { insertToken } from '../../src/db/access-tokens.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
let document: OpenApiDocument;

interface Operation {
  method: string;
  path: string;
  security?: Record<string, string[]>[];
  'x-credential'?: string;
  requestBody?: unknown;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

/** Routes served without a credential on purpose, outside the API document's operations. */
const UNDECLARED_OPEN_ROUTES = ['GET /health', 'GET /openapi.json', 'GET /docs', 'GET /docs/assets/init.js', 'GET /docs/assets/{name}'];
/** Operations anyone may call: getting a token, and the data subject's identity verification (a code from their email). */
const OPEN_OPERATIONS = ['POST /api/v1/oauth/token', 'POST /api/v1/login', 'POST /api/v1/privacy-request/{privacy_request_id}/verify'];

/** Real things for path parameters, made in beforeAll. */
const fixture = { requestId: '', pendingId: '', clientId: '', username: 'matrix-target' };

/** A body each writing operation would accept, so that a refusal is a refusal of something real. */
function bodyFor(method: string, path: string): { body: string; type: string } | undefined {
  const json = (value: unknown) => ({ body: JSON.stringify(value), type: 'application/json' });
  const key = `${method.toUpperCase()} ${path}`;
  const bodies: Record<string, () => { body: string; type: string }> = {
    'POST /api/v1/privacy-request': () => json([{ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } }]),
    'PATCH /api/v1/privacy-request/administrate/approve': () => json({ request_ids: [fixture.pendingId] }),
    'PATCH /api/v1/privacy-request/administrate/deny': () => json({ request_ids: [fixture.pendingId], reason: 'matrix' }),
    'PATCH /api/v1/privacy-request/administrate/cancel': () => json({ request_ids: [fixture.pendingId], reason: 'matrix' }),
    'POST /api/v1/privacy-request/{privacy_request_id}/retry': () => json({}),
    'POST /api/v1/privacy-request/{privacy_request_id}/confirm_erasure': () => json({}),
    'POST /api/v1/privacy-request/{privacy_request_id}/manual_input': () => json([]),
    'POST /api/v1/privacy-request/{privacy_request_id}/erasure_confirm': () => json({ row_count: 0 }),
    'POST /api/v1/privacy-request/{privacy_request_id}/extend': () => json({ reason: 'matrix' }),
    'POST /api/v1/privacy-request/{privacy_request_id}/legal_hold': () => json({ reason: 'matrix' }),
    'POST /api/v1/privacy-request/{privacy_request_id}/verify': () => json({ code: '000000' }),
    'PATCH /api/v1/connection': () => json([{ key: 'matrix_connection', connection_type: 'manual', access: 'read' }]),
    'PUT /api/v1/connection/{connection_key}/secret': () => json({ url: 'postgres://postgres@127.0.0.1:5432/postgres' }),
    'PATCH /api/v1/connection/{connection_key}/dataset': () =>
      json([{ fides_key: 'matrix_dataset', collections: [{ name: 'customer', fields: [{ name: 'email', data_categories: ['user.contact.email'], fides_meta: { identity: 'email' } }] }] }]),
    'PUT /api/v1/connection/{connection_key}/saas_config': () =>
      json({ saas_config: { fides_key: 'matrix_saas', name: 'Matrix', connector_params: [{ name: 'domain' }], client_config: { protocol: 'https', host: '<domain>' }, endpoints: [] } }),
    'PATCH /api/v1/dsr/policy': () => json([{ key: 'matrix_policy', name: 'Matrix' }]),
    'PATCH /api/v1/dsr/policy/{policy_key}/rule': () => json([{ key: 'matrix_rule', name: 'Matrix', action_type: 'access' }]),
    'PATCH /api/v1/dsr/policy/{policy_key}/rule/{rule_key}/target': () => json([{ key: 'matrix_target', data_category: 'user' }]),
    'PUT /api/v1/message-template/{message_type}': () => json({ subject: 'Received', text: 'We received {{privacy_request_id}}.', html: '<p>We received {{privacy_request_id}}.</p>' }),
    'POST /api/v1/oauth/client': () => json({ name: 'matrix', scopes: [] }),
    'PUT /api/v1/oauth/client/{client_id}/scope': () => json({ scopes: [] }),
    'POST /api/v1/user': () => json({ username: 'matrix-new', password: 'a long enough password', roles: ['respondent'] }),
    'PATCH /api/v1/user/{username}': () => json({ disabled: false }),
    'POST /api/v1/webhook': () => json({ url: 'https://hooks.example.com/matrix', event_types: ['request.completed'] }),
    'PATCH /api/v1/webhook/{webhook_id}': () => json({ enabled: false }),
    'POST /codec/encode': () => json({ payloads: [] }),
    'POST /codec/decode': () => json({ payloads: [] }),
    'POST /codec/ui/{key}/encode': () => json({ payloads: [] }),
    'POST /codec/ui/{key}/decode': () => json({ payloads: [] }),
    'POST /api/v1/oauth/token': () => ({ body: 'grant_type=client_credentials', type: 'application/x-www-form-urlencoded' }),
    'POST /api/v1/login': () => json({ username: 'nobody', password: 'wrong' }),
  };
  const make = bodies[key];
  if (make) return make();
  if (['POST', 'PUT', 'PATCH'].includes(key.split(' ')[0]!) && !key.endsWith('/secret') && !key.endsWith('/retry')) {
    // A writing operation this table does not know: give it a body here, so its refusals are checked against something real.
    if (!key.startsWith('POST /api/v1/oauth/client/')) throw new Error(`No body for ${key}: add one to bodyFor`);
  }
  return undefined;
}

const PARAMETERS: Record<string, () => string> = {
  privacy_request_id: () => fixture.requestId,
  connection_key: () => 'postgres_example',
  fides_key: () => 'postgres_example_test_dataset',
  policy_key: () => 'default_access_policy',
  rule_key: () => 'access_all',
  rule_target_key: () => 'user',
  client_id: () => fixture.clientId,
  username: () => fixture.username,
  key: () => 'not-the-key-not-the-key-not-the-key',
  webhook_id: () => 'whk_00000000-0000-0000-0000-000000000000',
  message_type: () => 'receipt',
};

const fillPath = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = PARAMETERS[name];
    if (!value) throw new Error(`No value for path parameter ${name}: add one to PARAMETERS`);
    return encodeURIComponent(value());
  });

function operations(): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => ({ ...operation, method: method.toUpperCase(), path })),
  );
}

/** The scopes an operation's OAuth2 alternative needs; undefined for open operations. */
const scopesOf = (operation: Operation) => operation.security?.find((alternative) => 'OAuth2' in alternative)?.OAuth2;

/** Every table of the service database, row by row: equal before and after means nothing changed. */
async function fingerprint(): Promise<Record<string, string>> {
  const tables = await harness.sql<{ table_name: string }[]>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  const result: Record<string, string> = {};
  for (const { table_name } of tables) {
    const [row] = await harness.sql.unsafe<{ digest: string | null; count: number }[]>(
      `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest, count(*)::int as count from public."${table_name}" t`,
    );
    result[table_name] = `${row!.count}:${row!.digest}`;
  }
  return result;
}

/** Every workflow of this file's task queue with its history length: a start or a signal changes it. */
async function workflows(): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for await (const execution of harness.client.workflow.list({ query: `TaskQueue = "${harness.config.temporal.taskQueue}"` })) {
    result[`${execution.workflowId}/${execution.runId}`] = (await harness.client.workflow.getHandle(execution.workflowId, execution.runId).describe()).historyLength;
  }
  return result;
}

const tokens = new Map<string, string>();
async function tokenWith(scopes: string[]): Promise<string> {
  const key = [...scopes].sort().join(' ');
  let token = tokens.get(key);
  if (!token) {
    token = await harness.tokenFor(scopes);
    tokens.set(key, token);
  }
  return token;
}

let expiredToken: string;
let revokedToken: string;

async function call(operation: Operation, authorization: string | undefined) {
  const body = bodyFor(operation.method, operation.path);
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body) headers['content-type'] = body.type;
  // The global fetch: the harness's own would add its token.
  const response = await fetch(`${harness.api.url}${fillPath(operation.path)}`, { method: operation.method, headers, ...(body ? { body: body.body } : {}) });
  const text = await response.text();
  return { status: response.status, text, wwwAuthenticate: response.headers.get('www-authenticate') };
}

beforeAll(async () => {
  harness = await createHarness();
  await harness.startWorker();
  await harness.savePolicy({
    key: 'matrix_reviewed',
    name: 'Matrix reviewed',
    requires_approval: true,
    requires_erasure_confirmation: false,
    rules: [{ key: 'access', name: 'Access', action_type: 'access', masking_strategy: null, targets: [{ key: 'user', data_category: 'user' }] }],
  });
  fixture.requestId = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  fixture.pendingId = await harness.submit({ policy_key: 'matrix_reviewed', identity: { email: 'customer-2@example.com' } });
  await harness.result(fixture.requestId);
  await harness.waitForStatus(fixture.pendingId, 'pending');

  const created = await harness.postJson('/api/v1/oauth/client', { name: 'matrix target', scopes: [] });
  fixture.clientId = ((await created.json()) as { client_id: string }).client_id;
  await harness.postJson('/api/v1/user', { username: fixture.username, password: 'a long enough password', roles: ['respondent'] });

  // A token whose row says it expired a minute ago.
  expiredToken = `dsr_at_${randomBytes(32).toString('base64url')}`;
  await insertToken(harness.sql, { hash: tokenHash(expiredToken), clientId: harness.root.id, scopes: [...ALL_SCOPES], expiresAt: new Date(Date.now() - 60_000) });
  // A token of a client that was deleted since: revoked.
  const doomed = (await (await harness.postJson('/api/v1/oauth/client', { name: 'revoked', scopes: [...ALL_SCOPES] })).json()) as { client_id: string; client_secret: string };
  const issued = await fetch(`${harness.api.url}/api/v1/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: doomed.client_id, client_secret: doomed.client_secret }),
  });
  revokedToken = ((await issued.json()) as { access_token: string }).access_token;
  expect((await harness.fetch(`/api/v1/oauth/client/${doomed.client_id}`, { method: 'DELETE' })).status).toBe(204);

  document = (await (await fetch(`${harness.api.url}/openapi.json`)).json()) as OpenApiDocument;
}, 120_000);
afterAll(() => harness?.close());

describe('the OpenAPI document', () => {
  it('declares a scope for every operation except getting a token, and the security schemes', () => {
    const all = operations();
    expect(all.length).toBeGreaterThan(40);
    for (const operation of all) {
      const name = `${operation.method} ${operation.path}`;
      if (OPEN_OPERATIONS.includes(name)) {
        expect(operation.security, name).toEqual([]);
        continue;
      }
      if (operation['x-credential'] === 'path-key') continue;
      const scopes = scopesOf(operation);
      expect(scopes, `${name} declares no OAuth2 scope`).toBeDefined();
      expect(scopes!.length, name).toBeGreaterThan(0);
      for (const scope of scopes!) expect(ALL_SCOPES, name).toContain(scope);
    }
  });

  it('covers every route the app serves', () => {
    const declared = new Set(operations().map((operation) => `${operation.method} ${operation.path}`));
    const served = harness
      .createApp()
      .routes.filter((route) => route.method !== 'ALL' && route.path !== '/*' && !route.path.endsWith('*'))
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    // The console's pages have a session of their own: the next case checks them.
    const escaped = [...new Set(served)].filter((route) => !declared.has(route) && !UNDECLARED_OPEN_ROUTES.includes(route) && !/^\w+ \/console(\/|$)/.test(route));
    expect(escaped).toEqual([]);
  });

  it('sends every console page without a session to the sign-in page, and acts on no console form', async () => {
    const before = await workflows();
    const tables = await fingerprint();
    const served = harness
      .createApp()
      .routes.filter((route) => route.method !== 'ALL' && route.path.startsWith('/console') && !route.path.endsWith('*'))
      .map((route) => ({ method: route.method, path: route.path }));
    const open = (path: string) => path === '/console/login' || path.startsWith('/console/assets/');
    const guarded = served.filter((route) => !open(route.path));
    expect(guarded.length).toBeGreaterThan(10);
    for (const route of guarded) {
      const path = route.path.replace(/:id\b/g, fixture.requestId).replace(/:(\w+)/g, 'matrix');
      const response = await harness.fetch(path, {
        method: route.method,
        headers: { authorization: '', 'content-type': 'application/x-www-form-urlencoded' },
        ...(route.method === 'POST' ? { body: 'reason=matrix&_csrf=matrix' } : {}),
        redirect: 'manual',
      });
      const name = `${route.method} ${route.path}`;
      if (route.method === 'GET') {
        expect(response.status, name).toBe(303);
        expect(response.headers.get('location'), name).toMatch(/^\/console\/login\?next=/);
      } else {
        expect(response.status, name).toBe(403);
      }
    }
    expect(await workflows()).toEqual(before);
    expect(await fingerprint()).toEqual(tables);
  });
});

describe('every operation', () => {
  it('refuses every call without a usable credential or without its scope, and changes nothing', async () => {
    const before = await workflows();
    const checked: string[] = [];
    for (const operation of operations()) {
      const name = `${operation.method} ${operation.path}`;
      if (OPEN_OPERATIONS.includes(name)) continue;
      // Tokens are issued (rows written) before the state is taken.
      const everything = await tokenWith([...ALL_SCOPES]);
      const scopes = scopesOf(operation) ?? [];
      const lackingToken = await tokenWith(ALL_SCOPES.filter((scope) => !scopes.includes(scope)));
      const state = await fingerprint();
      if (operation['x-credential'] === 'path-key') {
        // The Temporal UI's codec route: the key in the path is the credential.
        for (const authorization of [undefined, `Bearer ${everything}`]) {
          expect((await call(operation, authorization)).status, `${name} with a wrong key`).toBe(401);
        }
      } else {
        const cases: [string, string | undefined, number][] = [
          ['no token', undefined, 401],
          ['a malformed token', 'Bearer not-a-token', 401],
          ['a token that is not a bearer token', 'Basic dXNlcjpwYXNz', 401],
          ['an expired token', `Bearer ${expiredToken}`, 401],
          ['a revoked token', `Bearer ${revokedToken}`, 401],
          ['a token lacking the scope', `Bearer ${lackingToken}`, 403],
        ];
        for (const [what, authorization, status] of cases) {
          const answer = await call(operation, authorization);
          expect(answer.status, `${name} with ${what}: ${answer.text}`).toBe(status);
          expect(answer.wwwAuthenticate, `${name} with ${what}`).toMatch(/^Bearer realm="dsrflow"/);
          if (status === 403) expect(answer.wwwAuthenticate).toContain(`scope="${scopes.join(' ')}"`);
        }
      }
      expect(await fingerprint(), `${name}: a refused call changed the database`).toEqual(state);
      checked.push(name);
    }
    expect(await workflows(), 'a refused call started or signalled a workflow').toEqual(before);
    expect(checked.length).toBeGreaterThan(40);
  }, 120_000);

  it('answers a token with exactly the scope with anything but 401, 403 for that scope, or 5xx', async () => {
    // Destructive operations last, so that the others still find what they act on.
    const ordered = operations().sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    for (const operation of ordered) {
      const name = `${operation.method} ${operation.path}`;
      if (OPEN_OPERATIONS.includes(name) || operation['x-credential'] === 'path-key') continue;
      const scopes = scopesOf(operation)!;
      const answer = await call(operation, `Bearer ${await tokenWith(scopes)}`);
      expect(answer.status, `${name}: ${answer.text}`).toBeLessThan(500);
      expect(answer.status, `${name}: ${answer.text}`).not.toBe(401);
      if (answer.status === 403) {
        // Only a refusal of something beyond the route's scope (a client or user that holds more than the caller).
        const missing = /scope="([^"]*)"/.exec(answer.wwwAuthenticate ?? '')?.[1]?.split(' ') ?? [];
        for (const scope of scopes) expect(missing, `${name}: ${answer.text}`).not.toContain(scope);
      }
    }
  }, 120_000);
});
