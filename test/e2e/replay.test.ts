/**
 * Workflow code changes must not break running requests: recorded histories of typical requests
 * (test/fixtures/histories) replay with the current workflow code. A change that would make a
 * running request fail (non-determinism) fails here; guard it with `patched()`.
 *
 * The same scenarios run in every test run (they continue as new with updates in flight); record
 * their histories again, when a change is meant to apply only to new requests, with:
 *   RECORD_HISTORIES=1 npx vitest run test/e2e/replay.test.ts
 * Keep the previous generation under a new name first (`before-access-packages--*.json` are the
 * histories of requests that ran before access packages): requests of every generation may still
 * be running somewhere.
 * The histories are encrypted with a fixed, test-only key.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { defaultAccessPolicy } from '../../src/example/load.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { createHarness, erasurePolicy, eventually, workflowBundle, type Harness } from '../support/harness.js';

const DIR = new URL('../fixtures/histories/', import.meta.url);
const FIXTURE_KEY = Buffer.alloc(32, 0x5a);
const RECORD = process.env.RECORD_HISTORIES === '1';

async function fixtures(): Promise<{ name: string; history: unknown }[]> {
  const files = (await readdir(DIR)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => ({ name: file.replace(/\.json$/, ''), history: JSON.parse(await readFile(new URL(file, DIR), 'utf8')) })));
}

const replay = async (history: unknown) =>
  Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: dataConverter(FIXTURE_KEY) }, history);

/**
 * Typical requests, run with a small history limit so they continue as new with updates in
 * flight (review, manual input, retry, cancel). Their histories become the fixtures when recording.
 */
