/**
 * Deadlines, verification, extensions, legal holds and duplicates, end to end: real Temporal,
 * Postgres, an SMTP server and a webhook receiver on loopback. The law's periods (a month, 45
 * days) are replaced by seconds through configuration (DSRFLOW_RESPONSE_PERIOD…), so the
 * workflow's durable timers fire within the test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/api/server.js';
import { temporalAddress } from '../../src/config.js';
import type { Policy } from '../../src/domain/policies.js';
import { verify } from '../../src/webhooks/signature.js';
import { createHarness, erasurePolicy, eventually, type Harness } from '../support/harness.js';

const EMAIL = 'customer-1@example.com';
const PERIOD_MS = 8_000;

/** Every message the SMTP server accepts, parsed. */
const mails: ParsedMail[] = [];
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  logger: false,
  onData(stream, _session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      void simpleParser(Buffer.concat(chunks)).then((mail) => mails.push(mail));
      callback();
    });
  },
});

/** Every webhook the receiver got, verified with the subscription's secret. */
interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  raw: string;
}
const events: Received[] = [];
let secret = '';
const receiver: Server = createServer((request: IncomingMessage, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const headers = new Headers(Object.entries(request.headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value] as [string, string]] : [])));
    try {
      const { id } = verify(secret, raw, headers);
      const body = JSON.parse(raw) as { type: string; data: Record<string, unknown> };
      events.push({ id, type: body.type, data: body.data, raw });
      response.writeHead(204).end();
    } catch {
      response.writeHead(400).end();
    }
  });
});

let harness: Harness;
beforeAll(async () => {
  // A client that dies resets its connection; smtp-server emits that as an 'error', which unheard ends the process.
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  harness = await createHarness({
    env: {
      DSRFLOW_SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
      DSRFLOW_MESSAGE_FROM: 'Privacy team <privacy@dsrflow.test>',
      DSRFLOW_RESPONSE_PERIOD: `${PERIOD_MS}ms`,
      DSRFLOW_EXTENSION_PERIOD: `${PERIOD_MS}ms`,
      // Reminders 4 s and 2 s before the due date: 4 s and 6 s after receipt (a reminder whose
      // time passed before the plan is not sent, so the first leaves the plan some seconds).
      DSRFLOW_DEADLINE_REMINDERS: '4s,2s',
      // Long enough to read the code and try a few on a busy machine.
      DSRFLOW_VERIFICATION_TTL: '6s',
      DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL: '2s',
    },
  });
  await harness.startWorker();
  const subscribed = await harness.postJson('/api/v1/webhook', {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    event_types: ['request.received', 'request.verified', 'request.approved', 'request.denied', 'request.completed', 'request.extended', 'request.due_soon', 'request.overdue', 'request.paused'],
  });
  expect(subscribed.status).toBe(201);
  secret = ((await subscribed.json()) as { secret: string }).secret;
  await harness.savePolicy(reviewed('reviewed_access', {}));
  await harness.savePolicy(reviewed('reviewed_lgpd', { regulation: 'lgpd' }));
  await harness.savePolicy({ ...reviewed('verified_access', { requires_identity_verification: true }), requires_approval: false });
});

afterAll(async () => {
  await harness?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await new Promise((resolve) => receiver.close(resolve));
});

/** An access policy whose requests wait for review: they stay open while the timers run. */
function reviewed(key: string, extra: Partial<Policy>): Policy {
  return {
    key,
    name: key,
    requires_approval: true,
    requires_erasure_confirmation: false,
    ...extra,
    rules: [{ key: 'access_all', name: 'Access all', action_type: 'access', masking_strategy: null, targets: [{ key: 'user', data_category: 'user' }] }],
  };
}

