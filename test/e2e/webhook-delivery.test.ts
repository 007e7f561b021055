/**
 * Webhook deliveries end to end: a subscription made through the API, events written to the
 * outbox (enqueueWebhookEvent), a `webhookDelivery` workflow per delivery on the harness's worker,
 * and a real HTTP receiver on 127.0.0.1 that checks every signature with our `verify`.
 *
 * (a) A delivery arrives once, signed, with a body that carries no identity value.
 * (b) The receiver is down for a minute (answering 503, then not listening at all): every event
 *     arrives once it is back, each webhook-id accepted exactly once, every attempt recorded with
 *     the receiver's status code or the connection error.
 * And: a host outside DSRFLOW_WEBHOOK_ALLOW is refused without a request or a retry; a delivery
 * whose time runs out is marked failed with the last error.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryAttempts, enqueueWebhookEvent, getDelivery, type WebhookEvent } from '../../src/db/webhooks.js';
import { startWebhookDeliveries } from '../../src/webhooks/start.js';
import { verify } from '../../src/webhooks/signature.js';
import { webhookDeliveryWorkflowId, type WebhookDeliveryOutcome } from '../../workflows/webhook-delivery.js';
import { createHarness, type Harness } from '../support/harness.js';

interface Received {
  id: string;
  status: number;
  verified: boolean;
  body: string;
  headers: IncomingHttpHeaders;
}

/** An HTTP receiver that verifies each request, answering `answer` (200 by default). */
class Receiver {
  received: Received[] = [];
  answer = 200;
  secret = '';
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let verified = false;
        try {
          verify(this.secret, body, request.headers as Record<string, string>);
          verified = true;
        } catch {
          verified = false;
        }
        const status = verified ? this.answer : 401;
        this.received.push({ id: String(request.headers['webhook-id']), status, verified, body, headers: request.headers });
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'not now');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops listening: connections are refused until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url() {
    return `http://127.0.0.1:${this.port}/hooks/dsrflow`;
  }

  accepted(): Received[] {
    return this.received.filter((entry) => entry.status >= 200 && entry.status < 300);
  }
}

let harness: Harness;
const receiver = new Receiver();
let subscriptionId: string;

const settings = { maxRetryIntervalMs: 5_000, retryForMs: 10 * 60_000 };

async function insertRequest(): Promise<string> {
  const id = `pri_${randomUUID()}`;
  await harness.sql`insert into privacy_request (id, status, policy_key, action_types) values (${id}, 'in_processing', 'default_access_policy', '{access}')`;
  return id;
}

