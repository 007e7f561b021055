/**
 * Fuzzes every operation of the app's own /openapi.json with hostile input (test/support/openapi-fuzz.ts),
 * with the root client's token (every scope), and checks for each call:
 * - no answer ≥ 500, no dropped connection, no crash (an unhandled rejection fails the file);
 * - an answer within 2 s;
 * - a 4xx changes nothing: every table of the service database is fingerprinted before and after.
 *
 * The seed is FUZZ_SEED (default below); FUZZ_SCALE multiplies the number of inputs. Every failure is
 * listed with its input in the assertion message, and the whole report is written to
 * $TMPDIR/dsrflow-fuzz-<seed>.json.
 *
 * Background writes. A worker runs, so requests the fuzzer manages to create do run, and their
 * workflows write to Postgres while the fuzzer goes on. Before each call the fuzzer asks Temporal
 * (describe, which is strongly consistent, unlike the visibility list) whether any request's
 * workflow is busy: an activity pending or retrying, or a workflow task pending. A running workflow
 * that has neither is waiting for a signal or a long timer (review, manual input, retry, days-long
 * expiry) and writes nothing until an API call wakes it. So:
 * - when no workflow is busy, every table is compared around a 4xx call;
 * - while one is busy, the tables that workflows write (WORKFLOW_TABLES) are left out of that
 *   comparison; the other tables (configuration, clients, users, tokens, identities, and the set of
 *   request ids) are still compared, since only API calls write them.
 * A workflow found idle is not described again until a call acting on requests (approve, deny,
 * cancel, retry, confirm, manual input, create) gets past validation (any answer but 400, 413, 415
 * and 422): only such a call may wake it. A 4xx call that woke one anyway would show as a change
 * between its answer and the next call, which is checked too (over the same tables as the call).
 * After a write call that succeeded, the fuzzer waits until the API tables stop changing, so late
 * writes of a handler are not blamed on the next call.
 *
 * Two writes on a 4xx are by design and allowed: a failed login counts towards the lockout (for
 * POST /login the users table is compared without failed_logins and locked_until), and an action
 * the workflow refuses (409) leaves an `action_rejected` audit row (the audit log is compared
 * without those rows).
 *
 * Destructive operations (DELETE) run after all the others, so the fixtures stay there for most
 * of the run; once deleted, the calls naming them answer 404, which is fine.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import { abbreviate, operationsOf, requestArb, validArb, type FuzzRequest, type Hints, type OpenApiDocument, type Operation } from '../support/openapi-fuzz.js';

const SEED = Number.parseInt(process.env.FUZZ_SEED ?? '20251123', 10);
const SCALE = Number(process.env.FUZZ_SCALE ?? '1');
/** Inputs per operation: more where there is a body to corrupt. */
const RUNS_WITH_BODY = Math.round(39 * SCALE);
const RUNS_WITHOUT_BODY = Math.round(20 * SCALE);
const MIN_INPUTS = Math.round(2000 * SCALE);
const MAX_CALL_MS = 2000;

/** Tables that workflows (activities) write: left out of the comparison while a workflow is busy. */
const WORKFLOW_TABLES = new Set([
  'privacy_request',
  'privacy_request_plan',
  'execution_log',
  'audit_log',
  'access_result',
  'manual_task',
  'access_package',
  'request_task',
  // Messages to the data subject and verification codes, sent alongside the lifecycle.
  'message',
  'identity_verification',
]);
/**
 * Webhook deliveries: written with a request's bookkeeping and attempted by workflows of their own
 * (which the busy check does not follow), retried for days: never compared. No API call writes them.
 */
const BACKGROUND_TABLES = new Set(['webhook_delivery', 'webhook_delivery_attempt']);
/** Pseudo-tables: parts of tables that only API calls change. */
const REQUEST_IDS = 'privacy_request (ids)';
const USERS_WITHOUT_LOCKOUT = 'app_user (without failed_logins, locked_until)';
const AUDIT_WITHOUT_REJECTIONS = 'audit_log (without action_rejected rows)';
WORKFLOW_TABLES.add(AUDIT_WITHOUT_REJECTIONS);

