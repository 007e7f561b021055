/**
 * Standard Webhooks signatures against the published test vector of the reference libraries
 * (standard-webhooks/libraries/javascript/src/webhook.test.ts, "sign function works"), and the
 * ways a verification must fail. Also the secret, URL and event rules of src/domain/webhooks.ts.
 */
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, webhookBody, webhookSecretBytes, webhookSubscriptionCreateSchema, webhookUrlProblem } from '../../src/domain/webhooks.js';
import { sign, signedHeaders, verify, WebhookVerificationError } from '../../src/webhooks/signature.js';

// The reference libraries' vector.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const EXPECTED = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const at = new Date(TIMESTAMP * 1000);
const headersFor = (signature: string, timestamp = TIMESTAMP, id = ID) => ({ 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature });

describe('sign', () => {
  it('matches the published test vector, with a Date or Unix seconds, a string or bytes', () => {
    expect(sign(SECRET, ID, at, BODY)).toBe(EXPECTED);
    expect(sign(SECRET, ID, TIMESTAMP, BODY)).toBe(EXPECTED);
    expect(sign(SECRET, ID, new Date(TIMESTAMP * 1000 + 999), Buffer.from(BODY))).toBe(EXPECTED);
    // The bare base64 is the same key.
    expect(sign('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ID, at, BODY)).toBe(EXPECTED);
  });

  it('writes the three headers, one signature per secret', () => {
    const other = generateWebhookSecret();
    const headers = signedHeaders([SECRET, other], ID, at, BODY);
    expect(headers['webhook-id']).toBe(ID);
    expect(headers['webhook-timestamp']).toBe(String(TIMESTAMP));
    expect(headers['webhook-signature']).toBe(`${EXPECTED} ${sign(other, ID, at, BODY)}`);
  });

  it('refuses an id with a full stop, which would make the signed content ambiguous', () => {
    expect(() => sign(SECRET, 'msg.1', at, BODY)).toThrow(/must not contain/);
  });
});

describe('verify', () => {
  const now = at;

  it('accepts the vector, with headers in any case, as a record or a Headers object', () => {
    expect(verify(SECRET, BODY, headersFor(EXPECTED), { now })).toEqual({ id: ID, timestamp: at });
    expect(verify(SECRET, BODY, { 'Webhook-Id': ID, 'WEBHOOK-TIMESTAMP': String(TIMESTAMP), 'Webhook-Signature': EXPECTED }, { now }).id).toBe(ID);
    expect(verify(SECRET, Buffer.from(BODY), new Headers(headersFor(EXPECTED)), { now }).id).toBe(ID);
  });

  it('refuses a tampered body, id, timestamp or secret', () => {
    const refused = (run: () => unknown) => expect(run).toThrow(WebhookVerificationError);
    refused(() => verify(SECRET, '{"test": 2432232315}', headersFor(EXPECTED), { now }));
    refused(() => verify(SECRET, `${BODY} `, headersFor(EXPECTED), { now }));
    refused(() => verify(SECRET, BODY, headersFor(EXPECTED, TIMESTAMP + 1), { now }));
    refused(() => verify(SECRET, BODY, headersFor(EXPECTED, TIMESTAMP, 'msg_other'), { now }));
    refused(() => verify(generateWebhookSecret(), BODY, headersFor(EXPECTED), { now }));
  });

  it('refuses timestamps outside the tolerance, either way', () => {
    const tooOld = new Date((TIMESTAMP + 301) * 1000);
    const tooNew = new Date((TIMESTAMP - 301) * 1000);
    expect(() => verify(SECRET, BODY, headersFor(EXPECTED), { now: tooOld })).toThrow(/too old/);
    expect(() => verify(SECRET, BODY, headersFor(EXPECTED), { now: tooNew })).toThrow(/too new/);
    expect(verify(SECRET, BODY, headersFor(EXPECTED), { now: tooOld, toleranceSeconds: 400 }).id).toBe(ID);
    // The default clock is the current time: a signature from 2021 is a replay.
    expect(() => verify(SECRET, BODY, headersFor(EXPECTED))).toThrow(/too old/);
  });

  it('refuses missing headers, a malformed timestamp, partial and malformed signatures', () => {
    const { 'webhook-id': _id, ...noId } = headersFor(EXPECTED);
    expect(() => verify(SECRET, BODY, noId, { now })).toThrow(/Missing/);
    expect(() => verify(SECRET, BODY, headersFor(EXPECTED, 'hello' as unknown as number), { now })).toThrow(/timestamp/);
    for (const signature of [EXPECTED.slice(0, 8), 'v1,', 'v1,dawfeoifkpqwoekfpqoekf', EXPECTED.slice(3), `v2,${EXPECTED.slice(3)}`, `v1a,${EXPECTED.slice(3)}`]) {
      expect(() => verify(SECRET, BODY, headersFor(signature), { now }), signature).toThrow(WebhookVerificationError);
    }
  });

  it('accepts a message when any one of several space-separated signatures matches', () => {
    const wrong = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const signatures = [wrong, `v2,${EXPECTED.slice(3)}`, EXPECTED, wrong].join(' ');
    expect(verify(SECRET, BODY, headersFor(signatures), { now }).id).toBe(ID);
    expect(() => verify(SECRET, BODY, headersFor([wrong, `v2,${EXPECTED.slice(3)}`].join(' ')), { now })).toThrow(/No matching signature/);
  });

  it('verifies what sign wrote, with a rotated secret alongside', () => {
    const old = generateWebhookSecret();
    const current = generateWebhookSecret();
    const body = JSON.stringify({ type: 'request.completed', timestamp: new Date().toISOString(), data: { privacy_request_id: 'pri_1' } });
    const headers = signedHeaders([current, old], 'whd_1', new Date(), body);
    expect(verify(old, body, headers).id).toBe('whd_1');
    expect(verify(current, body, headers).id).toBe('whd_1');
  });
});

describe('secrets, URLs and event bodies', () => {
  it('generates whsec_ secrets of 32 bytes, and accepts given ones of 24 to 64 bytes only', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(webhookSecretBytes(secret)?.length).toBe(32);
    expect(webhookSecretBytes(SECRET)?.length).toBe(24);
    expect(webhookSecretBytes(`whsec_${Buffer.alloc(64, 1).toString('base64')}`)?.length).toBe(64);
    for (const bad of [
      'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', // no prefix
      `whsec_${Buffer.alloc(23, 1).toString('base64')}`,
      `whsec_${Buffer.alloc(65, 1).toString('base64')}`,
      'whsec_not base64 at all!!!!!!!!!!!!!!!!',
      'whsec_',
      `whsec_${Buffer.alloc(32, 1).toString('base64url')}`, // another alphabet, unpadded
    ]) {
      expect(webhookSecretBytes(bad), bad).toBeUndefined();
    }
  });

  it('takes http(s) URLs with a host and without credentials', () => {
    expect(webhookUrlProblem('https://hooks.example.com/dsrflow?token=x')).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook')).toBeUndefined();
    expect(webhookUrlProblem('http://[::1]:8080/hook')).toBeUndefined();
    for (const [url, problem] of [
      ['ftp://example.com/x', /http or https/],
      ['javascript:alert(1)', /http or https/],
      ['file:///etc/passwd', /http or https/],
      ['https://', /absolute/],
      ['http:/example.com', /host/],
      ['http:example.com', /host/],
      ['https://user:pass@example.com/', /credentials/],
      ['https://user@example.com/', /credentials/],
      ['https://example.com/\0', /NUL/],
      ['https://example.com/ x', /spaces/],
      [`https://example.com/${'a'.repeat(2048)}`, /2048/],
      ['/relative', /absolute/],
    ] as const) {
      expect(webhookUrlProblem(url), url).toMatch(problem);
    }
  });

  it('names the unknown event type by its index', () => {
    const parsed = webhookSubscriptionCreateSchema.safeParse({ url: 'https://example.com', event_types: ['request.completed', 'request.exploded'] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path)).toEqual([['event_types', 1]]);
  });

  it('builds the Standard Webhooks body, and refuses identity values in the data', () => {
    expect(webhookBody({ type: 'request.completed', privacyRequestId: 'pri_1', occurredAt: '2026-01-02T03:04:05Z', data: { status: 'complete' } })).toEqual({
      type: 'request.completed',
      timestamp: '2026-01-02T03:04:05.000Z',
      data: { status: 'complete', privacy_request_id: 'pri_1' },
    });
    for (const data of [{ email: 'a@example.com' }, { phone_number: '+1' }, { identity: {} }, { nested: { Email: 'x' } }, { list: [{ identities: [] }] }]) {
      expect(() => webhookBody({ type: 'request.received', privacyRequestId: 'pri_1', occurredAt: '2026-01-02T03:04:05Z', data }), JSON.stringify(data)).toThrow(/no identity values/);
    }
  });
});
