/**
 * Messages to the data subject over SMTP, against a real SMTP server (the smtp-server library)
 * in this process: each message arrives once with the right headers and both parts; the same
 * idempotency key sends nothing more; no SMTP server or no email identity is `skipped`; a 5xx
 * is `failed` and not retried, a 4xx is retried; and a worker killed while the server holds the
 * end of DATA leaves the message `uncertain`, delivered once and never twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorRegistry } from '../../src/connectors/registry.js';
import type { ExecutionContext } from '../../src/execution/context.js';
import { MessageRefused, sendMessage, type MessageType } from '../../src/execution/messages.js';
import { createMailer, SmtpError } from '../../src/messages/smtp.js';
import { DEFAULT_TEMPLATES, MESSAGE_TYPES } from '../../src/messages/templates.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { bundleMessageWorkflow, messageTaskQueue, startMessageWorker, type MessageWorker } from '../support/message-worker.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EMAIL = 'customer-1@example.com';
const FROM = 'Privacy team <privacy@dsrflow.test>';

/** What the SMTP server does at the end of DATA, message by message. */
type Answer = 'accept' | { code: number; text: string } | 'hold';

/** An SMTP server that records every message it is given and answers as told. */
class TestSmtpServer {
  /** Messages it accepted (250). */
  readonly accepted: Buffer[] = [];
  /** Every DATA it received, accepted or not. */
  readonly received: Buffer[] = [];
  readonly logins: string[] = [];
  answers: Answer[] = [];
  /** Called when a held message has been received in full; `release()` then accepts it. */
  private held: { received: () => void; release?: () => void } | undefined;
  readonly server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth: (auth, _session, callback) => {
      this.logins.push(`${auth.username}:${auth.password}`);
      callback(null, { user: auth.username });
    },
    onData: (stream, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const message = Buffer.concat(chunks);
        this.received.push(message);
        const answer = this.answers.shift() ?? 'accept';
        if (answer === 'accept') {
          this.accepted.push(message);
          return callback();
        }
        if (answer === 'hold') {
          const held = this.held!;
          held.release = () => {
            this.accepted.push(message);
            callback();
          };
          return held.received();
        }
        return callback(Object.assign(new Error(answer.text), { responseCode: answer.code }));
      });
    },
  });

  async listen(): Promise<number> {
    // A client that dies resets its connection; smtp-server emits that as an 'error', which unheard ends the process.
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.server.address() as AddressInfo).port;
  }

  /** The next message is held at the end of DATA; resolves once it is received in full. */
  holdNext(): { received: Promise<void>; release: () => void } {
    let received!: () => void;
    const promise = new Promise<void>((resolve) => (received = resolve));
    this.held = { received };
    this.answers.push('hold');
    return { received: promise, release: () => this.held?.release?.() };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const smtp = new TestSmtpServer();
let harness: Harness;
let context: ExecutionContext;
let requestId: string;
let bundle: WorkflowBundleWithSourceMap;
let messageWorker: MessageWorker | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  const port = await smtp.listen();
  harness = await createHarness({
    env: { DSRFLOW_SMTP_URL: `smtp://dsrflow:p%40ss%20word@127.0.0.1:${port}`, DSRFLOW_MESSAGE_FROM: FROM, DSRFLOW_SMTP_TIMEOUT: '20s' },
  });
  const smtpSettings = harness.config.messaging.smtp!;
  context = {
    sql: harness.sql,
    connectors: new ConnectorRegistry(harness.sql, harness.encryptionKey),
    encryptionKey: harness.encryptionKey,
    mailer: createMailer({ ...smtpSettings, timeoutMs: 5_000 }, harness.config.messaging.from),
  };
  requestId = await harness.submit({ policy_key: 'default_access_policy', identity: { email: EMAIL } });
  bundle = await bundleMessageWorkflow();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await messageWorker?.shutdown();
  await harness?.close();
  await smtp.close();
});

const VARIABLES: Record<MessageType, Record<string, string | null>> = {
  receipt: {},
  verification_code: { code: '731904', expires_at: '2026-11-23 10:15 UTC' },
  extension: { extended_due_at: '2027-02-23 10:00 UTC', reason: 'Your request covers <many> systems & archives' },
  denial: { reason: 'We could not verify that the request is yours' },
  completion: { access_package_url: 'https://privacy.example.com/download?expires=1&signature=a_b' },
};

const parse = (raw: Buffer) => simpleParser(raw);
const header = (mail: ParsedMail, name: string) => mail.headers.get(name) as string | undefined;
const messageRow = async (key: string) =>
  (await harness.sql<{ status: string; attempts: number; recipient_hash: string | null; provider_message_id: string | null; error: string | null; sent_at: Date | null }[]>`
    select status, attempts, recipient_hash, provider_message_id, error, sent_at from message where idempotency_key = ${key}`)[0];