const ROOT_POLICY = 'default_access_policy';
const REVIEW_POLICY = 'fuzz_review_policy';
const EXAMPLE_CONNECTION = 'postgres_example';
const EXAMPLE_DATASET = 'postgres_example_test_dataset';
const MANUAL_CONNECTION = 'fuzz_manual';
const MANUAL_COLLECTION = 'manual_dataset:filing_cabinet';
const LOGIN_USER = 'fuzz-login-user';
const LOGIN_PASSWORD = `password-of-${LOGIN_USER}`;
const PATCH_USER = 'fuzz-patch-user';
const CODEC_UI_KEY = randomBytes(24).toString('hex');

let harness: Harness;
let doc: OpenApiDocument;
const real: Record<string, string[]> = {};

beforeAll(async () => {
  // Requests the fuzzer creates may fail by design (a fuzzed dataset can make the graph unreachable): keep the worker's warnings out of the output.
  harness = await createHarness({ env: { DSRFLOW_CODEC_UI_KEY: CODEC_UI_KEY }, runtimeLogger: new DefaultLogger('ERROR') });
  await harness.startWorker();
  const response = await harness.fetch('/openapi.json');
  expect(response.status).toBe(200);
  doc = (await response.json()) as OpenApiDocument;

  // Things that exist, for path parameters and ids in bodies.
  const completed = await harness.submit({ policy_key: ROOT_POLICY, identity: { email: 'customer-1@example.com' } });
  await harness.waitForStatus(completed, 'complete');
  await harness.savePolicy({
    key: REVIEW_POLICY,
    name: 'Fuzz review policy',
    requires_approval: true,
    requires_erasure_confirmation: false,
    rules: [{ key: 'access_all', name: 'Access all', action_type: 'access', masking_strategy: null, targets: [{ key: 'user', data_category: 'user' }] }],
  });
  const pending: string[] = [];
  for (let i = 0; i < 3; i++) pending.push(await harness.submit({ policy_key: REVIEW_POLICY, identity: { email: 'customer-1@example.com' } }));
  for (const id of pending) await harness.waitForStatus(id, 'pending');

  // A manual collection (a filing cabinet searched by hand): from now on requests pause for manual input.
  const connection = await harness.fetch('/api/v1/connection', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ key: MANUAL_CONNECTION, name: 'Fuzz manual', connection_type: 'manual', access: 'write' }]),
  });
  expect(connection.status, await connection.clone().text()).toBe(200);
  const manualDataset = await harness.fetch(`/api/v1/connection/${MANUAL_CONNECTION}/dataset`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/x-yaml' },
    body: await readFile(new URL('../fixtures/manual_dataset.yml', import.meta.url), 'utf8'),
  });
  expect(manualDataset.status, await manualDataset.clone().text()).toBe(200);
  const paused: string[] = [];
  for (let i = 0; i < 3; i++) paused.push(await harness.submit({ policy_key: ROOT_POLICY, identity: { email: 'customer-1@example.com' } }));
  for (const id of paused) await harness.waitForStatus(id, 'paused');

  const accessPackage = (await (await harness.fetch(`/api/v1/privacy-request/${completed}/access-package`)).json()) as { download_url?: string | null };
  const link = accessPackage.download_url ? new URL(accessPackage.download_url, harness.api.url) : undefined;

  const client = await harness.postJson('/api/v1/oauth/client', { name: 'fuzz client', scopes: ['privacy-request:read'] });
  expect(client.status, await client.clone().text()).toBe(201);
  const clientId = ((await client.json()) as { client_id: string }).client_id;

  await harness.userToken(LOGIN_USER);
  const user = await harness.postJson('/api/v1/user', { username: PATCH_USER, password: 'a-long-enough-password', roles: ['viewer'] });
  expect(user.status, await user.clone().text()).toBe(201);
  const policy = (await (await harness.fetch(`/api/v1/dsr/policy/${ROOT_POLICY}`)).json()) as { rules?: { key: string; targets?: { key: string }[] }[] };
  const rules = policy.rules ?? [];

  Object.assign(real, {
    privacy_request_id: [completed, ...pending, ...paused],
    request_id: [completed, ...pending, ...paused],
    id: [completed],
    external_id: ['ticket'],
    connection_key: [EXAMPLE_CONNECTION, MANUAL_CONNECTION],
    fides_key: [EXAMPLE_DATASET, 'manual_dataset'],
    policy_key: [ROOT_POLICY, REVIEW_POLICY],
    rule_key: rules.map((rule) => rule.key),
    rule_target_key: rules.flatMap((rule) => (rule.targets ?? []).map((target) => target.key)),
    client_id: [clientId, harness.root.id],
    username: [PATCH_USER, LOGIN_USER],
    key: [CODEC_UI_KEY],
    expires: link?.searchParams.get('expires') ? [link.searchParams.get('expires')!] : [],
    signature: link?.searchParams.get('signature') ? [link.searchParams.get('signature')!] : [],
  });
}, 180_000);