async function subscribe(url: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
  const response = await harness.postJson('/api/v1/webhook', { url, event_types: eventTypes, description: 'e2e receiver' });
  const body = (await response.json()) as { id: string; secret: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

/** Enqueues the event and starts its deliveries' workflows; answers the delivery ids. */
async function send(event: WebhookEvent, options: typeof settings = settings): Promise<string[]> {
  const ids = await enqueueWebhookEvent(harness.sql, event);
  await startWebhookDeliveries(harness.client, { taskQueue: harness.config.temporal.taskQueue, settings: options }, ids);
  return ids;
}

const outcome = (deliveryId: string) => harness.client.workflow.getHandle(webhookDeliveryWorkflowId(deliveryId)).result() as Promise<WebhookDeliveryOutcome>;

beforeAll(async () => {
  harness = await createHarness({
    example: false,
    env: { DSRFLOW_WEBHOOK_TIMEOUT: '2s', DSRFLOW_WEBHOOK_ALLOW: '127.0.0.1' },
    // Failed attempts are what this file is about: the SDK's warning for each one would drown the output.
    runtimeLogger: new DefaultLogger('WARN', (entry) => {
      if (entry.message === 'Activity failed' && entry.meta?.activityType === 'deliverWebhook') return;
      console.warn(`${entry.level} ${entry.message}`, entry.meta ?? '');
    }),
  });
  await harness.startWorker();
  await receiver.start();
  const subscription = await subscribe(receiver.url, ['request.completed', 'request.received']);
  subscriptionId = subscription.id;
  receiver.secret = subscription.secret;
}, 120_000);

afterAll(async () => {
  await receiver.stop();
  await harness?.close();
});

// Side by side: the minute-long outage of (b) overlaps the others (each has its own event types).
describe.concurrent('webhook deliveries', () => {
  it('(a) delivers once, signed, with no identity in the body', async () => {
    const requestId = await insertRequest();
    const occurredAt = new Date().toISOString();
    const [deliveryId, ...others] = await send({ id: `${requestId}:completed:1`, type: 'request.completed', privacyRequestId: requestId, occurredAt, data: { status: 'complete', policy_key: 'default_access_policy' } });
    expect(others).toEqual([]);
    expect(await outcome(deliveryId!)).toEqual({ status: 'delivered' });

    const got = receiver.received.filter((entry) => entry.id === deliveryId);
    expect(got).toHaveLength(1);
    const [message] = got;
    expect(message!.verified).toBe(true);
    expect(message!.headers['content-type']).toBe('application/json');
    expect(message!.headers['user-agent']).toMatch(/^dsrflow-webhooks\//);
    expect(Number(message!.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -2);
    const body = JSON.parse(message!.body);
    expect(body).toEqual({ type: 'request.completed', timestamp: occurredAt, data: { privacy_request_id: requestId, status: 'complete', policy_key: 'default_access_policy' } });
    expect(message!.body).not.toMatch(/@|email|phone|identit/i);
    // Signed with another secret, it would not verify.
    expect(() => verify(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, message!.body, message!.headers as Record<string, string>)).toThrow();

    const delivery = await getDelivery(harness.sql, deliveryId!);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200, last_error: null });
    expect((await deliveryAttempts(harness.sql, deliveryId!)).map((attempt) => [attempt.attempt, attempt.status_code, attempt.error])).toEqual([[1, 200, null]]);

    // The same event again adds nothing; running the delivery's workflow again sends nothing.
    expect(await send({ id: `${requestId}:completed:1`, type: 'request.completed', privacyRequestId: requestId, occurredAt, data: { status: 'complete' } })).toEqual([]);
    await startWebhookDeliveries(harness.client, { taskQueue: harness.config.temporal.taskQueue, settings }, [deliveryId!]);
    expect(await outcome(deliveryId!)).toEqual({ status: 'delivered' });
    expect(receiver.received.filter((entry) => entry.id === deliveryId)).toHaveLength(1);

    // The API shows it, with its attempt.
    const page = (await (await harness.fetch(`/api/v1/webhook/${subscriptionId}/delivery`)).json()) as { items: { id: string; attempt_log: { status_code: number }[] }[] };
    expect(page.items.find((item) => item.id === deliveryId)?.attempt_log.map((attempt) => attempt.status_code)).toEqual([200]);
  });

  it('refuses a host outside DSRFLOW_WEBHOOK_ALLOW without sending or retrying', async () => {
    const refused = await subscribe(`http://localhost:${receiver.port}/hooks/dsrflow`, ['request.denied']);
    const requestId = await insertRequest();
    const [deliveryId] = await send({ id: `${requestId}:denied:1`, type: 'request.denied', privacyRequestId: requestId, occurredAt: new Date().toISOString(), data: { status: 'denied' } });
    expect(await outcome(deliveryId!)).toEqual({ status: 'failed' });
    expect(receiver.received.filter((entry) => entry.id === deliveryId)).toEqual([]);
    const delivery = await getDelivery(harness.sql, deliveryId!);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 0 });
    expect(delivery!.last_error).toMatch(/localhost is not allowed by DSRFLOW_WEBHOOK_ALLOW/);
    const history = await harness.client.workflow.getHandle(webhookDeliveryWorkflowId(deliveryId!)).fetchHistory();
    const failures = (history.events ?? []).filter((event) => event.activityTaskFailedEventAttributes);
    expect(failures).toHaveLength(1); // not retried
    expect((await harness.fetch(`/api/v1/webhook/${refused.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('gives a delivery up when its time runs out, keeping the last error', async () => {
    const closed = new Receiver();
    await closed.start();
    const url = closed.url;
    await closed.stop(); // nothing listens there now
    const dead = await subscribe(url, ['request.paused']);
    const requestId = await insertRequest();
    const [deliveryId] = await send({ id: `${requestId}:paused:1`, type: 'request.paused', privacyRequestId: requestId, occurredAt: new Date().toISOString(), data: { status: 'paused' } }, { maxRetryIntervalMs: 1_000, retryForMs: 3_000 });
    expect(await outcome(deliveryId!)).toEqual({ status: 'failed' });
    const delivery = await getDelivery(harness.sql, deliveryId!);
    expect(delivery!.status).toBe('failed');
    expect(delivery!.attempts).toBeGreaterThanOrEqual(2);
    expect(delivery!.last_status_code).toBeNull();
    expect(delivery!.last_error).toMatch(/ECONNREFUSED/);
    const attempts = await deliveryAttempts(harness.sql, deliveryId!);
    expect(attempts).toHaveLength(delivery!.attempts);
    expect(attempts.every((attempt) => attempt.status_code === null && /ECONNREFUSED/.test(attempt.error ?? ''))).toBe(true);
    expect((await harness.fetch(`/api/v1/webhook/${dead.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('(b) delivers every event exactly once after the receiver was down for a minute', async () => {
    // A receiver of its own, for event types of its own: the tests of this file run side by side.
    const receiver = new Receiver();
    await receiver.start();
    const subscription = await subscribe(receiver.url, ['request.due_soon', 'request.overdue']);
    receiver.secret = subscription.secret;
    const port = receiver.port;
    receiver.answer = 503;
    const startedAt = Date.now();
    const deliveryIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const requestId = await insertRequest();
      const at = new Date().toISOString();
      deliveryIds.push(...(await send({ id: `${requestId}:due_soon:1`, type: 'request.due_soon', privacyRequestId: requestId, occurredAt: at, data: { status: 'pending', due_at: null } })));
      deliveryIds.push(...(await send({ id: `${requestId}:overdue:1`, type: 'request.overdue', privacyRequestId: requestId, occurredAt: at, data: { status: 'pending' } })));
    }
    expect(deliveryIds).toHaveLength(6);
    const outcomes = Promise.all(deliveryIds.map(outcome));

    // 30 s answering 503, then 30 s not listening at all.
    await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() - startedAt)));
    await receiver.stop();
    await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() - startedAt)));
    const backAt = Date.now();
    receiver.answer = 200;
    await receiver.start(port);

    expect(await outcomes).toEqual(deliveryIds.map(() => ({ status: 'delivered' })));
    // The backoff is capped at 5 s: everything arrives soon after the receiver is back.
    expect(Date.now() - backAt).toBeLessThan(15_000);

    // Each webhook-id accepted exactly once, every request signed correctly.
    const mine = receiver.received.filter((entry) => deliveryIds.includes(entry.id));
    expect(mine.every((entry) => entry.verified)).toBe(true);
    const accepted = receiver.accepted().filter((entry) => deliveryIds.includes(entry.id));
    expect(accepted.map((entry) => entry.id).sort()).toEqual([...deliveryIds].sort());
    // While down, it saw (and refused) attempts of every delivery.
    for (const id of deliveryIds) expect(mine.filter((entry) => entry.id === id && entry.status === 503).length, id).toBeGreaterThanOrEqual(2);

    for (const id of deliveryIds) {
      const delivery = await getDelivery(harness.sql, id);
      const attempts = await deliveryAttempts(harness.sql, id);
      expect(delivery, id).toMatchObject({ status: 'delivered', last_status_code: 200, attempts: attempts.length });
      expect(attempts.map((attempt) => attempt.attempt)).toEqual(attempts.map((_, index) => index + 1));
      const codes = attempts.map((attempt) => attempt.status_code);
      expect(codes.at(-1)).toBe(200);
      expect(codes.filter((code) => code === 200)).toHaveLength(1);
      expect(codes.filter((code) => code === 503).length).toBeGreaterThanOrEqual(2);
      // While nothing listened: no status, the connection error.
      const refused = attempts.filter((attempt) => attempt.status_code === null);
      expect(refused.length, id).toBeGreaterThanOrEqual(1);
      expect(refused.every((attempt) => /ECONNREFUSED/.test(attempt.error ?? ''))).toBe(true);
      expect(attempts.filter((attempt) => attempt.status_code === 503).every((attempt) => attempt.error === 'the receiver answered 503')).toBe(true);
      // What the receiver saw matches what was recorded.
      expect(mine.filter((entry) => entry.id === id).map((entry) => entry.status)).toEqual(codes.filter((code) => code !== null));
    }
    await receiver.stop();
  }, 120_000);
});
