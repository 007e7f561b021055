/**
 * The configuration API against the real Postgres, over real HTTP: bulk upserts where some items
 * fail (and leave nothing behind), write-only secrets that never appear in a response or a log
 * line, connection tests against real servers, the Fides example datasets loaded unchanged from
 * YAML and JSON, and 404s and 422s that name what was wrong.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { redactSecrets } from '../../src/connectors/connection-test.js';
import { listen, type ApiServer } from '../../src/api/server.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { EXAMPLE_DIR } from '../../src/example/load.js';
import { createLogger } from '../../src/logger.js';
import { createHarness, type Harness } from '../support/harness.js';

/** Every secret of this file contains this marker: no response body or log line may. */
const MARK = 'Sup3rS3cret';
const PASSWORD = `${MARK}-pa55word`;
const OTHER_PASSWORD = `${MARK}-0ther`;
const TOKEN = `${MARK}-t0ken`;

let harness: Harness;
let api: ApiServer;
const logLines: string[] = [];
const written: string[] = [];
const responses: { request: string; status: number; body: string }[] = [];
const originalWrite = { stdout: process.stdout.write, stderr: process.stderr.write };

/** The harness's target database URL, with a password (the local server trusts, so it is ignored). */
let urlWithPassword: string;

function capture(stream: NodeJS.WriteStream, original: typeof process.stdout.write) {
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
  }) as typeof stream.write;
}

beforeAll(async () => {
  capture(process.stdout, originalWrite.stdout);
  capture(process.stderr, originalWrite.stderr);
  harness = await createHarness({ example: false });
  const url = new URL(harness.targetUrl);
  url.password = PASSWORD;
  urlWithPassword = url.toString();
  const app = harness.createApp({ logger: createLogger('api', 'debug', (line) => logLines.push(line)) });
  api = await listen(app, '127.0.0.1', 0);
});

afterAll(async () => {
  process.stdout.write = originalWrite.stdout;
  process.stderr.write = originalWrite.stderr;
  await api?.close();
  await harness?.close();
});

interface Answer<T = any> {
  status: number;
  body: T;
}

