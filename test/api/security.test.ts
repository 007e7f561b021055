/**
 * Credentials and hostile input, over real HTTP against a real Postgres and Temporal:
 * token lifetime, revocation by deleting a client or rotating its secret, users, roles and
 * lockout, who did what, scopes that hand out personal data, and each finding of the probe
 * from outside as a regression test (body size, YAML aliases, NUL bytes, cross-origin calls,
 * forged Host, headers, rate limits).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ApiServer } from '../../src/api/server.js';
import { tokenHash } from '../../src/auth/secrets.js';
import { insertToken, purgeExpiredTokens } from '../../src/db/access-tokens.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
const servers: ApiServer[] = [];
const identity = { email: 'customer-1@example.com' };

beforeAll(async () => {
  harness = await createHarness({ env: { DSRFLOW_LOGIN_MAX_FAILURES: '3', DSRFLOW_LOGIN_LOCKOUT: '1h' } });
  await harness.startWorker();
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await harness?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
/** The global fetch: nothing added. */
const raw = (path: string, init?: RequestInit) => fetch(`${harness.api.url}${path}`, init);

async function token(clientId: string, clientSecret: string, scope?: string, base = harness.api.url) {
  const response = await fetch(`${base}/api/v1/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, ...(scope ? { scope } : {}) }),
  });
  return { status: response.status, body: (await response.json()) as { access_token?: string; expires_in?: number; scope?: string; error?: string; error_description?: string } };
}

async function newClient(scopes: string[], as = harness.token) {
  const response = await raw('/api/v1/oauth/client', json({ name: 'test', scopes }, bearer(as)));
  expect(response.status).toBe(201);
  return (await response.json()) as { client_id: string; client_secret: string; scopes: string[] };
}

async function tableCounts(): Promise<Record<string, number>> {
  const tables = await harness.sql<{ table_name: string }[]>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'access_token'`;
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    counts[table_name] = ((await harness.sql.unsafe(`select count(*)::int as n from public."${table_name}"`)) as unknown as { n: number }[])[0]!.n;
  }
  return counts;
}