describe('sendMessage', () => {
  it('sends every message type once, to the email identity, with its headers, both parts and its variables', async () => {
    const [policy] = await harness.sql<{ name: string }[]>`select name from policy where key = 'default_access_policy'`;
    const policyName = policy!.name;
    for (const type of MESSAGE_TYPES) {
      const before = smtp.accepted.length;
      const key = `${requestId}:${type}`;
      const result = await sendMessage(context, { privacyRequestId: requestId, type, idempotencyKey: key, variables: VARIABLES[type] });
      const messageId = `<${createHash('sha256').update(key).digest('hex')}@dsrflow>`;
      expect(result).toEqual({ status: 'sent', providerMessageId: messageId });
      expect(smtp.accepted.length).toBe(before + 1);

      const mail = await parse(smtp.accepted.at(-1)!);
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((address) => address.address) : undefined).toEqual([EMAIL]);
      expect(mail.from?.value).toEqual([{ address: 'privacy@dsrflow.test', name: 'Privacy team' }]);
      expect(mail.messageId).toBe(messageId);
      expect(header(mail, 'x-dsrflow-message-type')).toBe(type);
      expect(header(mail, 'auto-submitted')).toBe('auto-generated');
      expect(mail.subject).toBe(DEFAULT_TEMPLATES[type].subject.replace('{{code}}', '731904'));
      expect(mail.text).toContain(requestId);
      expect(mail.text).toContain(policyName);
      expect(mail.html).toContain(requestId);
      for (const value of Object.values(VARIABLES[type])) {
        expect(mail.text, `${type} text`).toContain(value);
        expect(mail.html as string, `${type} html`).toContain(value!.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
      }

      const row = await messageRow(key);
      expect(row).toMatchObject({ status: 'sent', attempts: 1, provider_message_id: messageId, error: null });
      expect(row!.sent_at).toBeInstanceOf(Date);
      expect(row!.recipient_hash).toBe(createHash('sha256').update(EMAIL).digest('hex'));
    }
    // The server was logged in to with the URL's (percent-decoded) credentials.
    expect(new Set(smtp.logins)).toEqual(new Set(['dsrflow:p@ss word']));
    // The address is stored nowhere in the message table.
    const rows = await harness.sql`select * from message`;
    expect(JSON.stringify(rows)).not.toContain('example.com');
  });

  it('sends nothing for an idempotency key already used', async () => {
    const before = smtp.received.length;
    for (const type of MESSAGE_TYPES) {
      const result = await sendMessage(context, { privacyRequestId: requestId, type, idempotencyKey: `${requestId}:${type}`, variables: VARIABLES[type] });
      expect(result.status).toBe('already_sent');
      expect(result.providerMessageId).toMatch(/^<[0-9a-f]{64}@dsrflow>$/);
    }
    expect(smtp.received.length).toBe(before);
    const [count] = await harness.sql<{ count: number }[]>`select count(*)::int as count from message where privacy_request_id = ${requestId}`;
    expect(count!.count).toBe(MESSAGE_TYPES.length);
  });

  it('records the message as skipped when no SMTP server is configured, or the request has no email identity', async () => {
    const before = smtp.received.length;
    const unconfigured = { ...context, mailer: undefined };
    expect(await sendMessage(unconfigured, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'no-smtp', variables: {} })).toEqual({ status: 'skipped' });
    expect(await messageRow('no-smtp')).toMatchObject({ status: 'skipped', attempts: 0, error: expect.stringContaining('DSRFLOW_SMTP_URL') });
    // Skipped stays skipped for its key, even once a server is configured.
    expect(await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'no-smtp', variables: {} })).toEqual({ status: 'skipped' });

    const withoutEmail = await harness.submit({ policy_key: 'default_access_policy', identity: { phone_number: '+15555550123' } });
    expect(await sendMessage(context, { privacyRequestId: withoutEmail, type: 'receipt', idempotencyKey: 'no-email', variables: {} })).toEqual({ status: 'skipped' });
    expect(await messageRow('no-email')).toMatchObject({ status: 'skipped', recipient_hash: null, error: expect.stringContaining('no email identity') });
    expect(smtp.received.length).toBe(before);
  });

  it('marks a message the server refuses (5xx) failed and throws a non-retryable error; a deferred one (4xx) is thrown to be retried, then sent', async () => {
    smtp.answers.push({ code: 550, text: 'Mailbox unavailable' });
    const refused = await sendMessage(context, { privacyRequestId: requestId, type: 'denial', idempotencyKey: 'refused', variables: VARIABLES.denial }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MessageRefused);
    expect((refused as Error).message).toContain('550');
    expect(await messageRow('refused')).toMatchObject({ status: 'failed', error: expect.stringContaining('550') });

    smtp.answers.push({ code: 451, text: 'Try again later' });
    const deferred = await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'deferred', variables: {} }).catch((error: unknown) => error);
    expect(deferred).toBeInstanceOf(SmtpError);
    expect((deferred as SmtpError).kind).toBe('retryable');
    expect(await messageRow('deferred')).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('451') });
    const accepted = smtp.accepted.length;
    expect((await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'deferred', variables: {} })).status).toBe('sent');
    expect(smtp.accepted.length).toBe(accepted + 1);
    expect(await messageRow('deferred')).toMatchObject({ status: 'sent', attempts: 2, error: null });
  });

  it('throws a retryable error when the server cannot be reached, and sends on the next attempt', async () => {
    const closed = new SMTPServer({ logger: false });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = { ...context, mailer: createMailer({ ...harness.config.messaging.smtp!, port: deadPort, timeoutMs: 2_000 }, FROM) };
    const error = await sendMessage(unreachable, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'unreachable', variables: {} }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(SmtpError);
    expect((error as SmtpError).kind).toBe('retryable');
    expect((error as Error).message).not.toContain('p@ss');
    expect((await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'unreachable', variables: {} })).status).toBe('sent');
  });

  it('answers uncertain, and never sends again, when the server does not answer after taking the whole message', async () => {
    const impatient = { ...context, mailer: createMailer({ ...harness.config.messaging.smtp!, timeoutMs: 1_000 }, FROM) };
    const hold = smtp.holdNext();
    const accepted = smtp.accepted.length;
    const result = await sendMessage(impatient, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'no-answer', variables: {} });
    await hold.received;
    hold.release(); // it arrived after all
    expect(result).toEqual({ status: 'uncertain', providerMessageId: expect.stringMatching(/@dsrflow>$/) });
    expect(await messageRow('no-answer')).toMatchObject({ status: 'uncertain', attempts: 1, error: expect.stringContaining('may have arrived') });
    expect(await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'no-answer', variables: {} })).toMatchObject({ status: 'uncertain' });
    expect(smtp.accepted.length).toBe(accepted + 1);
  });

  it('marks a claim left by an attempt that never finished uncertain, and does not send it', async () => {
    await harness.sql`
      insert into message (privacy_request_id, message_type, idempotency_key, recipient_hash, status, provider_message_id)
      values (${requestId}, 'receipt', 'abandoned', 'x', 'sending', '<abandoned@dsrflow>')`;
    const before = smtp.received.length;
    expect(await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'abandoned', variables: {} })).toEqual({ status: 'uncertain', providerMessageId: '<abandoned@dsrflow>' });
    expect(smtp.received.length).toBe(before);
    expect(await messageRow('abandoned')).toMatchObject({ status: 'uncertain', error: expect.stringContaining('not sent again') });
  });
});