/** Calls the API and keeps every response body for the secret checks at the end. */
async function call<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer<T>> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${harness.token}` } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': contentType };
  }
  const response = await fetch(`${api.url}/api/v1${path}`, init);
  const text = await response.text();
  responses.push({ request: `${method} ${path}`, status: response.status, body: text });
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const locs = (answer: Answer) => (answer.body.detail as { loc: unknown[] }[]).map((detail) => detail.loc);

async function connectionCount() {
  const [row] = await harness.sql<{ count: number }[]>`select count(*)::int as count from connection_config`;
  return row!.count;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const exampleFile = (name: string) => readFile(`${EXAMPLE_DIR}/${name}`, 'utf8');

describe('connections', () => {
  it('upserts a list: valid connections apply, a connection with bad secrets fails, names the field and is not applied', async () => {
    const answer = await call('PATCH', '/connection', [
      { key: 'shop', name: 'Shop database', connection_type: 'postgres', access: 'write', secrets: { url: urlWithPassword } },
      { key: 'support_desk', connection_type: 'manual', access: 'read' },
      { key: 'broken', connection_type: 'postgres', access: 'read', secrets: { host: '127.0.0.1', username: 'postgres', password: OTHER_PASSWORD } },
      { key: 'crm', connection_type: 'http', access: 'read', secrets: { base_url: 'https://crm.example.com', api_token: TOKEN } },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body.succeeded.map((connection: { key: string }) => connection.key)).toEqual(['shop', 'support_desk', 'crm']);
    expect(answer.body.succeeded[0]).toMatchObject({ key: 'shop', name: 'Shop database', connection_type: 'postgres', access: 'write', disabled: false, secrets_configured: true });
    expect(answer.body.succeeded[1]).toMatchObject({ key: 'support_desk', name: null, secrets_configured: false });
    expect(answer.body.succeeded[0]).not.toHaveProperty('secrets');
    expect(answer.body.failed).toEqual([
      { message: 'body[2].secrets.dbname: is required', data: { key: 'broken', connection_type: 'postgres', access: 'read' } },
    ]);
    expect((await call('GET', '/connection/broken')).status).toBe(404);
  });

  it('stores secrets encrypted', async () => {
    const rows = await harness.sql<{ key: string; secrets_encrypted: Buffer }[]>`select key, secrets_encrypted from connection_config where secrets_encrypted is not null`;
    expect(rows.map((row) => row.key).sort()).toEqual(['crm', 'shop']);
    for (const row of rows) expect(row.secrets_encrypted.toString('latin1')).not.toContain(MARK);
  });

  it('keeps what an update leaves out: name, disabled and secrets', async () => {
    const disabled = await call('PATCH', '/connection', [{ key: 'crm', name: 'CRM', connection_type: 'http', access: 'read', disabled: true }]);
    expect(disabled.body.succeeded[0]).toMatchObject({ name: 'CRM', disabled: true, secrets_configured: true });
    const renamed = await call('PATCH', '/connection', [{ key: 'crm', connection_type: 'http', access: 'write' }]);
    expect(renamed.body.succeeded[0]).toMatchObject({ key: 'crm', name: 'CRM', access: 'write', disabled: true, secrets_configured: true });
  });

  it('refuses to change the type of a connection that holds secrets for the old type, unless new secrets come with it', async () => {
    const answer = await call('PATCH', '/connection', [{ key: 'shop', connection_type: 'mariadb', access: 'write' }]);
    expect(answer.body.succeeded).toEqual([]);
    expect(answer.body.failed[0].message).toMatch(/^body\[0\]\.secrets: the connection changes from postgres to mariadb/);
    expect((await call('GET', '/connection/shop')).body).toMatchObject({ connection_type: 'postgres', name: 'Shop database', secrets_configured: true });
  });

  const malformed: { name: string; body: unknown; loc: unknown[]; message: RegExp }[] = [
    { name: 'an unknown connection type', body: [{ key: 'x', connection_type: 'oracle', access: 'read' }], loc: ['body', 0, 'connection_type'], message: /postgres/ },
    { name: 'no access', body: [{ key: 'x', connection_type: 'postgres' }], loc: ['body', 0, 'access'], message: /required/ },
    { name: 'a key that is not a fides key', body: [{ key: 'no spaces', connection_type: 'manual', access: 'read' }], loc: ['body', 0, 'key'], message: /letters, digits/ },
    { name: 'secrets that are not an object', body: [{ key: 'x', connection_type: 'postgres', access: 'read', secrets: PASSWORD }], loc: ['body', 0, 'secrets'], message: /expected record/ },
    { name: 'a password outside secrets', body: [{ key: 'x', connection_type: 'postgres', access: 'read', password: PASSWORD }], loc: ['body', 0], message: /unknown field: password/ },
    { name: 'a key twice', body: [{ key: 'x', connection_type: 'manual', access: 'read' }, { key: 'x', connection_type: 'manual', access: 'write' }], loc: ['body', 1, 'key'], message: /more than once/ },
    { name: '51 connections', body: Array.from({ length: 51 }, (_, i) => ({ key: `c${i}`, connection_type: 'manual', access: 'read' })), loc: ['body'], message: /at most 50/ },
    { name: 'an empty list', body: [], loc: ['body'], message: /at least one/ },
    { name: 'an object instead of a list', body: { key: 'x', connection_type: 'manual', access: 'read' }, loc: ['body'], message: /array/ },
  ];

  it.each(malformed)('refuses a malformed body with 422 naming the field, and changes nothing: $name', async ({ body, loc, message }) => {
    const before = await connectionCount();
    const answer = await call('PATCH', '/connection', body);
    expect(answer.status).toBe(422);
    expect(locs(answer)).toContainEqual(loc);
    expect(answer.body.message).toMatch(message);
    expect(await connectionCount()).toBe(before);
  });

  it('answers 400 for a body that is not JSON, and 415 for one that is not declared as JSON', async () => {
    expect((await call('PATCH', '/connection', '[{"key": ', 'application/json')).status).toBe(400);
    expect((await call('PATCH', '/connection', '[]', 'text/plain')).status).toBe(415);
  });

  it('pages connections and never shows secrets', async () => {
    const page = await call('GET', '/connection?size=2&page=2');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 3, page: 2, size: 2, pages: 2 });
    expect(page.body.items.map((item: { key: string }) => item.key)).toEqual(['support_desk']);
    expect((await call('GET', '/connection?size=500')).status).toBe(422);
    const one = await call('GET', '/connection/shop');
    expect(Object.keys(one.body).sort()).toEqual(['access', 'connection_type', 'created_at', 'disabled', 'key', 'name', 'secrets_configured', 'updated_at']);
  });

  describe('PUT /connection/{key}/secret', () => {
    it('validates the secrets against the connection type and names the field', async () => {
      const answer = await call('PUT', '/connection/shop/secret', { host: '127.0.0.1', port: 'not a port', dbname: 'x', username: 'postgres', password: OTHER_PASSWORD });
      expect(answer.status).toBe(422);
      expect(locs(answer)).toContainEqual(['body', 'port']);
      const url = await call('PUT', '/connection/shop/secret', { url: `mysql://root:${OTHER_PASSWORD}@127.0.0.1/shop` });
      expect(url.status).toBe(422);
      expect(url.body.message).toBe('body.url: must be a postgres:// URL');
      const manual = await call('PUT', '/connection/support_desk/secret', { password: OTHER_PASSWORD });
      expect(manual.status).toBe(422);
      expect(manual.body.message).toMatch(/manual connections take no secrets/);
      expect((await call('PUT', '/connection/nope/secret', { url: urlWithPassword })).body).toEqual({ error: 'not_found', message: 'No connection with key nope' });
    });

    it('replaces the secrets, and with ?verify=true tests them', async () => {
      const target = new URL(harness.targetUrl);
      const answer = await call('PUT', '/connection/shop/secret?verify=true', {
        host: target.hostname,
        port: Number(target.port),
        dbname: target.pathname.slice(1),
        username: 'postgres',
        password: OTHER_PASSWORD,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ msg: 'Secrets updated for connection shop', connection: { key: 'shop', secrets_configured: true }, test: { test_status: 'succeeded' } });
    });
  });

  describe('GET /connection/{key}/test', () => {
    it('succeeds against the target database', async () => {
      await call('PUT', '/connection/shop/secret', { url: urlWithPassword });
      const answer = await call('GET', '/connection/shop/test');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ connection_key: 'shop', test_status: 'succeeded', category: null, msg: 'Connected and ran a query' });
    });

    it('fails with not_found for a database that does not exist', async () => {
      const url = new URL(urlWithPassword);
      url.pathname = '/no_such_database_here';
      await call('PATCH', '/connection', [{ key: 'wrong_db', connection_type: 'postgres', access: 'read', secrets: { url: url.toString() } }]);
      const answer = await call('GET', '/connection/wrong_db/test');
      expect(answer.body).toMatchObject({ test_status: 'failed', category: 'not_found' });
      expect(answer.body.msg).toMatch(/database "no_such_database_here" does not exist/);
    });

    it('fails with not_found for a port nothing listens on, without the password', async () => {
      const port = await freePort();
      await call('PATCH', '/connection', [
        { key: 'wrong_port', connection_type: 'postgres', access: 'read', secrets: { host: '127.0.0.1', port, dbname: 'shop', username: 'postgres', password: OTHER_PASSWORD } },
      ]);
      const answer = await call('GET', '/connection/wrong_port/test');
      expect(answer.body).toMatchObject({ test_status: 'failed', category: 'not_found' });
      expect(answer.body.msg).toMatch(/No database server answers at the configured address/);
      expect(answer.body.msg).toContain(`127.0.0.1:${port}`);
    });

    it('masks secret values in a failure message', () => {
      const secrets = { url: `postgres://app:${encodeURIComponent(PASSWORD + '/@')}@db:5432/shop`, api_token: TOKEN, username: 'app' };
      const message = `could not connect to postgres://app:${encodeURIComponent(PASSWORD + '/@')}@db:5432/shop as app with ${PASSWORD}/@ and ${TOKEN}`;
      expect(redactSecrets(message, secrets)).toBe('could not connect to *** as app with *** and ***');
    });

    it('skips manual connections and types it cannot query yet, and answers 404 for an unknown key', async () => {
      expect((await call('GET', '/connection/support_desk/test')).body).toMatchObject({ test_status: 'skipped', category: null });
      expect((await call('GET', '/connection/crm/test')).body).toMatchObject({ test_status: 'skipped', msg: expect.stringMatching(/http/) });
      expect(await call('GET', '/connection/nope/test')).toEqual({ status: 404, body: { error: 'not_found', message: 'No connection with key nope' } });
    });
  });

  it('deletes a connection, then answers 404 for it', async () => {
    expect((await call('DELETE', '/connection/wrong_port')).status).toBe(204);
    expect((await call('GET', '/connection/wrong_port')).status).toBe(404);
    expect(await call('DELETE', '/connection/wrong_port')).toEqual({ status: 404, body: { error: 'not_found', message: 'No connection with key wrong_port' } });
  });
});

