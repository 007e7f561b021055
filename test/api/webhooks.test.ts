/**
 * The webhook subscription API against the real Postgres, over real HTTP: create, list, read,
 * change, rotate and delete; secrets that are returned once (when generated) and never again, nor
 * logged, and stored encrypted; bad URLs, event types and secrets refused with 422 naming the
 * field and nothing stored; the scopes webhook:read and webhook:write enforced; deliveries listed
 * with their attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ApiServer } from '../../src/api/server.js';
import { decrypt } from '../../src/crypto.js';
import { enqueueWebhookEvent, recordDeliveryAttempt } from '../../src/db/webhooks.js';
import { createLogger } from '../../src/logger.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
let api: ApiServer;
const logLines: string[] = [];
const responses: string[] = [];
/** Every secret this file sends or is given: none may appear in a later response or a log line. */
const secrets: string[] = [];

const GIVEN_SECRET = `whsec_${Buffer.from('a given secret of thirty-two byt').toString('base64')}`;

beforeAll(async () => {
  harness = await createHarness({ example: false });
  const app = harness.createApp({ logger: createLogger('api', 'debug', (line) => logLines.push(line)) });
  api = await listen(app, '127.0.0.1', 0);
});
afterAll(async () => {
  await api?.close();
  await harness?.close();
});

interface Answer<T = any> {
  status: number;
  body: T;
}

async function call<T = any>(method: string, path: string, body?: unknown, token = harness.token): Promise<Answer<T>> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  const response = await fetch(`${api.url}/api/v1${path}`, init);
  const text = await response.text();
  responses.push(`${method} ${path} ${response.status} ${text}`);
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const locs = (answer: Answer) => (answer.body.detail as { loc: unknown[] }[]).map((detail) => detail.loc);

async function counts() {
  const [row] = await harness.sql<{ subscriptions: number; changes: number }[]>`
    select (select count(*)::int from webhook_subscription) as subscriptions,
           (select count(*)::int from configuration_change where resource like 'webhook%') as changes`;
  return row!;
}