/** approve and deny take a list of ids, by PATCH. */
const administrate = (action: 'approve' | 'deny', body: Record<string, unknown>) =>
  harness.fetch(`/api/v1/privacy-request/administrate/${action}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const mailsOf = (id: string, type: string) => mails.filter((mail) => mail.headers.get('x-dsrflow-message-type') === type && (mail.text ?? '').includes(id));
const eventsOf = (id: string) => events.filter((event) => event.data.privacy_request_id === id);
const audits = (id: string) => harness.sql<{ action: string; message: string | null; created_at: Date }[]>`select action, message, created_at from audit_log where privacy_request_id = ${id} order by id`;

/** Timers the workflow started, fired and canceled, from its history. */
async function timers(id: string) {
  const history = await harness.handle(id).fetchHistory();
  const count = (type: string) => (history.events ?? []).filter((event) => event.eventType === (type as never)).length;
  // EventType numbers: TIMER_STARTED 17, TIMER_FIRED 18, TIMER_CANCELED 19.
  return { started: count(17 as never), fired: count(18 as never), canceled: count(19 as never) };
}

// The requests of a file's tests are independent (their messages and events are told apart by
// request id): they run at the same time, so their timers overlap instead of adding up.
describe.concurrent('a request with a due date', () => {
  it('shows its regulation, due date and days left, and fires reminders and the overdue notice from durable timers', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity: { email: EMAIL }, regulation: 'ccpa' });
    const shown = await harness.request(id);
    expect(shown).toMatchObject({ regulation: 'ccpa', status: 'pending', extended_due_at: null, days_left: 1, legal_hold: false });
    const receivedAt = Date.parse(shown.created_at as string);
    expect(Date.parse(shown.due_at as string) - receivedAt).toBe(PERIOD_MS);
    // CCPA: confirm receipt within 10 business days (the override replaces the period, not this).
    expect(Date.parse(shown.acknowledge_by as string) - receivedAt).toBeGreaterThan(12 * 86_400_000);

    // Two reminders, then overdue: each an audit row and a signed webhook.
    await eventually(async () => ((await audits(id)).some((row) => row.action === 'overdue') ? true : undefined), { what: 'the overdue audit row', timeoutMs: 20_000 });
    const rows = await audits(id);
    expect(rows.filter((row) => row.action === 'due_soon')).toHaveLength(2);
    const overdueAt = rows.find((row) => row.action === 'overdue')!.created_at.getTime();
    expect(overdueAt).toBeGreaterThanOrEqual(Date.parse(shown.due_at as string));
    await eventually(async () => (eventsOf(id).some((event) => event.type === 'request.overdue') ? true : undefined), { what: 'the overdue webhook' });
    expect(eventsOf(id).map((event) => event.type)).toEqual(['request.received', 'request.due_soon', 'request.due_soon', 'request.overdue']);
    for (const event of eventsOf(id)) {
      expect(event.data).toMatchObject({ privacy_request_id: id, regulation: 'ccpa', status: 'pending', due_at: shown.due_at });
      // Ids, statuses and times: never the person.
      expect(event.raw).not.toContain(EMAIL);
    }
    expect(new Set(eventsOf(id).map((event) => event.id)).size).toBe(4);

    // Listed as overdue, and in the CSV with its deadline columns.
    const overdue = (await (await harness.fetch('/api/v1/privacy-request?overdue=true&size=50')).json()) as { items: { id: string; days_left: number }[] };
    expect(overdue.items.find((item) => item.id === id)?.days_left).toBe(-1);
    const csv = await (await harness.fetch(`/api/v1/privacy-request?request_id=${id}&download_csv=true`)).text();
    const [header, line] = csv.trim().split('\r\n');
    expect(header).toContain('regulation,due_at,extended_due_at,acknowledge_by');
    expect(line).toContain(`,ccpa,${shown.due_at as string},`);

    // Approved late, it completes: the timers are spent, the person gets the receipt and the completion.
    expect((await administrate('approve', { request_ids: [id] })).status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    await eventually(async () => (mailsOf(id, 'completion').length ? true : undefined), { what: 'the completion message' });
    expect(mailsOf(id, 'receipt')).toHaveLength(1);
    expect(mailsOf(id, 'completion')).toHaveLength(1);
    expect(mailsOf(id, 'receipt')[0]!.to).toMatchObject({ text: EMAIL });
    await eventually(async () => (eventsOf(id).some((event) => event.type === 'request.completed') ? true : undefined), { what: 'the completed webhook' });
    expect(eventsOf(id).map((event) => event.type).slice(4)).toEqual(['request.approved', 'request.completed']);
    expect(await timers(id)).toEqual({ started: 3, fired: 3, canceled: 0 });
  });

  it('cancels its timers when it finishes before the due date', async () => {
    const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: EMAIL } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    // Two reminders and the overdue notice share one Temporal timer, armed for the earliest: the
    // finish canceled it (a reminder may have fired first on a slow machine), none is left.
    const counted = await timers(id);
    expect(counted.started).toBeGreaterThanOrEqual(1);
    expect(counted.fired + counted.canceled).toBe(counted.started);
    expect(counted.canceled).toBe(1);
    expect((await audits(id)).map((row) => row.action)).not.toContain('overdue');
    expect((await harness.request(id)).days_left).toBeNull();
  });

  it('is extended once, before it is due, with a reason the person is told; the timers move', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity: { email: EMAIL } });
    // A second request, left to pass its due date while the first is extended (asked to extend at the end).
    const late = await harness.submit({ policy_key: 'reviewed_access', identity: { email: EMAIL } });
    const before = await harness.request(id);
    expect(before.regulation).toBe('gdpr');
    // Planned, its timers running (an extension asked for before the plan waits for it).
    await harness.waitUntilIdle(id);
    const extended = await harness.postJson(`/api/v1/privacy-request/${id}/extend`, { reason: 'The request covers many systems' });
    expect(extended.status, await extended.clone().text()).toBe(200);
    const after = (await extended.json()) as Record<string, string>;
    expect(Date.parse(after.extended_due_at!) - Date.parse(before.due_at as string)).toBe(PERIOD_MS);
    expect(after).toMatchObject({ due_at: before.due_at, extension_reason: 'The request covers many systems' });

    // A second extension is refused and changes nothing.
    const again = await harness.postJson(`/api/v1/privacy-request/${id}/extend`, { reason: 'more' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/already extended once/);
    expect(await harness.postJson(`/api/v1/privacy-request/${id}/extend`, {})).toHaveProperty('status', 422);
    expect((await harness.request(id)).extended_due_at).toBe(after.extended_due_at);

    // The overdue notice comes at the new date, not the old one.
    await eventually(async () => ((await audits(id)).some((row) => row.action === 'overdue') ? true : undefined), { what: 'the overdue audit row', timeoutMs: 25_000 });
    const rows = await audits(id);
    expect(rows.find((row) => row.action === 'overdue')!.created_at.getTime()).toBeGreaterThanOrEqual(Date.parse(after.extended_due_at!));
    expect(rows.filter((row) => row.action === 'extended')).toHaveLength(1);
    expect(rows.filter((row) => row.action === 'action_rejected')).toHaveLength(1);
    await eventually(async () => (mailsOf(id, 'extension').length ? true : undefined), { what: 'the extension message' });
    expect(mailsOf(id, 'extension')[0]!.text).toContain('The request covers many systems');
    await eventually(async () => (eventsOf(id).some((event) => event.type === 'request.overdue') ? true : undefined), { what: 'the overdue webhook' });
    expect(eventsOf(id).find((event) => event.type === 'request.extended')?.data).toMatchObject({ extended_due_at: after.extended_due_at, due_at: after.extended_due_at });
    // The extension moved the timer from the first due date's next notice to the new date's first
    // (on a slow machine a first reminder may have fired already); the new date's three fired.
    const counted = await timers(id);
    expect(counted.fired + counted.canceled).toBe(counted.started);
    expect(counted.canceled).toBe(1);
    expect(counted.fired).toBeGreaterThanOrEqual(3);

    // Past the due date: no extension.
    await eventually(async () => ((await audits(late)).some((row) => row.action === 'overdue') ? true : undefined), { what: 'overdue', timeoutMs: 20_000 });
    const refused = await harness.postJson(`/api/v1/privacy-request/${late}/extend`, { reason: 'too late' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/has passed/);
    for (const open of [id, late]) await administrate('deny', { request_ids: [open], reason: 'test over' });
  });

  it('refuses an extension where the law allows none (LGPD)', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_lgpd', identity: { email: EMAIL } });
    expect((await harness.request(id)).regulation).toBe('lgpd');
    const refused = await harness.postJson(`/api/v1/privacy-request/${id}/extend`, { reason: 'busy' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/LGPD allows no extension/);
    expect((await harness.request(id)).extended_due_at).toBeNull();
    await administrate('deny', { request_ids: [id], reason: 'test over' });
  });

  it('takes the extension as a Temporal signal too, validated the same way', async () => {
    const id = await harness.submit({ policy_key: 'reviewed_access', identity: { email: EMAIL } });
    await harness.waitUntilIdle(id);
    await harness.handle(id).signal('extend', { reason: '' });
    await eventually(async () => ((await audits(id)).find((row) => row.action === 'action_rejected')?.message ?? undefined) || undefined, { what: 'the rejection' });
    expect((await audits(id)).find((row) => row.action === 'action_rejected')!.message).toMatch(/^invalid extend: reason: a reason is required/);
    expect((await harness.request(id)).extended_due_at).toBeNull();
    await harness.handle(id).signal('extend', { reason: 'Backlog after a breach', user_id: 'ops-bot' });
    const extended = await eventually(async () => ((await harness.request(id)).extended_due_at as string | null) ?? undefined, { what: 'the extension' });
    expect(Date.parse(extended) - Date.parse((await harness.request(id)).due_at as string)).toBe(PERIOD_MS);
    await administrate('deny', { request_ids: [id], reason: 'test over' });
  });

  it('refuses an unknown regulation, and custom without days, naming the field; nothing is stored', async () => {
    const count = async () => (await harness.sql<{ n: number }[]>`select count(*)::int as n from privacy_request where external_id = 'bad-regulation'`)[0]!.n;
    const unknown = await harness.postJson('/api/v1/privacy-request', [{ external_id: 'bad-regulation', policy_key: 'reviewed_access', identity: { email: EMAIL }, regulation: 'pipeda' }]);
    expect(unknown.status).toBe(422);
    expect(JSON.stringify(await unknown.json())).toMatch(/regulation.*must be one of gdpr, ccpa/);
    const custom = await harness.postJson('/api/v1/privacy-request', [
      { external_id: 'bad-regulation', policy_key: 'reviewed_access', identity: { email: EMAIL }, regulation: 'custom' },
    ]);
    expect(custom.status).toBe(422);
    expect(JSON.stringify(await custom.json())).toMatch(/regulation.*custom_days/);
    expect(await count()).toBe(0);
  });
});

describe.concurrent('identity verification', () => {
  const codeOf = (id: string) => /\b(\d{6})\b/.exec(mailsOf(id, 'verification_code')[0]?.text ?? '')?.[1];
  const verifyCode = (id: string, code: string) => fetch(`${harness.api.url}/api/v1/privacy-request/${id}/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });

  it('starts unverified, mails a code, refuses a wrong one, and goes on with the right one', async () => {
    const id = await harness.submit({ policy_key: 'verified_access', identity: { email: EMAIL } });
    await harness.waitForStatus(id, 'identity_unverified');
    const code = await eventually(async () => codeOf(id), { what: 'the verification code' });
    // Only its hash is stored.
    const [stored] = await harness.sql<{ code_hash: string }[]>`select code_hash from identity_verification where privacy_request_id = ${id}`;
    expect(stored!.code_hash).not.toContain(code);

    const wrong = await verifyCode(id, code === '000000' ? '111111' : '000000');
    expect(wrong.status).toBe(422);
    expect(JSON.stringify(await wrong.json())).toMatch(/code.*wrong code; 4 attempts left/);
    expect((await verifyCode(id, '12ab56')).status).toBe(422);
    expect((await harness.request(id)).status).toBe('identity_unverified');

    const right = await verifyCode(id, code);
    expect(right.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const shown = await harness.request(id);
    expect(shown.identity_verified_at).not.toBeNull();
    // GDPR: the period runs from the verification.
    expect(Date.parse(shown.due_at as string) - Date.parse(shown.identity_verified_at as string)).toBe(PERIOD_MS);
    expect((await audits(id)).map((row) => row.action)).toEqual(expect.arrayContaining(['verification_sent', 'verified', 'approved', 'finished']));
    expect((await verifyCode(id, code)).status).toBe(409);
  });

  it('locks after five wrong codes and denies the request (insuf_verification), telling the person', async () => {
    const id = await harness.submit({ policy_key: 'verified_access', identity: { email: EMAIL } });
    const code = await eventually(async () => codeOf(id), { what: 'the verification code' });
    const wrongCode = code === '000000' ? '111111' : '000000';
    for (let attempt = 1; attempt <= 4; attempt += 1) expect((await verifyCode(id, wrongCode)).status).toBe(422);
    const last = await verifyCode(id, wrongCode);
    expect(last.status).toBe(423);
    expect((await verifyCode(id, code)).status).toBe(423);
    expect(await harness.result(id)).toEqual({ status: 'denied' });
    expect(await harness.request(id)).toMatchObject({ status: 'denied', denial_reason_code: 'insuf_verification' });
    await eventually(async () => (mailsOf(id, 'denial').length ? true : undefined), { what: 'the denial message' });
  });

  it('denies the request when the code expires (insuf_verification)', async () => {
    const id = await harness.submit({ policy_key: 'verified_access', identity: { email: EMAIL } });
    const code = await eventually(async () => codeOf(id), { what: 'the verification code' });
    expect(await harness.result(id)).toEqual({ status: 'denied' });
    expect(await harness.request(id)).toMatchObject({ denial_reason_code: 'insuf_verification', denial_reason: expect.stringMatching(/not verified before/) });
    expect((await verifyCode(id, code)).status).toBe(410);
    await eventually(async () => (eventsOf(id).some((event) => event.type === 'request.denied') ? true : undefined), { what: 'the denied webhook' });
    expect(eventsOf(id).find((event) => event.type === 'request.denied')?.data).toMatchObject({ denial_reason_code: 'insuf_verification' });
  });

  it('needs an email identity to send the code to', async () => {
    const refused = await harness.postJson('/api/v1/privacy-request', [{ policy_key: 'verified_access', identity: { phone_number: '+1 212 555 0100' } }]);
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toMatch(/identity.*email/);
  });
});

