/**
 * The codec endpoint lets the Temporal Web UI show dsrflow's encrypted payloads: it decodes what
 * the worker encoded, round-trips, and answers browsers only from the UI's origin.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(() => harness?.close());

const post = (path: string, body: unknown, origin = 'http://127.0.0.1:8233') =>
  harness.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', origin, 'x-namespace': 'default' }, body: JSON.stringify(body) });

it('decodes the payloads of a real workflow history', async () => {
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  const history = await harness.handle(id).fetchHistory();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const wire = {
    payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata!).map(([key, value]) => [key, Buffer.from(value).toString('base64')])), data: Buffer.from(input.data!).toString('base64') }],
  };
  expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');

  const response = await post('/codec/decode', wire);
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
  const decoded = (await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
  expect(Buffer.from(decoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
  // The request id and its deadline: never the person's identities.
  expect(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString())).toEqual({
    privacyRequestId: id,
    deadline: { regulation: 'gdpr', customDays: null, receivedAt: expect.any(String), dueAt: expect.any(String), extendedDueAt: null },
  });
  await harness.handle(id).terminate('test done');
});

it('round-trips through encode and decode, and passes plain payloads through', async () => {
  const plain = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"hello":"world"}').toString('base64') }] };
  const encoded = (await (await post('/codec/encode', plain)).json()) as typeof plain;
  expect(Buffer.from(encoded.payloads[0]!.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
  expect(Buffer.from(encoded.payloads[0]!.data, 'base64').toString('latin1')).not.toContain('hello');
  expect(await (await post('/codec/decode', encoded)).json()).toEqual(plain);
  expect(await (await post('/codec/decode', plain)).json()).toEqual(plain);
});

it('answers CORS preflights only for the UI origin, and refuses a malformed body', async () => {
  const preflight = (origin: string) =>
    harness.fetch('/codec/decode', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
  expect((await preflight('http://localhost:8233')).headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
  expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  expect((await post('/codec/decode', { nope: true })).status).toBe(422);
});