afterAll(() => harness?.close());

/** Plausible values for fields that name things, so valid-looking bodies reach the handlers. */
function hints(): Hints {
  const fresh = (prefix: string) => fc.integer({ min: 1, max: 1_000_000 }).map((n) => `${prefix}_${n}`);
  const goodDataset = fresh('fuzz_dataset').map((fides_key) => ({
    fides_key,
    collections: [{ name: 'customer', fields: [{ name: 'id', data_categories: ['system.operations'], fides_meta: { primary_key: true } }, { name: 'email', data_categories: ['user.contact.email'], fides_meta: { identity: 'email' } }] }],
  }));
  // Rows of the filing cabinet, as a person would answer: the right fields, plausible values.
  const cabinetRows = fc.array(
    fc.record({ id: fc.nat({ max: 1000 }), authorized_user: fc.constantFrom('Jane Doe', 'J. Doe'), customer_id: fc.constant(1), payment_card_id: fc.constantFrom('pay_aaa-aaa', 'card-1') }),
    { minLength: 1, maxLength: 2 },
  );
  const self: Hints = ({ name, ref, schema }) => {
    if (ref === 'ManualInput' && name === undefined) return fc.oneof(cabinetRows, fc.record({ collection: fc.constant(MANUAL_COLLECTION), rows: cabinetRows }));
    if (ref === 'Dataset' && name === undefined && schema.properties?.collections) {
      return fc.oneof(goodDataset, validArb(doc, schema, (context) => (context.name === undefined && context.ref === 'Dataset' ? undefined : self(context)), {}));
    }
    switch (name) {
      case 'policy_key':
        return fc.constantFrom(ROOT_POLICY, ROOT_POLICY, REVIEW_POLICY);
      case 'identity':
        return fc.constantFrom<unknown>({ email: 'customer-1@example.com' }, { email: 'customer-2@example.com', phone_number: '+15555550100' }, { email: 'jane@example.com', loyalty_id: 'x1' });
      case 'request_ids':
        return fc.subarray(real.privacy_request_id ?? ['pri_x'], { minLength: 1 });
      case 'fides_key':
        return ref === 'Dataset' ? fresh('fuzz_dataset') : undefined;
      case 'key':
        if (ref === 'ConnectionUpsert') return fc.oneof(fresh('fuzz_conn'), fc.constant(MANUAL_CONNECTION));
        if (ref === 'PolicyUpsert') return fc.oneof(fresh('fuzz_policy'), fc.constant(REVIEW_POLICY));
        if (ref === 'RuleUpsert') return fresh('fuzz_rule');
        if (ref === 'RuleTargetUpsert') return fresh('fuzz_target');
        return undefined;
      case 'secrets':
        return fc.constantFrom<unknown>({}, { url: 'postgres://nobody@127.0.0.1:1/none' }, { host: '127.0.0.1', port: 1, dbname: 'none', username: 'nobody' });
      case 'data_category':
        return fc.constantFrom('user.contact', 'user', 'system.operations', 'user.contact.email');
      case 'username':
        if (ref === 'Login') return fc.constantFrom(LOGIN_USER, PATCH_USER, 'nobody');
        if (ref === 'UserCreate') return fresh('fuzz-user');
        return undefined;
      case 'password':
        return ref === 'Login' ? fc.constantFrom(LOGIN_PASSWORD, 'wrong-password-1') : fc.constant('a-long-enough-password');
      case 'client_id':
        return fc.constantFrom(harness.root.id, ...(real.client_id ?? []), 'nobody');
      case 'client_secret':
        return fc.constantFrom(harness.root.secret, 'wrong-secret');
      case 'scope':
        return fc.constantFrom('', 'privacy-request:read', 'client:read client:write', 'no-such-scope');
      case 'payloads':
        return fc.constant([
          { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"hello":"world"}').toString('base64') },
        ]);
      case 'collection':
        return fc.constantFrom(MANUAL_COLLECTION, MANUAL_COLLECTION, `${EXAMPLE_DATASET}:customer`);
      case 'rows':
        return cabinetRows;
      default:
        return undefined;
    }
  };
  return self;
}