describe('message templates through the API', () => {
  it('lists every type with its variables, refuses a template that does not render, and uses a stored one until it is deleted', async () => {
    const listed = (await (await harness.fetch('/api/v1/message-template')).json()) as { items: { message_type: string; overridden: boolean; variables: string[]; subject: string }[] };
    expect(listed.items.map((item) => item.message_type)).toEqual([...MESSAGE_TYPES]);
    expect(listed.items.every((item) => !item.overridden)).toBe(true);
    expect(listed.items.find((item) => item.message_type === 'completion')!.variables).toEqual(['privacy_request_id', 'policy_name', 'received_at', 'due_at', 'access_package_url']);

    const put = (type: string, body: unknown) => harness.fetch(`/api/v1/message-template/${type}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await put('receipt', { subject: 'Got it', text: 'Request {{privacy_request_id}}', html: '<p>{{foo}}</p>' });
    expect(bad.status).toBe(422);
    const badBody = (await bad.json()) as { message: string; detail: { loc: string[] }[] };
    expect(badBody.message).toContain('html: unknown variable {{foo}}');
    expect(badBody.detail[0]!.loc).toEqual(['body', 'html']);
    const unclosed = await put('receipt', { subject: 'Got {{privacy_request_id', text: 'x', html: 'y' });
    expect(unclosed.status).toBe(422);
    expect(((await unclosed.json()) as { message: string }).message).toMatch(/subject: unclosed \{\{privacy_request_id/);
    expect((await put('nonsense', { subject: 'a', text: 'b', html: 'c' })).status).toBe(422);
    expect((await harness.sql`select 1 from message_template`).length).toBe(0);

    const good = await put('receipt', { subject: 'Request {{privacy_request_id}} received', text: 'We have it ({{policy_name}}).{{#due_at}} Due {{due_at}}.{{/due_at}}', html: '<p>We have it: {{policy_name}}</p>' });
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ message_type: 'receipt', overridden: true, updated_by: 'client:test-root' });
    const [change] = await harness.sql`select actor from configuration_change where resource = 'message_template' and key = 'receipt'`;
    expect(change).toEqual({ actor: 'client:test-root' });

    await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'custom-template', variables: {} });
    const mail = await parse(smtp.accepted.at(-1)!);
    expect(mail.subject).toBe(`Request ${requestId} received`);
    expect(mail.text?.trim()).toMatch(/^We have it \(.+\)\.( Due .+ UTC\.)?$/);

    expect((await harness.fetch('/api/v1/message-template/receipt', { method: 'DELETE' })).status).toBe(204);
    expect((await harness.fetch('/api/v1/message-template/receipt', { method: 'DELETE' })).status).toBe(404);
    await sendMessage(context, { privacyRequestId: requestId, type: 'receipt', idempotencyKey: 'default-again', variables: {} });
    expect((await parse(smtp.accepted.at(-1)!)).subject).toBe(DEFAULT_TEMPLATES.receipt.subject);
  });

  it('lets a viewer read the templates but not change them', async () => {
    const viewer = await harness.userToken('message-viewer', ['viewer']);
    expect((await harness.fetch('/api/v1/message-template', { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(200);
    const put = await harness.fetch('/api/v1/message-template/denial', {
      method: 'PUT',
      headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'x', text: 'y', html: 'z' }),
    });
    expect(put.status).toBe(403);
  });
});

describe('the sendMessage activity on Temporal', () => {
  const start = (key: string, type: MessageType = 'receipt') =>
    harness.client.workflow.start('sendMessageWorkflow', {
      taskQueue: messageTaskQueue(harness.config),
      workflowId: `message-${key}`,
      args: [{ privacyRequestId: requestId, type, idempotencyKey: key, variables: VARIABLES[type] }],
    });

  it('is not sent twice when its worker is killed while the server holds the end of DATA: delivered once, recorded uncertain', async () => {
    const worker = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/message-worker-process.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...harness.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = worker;
    let output = '';
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(
      async () => {
        if (worker.exitCode !== null) throw new Error(`message worker exited early:\n${output}`);
        return output.includes('ready') ? true : undefined;
      },
      { what: 'the message worker process to poll', timeoutMs: 45_000 },
    );

    const hold = smtp.holdNext();
    const before = { received: smtp.received.length, accepted: smtp.accepted.length };
    const handle = await start('killed-mid-send');
    await hold.received; // the whole message is at the server, which has not answered yet
    expect(await messageRow('killed-mid-send')).toMatchObject({ status: 'sending', attempts: 1 });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
    hold.release(); // the server accepts it after all: it arrived
    expect(smtp.accepted.length).toBe(before.accepted + 1);

    messageWorker = await startMessageWorker({ config: harness.config, sql: harness.sql, encryptionKey: harness.encryptionKey, bundle });
    expect(await handle.result()).toEqual({ status: 'uncertain', providerMessageId: expect.stringMatching(/@dsrflow>$/) });
    expect(smtp.received.length).toBe(before.received + 1);
    expect(smtp.accepted.length).toBe(before.accepted + 1);
    expect(await messageRow('killed-mid-send')).toMatchObject({ status: 'uncertain', attempts: 1, error: expect.stringContaining('not sent again') });
  }, 60_000);

  it('retries a deferred message (4xx) and sends it once; does not retry a refused one (5xx)', async () => {
    messageWorker ??= await startMessageWorker({ config: harness.config, sql: harness.sql, encryptionKey: harness.encryptionKey, bundle });
    const accepted = smtp.accepted.length;
    smtp.answers.push({ code: 421, text: 'Service not available, try later' });
    expect(await (await start('activity-deferred')).result()).toEqual({ status: 'sent', providerMessageId: expect.any(String) });
    expect(smtp.accepted.length).toBe(accepted + 1);
    expect(await messageRow('activity-deferred')).toMatchObject({ status: 'sent', attempts: 2 });

    const received = smtp.received.length;
    smtp.answers.push({ code: 554, text: 'Transaction failed' }, { code: 554, text: 'Transaction failed' });
    const failure = await (await start('activity-refused', 'denial')).result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause as { type?: string; nonRetryable?: boolean } | undefined;
    expect(cause).toMatchObject({ type: 'MessageRefused', nonRetryable: true });
    expect(smtp.received.length).toBe(received + 1); // one attempt only
    smtp.answers.length = 0;
    expect(await messageRow('activity-refused')).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('554') });
  });
});