describe('client credentials', () => {
  it('give a token that works until it expires, by form, JSON or HTTP Basic', async () => {
    const client = await newClient(['privacy-request:read']);
    const viaJson = await raw('/api/v1/oauth/token', json({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }));
    expect(viaJson.status).toBe(200);
    expect(viaJson.headers.get('cache-control')).toBe('no-store');
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    const viaBasic = await raw('/api/v1/oauth/token', { method: 'POST', headers: { authorization: `Basic ${basic}` }, body: new URLSearchParams({ grant_type: 'client_credentials' }) });
    expect(viaBasic.status).toBe(200);

    // An API whose tokens live 3 s (DSRFLOW_TOKEN_TTL): the token works, then it does not.
    const shortLived = await listen(harness.createApp({ auth: { ...harness.config.auth, tokenTtlMs: 3000 } }), '127.0.0.1', 0);
    servers.push(shortLived);
    const viaForm = await token(client.client_id, client.client_secret, undefined, shortLived.url);
    expect(viaForm).toMatchObject({ status: 200, body: { token_type: 'bearer', expires_in: 3, scope: 'privacy-request:read' } });
    const accessToken = viaForm.body.access_token!;
    expect((await raw('/api/v1/privacy-request', { headers: bearer(accessToken) })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3100));
    const expired = await raw('/api/v1/privacy-request', { headers: bearer(accessToken) });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
  });

  it('are purged from storage once expired, and only those', async () => {
    const expired = tokenHash(`dsr_at_${randomBytes(32).toString('base64url')}`);
    await insertToken(harness.sql, { hash: expired, clientId: harness.root.id, scopes: [], expiresAt: new Date(Date.now() - 1000) });
    const live = await harness.tokenFor(['privacy-request:read']);
    expect(await purgeExpiredTokens(harness.sql)).toBeGreaterThanOrEqual(1);
    expect(await harness.sql`select 1 from access_token where token_hash = ${expired}`).toHaveLength(0);
    expect((await raw('/api/v1/privacy-request', { headers: bearer(live) })).status).toBe(200);
  });

  it('refuse a wrong secret, an unknown client, another grant and scopes the client does not hold, as RFC 6749 says', async () => {
    const client = await newClient(['privacy-request:read']);
    expect(await token(client.client_id, 'wrong')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token('no-such-client', 'wrong')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token(client.client_id, client.client_secret, 'privacy-request:read connection:write')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(await token(client.client_id, client.client_secret, 'no:such')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const password = await raw('/api/v1/oauth/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'a', password: 'b' }) });
    expect(password.status).toBe(400);
    expect(await password.json()).toMatchObject({ error: 'unsupported_grant_type' });
    const missing = await raw('/api/v1/oauth/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) });
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('are revoked at once when the client is deleted or its secret rotated; the secret is shown once and never listed', async () => {
    const client = await newClient(['privacy-request:read']);
    const first = (await token(client.client_id, client.client_secret)).body.access_token!;
    const listed = await (await harness.fetch('/api/v1/oauth/client?size=50')).text();
    expect(listed).not.toContain(client.client_secret);
    expect(listed).toContain(client.client_id);

    const rotated = await harness.fetch(`/api/v1/oauth/client/${client.client_id}/secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    const { client_secret: newSecret } = (await rotated.json()) as { client_secret: string };
    expect(newSecret).not.toBe(client.client_secret);
    expect((await raw('/api/v1/privacy-request', { headers: bearer(first) })).status).toBe(401);
    expect((await token(client.client_id, client.client_secret)).status).toBe(401);
    const second = (await token(client.client_id, newSecret)).body.access_token!;
    expect((await raw('/api/v1/privacy-request', { headers: bearer(second) })).status).toBe(200);

    // Narrowing a client's scopes narrows the tokens it already holds.
    expect((await harness.fetch(`/api/v1/oauth/client/${client.client_id}/scope`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scopes: [] }) })).status).toBe(200);
    expect((await raw('/api/v1/privacy-request', { headers: bearer(second) })).status).toBe(403);

    expect((await harness.fetch(`/api/v1/oauth/client/${client.client_id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await raw('/api/v1/privacy-request', { headers: bearer(second) })).status).toBe(401);
  });

  it('cannot hand out or take over more than the caller holds, and the root client is left to configuration', async () => {
    const admin = await newClient(['client:write', 'client:read', 'privacy-request:read']);
    const adminToken = (await token(admin.client_id, admin.client_secret)).body.access_token!;
    const escalate = await raw('/api/v1/oauth/client', json({ scopes: ['privacy-request:read', 'connection:write'] }, bearer(adminToken)));
    expect(escalate.status).toBe(403);
    expect(await escalate.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('connection:write') });
    const stronger = await newClient(['connection:write']);
    expect((await raw(`/api/v1/oauth/client/${stronger.client_id}`, { method: 'DELETE', headers: bearer(adminToken) })).status).toBe(403);
    expect((await raw(`/api/v1/oauth/client/${stronger.client_id}/secret`, { method: 'POST', headers: bearer(adminToken) })).status).toBe(403);
    expect((await harness.fetch(`/api/v1/oauth/client/${harness.root.id}`, { method: 'DELETE' })).status).toBe(409);
    expect((await harness.fetch(`/api/v1/oauth/client/${harness.root.id}/secret`, { method: 'POST' })).status).toBe(409);
  });
});

describe('users', () => {
  it('log in with the scopes of their roles, and are locked out after repeated failures', async () => {
    const viewer = await harness.userToken('viewer@shop.example', ['viewer']);
    expect((await raw('/api/v1/privacy-request', { headers: bearer(viewer) })).status).toBe(200);
    expect((await raw('/api/v1/privacy-request?include_identities=true', { headers: bearer(viewer) })).status).toBe(403);
    expect((await raw('/api/v1/privacy-request', json([{ policy_key: 'default_access_policy', identity }], bearer(viewer)))).status).toBe(403);

    const login = (password: string) => raw('/api/v1/login', json({ username: 'viewer@shop.example', password }));
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await login('wrong password')).status).toBe(400);
    const locked = await login('password-of-viewer@shop.example');
    expect(locked.status).toBe(400);
    expect(await locked.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/locked/) });
    const user = (await (await harness.fetch('/api/v1/user/viewer@shop.example')).json()) as { locked_until: string | null; roles: string[] };
    expect(user.locked_until).toEqual(expect.any(String));
    expect(user).not.toHaveProperty('password_hash');

    // A new password lifts the lockout and revokes the user's tokens.
    const reset = await harness.fetch('/api/v1/user/viewer@shop.example', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'a brand new password' }),
    });
    expect(reset.status).toBe(200);
    expect((await raw('/api/v1/privacy-request', { headers: bearer(viewer) })).status).toBe(401);
    expect((await login('a brand new password')).status).toBe(200);
  });

  it('cannot be given roles beyond the caller, and an unknown user costs the same refusal', async () => {
    const manager = await newClient(['user:write', 'user:read', 'privacy-request:read', 'connection:read', 'dataset:read', 'policy:read', 'webhook:read', 'messaging:read']);
    const managerToken = (await token(manager.client_id, manager.client_secret)).body.access_token!;
    const create = (roles: string[]) => raw('/api/v1/user', json({ username: `u${randomBytes(4).toString('hex')}`, password: 'long enough password', roles }, bearer(managerToken)));
    expect((await create(['viewer'])).status).toBe(201);
    expect((await create(['owner'])).status).toBe(403);
    expect((await raw('/api/v1/user', json({ username: 'short', password: 'short', roles: ['viewer'] }, bearer(managerToken)))).status).toBe(422);
    const unknown = await raw('/api/v1/login', json({ username: 'nobody-here', password: 'whatever it is' }));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: 'invalid_grant', error_description: 'unknown user or wrong password' });
  });
});