describe('a legal hold', () => {
  it('holds erasure (never access) until lifted', async () => {
    await harness.savePolicy(erasurePolicy('held_erasure', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }, { requires_erasure_confirmation: true }));
    const id = await harness.submit({ policy_key: 'held_erasure', identity: { email: EMAIL } });
    await harness.waitForStatus(id, 'awaiting_erasure_confirmation');
    const held = await harness.postJson(`/api/v1/privacy-request/${id}/legal_hold`, { reason: 'Litigation hold 2026-117' });
    expect(held.status).toBe(200);
    expect(await held.json()).toMatchObject({ legal_hold: true, legal_hold_reason: 'Litigation hold 2026-117' });
    expect((await harness.postJson(`/api/v1/privacy-request/${id}/legal_hold`, { reason: 'again' })).status).toBe(409);

    expect((await harness.postJson(`/api/v1/privacy-request/${id}/confirm_erasure`, {})).status).toBe(200);
    await harness.waitForStatus(id, 'paused');
    await harness.waitUntilIdle(id);
    const erased = await harness.sql<{ n: number }[]>`select count(*)::int as n from request_task where privacy_request_id = ${id} and action_type = 'erasure' and status <> 'pending'`;
    expect(erased[0]!.n).toBe(0);
    expect((await harness.target`select name from customer where email = ${EMAIL}`)[0]!.name).not.toBeNull();

    const lifted = await harness.fetch(`/api/v1/privacy-request/${id}/legal_hold`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(lifted.status).toBe(200);
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    expect((await harness.target`select name from customer where email = ${EMAIL}`)[0]!.name).toBeNull();
    expect((await audits(id)).map((row) => row.action)).toEqual(expect.arrayContaining(['legal_hold_placed', 'legal_hold_lifted']));
  });
});