describe('datasets', () => {
  const files = ['postgres_example_test_dataset.yml', 'postgres_example_test_extended_dataset.yml'];

  beforeAll(async () => {
    await call('PATCH', '/connection', [
      { key: 'example', connection_type: 'postgres', access: 'write', secrets: { url: urlWithPassword } },
      { key: 'elsewhere', connection_type: 'postgres', access: 'read', secrets: { url: urlWithPassword } },
    ]);
  });

  it.each(files)('loads %s unchanged from YAML, and GET returns what the parser gives for the file', async (file) => {
    const text = await exampleFile(file);
    const [expected] = parseDatasetYaml(text);
    for (const contentType of ['application/x-yaml', 'application/yaml', 'text/yaml']) {
      const answer = await call('PATCH', '/connection/example/dataset', text, contentType);
      expect(answer.status).toBe(200);
      expect(answer.body.failed).toEqual([]);
      expect(answer.body.succeeded).toEqual([expected]);
      const stored = await call('GET', `/connection/example/dataset/${expected!.fides_key}`);
      expect(stored.status).toBe(200);
      expect(stored.body).toEqual(expected);
    }
  });

  it.each(files)('loads %s unchanged from JSON (a list, or {dataset: [...]})', async (file) => {
    const text = await exampleFile(file);
    const [expected] = parseDatasetYaml(text);
    const document = parseYaml(text) as { dataset: unknown[] };
    for (const body of [document, document.dataset]) {
      const answer = await call('PATCH', '/connection/example/dataset', body);
      expect(answer.status).toBe(200);
      expect(answer.body.failed).toEqual([]);
      expect((await call('GET', `/connection/example/dataset/${expected!.fides_key}`)).body).toEqual(expected);
    }
  });

  it('lists the datasets of a connection', async () => {
    const answer = await call('GET', '/connection/example/dataset');
    expect(answer.body).toMatchObject({ total: 2, page: 1, size: 50, pages: 1 });
    expect(answer.body.items.map((dataset: { fides_key: string }) => dataset.fides_key)).toEqual(['postgres_example_test_dataset', 'postgres_example_test_extended_dataset']);
  });

  const mixed = `dataset:
  - fides_key: good_dataset
    collections:
      - name: account
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              identity: email
  - fides_key: bad_dataset
    collections:
      - name: account
        fields:
          - name: email
            fides_meta:
              identity: email
          - name: nickname
            fides_meta:
              length: -3
          - name: owner_id
            fides_meta:
              references:
                - dataset: bad_dataset
                  field: owner.id
                  direction: sideways
  - fides_key: postgres_example_test_dataset
    collections: []
`;

  it('saves the valid datasets of a list and lists the others as failed, with each problem located', async () => {
    const before = (await call('GET', '/connection/elsewhere/dataset')).body.total;
    const answer = await call('PATCH', '/connection/elsewhere/dataset', mixed, 'application/x-yaml');
    expect(answer.status).toBe(200);
    expect(answer.body.succeeded.map((dataset: { fides_key: string }) => dataset.fides_key)).toEqual(['good_dataset']);
    expect(answer.body.failed).toHaveLength(2);
    const [bad, bound] = answer.body.failed;
    expect(bad.data).toEqual({ fides_key: 'bad_dataset' });
    expect(bad.problems).toEqual([
      { dataset: 'bad_dataset', collection: 'account', field: 'nickname', line: 19, message: 'fides_meta.length: must be a positive integer' },
      { dataset: 'bad_dataset', collection: 'account', field: 'owner_id', line: 25, message: 'fides_meta.references[0].direction: must be from, to or none' },
    ]);
    expect(bad.message).toMatch(/^body\.dataset\[1\]: 2 problems: dataset bad_dataset, collection account, field nickname: fides_meta\.length: must be a positive integer \(line 19\)/);
    expect(bound.data).toEqual({ fides_key: 'postgres_example_test_dataset' });
    expect(bound.message).toBe(
      'body.dataset[2].fides_key: dataset postgres_example_test_dataset belongs to connection example; delete it there first, or use another fides_key',
    );
    // Nothing of the failed ones was applied: the bound dataset is still the example's, unchanged.
    expect((await call('GET', '/connection/elsewhere/dataset')).body.total).toBe(before + 1);
    expect((await call('GET', '/connection/elsewhere/dataset/bad_dataset')).status).toBe(404);
    const [example] = parseDatasetYaml(await exampleFile(files[0]!));
    expect((await call('GET', '/connection/example/dataset/postgres_example_test_dataset')).body).toEqual(example);
  });

  it('locates problems in JSON too, by dataset, collection and field', async () => {
    const answer = await call('PATCH', '/connection/elsewhere/dataset', [{ fides_key: 'json_dataset', collections: [{ name: 'c', fields: [{ name: 'f', data_categories: 'user' }] }] }, { collections: [] }]);
    expect(answer.body.succeeded).toEqual([]);
    expect(answer.body.failed.map((failure: { problems: unknown[] }) => failure.problems)).toEqual([
      [{ dataset: 'json_dataset', collection: 'c', field: 'f', message: 'data_categories: expected array, received string' }],
      [{ dataset: '#2', message: 'fides_key: is required' }],
    ]);
  });

  it('refuses bodies that are not datasets, naming what is wrong', async () => {
    expect(await call('PATCH', '/connection/elsewhere/dataset', 'dataset: [\n  - {', 'application/x-yaml')).toMatchObject({
      status: 400,
      body: { error: 'malformed_request', message: expect.stringMatching(/^body: not valid YAML: .* \(line \d+\)$/) },
    });
    expect((await call('PATCH', '/connection/elsewhere/dataset', '{"dataset": [', 'application/json')).status).toBe(400);
    expect((await call('PATCH', '/connection/elsewhere/dataset', 'dataset: []', 'text/plain')).status).toBe(415);
    const missing = await call('PATCH', '/connection/elsewhere/dataset', 'datasets:\n  - fides_key: x\n', 'application/x-yaml');
    expect(missing.status).toBe(422);
    expect(locs(missing)).toEqual([['body', 'dataset']]);
    const empty = await call('PATCH', '/connection/elsewhere/dataset', []);
    expect(empty).toMatchObject({ status: 422, body: { message: 'body: send at least one dataset' } });
    const tooMany = await call('PATCH', '/connection/elsewhere/dataset', Array.from({ length: 51 }, (_, i) => ({ fides_key: `d${i}`, collections: [] })));
    expect(tooMany).toMatchObject({ status: 422, body: { message: 'body: at most 50 datasets per call' } });
  });

  it('answers 404 for an unknown connection or dataset', async () => {
    const noConnection = { error: 'not_found', message: 'No connection with key nope' };
    expect(await call('PATCH', '/connection/nope/dataset', [{ fides_key: 'x', collections: [] }])).toEqual({ status: 404, body: noConnection });
    expect(await call('GET', '/connection/nope/dataset')).toEqual({ status: 404, body: noConnection });
    expect(await call('GET', '/connection/nope/dataset/good_dataset')).toEqual({ status: 404, body: noConnection });
    expect(await call('GET', '/connection/example/dataset/good_dataset')).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'Connection example has no dataset with fides_key good_dataset' },
    });
    expect((await call('DELETE', '/connection/example/dataset/good_dataset')).status).toBe(404);
  });

  it('deletes a dataset', async () => {
    expect((await call('DELETE', '/connection/elsewhere/dataset/good_dataset')).status).toBe(204);
    expect((await call('GET', '/connection/elsewhere/dataset/good_dataset')).status).toBe(404);
  });
});