describe('who did it', () => {
  it('is the credential: submissions, reviews and configuration changes name the client or user', async () => {
    const alice = await harness.userToken('alice@shop.example', ['owner']);
    const submitted = await raw('/api/v1/privacy-request', json([{ policy_key: 'default_access_policy', identity }], bearer(alice)));
    const [request] = ((await submitted.json()) as { succeeded: { id: string; created_by: string }[] }).succeeded;
    expect(request!.created_by).toBe('user:alice@shop.example');
    // A body that names someone else is refused.
    const impersonation = await raw('/api/v1/privacy-request/administrate/cancel', {
      ...json({ request_ids: [request!.id], reason: 'x', user_id: 'someone-else' }, bearer(alice)),
      method: 'PATCH',
    });
    expect(impersonation.status).toBe(422);

    const policy = await raw('/api/v1/dsr/policy', { ...json([{ key: 'audited_policy', name: 'Audited' }], bearer(alice)), method: 'PATCH' });
    expect(policy.status).toBe(200);
    expect((await harness.fetch('/api/v1/dsr/policy/audited_policy', { method: 'DELETE' })).status).toBe(204);
    const changes = (await (await harness.fetch('/api/v1/configuration-change?resource=policy&key=audited_policy')).json()) as { items: { change: string; actor: string }[] };
    expect(changes.items.map(({ change, actor }) => [change, actor])).toEqual([
      ['deleted', `client:${harness.root.id}`],
      ['updated', 'user:alice@shop.example'],
    ]);
  });
});

describe('personal data needs its own scopes', () => {
  it('identities need privacy-request:read-identity; package links and downloads need privacy-request:download', async () => {
    const id = await harness.submit({ policy_key: 'default_access_policy', identity });
    await harness.result(id);
    const reader = await harness.tokenFor(['privacy-request:read']);
    expect((await raw(`/api/v1/privacy-request?request_id=${id}&include_identities=true`, { headers: bearer(reader) })).status).toBe(403);
    const withIdentities = await harness.tokenFor(['privacy-request:read', 'privacy-request:read-identity']);
    const listed = (await (await raw(`/api/v1/privacy-request?request_id=${id}&include_identities=true`, { headers: bearer(withIdentities) })).json()) as { items: { identity: unknown }[] };
    expect(listed.items[0]!.identity).toEqual(identity);

    const seen = (await (await raw(`/api/v1/privacy-request/${id}/access-package`, { headers: bearer(reader) })).json()) as { status: string; download_url: string | null };
    expect(seen.status).toBe('available');
    expect(seen.download_url).toBeNull();
    const download = (await (await harness.fetch(`/api/v1/privacy-request/${id}/access-package`)).json()) as { download_url: string };
    expect(download.download_url).toMatch(/signature=/);

    // Without a link: a token with the scope downloads, one without is refused; the link works alone.
    const path = `/api/v1/access-package/${id}/download`;
    expect((await raw(path)).status).toBe(401);
    expect((await raw(path, { headers: bearer(reader) })).status).toBe(403);
    const downloader = await harness.tokenFor(['privacy-request:download']);
    const byToken = await raw(path, { headers: bearer(downloader) });
    expect(byToken.status).toBe(200);
    expect(byToken.headers.get('content-type')).toBe('application/zip');
    await byToken.arrayBuffer();
    const byLink = await fetch(download.download_url);
    expect(byLink.status).toBe(200);
    await byLink.arrayBuffer();
    const tampered = await fetch(download.download_url.replace(/signature=[^&]+/, 'signature=AAAA'));
    expect(tampered.status).toBe(403);

    const after = (await (await harness.fetch(`/api/v1/privacy-request/${id}/access-package`)).json()) as { downloads: { actor: string }[] };
    expect(after.downloads.map((entry) => entry.actor)).toEqual([`client:${harness.root.id}`, 'signed_link']);
  });
});