describe('a batch of requests', () => {
  it('answers in the order given, and every stored request has its workflow', async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ external_id: `batch-${i}`, policy_key: 'reviewed_access', identity: { email: `batch-${i}@example.com` } }));
    const response = await harness.postJson('/api/v1/privacy-request', items);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { succeeded: { id: string; external_id: string }[]; failed: unknown[] };
    expect(body.failed).toEqual([]);
    expect(body.succeeded.map((item) => item.external_id)).toEqual(items.map((item) => item.external_id));
    const ids = body.succeeded.map((item) => item.id);
    const stored = await harness.sql<{ id: string }[]>`select id from privacy_request where id = any(${ids})`;
    expect(stored).toHaveLength(30);
    for (const id of ids) expect((await harness.handle(id).describe()).status.name).toBe('RUNNING');
  });
});

describe('a request that cannot be stored or started', () => {
  it('leaves no workflow running when its row is refused, and the batch\'s other items go on', async () => {
    // The database refuses one row after its workflow started (a trigger, as a constraint or a
    // full disk would): that workflow is terminated, and nothing of the request is stored.
    await harness.sql.unsafe(`
      create or replace function refuse_marked_request() returns trigger language plpgsql as $$
      begin
        if new.external_id = 'refuse-me' then raise exception 'refused by the test'; end if;
        return new;
      end $$;
      create trigger refuse_marked_request before insert on privacy_request for each row execute function refuse_marked_request();`);
    try {
      const response = await harness.postJson('/api/v1/privacy-request', [
        { external_id: 'kept-1', policy_key: 'reviewed_access', identity: { email: 'kept-1@example.com' } },
        { external_id: 'refuse-me', policy_key: 'reviewed_access', identity: { email: 'refused@example.com' } },
        { external_id: 'kept-2', policy_key: 'reviewed_access', identity: { email: 'kept-2@example.com' } },
      ]);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { succeeded: { id: string; external_id: string }[]; failed: { message: string; data: { external_id: string } }[] };
      expect(body.succeeded.map((item) => item.external_id)).toEqual(['kept-1', 'kept-2']);
      expect(body.failed).toEqual([{ message: expect.stringContaining('refused by the test'), data: { external_id: 'refuse-me', policy_key: 'reviewed_access' } }]);
      expect(await harness.sql`select 1 from privacy_request where external_id = 'refuse-me'`).toHaveLength(0);
      expect(await harness.sql`select 1 from privacy_request_identity i left join privacy_request r on r.id = i.privacy_request_id where r.id is null`).toHaveLength(0);
      // The refused one's workflow was started, then terminated: none runs without its row.
      const running = [];
      for await (const execution of harness.client.workflow.list({ query: `WorkflowType = 'privacyRequest' AND ExecutionStatus = 'Running' AND TaskQueue = '${harness.config.temporal.taskQueue}'` })) running.push(execution.workflowId);
      const stored = new Set((await harness.sql<{ id: string }[]>`select id from privacy_request`).map((row) => row.id));
      // The list comes from visibility, which may lag a termination by a moment; describe() reads
      // the execution itself, so it says whether one listed without its row really runs.
      const withoutRow: string[] = [];
      for (const workflowId of running.filter((listed) => !stored.has(listed))) {
        if ((await harness.handle(workflowId).describe()).status.name === 'RUNNING') withoutRow.push(workflowId);
      }
      expect(withoutRow).toEqual([]);
      for (const item of body.succeeded) expect((await harness.handle(item.id).describe()).status.name).toBe('RUNNING');
    } finally {
      await harness.sql.unsafe('drop trigger refuse_marked_request on privacy_request; drop function refuse_marked_request()');
    }
  });

  it('stores nothing when Temporal does not take the start', async () => {
    // An API whose Temporal client is closed: every start fails, and no row is left behind.
    const closed = new Client({ connection: await Connection.connect({ address: temporalAddress(harness.config) }) });
    await closed.connection.close();
    const api = await listen(harness.createApp({ temporal: closed }), '127.0.0.1', 0);
    try {
      const response = await fetch(`${api.url}/api/v1/privacy-request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${harness.token}` },
        body: JSON.stringify([{ external_id: 'never-started', policy_key: 'reviewed_access', identity: { email: 'never@example.com' } }]),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { succeeded: unknown[]; failed: { data: { external_id: string } }[] };
      expect(body.succeeded).toEqual([]);
      expect(body.failed.map((item) => item.data.external_id)).toEqual(['never-started']);
      expect(await harness.sql`select 1 from privacy_request where external_id = 'never-started'`).toHaveLength(0);
    } finally {
      await api.close();
    }
  });
});