describe('typical requests across continue-as-new', () => {
  let harness: Harness;
  // Messages and webhooks are on, as in production: their steps are in the recorded histories.
  // Every third webhook POST fails once, so delivery workflows start too.
  const smtp = new SMTPServer({ disabledCommands: ['STARTTLS'], authOptional: true, logger: false, onData: (stream, _session, done) => stream.on('end', () => done()).resume() });
  let posts = 0;
  const receiver: Server = createServer((request, response) => {
    request.resume().on('end', () => {
      posts += 1;
      response.writeHead(posts % 3 === 1 ? 503 : 204).end();
    });
  });
  beforeAll(async () => {
    // A client that dies resets its connection; smtp-server emits that as an 'error', which unheard ends the process.
    smtp.on('error', () => undefined);
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    harness = await createHarness({
      env: {
        DSRFLOW_ENCRYPTION_KEY: FIXTURE_KEY.toString('base64'),
        DSRFLOW_HISTORY_EVENT_LIMIT: '80',
        DSRFLOW_SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
        DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL: '1s',
      },
    });
    const subscribed = await harness.postJson('/api/v1/webhook', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, event_types: [...WEBHOOK_EVENT_TYPES] });
    expect(subscribed.status).toBe(201);
    const [cabinet] = parseDatasetYaml(await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'));
    await upsertConnection(harness.sql, { key: 'filing_cabinet', connection_type: 'manual', access: 'write' }, {}, harness.encryptionKey);
    await upsertDataset(harness.sql, 'filing_cabinet', cabinet!);
    await harness.savePolicy({ ...defaultAccessPolicy, key: 'reviewed_access', requires_approval: true });
    await harness.savePolicy(erasurePolicy('erase_names_confirmed', { targets: ['user.name'], masking_strategy: { strategy: 'null_rewrite' } }, { requires_erasure_confirmation: true }));
    await harness.startWorker();
    if (RECORD) await mkdir(DIR, { recursive: true });
  });
  afterAll(async () => {
    await harness?.close();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  /** The history as the Temporal CLI (and the Web UI) export it. */
  const save = async (name: string, id: string, runId?: string) => {
    if (!RECORD) return;
    const args = ['workflow', 'show', '--address', harness.env.TEMPORAL_ADDRESS!, '--workflow-id', id, '--output', 'json', ...(runId ? ['--run-id', runId] : [])];
    const { stdout } = await promisify(execFile)(inject('temporalCliPath'), args, { maxBuffer: 64 * 1024 * 1024 });
    await writeFile(new URL(`${name}.json`, DIR), JSON.stringify(JSON.parse(stdout), null, 1) + '\n');
  };
  const identity = { email: 'customer-1@example.com' };

  it('complete, with every action answered', async () => {
    // Review, manual access input, then erasure with confirmation; long enough to continue as new.
    const reviewed = await harness.submit({ policy_key: 'reviewed_access', identity });
    await harness.fetch('/api/v1/privacy-request/administrate/approve', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_ids: [reviewed] }),
    });
    await harness.waitForStatus(reviewed, 'paused');
    expect((await harness.postJson(`/api/v1/privacy-request/${reviewed}/manual_input`, [{ id: 1, authorized_user: 'Someone' }])).status).toBe(200);
    expect(await harness.result(reviewed)).toEqual({ status: 'complete' });
    await save('review-manual-access', reviewed);

    const erasure = await harness.submit({ policy_key: 'erase_names_confirmed', identity });
    await harness.waitForStatus(erasure, 'paused');
    expect((await harness.postJson(`/api/v1/privacy-request/${erasure}/manual_input`, [])).status).toBe(200);
    await harness.waitForStatus(erasure, 'awaiting_erasure_confirmation');
    expect((await harness.postJson(`/api/v1/privacy-request/${erasure}/confirm_erasure`, {})).status).toBe(200);
    expect(await harness.result(erasure)).toEqual({ status: 'complete' });
    // The last run of a request that continued as new starts from a resume state.
    const runs = [];
    for await (const run of harness.client.workflow.list({ query: `WorkflowId = "${erasure}"` })) runs.push(run);
    const firstRun = runs.at(-1);
    await save('erasure-confirmed-continued', erasure);
    if (firstRun && firstRun.runId !== (await harness.handle(erasure).describe()).runId) await save('erasure-confirmed-first-run', erasure, firstRun.runId);

    // An error, a rejected signal, a retry.
    await harness.target`alter table login rename to login_gone`;
    const failing = await harness.submit({ policy_key: 'reviewed_access', identity });
    await harness.fetch('/api/v1/privacy-request/administrate/approve', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_ids: [failing] }),
    });
    await harness.waitForStatus(failing, 'error');
    await harness.postJson(`/api/v1/privacy-request/${failing}/confirm_erasure`, {});
    await harness.target`alter table login_gone rename to login`;
    expect((await harness.postJson(`/api/v1/privacy-request/${failing}/retry`, {})).status).toBe(200);
    await harness.waitForStatus(failing, 'paused');
    const canceled = await harness.fetch('/api/v1/privacy-request/administrate/cancel', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_ids: [failing], reason: 'recording' }),
    });
    expect(canceled.status).toBe(200);
    expect(await harness.result(failing)).toEqual({ status: 'canceled' });
    await save('error-retry-cancel', failing);

    // Every notice reached its receiver, once: those whose first attempt failed (every third POST)
    // through their delivery workflows; every message went over SMTP.
    const pendingNotices = async () => (await harness.sql<{ n: number }[]>`select count(*)::int as n from webhook_delivery where status <> 'delivered'`)[0]!.n;
    await eventually(async () => ((await pendingNotices()) === 0 ? true : undefined), { what: 'every webhook delivered', timeoutMs: 30_000 });
    const deliveries = (
      await harness.sql<{ n: number; retried: number; attempts: number }[]>`select count(*)::int as n, count(*) filter (where attempts > 1)::int as retried, sum(attempts)::int as attempts from webhook_delivery`
    )[0]!;
    expect(deliveries.n).toBeGreaterThanOrEqual(9);
    expect(deliveries.retried).toBeGreaterThanOrEqual(1);
    expect(posts).toBe(deliveries.attempts);
    const messages = await harness.sql<{ status: string }[]>`select status from message`;
    expect(messages.length).toBeGreaterThanOrEqual(4);
    expect(new Set(messages.map((row) => row.status))).toEqual(new Set(['sent']));
  }, 180_000);
});

describe('recorded histories', () => {
  it('replay with the current workflow code', async () => {
    const recorded = await fixtures();
    expect(recorded.length).toBeGreaterThanOrEqual(3);
    for (const { name, history } of recorded) {
      await expect(replay(history), name).resolves.toBeUndefined();
    }
  });

  it('would catch a change that breaks running requests', async () => {
    const [{ history }] = (await fixtures()) as unknown as [{ history: { events: Record<string, unknown>[] } }];
    // The same history, as if the workflow had once scheduled a different activity.
    const altered = structuredClone(history);
    const scheduled = altered.events.find((event) => event.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED') as {
      activityTaskScheduledEventAttributes: { activityType: { name: string } };
    };
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
    await expect(replay(altered)).rejects.toThrow(/[Nn]ondetermin/);
  });
});