describe('the codec', () => {
  it('decodes for a token with codec:decode only', async () => {
    const payloads = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') }] };
    expect((await raw('/codec/decode', json(payloads))).status).toBe(401);
    expect((await raw('/codec/decode', json(payloads, bearer(await harness.tokenFor(['privacy-request:read']))))).status).toBe(403);
    expect((await raw('/codec/decode', json(payloads, bearer(await harness.tokenFor(['codec:decode']))))).status).toBe(200);
    // The UI's path: without a configured key there is no way in; with one, only that key.
    expect((await raw(`/codec/ui/${'a'.repeat(40)}/decode`, json(payloads))).status).toBe(401);
    const key = randomBytes(32).toString('base64url');
    const withKey = await listen(harness.createApp({ codec: { origins: [], uiKey: key } }), '127.0.0.1', 0);
    servers.push(withKey);
    expect((await fetch(`${withKey.url}/codec/ui/${key}/decode`, json(payloads))).status).toBe(200);
    expect((await fetch(`${withKey.url}/codec/ui/${key.slice(0, -1)}x/decode`, json(payloads))).status).toBe(401);
  });
});

describe('hostile input, as found by probing from outside', () => {
  it('a cross-origin POST without a token is refused and confirms nothing; no CORS unless configured', async () => {
    const policy = 'cross_origin_confirm';
    await harness.savePolicy({
      key: policy,
      name: policy,
      requires_approval: false,
      requires_erasure_confirmation: true,
      rules: [{ key: 'erase', name: 'Erase', action_type: 'erasure', masking_strategy: { strategy: 'null_rewrite' }, targets: [{ key: 'name', data_category: 'user.name' }] }],
    });
    const id = await harness.submit({ policy_key: policy, identity });
    await harness.waitForStatus(id, 'awaiting_erasure_confirmation');
    const attack = await raw(`/api/v1/privacy-request/${id}/confirm_erasure`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(attack.status).toBe(401);
    expect(attack.headers.get('access-control-allow-origin')).toBeNull();
    await harness.waitUntilIdle(id);
    expect((await harness.request(id)).status).toBe('awaiting_erasure_confirmation');
    // Nothing reached the workflow: no update or signal in its history.
    const events = (await harness.handle(id).fetchHistory()).events ?? [];
    expect(events.filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes || event.workflowExecutionSignaledEventAttributes)).toEqual([]);
    await harness.fetch('/api/v1/privacy-request/administrate/cancel', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_ids: [id], reason: 'test over' }) });

    const withCors = await listen(harness.createApp({ http: { maxBodyBytes: 1024 * 1024, corsOrigins: ['https://console.example'], allowedHosts: ['127.0.0.1'] } }), '127.0.0.1', 0);
    servers.push(withCors);
    const preflight = (origin: string) =>
      fetch(`${withCors.url}/api/v1/privacy-request`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    expect((await preflight('https://console.example')).headers.get('access-control-allow-origin')).toBe('https://console.example');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a body over the limit gets 413, with or without a content length, and nothing is stored', async () => {
    const before = await tableCounts();
    const big = JSON.stringify([{ key: 'big', connection_type: 'manual', access: 'read', name: 'x'.repeat(1024 * 1024) }]);
    const declared = await harness.fetch('/api/v1/connection', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: big });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: 'payload_too_large' });
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i += 1) controller.enqueue(new TextEncoder().encode('x'.repeat(100_000)));
        controller.close();
      },
    });
    const chunked = await harness.fetch('/codec/decode', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await tableCounts()).toEqual(before);
  });

  it('a YAML document whose aliases repeat a large value is refused in milliseconds, as is the billion laughs', async () => {
    const before = await tableCounts();
    const value = 'x'.repeat(900_000);
    const collections = Array.from({ length: 99 }, (_, i) => `      - name: c${i}\n        description: *big\n        fields: [{ name: id }]`).join('\n');
    const bomb = `dataset:\n  - fides_key: amplified\n    description: &big "${value}"\n    collections:\n${collections}\n`;
    const started = Date.now();
    const amplified = await harness.fetch('/api/v1/connection/postgres_example/dataset', { method: 'PATCH', headers: { 'content-type': 'application/x-yaml' }, body: bomb });
    expect(amplified.status).toBe(400);
    expect(((await amplified.json()) as { message: string }).message).toMatch(/aliases expand/);
    expect(Date.now() - started).toBeLessThan(1500);

    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 9; level += 1) laughs.push(`${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(9).fill(`*${String.fromCharCode(96 + level)}`).join(',')}]`);
    const billion = await harness.fetch('/api/v1/connection/postgres_example/dataset', { method: 'PATCH', headers: { 'content-type': 'application/x-yaml' }, body: `${laughs.join('\n')}\ndataset: *i\n` });
    expect(billion.status).toBe(400);
    expect(await tableCounts()).toEqual(before);
  });

  it('NUL bytes in a path, a query, request_ids or external_id answer 422 and change nothing', async () => {
    const before = await tableCounts();
    expect((await harness.fetch('/api/v1/connection/abc%00def')).status).toBe(422);
    expect((await harness.fetch('/api/v1/privacy-request?request_id=pri_%00')).status).toBe(422);
    const ids = await harness.fetch('/api/v1/privacy-request/administrate/cancel', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_ids: ['pri_\u0000'], reason: 'x' }) });
    expect(ids.status).toBe(422);
    const external = await harness.postJson('/api/v1/privacy-request', [{ external_id: 'ticket\u0000', policy_key: 'default_access_policy', identity }]);
    expect(external.status).toBe(422);
    const body = (await external.json()) as { message: string; detail: { loc: unknown[] }[] };
    expect(body.detail[0]!.loc).toEqual(['body', 0, 'external_id']);
    expect(body.message).not.toMatch(/invalid byte sequence|0x00|UTF8/i);
    expect(await tableCounts()).toEqual(before);
  });

  it('a forged Host is refused, so it never reaches a download link; /health still answers probes', async () => {
    // fetch does not let a caller set Host; node:http does, as any attacker's client would.
    const withHost = (path: string, host: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(`${harness.api.url}${path}`);
        const req = request({ host: url.hostname, port: url.port, path, headers: { ...headers, host } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const id = await harness.submit({ policy_key: 'default_access_policy', identity });
    await harness.result(id);
    expect(await withHost(`/api/v1/privacy-request/${id}/access-package`, 'evil.example', bearer(harness.token))).toBe(421);
    expect(await withHost('/api/v1/privacy-request', 'attacker.example:8080', bearer(harness.token))).toBe(421);
    expect(await withHost('/api/v1/privacy-request', `localhost:${new URL(harness.api.url).port}`, bearer(harness.token))).toBe(200);
    expect(await withHost('/health', 'evil.example')).toBe(200);
    // The link is built from an allowed host (or DSRFLOW_PUBLIC_URL).
    const view = (await (await harness.fetch(`/api/v1/privacy-request/${id}/access-package`)).json()) as { download_url: string };
    expect(new URL(view.download_url).origin).toBe(harness.api.url);
  });

  it('every response carries the security headers; HSTS only over https', async () => {
    for (const response of [await raw('/api/v1/privacy-request'), await harness.fetch('/api/v1/privacy-request'), await raw('/health')]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('strict-transport-security')).toBeNull();
      await response.arrayBuffer();
    }
    const docs = await raw('/docs');
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    const https = await raw('/health', { headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('the token and login endpoints are rate limited', async () => {
    const limited = await listen(harness.createApp({ auth: { ...harness.config.auth, rateLimitPerMinute: 3 } }), '127.0.0.1', 0);
    servers.push(limited);
    const attempt = () => fetch(`${limited.url}/api/v1/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }) });
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await attempt()).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const login = await fetch(`${limited.url}/api/v1/login`, json({ username: 'a', password: 'b' }));
    expect(login.status).toBe(400);
    for (let i = 0; i < 3; i += 1) await fetch(`${limited.url}/api/v1/login`, json({ username: 'a', password: 'b' }));
    const blocked = await fetch(`${limited.url}/api/v1/login`, json({ username: 'a', password: 'b' }));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