describe('duplicate detection', () => {
  let duplicates: Harness;
  beforeAll(async () => {
    duplicates = await createHarness({ env: { DSRFLOW_DUPLICATE_DETECTION: 'true' } });
    await duplicates.savePolicy(reviewed('reviewed_access', {}));
  });
  afterAll(() => duplicates?.close());

  it('marks a second request for the same identity and policy as a duplicate, linked and never run', async () => {
    const original = await duplicates.submit({ policy_key: 'reviewed_access', identity: { email: EMAIL } });
    const second = await duplicates.submit({ policy_key: 'reviewed_access', identity: { email: ` ${EMAIL.toUpperCase()} ` } });
    expect(await duplicates.request(second)).toMatchObject({ status: 'duplicate', duplicate_of: original, due_at: null });
    await expect(duplicates.handle(second).describe()).rejects.toThrow(/not found/i);
    expect((await duplicates.sql<{ action: string; message: string }[]>`select action, message from audit_log where privacy_request_id = ${second}`)[0]).toEqual({
      action: 'duplicate',
      message: `duplicate of ${original}: same identity and policy`,
    });
    // Another person, or another policy, is no duplicate.
    const other = await duplicates.submit({ policy_key: 'reviewed_access', identity: { email: 'someone-else@example.com' } });
    expect((await duplicates.request(other)).status).toBe('pending');
    const actionsOnDuplicate = await duplicates.postJson(`/api/v1/privacy-request/${second}/extend`, { reason: 'x' });
    expect(actionsOnDuplicate.status).toBe(409);
  });

  it('takes the first of one person\'s items in one batch as the original, whatever the batch\'s concurrency', async () => {
    // Items of a call start side by side; one person's items still go in the order given.
    const people = Array.from({ length: 12 }, (_, i) => `batch-person-${i}@example.com`);
    const items = people.flatMap((email, i) => [
      { external_id: `first-${i}`, policy_key: 'reviewed_access', identity: { email } },
      { external_id: `again-${i}`, policy_key: 'reviewed_access', identity: { email } },
    ]);
    const response = await duplicates.postJson('/api/v1/privacy-request', items);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { succeeded: { id: string; external_id: string; status: string; duplicate_of: string | null }[]; failed: unknown[] };
    expect(body.failed).toEqual([]);
    expect(body.succeeded.map((item) => item.external_id)).toEqual(items.map((item) => item.external_id));
    for (let i = 0; i < people.length; i++) {
      const [first, again] = [body.succeeded[2 * i]!, body.succeeded[2 * i + 1]!];
      expect(first).toMatchObject({ status: 'pending', duplicate_of: null });
      expect(again).toMatchObject({ status: 'duplicate', duplicate_of: first.id });
    }
  });
});