/**
 * Sends one input on a connection of its own (node:http, no keep-alive): the path goes out exactly
 * as written (no URL normalisation of `..`), any header and body bytes can be sent, and a connection
 * the server drops is this input's, not one reused from an earlier input. A response that arrives
 * counts even when the server stops reading the rest of a large body.
 */
function send(input: FuzzRequest): Promise<{ status: number; body: string }> {
  const url = new URL(harness.api.url);
  const body = input.body === undefined ? undefined : typeof input.body === 'string' ? Buffer.from(input.body) : Buffer.from(input.body);
  const headers: Record<string, string> = { authorization: `Bearer ${harness.token}`, ...input.headers };
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: { status: number; body: string }) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = httpRequest({ host: url.hostname, port: url.port, path: input.url, method: input.method, headers, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => done({ status: 0, body: `response: ${error.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', (error) => done({ status: 0, body: `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}` }));
    req.end(body);
  });
}

type Fingerprint = Map<string, string>;

interface Failure {
  kind: 'server error' | 'no response' | 'slow' | 'changed on 4xx' | 'changed after a 4xx answer' | 'token refused';
  /** Which input (0-based, in the order sent). */
  index: number;
  operation: string;
  input: string;
  status: number;
  body: string;
  ms: number;
  tables?: string[];
}

it(`fuzzes every operation of /openapi.json with ≥ 2,000 hostile inputs (seed: FUZZ_SEED=${SEED})`, async () => {
  const operations = operationsOf(doc);
  expect(operations.length).toBeGreaterThan(0);
  const context = { doc, hints: hints(), realValues: (name: string) => real[name] ?? [] };

  // The inputs: a fixed number per operation, from a seed per operation derived from SEED.
  const perOperation = operations.map((operation: Operation, index) =>
    fc.sample(requestArb(operation, context), {
      seed: (SEED + index * 7919) | 0,
      // The API's operations anyone may call (token, login) get twice as many.
      numRuns: (operation.bodies.length ? RUNS_WITH_BODY : RUNS_WITHOUT_BODY) * (!operation.secured && operation.path.startsWith('/api/') ? 2 : 1),
    }),
  );
  // Interleaved, so the workflows the fuzzer starts are spread out; deletions last, of the deepest
  // things first (a rule target before its rule, a dataset before its connection).
  const interleave = (lists: FuzzRequest[][]) => {
    const out: FuzzRequest[] = [];
    for (let i = 0; lists.some((list) => i < list.length); i++) for (const list of lists) if (i < list.length) out.push(list[i]!);
    return out;
  };
  const depth = (list: FuzzRequest[]) => list[0]!.operation.path.split('/').length;
  const deletions = perOperation.filter((list) => list[0]?.method === 'DELETE');
  const inputs = [
    ...interleave(perOperation.filter((list) => list[0]?.method !== 'DELETE')),
    ...[...new Set(deletions.map(depth))].sort((a, b) => b - a).flatMap((d) => interleave(deletions.filter((list) => depth(list) === d))),
  ];
  expect(inputs.length).toBeGreaterThanOrEqual(MIN_INPUTS);
  const covered = new Set(inputs.map((input) => input.operation.label));
  expect(operations.filter((operation) => !covered.has(operation.label)).map((operation) => operation.label)).toEqual([]);

  // The fingerprint of every table (but the migrations'), and of the pseudo-tables: md5 of all rows.
  // Hashing every row on every call is slow, so each table also gets a cheap stamp (row count and
  // the sum of the rows' xmin: any insert, update or delete that commits changes it), and only the
  // tables whose stamp moved are hashed again. Cheaper still: while the server's snapshot (which
  // transactions have committed, on the whole server) is the same, nothing can have changed.
  const tables = (
    await harness.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'schema_migration' order by table_name`
  ).map((row) => row.table_name);
  expect(tables).toEqual(expect.arrayContaining(['privacy_request', 'connection_config', 'policy', 'oauth_client', 'app_user', 'audit_log']));
  const stampQuery = tables
    .map((table) => `select '${table}'::text as name, (select count(*) || ':' || coalesce(sum(t.xmin::text::bigint), 0) from public."${table}" t) as stamp`)
    .join(' union all ');
  const contentQueries: Record<string, string[]> = Object.fromEntries(
    tables.map((table) => [table, [`select '${table}'::text as name, (select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from public."${table}" t) as hash`]]),
  );
  contentQueries.privacy_request!.push(`select '${REQUEST_IDS}', (select md5(coalesce(string_agg(id::text, ',' order by id::text), '')) from public.privacy_request)`);
  contentQueries.app_user!.push(
    `select '${USERS_WITHOUT_LOCKOUT}', (select md5(coalesce(string_agg((to_jsonb(t) - 'failed_logins' - 'locked_until')::text, ',' order by t.username), '')) from public.app_user t)`,
  );
  contentQueries.audit_log!.push(`select '${AUDIT_WITHOUT_REJECTIONS}', (select md5(coalesce(string_agg(t::text, ',' order by t.id), '')) from public.audit_log t where t.action <> 'action_rejected')`);
  const stamps = new Map<string, string>();
  const hashes = new Map<string, string>();
  let lastSnapshot = '';
  const fingerprint = async (): Promise<Fingerprint> => {
    const [{ snapshot }] = (await harness.sql`select pg_current_snapshot()::text as snapshot`) as unknown as [{ snapshot: string }];
    if (snapshot === lastSnapshot) return new Map(hashes);
    const now = await harness.sql.unsafe<{ name: string; stamp: string }[]>(stampQuery);
    const moved = now.filter((row) => stamps.get(row.name) !== row.stamp);
    if (moved.length) {
      // Stamps first, contents second: a write in between makes the next stamp differ, and the contents are read again.
      const rows = await harness.sql.unsafe<{ name: string; hash: string }[]>(moved.flatMap((row) => contentQueries[row.name]!).join(' union all '));
      for (const row of rows) hashes.set(row.name, row.hash);
      for (const row of moved) stamps.set(row.name, row.stamp);
    }
    // Taken before the stamps: a commit since then changes the next snapshot, and the stamps are read again.
    lastSnapshot = snapshot;
    return new Map(hashes);
  };
  const apiKeys = (keys: Iterable<string>) => [...keys].filter((key) => !WORKFLOW_TABLES.has(key));
  const changedKeys = (before: Fingerprint, after: Fingerprint, keys: string[]) => keys.filter((key) => before.get(key) !== after.get(key));

  // Which request workflows are busy (see the top of the file).
  const known = new Set<string>();
  const idle = new Set<string>();
  const closed = new Set<string>();
  const refreshRequests = async () => {
    for (const { id } of await harness.sql<{ id: string }[]>`select id from privacy_request`) known.add(id);
  };
  const busyWorkflows = async (): Promise<string[]> => {
    const busy: string[] = [];
    for (const id of known) {
      if (closed.has(id) || idle.has(id)) continue;
      try {
        const description = await harness.client.workflow.getHandle(id).describe();
        if (description.status.name !== 'RUNNING') closed.add(id);
        else if ((description.raw.pendingActivities?.length ?? 0) > 0 || description.raw.pendingWorkflowTask) busy.push(id);
        else idle.add(id);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) closed.add(id);
        else throw error;
      }
    }
    return busy;
  };
  /** Waits until the tables only API calls write stop changing (a handler's late writes). */
  const settle = async (intervalMs = 20) => {
    let previous = await fingerprint();
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      const current = await fingerprint();
      if (changedKeys(previous, current, apiKeys(current.keys())).length === 0) return;
      previous = current;
    }
  };
  /** Waits until no request's workflow is busy, then until the tables stop changing for half a second. */
  const quiet = async () => {
    const deadline = Date.now() + 10_000;
    while ((await busyWorkflows()).length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    await settle(500);
  };
  await refreshRequests();

  const failures: Failure[] = [];
  const statuses = new Map<string, Map<number, number>>();
  const slowest = new Map<string, number>();
  let partialComparisons = 0;
  const time = { call: 0, fingerprint: 0, workflows: 0, settle: 0 };
  const timed = async <T>(what: keyof typeof time, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      time[what] += performance.now() - t0;
    }
  };
  let last: { request: FuzzRequest; after: Fingerprint; keys: string[]; status: number; body: string } | undefined;
  const started = performance.now();

  for (const [index, request] of inputs.entries()) {
    const label = request.operation.label;
    // Acting on requests (approve, retry, manual input…) goes through their workflows, which may write after answering.
    const touchesWorkflows = request.method !== 'GET' && /^\/api\/v1\/privacy-request(\/|$)/.test(request.operation.path);
    const busy = (await timed('workflows', busyWorkflows)).length > 0;
    const before = await timed('fingerprint', fingerprint);
    if (last) {
      const changed = changedKeys(last.after, before, last.keys);
      if (changed.length) {
        // Seen after this 4xx answer: its late write, or a late one of a call just before it.
        const earlier = inputs
          .slice(Math.max(0, index - 4), index - 1)
          .map((input, i) => `#${Math.max(0, index - 4) + i} ${input.operation.label}`)
          .join(', ');
        failures.push({
          kind: 'changed after a 4xx answer',
          index: index - 1,
          operation: last.request.operation.label,
          input: `${last.request.what}\n    (the calls just before: ${earlier || 'none'})`,
          status: last.status,
          body: last.body,
          ms: 0,
          tables: changed,
        });
        idle.clear();
      }
    }

    const callStarted = performance.now();
    const { status, body } = await send(request);
    const ms = performance.now() - callStarted;
    time.call += ms;
    slowest.set(label, Math.max(slowest.get(label) ?? 0, ms));
    const byStatus = statuses.get(label) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    statuses.set(label, byStatus);
    const failure = { index, operation: label, input: request.what, status, body: abbreviate(body, 500), ms: Math.round(ms) };

    if (status === 0) failures.push({ kind: 'no response', ...failure });
    else if (status >= 500) failures.push({ kind: 'server error', ...failure });
    if (ms > MAX_CALL_MS) failures.push({ kind: 'slow', ...failure });
    if (status === 401 && request.operation.secured) failures.push({ kind: 'token refused', ...failure });

    // Unless refused before the body was even valid, an action may have started or signalled workflows.
    if (touchesWorkflows && ![400, 413, 415, 422].includes(status)) {
      idle.clear();
      await timed('workflows', refreshRequests);
    }
    if (status >= 400 && status < 500) {
      const after = await timed('fingerprint', fingerprint);
      let keys = (busy ? apiKeys(after.keys()) : [...after.keys()]).filter((key) => !BACKGROUND_TABLES.has(key));
      if (busy) partialComparisons++;
      // By design (workflows/privacy-request.ts), an action the workflow refuses (409) leaves an audit row saying why.
      if (touchesWorkflows && status === 409) keys = keys.filter((key) => key !== 'audit_log');
      // By design, a failed login counts towards the lockout.
      if (label === 'POST /api/v1/login') keys = keys.filter((key) => key !== 'app_user');
      const changed = changedKeys(before, after, keys);
      if (changed.length) failures.push({ kind: 'changed on 4xx', ...failure, tables: changed });
      last = { request, after, keys, status, body: failure.body };
    } else {
      last = undefined;
      // It may have written late; a call without an answer may still be running on the server.
      if (status === 0) await timed('settle', quiet);
      else if (request.method !== 'GET') await timed('settle', settle);
    }
  }
  const elapsed = Math.round((performance.now() - started) / 1000);

  // Still alive and answering.
  expect((await harness.fetch('/health')).status).toBe(200);
  expect((await harness.fetch('/api/v1/privacy-request')).status).toBe(200);

  const lines = [
    `fuzz: ${inputs.length} inputs over ${operations.length} operations in ${elapsed} s, FUZZ_SEED=${SEED}; ${failures.length} failures; ${partialComparisons} 4xx calls compared without the workflow tables (a workflow was busy)`,
    `  time (s): ${Object.entries(time).map(([what, ms]) => `${what} ${(ms / 1000).toFixed(1)}`).join(', ')}`,
    ...[...statuses].map(
      ([label, counts]) => `  ${label}: ${[...counts].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ')} (slowest ${Math.round(slowest.get(label) ?? 0)} ms)`,
    ),
  ];
  const reportPath = join(tmpdir(), `dsrflow-fuzz-${SEED}.json`);
  writeFileSync(reportPath, JSON.stringify({ seed: SEED, inputs: inputs.length, elapsedSeconds: elapsed, statuses: Object.fromEntries([...statuses].map(([label, counts]) => [label, Object.fromEntries(counts)])), failures }, null, 2));
  process.stdout.write(`${lines.join('\n')}\n  report: ${reportPath}\n`);

  const describe = (list: Failure[]) =>
    list
      .slice(0, 40)
      .map((f) => `- #${f.index} ${f.kind}: ${f.operation} → ${f.status} in ${f.ms} ms${f.tables ? ` (changed: ${f.tables.join(', ')})` : ''}\n    ${f.input}\n    answer: ${f.body}`)
      .join('\n');
  expect(failures, `${lines[0]}\nreport: ${reportPath}\n${describe(failures)}`).toEqual([]);
}, 600_000);
