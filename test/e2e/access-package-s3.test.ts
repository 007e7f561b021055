/**
 * Access packages in an S3-compatible bucket. There is no S3 or MinIO here: these tests run
 * against moto's server (an S3 emulator that checks SigV4 signatures and IAM permissions) when
 * `moto_server` is installed, and are skipped otherwise. The signing itself is also checked
 * against AWS's published examples, which needs no server.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ApiServer } from '../../src/api/server.js';
import type { Policy } from '../../src/domain/policies.js';
import { S3Storage, StorageError, storageAt } from '../../src/storage/index.js';
import { EMPTY_PAYLOAD_HASH, sha256Hex, signRequest } from '../../src/storage/sigv4.js';
import { accessPackageWorkflowId } from '../../workflows/definitions.js';
import { unzipText, type PackageView } from '../support/access-packages.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { motoAvailable, startMoto, type Moto } from '../support/moto.js';

describe('SigV4 signing', () => {
  // The examples of AWS's "Signature Version 4 signing: examples" for S3 (GET with a range, PUT).
  const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const date = new Date('2013-05-24T00:00:00Z');

  it('matches the published GET Object example', () => {
    const headers = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'), headers: { Range: 'bytes=0-9' }, payloadHash: EMPTY_PAYLOAD_HASH, region: 'us-east-1', service: 's3', credentials, date });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('matches the published PUT Object example (a key with a character to encode)', () => {
    const storage = new S3Storage({ bucket: 'examplebucket', prefix: '', region: 'us-east-1', endpoint: undefined, credentials });
    expect(() => storage.objectUrl('test$file.text')).toThrow(StorageError); // dsrflow's own keys never need it
    const headers = signRequest({
      method: 'PUT',
      url: new URL('https://examplebucket.s3.amazonaws.com/test%24file.text'),
      headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: sha256Hex('Welcome to Amazon S3.'),
      region: 'us-east-1',
      service: 's3',
      credentials,
      date,
    });
    expect(headers.authorization).toMatch(/, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd$/);
  });

  it('addresses objects virtual-hosted on AWS and path-style on an endpoint', () => {
    const aws = new S3Storage({ bucket: 'packages', prefix: 'eu/', region: 'eu-west-1', endpoint: undefined, credentials });
    expect(aws.objectUrl('pri_1.zip').toString()).toBe('https://packages.s3.eu-west-1.amazonaws.com/eu/pri_1.zip');
    const minio = new S3Storage({ bucket: 'packages', prefix: '', region: 'us-east-1', endpoint: 'http://minio:9000/', credentials });
    expect(minio.objectUrl('pri_1.zip').toString()).toBe('http://minio:9000/packages/pri_1.zip');
    expect(minio.location).toBe('s3://packages/');
  });
});

const available = motoAvailable();
if (!available) console.warn('moto_server is not installed: the S3 storage tests against a server are skipped');

describe.skipIf(!available)('S3 storage against an S3-compatible server (moto)', () => {
  let moto: Moto;
  let storage: S3Storage;
  beforeAll(async () => {
    moto = await startMoto();
    await moto.createBucket('packages');
    storage = new S3Storage({ bucket: 'packages', prefix: 'dsr/', region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.credentials });
  });
  afterAll(() => moto?.stop());

  it('puts, tells existence, streams back and deletes an object', async () => {
    const body = new TextEncoder().encode('a zip, or something like it');
    expect(await storage.exists('pri_a.zip')).toBe(false);
    expect(await storage.get('pri_a.zip')).toBeUndefined();
    await storage.put('pri_a.zip', body, 'application/zip');
    expect(await storage.exists('pri_a.zip')).toBe(true);
    const object = (await storage.get('pri_a.zip'))!;
    expect(object.size).toBe(body.byteLength);
    expect(new Uint8Array(await new Response(object.body).arrayBuffer())).toEqual(body);
    await storage.delete('pri_a.zip');
    expect(await storage.exists('pri_a.zip')).toBe(false);
    await storage.delete('pri_a.zip'); // deleting what is gone is fine
  });

  it('is refused with a wrong secret (the server checks the signature)', async () => {
    const wrong = new S3Storage({ bucket: 'packages', prefix: 'dsr/', region: 'us-east-1', endpoint: moto.endpoint, credentials: { ...moto.credentials, secretAccessKey: 'not-the-secret' } });
    await expect(wrong.put('pri_b.zip', new Uint8Array([1]), 'application/zip')).rejects.toThrow(/HTTP 403 SignatureDoesNotMatch/);
    await expect(wrong.exists('pri_b.zip')).rejects.toThrow(StorageError);
  });

  it('is found again by its recorded location, and another bucket is not', () => {
    expect(storageAt('s3://packages/dsr/', storage)).toBe(storage);
    expect(() => storageAt('s3://elsewhere/', storage)).toThrow(/not configured/);
  });
});

describe.skipIf(!available)('a request whose package goes to a bucket', () => {
  let moto: Moto;
  let harness: Harness;
  let api: ApiServer;
  beforeAll(async () => {
    moto = await startMoto();
    await moto.createBucket('packages');
    harness = await createHarness({
      env: {
        DSRFLOW_ACCESS_PACKAGE_STORAGE: 's3://packages/requests',
        DSRFLOW_ACCESS_PACKAGE_S3_ENDPOINT: moto.endpoint,
        AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
        DSRFLOW_ACCESS_PACKAGE_EXPIRY: '6s',
        DSRFLOW_MAINTENANCE_INTERVAL: '1s',
      },
    });
    const policy: Policy = {
      key: 'email_access',
      name: 'Email',
      requires_approval: false,
      requires_erasure_confirmation: false,
      rules: [{ key: 'email', name: 'Email', action_type: 'access', masking_strategy: null, targets: [{ key: 'email', data_category: 'user.contact.email' }] }],
    };
    await harness.savePolicy(policy);
    await harness.startWorker();
    // An API whose configuration has no bucket (a directory, the default): it cannot open the package.
    api = await listen(harness.createApp({ accessPackages: {} }), '127.0.0.1', 0);
  });
  afterAll(async () => {
    await api?.close();
    await harness?.close();
    await moto?.stop();
  });

  it('is written to the bucket, downloads through the link, and is deleted from the bucket at the expiry', async () => {
    const id = await harness.submit({ policy_key: 'email_access', identity: { email: 'customer-1@example.com' } });
    expect(await harness.result(id)).toEqual({ status: 'complete' });
    const view = async () => (await (await harness.fetch(`/api/v1/privacy-request/${id}/access-package`)).json()) as PackageView;
    const before = await view();
    expect(before.status).toBe('available');
    const bucket = new S3Storage({ bucket: 'packages', prefix: 'requests/', region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.credentials });
    expect(await bucket.exists(`${id}.zip`)).toBe(true);

    const response = await fetch(before.download_url!);
    expect(response.status).toBe(200);
    const zip = new Uint8Array(await response.arrayBuffer());
    expect(createHash('sha256').update(zip).digest('hex')).toBe(before.sha256);
    const document = JSON.parse(unzipText(zip)['access-results.json']!) as { results: Record<string, unknown[]> };
    expect(document.results['postgres_example_test_dataset:customer']).toEqual([{ email: 'customer-1@example.com' }]);
    expect((await view()).status).toBe('downloaded');

    // An API configured without the bucket (so without its credentials) says so rather than failing obscurely.
    const link = new URL(before.download_url!);
    const withoutStorage = await fetch(`${api.url}${link.pathname}${link.search}`);
    expect(withoutStorage.status).toBe(503);

    const deleted = await eventually(async () => ((await view()).status === 'deleted' ? true : undefined), { timeoutMs: 40_000, intervalMs: 250, what: 'the package to be deleted' });
    expect(deleted).toBe(true);
    await expect(harness.client.workflow.getHandle(accessPackageWorkflowId(id)).describe()).rejects.toThrow(/not found/i);
    expect(await bucket.exists(`${id}.zip`)).toBe(false);
    expect((await fetch(before.download_url!)).status).toBe(410);
  });
});