describe('policies', () => {
  it('upserts policies; a malformed body is refused with 422 and changes nothing', async () => {
    const refused = await call('PATCH', '/dsr/policy', [{ key: 'access_policy', name: 'Access' }, { key: 'erasure_policy' }]);
    expect(refused.status).toBe(422);
    expect(locs(refused)).toEqual([['body', 1, 'name']]);
    expect((await call('GET', '/dsr/policy')).body.total).toBe(0);

    const answer = await call('PATCH', '/dsr/policy', [
      { key: 'access_policy', name: 'Access' },
      { key: 'erasure_policy', name: 'Erasure', requires_approval: true },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      succeeded: [
        { key: 'access_policy', name: 'Access', requires_approval: false, requires_erasure_confirmation: false, regulation: 'gdpr', custom_days: null, requires_identity_verification: false, rules: [] },
        { key: 'erasure_policy', name: 'Erasure', requires_approval: true, requires_erasure_confirmation: false, regulation: 'gdpr', custom_days: null, requires_identity_verification: false, rules: [] },
      ],
      failed: [],
    });
  });

  it('upserts rules: an erasure rule without a masking strategy and an access rule with one fail, name the field and are not applied', async () => {
    const answer = await call('PATCH', '/dsr/policy/erasure_policy/rule', [
      { key: 'erase_contact', name: 'Erase contact data', action_type: 'erasure', masking_strategy: { strategy: 'null_rewrite' } },
      { key: 'erase_all', name: 'Erase everything', action_type: 'erasure' },
      { key: 'read_all', name: 'Read everything', action_type: 'access', masking_strategy: { strategy: 'hash' } },
      { key: 'read_contact', name: 'Read contact data', action_type: 'access' },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body.succeeded).toEqual([
      { key: 'erase_contact', name: 'Erase contact data', action_type: 'erasure', masking_strategy: { strategy: 'null_rewrite' }, targets: [] },
      { key: 'read_contact', name: 'Read contact data', action_type: 'access', masking_strategy: null, targets: [] },
    ]);
    expect(answer.body.failed).toEqual([
      { message: 'body[1].masking_strategy: an erasure rule needs a masking strategy', data: { key: 'erase_all', name: 'Erase everything', action_type: 'erasure' } },
      {
        message: 'body[2].masking_strategy: an access rule takes no masking strategy',
        data: { key: 'read_all', name: 'Read everything', action_type: 'access', masking_strategy: { strategy: 'hash' } },
      },
    ]);
    const policy = await call('GET', '/dsr/policy/erasure_policy');
    expect(policy.body.rules.map((rule: { key: string }) => rule.key)).toEqual(['erase_contact', 'read_contact']);
  });

  it('upserts targets, and GET shows the policy with its rules and targets', async () => {
    const answer = await call('PATCH', '/dsr/policy/erasure_policy/rule/erase_contact/target', [
      { key: 'email', data_category: 'user.contact.email' },
      { key: 'phone', name: 'Phone numbers', data_category: 'user.contact.phone_number' },
    ]);
    expect(answer.body).toEqual({
      succeeded: [
        { key: 'email', name: null, data_category: 'user.contact.email' },
        { key: 'phone', name: 'Phone numbers', data_category: 'user.contact.phone_number' },
      ],
      failed: [],
    });
    const refused = await call('PATCH', '/dsr/policy/erasure_policy/rule/erase_contact/target', [{ key: 'bad', data_category: 'user contact' }]);
    expect(refused.status).toBe(422);
    expect(locs(refused)).toEqual([['body', 0, 'data_category']]);
    expect((await call('GET', '/dsr/policy/erasure_policy')).body.rules[0].targets.map((target: { key: string }) => target.key)).toEqual(['email', 'phone']);
  });

  it('keeps rules and targets when a policy or a rule is upserted again', async () => {
    await call('PATCH', '/dsr/policy', [{ key: 'erasure_policy', name: 'Erasure (renamed)', requires_erasure_confirmation: true }]);
    await call('PATCH', '/dsr/policy/erasure_policy/rule', [{ key: 'erase_contact', name: 'Erase contact', action_type: 'erasure', masking_strategy: { strategy: 'hash' } }]);
    const policy = await call('GET', '/dsr/policy/erasure_policy');
    expect(policy.body).toMatchObject({ name: 'Erasure (renamed)', requires_approval: true, requires_erasure_confirmation: true });
    expect(policy.body.rules).toEqual([
      {
        key: 'erase_contact',
        name: 'Erase contact',
        action_type: 'erasure',
        masking_strategy: { strategy: 'hash' },
        targets: [
          { key: 'email', name: null, data_category: 'user.contact.email' },
          { key: 'phone', name: 'Phone numbers', data_category: 'user.contact.phone_number' },
        ],
      },
      { key: 'read_contact', name: 'Read contact data', action_type: 'access', masking_strategy: null, targets: [] },
    ]);
  });

  it('lists policies', async () => {
    const answer = await call('GET', '/dsr/policy?size=1');
    expect(answer.body).toMatchObject({ total: 2, page: 1, size: 1, pages: 2 });
    expect(answer.body.items[0].key).toBe('access_policy');
  });

  it('answers 404 naming the unknown policy, rule or target', async () => {
    expect(await call('GET', '/dsr/policy/nope')).toEqual({ status: 404, body: { error: 'not_found', message: 'No policy with key nope' } });
    expect((await call('PATCH', '/dsr/policy/nope/rule', [{ key: 'r', name: 'R', action_type: 'access' }])).body.message).toBe('No policy with key nope');
    expect((await call('PATCH', '/dsr/policy/erasure_policy/rule/nope/target', [{ key: 't', data_category: 'user' }])).body).toEqual({
      error: 'not_found',
      message: 'Policy erasure_policy has no rule with key nope',
    });
    expect((await call('DELETE', '/dsr/policy/erasure_policy/rule/erase_contact/target/nope')).body.message).toBe(
      'Rule erase_contact of policy erasure_policy has no target with key nope',
    );
    expect((await call('DELETE', '/dsr/policy/erasure_policy/rule/nope')).status).toBe(404);
    expect((await call('DELETE', '/dsr/policy/nope')).status).toBe(404);
  });

  it('deletes a target, a rule and a policy', async () => {
    expect((await call('DELETE', '/dsr/policy/erasure_policy/rule/erase_contact/target/phone')).status).toBe(204);
    expect((await call('GET', '/dsr/policy/erasure_policy')).body.rules[0].targets.map((target: { key: string }) => target.key)).toEqual(['email']);
    expect((await call('DELETE', '/dsr/policy/erasure_policy/rule/erase_contact')).status).toBe(204);
    expect((await call('GET', '/dsr/policy/erasure_policy')).body.rules.map((rule: { key: string }) => rule.key)).toEqual(['read_contact']);
    expect((await call('DELETE', '/dsr/policy/erasure_policy')).status).toBe(204);
    expect((await call('GET', '/dsr/policy/erasure_policy')).status).toBe(404);
    const [left] = await harness.sql<{ count: number }[]>`select count(*)::int as count from policy_rule where policy_key = 'erasure_policy'`;
    expect(left!.count).toBe(0);
  });
});

describe('secrets', () => {
  it('never appear in a response body', () => {
    expect(responses.length).toBeGreaterThan(50);
    const leaks = responses.filter((response) => response.body.includes(MARK));
    expect(leaks).toEqual([]);
  });

  it('never appear in a log line, while configuration changes are logged', () => {
    expect(logLines.some((line) => line.includes('Connection created') && line.includes('"connection_key":"shop"'))).toBe(true);
    expect(logLines.filter((line) => line.includes(MARK))).toEqual([]);
    expect(written.filter((chunk) => chunk.includes(MARK))).toEqual([]);
  });
});