describe('subscriptions', () => {
  let id: string;
  let generated: string;

  it('creates one with a generated secret, returned once', async () => {
    const created = await call('POST', '/webhook', { url: 'https://hooks.example.com/dsrflow?token=abc', event_types: ['request.completed', 'request.errored', 'request.completed'], description: 'Ticketing' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: 'https://hooks.example.com/dsrflow?token=abc',
      event_types: ['request.completed', 'request.errored'],
      description: 'Ticketing',
      enabled: true,
      secret_configured: true,
    });
    expect(created.body.id).toMatch(/^whk_[0-9a-f-]{36}$/);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    id = created.body.id;
    generated = created.body.secret;
    secrets.push(generated);
    // Stored encrypted, bound to the subscription.
    const [row] = await harness.sql<{ secret_encrypted: Buffer }[]>`select secret_encrypted from webhook_subscription where id = ${id}`;
    expect(row!.secret_encrypted.toString('latin1')).not.toContain(generated);
    expect(decrypt(harness.encryptionKey, row!.secret_encrypted, `webhook-secret:${id}`)).toBe(generated);
    const [change] = await harness.sql<{ change: string; actor: string }[]>`select change, actor from configuration_change where resource = 'webhook' and key = ${id}`;
    expect(change).toEqual({ change: 'created', actor: `client:${harness.root.id}` });
  });

  it('never returns the secret again', async () => {
    const one = await call('GET', `/webhook/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.secret).toBeUndefined();
    expect(one.body.secret_configured).toBe(true);
    const list = await call('GET', '/webhook');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 1, page: 1, pages: 1 });
    expect(list.body.items[0].id).toBe(id);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
  });

  it('creates one with a given secret, which is not echoed', async () => {
    secrets.push(GIVEN_SECRET);
    const created = await call('POST', '/webhook', { url: 'http://127.0.0.1:9/hook', event_types: ['request.received'], secret: GIVEN_SECRET, enabled: false });
    expect(created.status).toBe(201);
    expect(created.body.secret).toBeUndefined();
    expect(created.body.enabled).toBe(false);
    const [row] = await harness.sql<{ secret_encrypted: Buffer }[]>`select secret_encrypted from webhook_subscription where id = ${created.body.id}`;
    expect(decrypt(harness.encryptionKey, row!.secret_encrypted, `webhook-secret:${created.body.id}`)).toBe(GIVEN_SECRET);
    expect((await call('GET', '/webhook?size=1&page=2')).body).toMatchObject({ total: 2, size: 1, page: 2, pages: 2 });
    expect((await call('DELETE', `/webhook/${created.body.id}`)).status).toBe(204);
  });

  it('changes fields one at a time, keeping the others', async () => {
    const patched = await call('PATCH', `/webhook/${id}`, { enabled: false, description: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, enabled: false, description: null, url: 'https://hooks.example.com/dsrflow?token=abc', event_types: ['request.completed', 'request.errored'] });
    expect(patched.body.secret).toBeUndefined();
    const again = await call('PATCH', `/webhook/${id}`, { url: 'https://other.example.com/hook', event_types: ['request.overdue'], enabled: true });
    expect(again.body).toMatchObject({ url: 'https://other.example.com/hook', event_types: ['request.overdue'], enabled: true, description: null });
  });

  it('rotates the secret: generated (returned once) or given (not echoed)', async () => {
    const rotated = await call('PATCH', `/webhook/${id}`, { rotate_secret: true });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(generated);
    secrets.push(rotated.body.secret);
    const read = async () => {
      const [row] = await harness.sql<{ secret_encrypted: Buffer }[]>`select secret_encrypted from webhook_subscription where id = ${id}`;
      return decrypt(harness.encryptionKey, row!.secret_encrypted, `webhook-secret:${id}`);
    };
    expect(await read()).toBe(rotated.body.secret);
    const given = await call('PATCH', `/webhook/${id}`, { secret: GIVEN_SECRET });
    expect(given.status).toBe(200);
    expect(given.body.secret).toBeUndefined();
    expect(await read()).toBe(GIVEN_SECRET);
    const changes = await harness.sql<{ change: string }[]>`select change from configuration_change where resource = 'webhook_secret' and key = ${id} order by id`;
    expect(changes.map((change) => change.change)).toEqual(['secret_rotated', 'secret_rotated']);
    const both = await call('PATCH', `/webhook/${id}`, { secret: GIVEN_SECRET, rotate_secret: true });
    expect(both.status).toBe(422);
    expect(locs(both)).toEqual([['body', 'rotate_secret']]);
  });

  it('refuses bad URLs, event types and secrets with 422 naming the field, and stores nothing', async () => {
    const before = await counts();
    const cases: [unknown, unknown[]][] = [
      [{ url: 'ftp://example.com/hook', event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: 'javascript:alert(1)', event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: 'https://', event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: 'http:/example.com/hook', event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: 'https://user:password@example.com/hook', event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: 'https://example.com/\u0000hook', event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: `https://example.com/${'x'.repeat(2048)}`, event_types: ['request.completed'] }, ['body', 'url']],
      [{ url: 'https://example.com/hook', event_types: ['request.completed', 'request.exploded'] }, ['body', 'event_types', 1]],
      [{ url: 'https://example.com/hook', event_types: [] }, ['body', 'event_types']],
      [{ url: 'https://example.com/hook' }, ['body', 'event_types']],
      [{ url: 'https://example.com/hook', event_types: ['request.completed'], secret: 'not-a-secret' }, ['body', 'secret']],
      [{ url: 'https://example.com/hook', event_types: ['request.completed'], secret: `whsec_${Buffer.alloc(16, 7).toString('base64')}` }, ['body', 'secret']],
      [{ url: 'https://example.com/hook', event_types: ['request.completed'], secret_configured: true }, ['body']],
    ];
    for (const [body, loc] of cases) {
      const answer = await call('POST', '/webhook', body);
      expect(answer.status, JSON.stringify(body).slice(0, 100)).toBe(422);
      expect(locs(answer), JSON.stringify(body).slice(0, 100)).toContainEqual(loc);
    }
    const unknownType = await call('POST', '/webhook', { url: 'https://example.com/hook', event_types: ['request.completed', 'request.exploded'] });
    expect(unknownType.body.message).toContain('body.event_types[1]');
    // The same checks on PATCH, which changes nothing either.
    for (const [body, loc] of [
      [{ url: 'ftp://example.com/hook' }, ['body', 'url']],
      [{ event_types: ['request.nope'] }, ['body', 'event_types', 0]],
      [{ secret: 'whsec_short' }, ['body', 'secret']],
      [{ rotate_secret: false }, ['body', 'rotate_secret']],
    ] as [unknown, unknown[]][]) {
      const answer = await call('PATCH', `/webhook/${id}`, body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(locs(answer)).toContainEqual(loc);
    }
    expect(await counts()).toEqual(before);
    expect((await call('GET', `/webhook/${id}`)).body).toMatchObject({ url: 'https://other.example.com/hook', event_types: ['request.overdue'] });
  });

  it('answers 404 for an unknown subscription', async () => {
    const missing = 'whk_00000000-0000-0000-0000-000000000000';
    expect((await call('GET', `/webhook/${missing}`)).status).toBe(404);
    expect((await call('PATCH', `/webhook/${missing}`, { enabled: false })).status).toBe(404);
    expect((await call('DELETE', `/webhook/${missing}`)).status).toBe(404);
    expect((await call('GET', `/webhook/${missing}/delivery`)).status).toBe(404);
  });

  it('enforces webhook:read and webhook:write', async () => {
    const reader = await harness.tokenFor(['webhook:read']);
    const writerOnly = await harness.tokenFor(['webhook:write']);
    const nothing = await harness.tokenFor(['policy:read']);
    const before = await counts();
    expect((await call('POST', '/webhook', { url: 'https://example.com/hook', event_types: ['request.completed'] }, reader)).status).toBe(403);
    expect((await call('PATCH', `/webhook/${id}`, { enabled: false }, reader)).status).toBe(403);
    expect((await call('DELETE', `/webhook/${id}`, undefined, reader)).status).toBe(403);
    expect((await call('GET', '/webhook', undefined, writerOnly)).status).toBe(403);
    expect((await call('GET', `/webhook/${id}/delivery`, undefined, nothing)).status).toBe(403);
    expect((await call('GET', `/webhook/${id}`, undefined, nothing)).status).toBe(403);
    expect(await counts()).toEqual(before);
    expect((await call('GET', `/webhook/${id}`, undefined, reader)).status).toBe(200);
    expect((await call('GET', `/webhook/${id}/delivery`, undefined, reader)).status).toBe(200);
    // A viewer (a person who reads configuration) may read, not write.
    const viewer = await harness.userToken('webhook-viewer', ['viewer']);
    expect((await call('GET', '/webhook', undefined, viewer)).status).toBe(200);
    expect((await call('POST', '/webhook', { url: 'https://example.com/hook', event_types: ['request.completed'] }, viewer)).status).toBe(403);
  });

  it('lists deliveries with their attempts, newest first, filtered by status', async () => {
    await harness.sql`insert into privacy_request (id, status, policy_key, action_types) values ('pri_webhook_api', 'pending', 'none', '{access}')`;
    const first = await enqueueWebhookEvent(harness.sql, { id: 'pri_webhook_api:overdue:1', type: 'request.overdue', privacyRequestId: 'pri_webhook_api', occurredAt: new Date().toISOString(), data: { status: 'pending' } });
    expect(first).toHaveLength(1);
    // Idempotent on the event id.
    expect(await enqueueWebhookEvent(harness.sql, { id: 'pri_webhook_api:overdue:1', type: 'request.overdue', privacyRequestId: 'pri_webhook_api', occurredAt: new Date().toISOString(), data: {} })).toEqual([]);
    // Nobody wants this type.
    expect(await enqueueWebhookEvent(harness.sql, { id: 'pri_webhook_api:received:1', type: 'request.received', privacyRequestId: 'pri_webhook_api', occurredAt: new Date().toISOString(), data: {} })).toEqual([]);
    await expect(enqueueWebhookEvent(harness.sql, { id: 'x', type: 'request.overdue', privacyRequestId: 'pri_webhook_api', occurredAt: new Date().toISOString(), data: { email: 'a@example.com' } })).rejects.toThrow(/identity/);
    const second = await enqueueWebhookEvent(harness.sql, { id: 'pri_webhook_api:overdue:2', type: 'request.overdue', privacyRequestId: 'pri_webhook_api', occurredAt: new Date().toISOString(), data: { status: 'pending' } });
    await recordDeliveryAttempt(harness.sql, first[0]!, { statusCode: 503, error: 'the receiver answered 503', durationMs: 12, status: 'pending' });
    await recordDeliveryAttempt(harness.sql, first[0]!, { statusCode: 200, error: null, durationMs: 8, status: 'delivered' });

    const page = await call('GET', `/webhook/${id}/delivery`);
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(2);
    expect(page.body.items.map((item: { id: string }) => item.id)).toEqual([second[0], first[0]]);
    const delivered = page.body.items[1];
    expect(delivered).toMatchObject({ event_id: 'pri_webhook_api:overdue:1', event_type: 'request.overdue', privacy_request_id: 'pri_webhook_api', status: 'delivered', attempts: 2, last_status_code: 200 });
    expect(delivered.body).toMatchObject({ type: 'request.overdue', data: { privacy_request_id: 'pri_webhook_api', status: 'pending' } });
    expect(delivered.attempt_log.map((attempt: { attempt: number; status_code: number }) => [attempt.attempt, attempt.status_code])).toEqual([
      [1, 503],
      [2, 200],
    ]);
    expect(delivered.delivered_at).not.toBeNull();
    const pending = await call('GET', `/webhook/${id}/delivery?status=pending`);
    expect(pending.body.items.map((item: { id: string }) => item.id)).toEqual(second);
    expect((await call('GET', `/webhook/${id}/delivery?status=lost`)).status).toBe(422);
  });

  it('deletes a subscription with its deliveries', async () => {
    expect((await call('DELETE', `/webhook/${id}`)).status).toBe(204);
    expect((await call('GET', `/webhook/${id}`)).status).toBe(404);
    const [row] = await harness.sql<{ count: number }[]>`select count(*)::int as count from webhook_delivery`;
    expect(row!.count).toBe(0);
    const changes = await harness.sql<{ change: string }[]>`select change from configuration_change where resource = 'webhook' and key = ${id} order by id`;
    expect(changes.map((change) => change.change)).toEqual(['created', 'updated', 'updated', 'deleted']);
  });

  it('never put a secret in a later response or in a log line', () => {
    expect(logLines.some((line) => line.includes('Webhook subscription created'))).toBe(true);
    for (const secret of secrets) {
      const bare = secret.slice('whsec_'.length);
      expect(logLines.filter((line) => line.includes(bare))).toEqual([]);
      // A secret appears in exactly the one answer that generated it (given ones: in none).
      expect(responses.filter((response) => response.includes(bare) && !response.startsWith('POST /webhook 201') && !response.startsWith('PATCH'))).toEqual([]);
    }
    expect(responses.filter((response) => response.includes(GIVEN_SECRET.slice(6)) && / 20\d /.test(response))).toEqual([]);
  });
});
