/**
 * The access package's content (pure functions, no servers): only targeted fields, nested ones
 * too; CSV that survives quotes, commas and newlines; a zip that reads back; signed links; the
 * configuration of its storage.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildAccessPackage, csvName, packagedCollections, projectRow, toCsv } from '../../src/domain/access-package.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import { linkKey, signDownload, verifyDownload } from '../../src/domain/download-links.js';
import type { Policy } from '../../src/domain/policies.js';
import { parseCsv, unzipText } from '../support/access-packages.js';

const [dataset] = parseDatasetYaml(`
dataset:
  - fides_key: shop
    collections:
      - name: customer
        fields:
          - name: id
            data_categories: [system.operations]
          - name: email
            data_categories: [user.contact.email]
          - name: note
            data_categories: [user.contact]
          - name: profile
            fields:
              - name: phone
                data_categories: [user.contact.phone_number]
              - name: score
                data_categories: [system.operations]
      - name: audit
        fields:
          - name: id
            data_categories: [system.operations]
          - name: contactless
            data_categories: [user.contactless]
`);

const policy: Policy = {
  key: 'contact',
  name: 'contact',
  requires_approval: false,
  requires_erasure_confirmation: false,
  rules: [
    { key: 'contact', name: 'contact', action_type: 'access', masking_strategy: null, targets: [{ key: 'c', data_category: 'user.contact' }] },
    { key: 'erase', name: 'erase', action_type: 'erasure', masking_strategy: { strategy: 'null_rewrite' }, targets: [{ key: 's', data_category: 'system' }] },
  ],
};

const datasets = { shop: dataset! };
const collections = packagedCollections(policy, datasets, ['shop:customer', 'shop:audit']);

describe('the collections and fields in a package', () => {
  it('keeps the fields the access rules target, nested ones as paths, and leaves out collections without any', () => {
    expect(collections.map((collection) => collection.key)).toEqual(['shop:customer']);
    expect(collections[0]!.fields.map((field) => field.field_name)).toEqual(['email', 'note', 'profile.phone']);
  });

  it('ignores erasure rules', () => {
    const erasureOnly = { rules: policy.rules.filter((rule) => rule.action_type === 'erasure') };
    expect(packagedCollections(erasureOnly, datasets, ['shop:customer', 'shop:audit'])).toEqual([]);
  });

  it('projects rows onto the targeted fields, through arrays, without showing a whole non-object', () => {
    const fields = collections[0]!.fields;
    expect(projectRow({ id: 1, email: 'a@example.com', note: null, profile: { phone: '+1', score: 9 } }, fields)).toEqual({ email: 'a@example.com', note: null, profile: { phone: '+1' } });
    expect(projectRow({ id: 1, profile: [{ phone: '+1', score: 1 }, { phone: '+2', score: 2 }] }, fields)).toEqual({ profile: [{ phone: '+1' }, { phone: '+2' }] });
    expect(projectRow({ id: 1, profile: 'phone=+1;score=9' }, fields)).toEqual({});
    expect(projectRow({ id: 1, profile: null }, fields)).toEqual({ profile: null });
  });
});

describe('CSV', () => {
  it('keeps quotes, commas, newlines and surrounding spaces intact', () => {
    const fields = collections[0]!.fields;
    const rows = [
      { email: 'plain@example.com', note: 'He said "hi", then left\nfor good', profile: { phone: ' +1 ' } },
      { email: null, note: 'line\r\nbreak', profile: [{ phone: '+1' }, { phone: '+2' }] },
    ];
    const text = toCsv(fields, rows);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parseCsv(text)).toEqual([
      ['email', 'note', 'profile.phone'],
      ['plain@example.com', 'He said "hi", then left\nfor good', ' +1 '],
      ['', 'line\r\nbreak', '["+1","+2"]'],
    ]);
  });
});

describe('the zip', () => {
  it('holds the JSON document and one CSV per collection, and reads back', () => {
    const built = buildAccessPackage({
      privacyRequestId: 'pri_1',
      policy,
      createdAt: new Date('2026-11-23T10:00:00Z'),
      collections: [{ collection: collections[0]!, rows: [{ id: 7, email: 'a@example.com', note: 'x, "y"', profile: { phone: '+1', score: 3 } }] }],
    });
    const files = unzipText(built.zip);
    expect(Object.keys(files).sort()).toEqual(['access-results.json', 'shop/customer.csv']);
    expect(csvName(collections[0]!)).toBe('shop/customer.csv');
    const document = JSON.parse(files['access-results.json']!);
    expect(document).toEqual({
      privacy_request_id: 'pri_1',
      policy_key: 'contact',
      created_at: '2026-11-23T10:00:00.000Z',
      data_categories: ['user.contact'],
      collections: [
        {
          collection: 'shop:customer',
          fields: [
            { name: 'email', data_categories: ['user.contact.email'] },
            { name: 'note', data_categories: ['user.contact'] },
            { name: 'profile.phone', data_categories: ['user.contact.phone_number'] },
          ],
          row_count: 1,
          csv: 'shop/customer.csv',
        },
      ],
      results: { 'shop:customer': [{ email: 'a@example.com', note: 'x, "y"', profile: { phone: '+1' } }] },
    });
    expect(parseCsv(files['shop/customer.csv']!)).toEqual([['email', 'note', 'profile.phone'], ['a@example.com', 'x, "y"', '+1']]);
    expect(built.rowCounts).toEqual({ 'shop:customer': 1 });
    expect(built.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stores small files as they are and compresses large ones, and both read back', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ id: i, email: `person${i}@example.com`, note: 'the same note again', profile: { phone: '+1', score: i } }));
    const built = buildAccessPackage({ privacyRequestId: 'pri_2', policy, createdAt: new Date('2026-11-23T10:00:00Z'), collections: [{ collection: collections[0]!, rows: rows.slice(0, 1) }] });
    const large = buildAccessPackage({ privacyRequestId: 'pri_2', policy, createdAt: new Date('2026-11-23T10:00:00Z'), collections: [{ collection: collections[0]!, rows }] });
    // Each local file header: signature, version, flags, then the compression method (0 stored, 8 deflated).
    const methods = (zip: Uint8Array) => {
      const found: Record<string, number> = {};
      const view = Buffer.from(zip);
      for (let at = view.indexOf('PK\x03\x04', 0, 'latin1'); at >= 0; at = view.indexOf('PK\x03\x04', at + 4, 'latin1')) {
        const nameLength = view.readUInt16LE(at + 26);
        found[view.toString('utf8', at + 30, at + 30 + nameLength)] = view.readUInt16LE(at + 8);
      }
      return found;
    };
    expect(methods(built.zip)).toEqual({ 'access-results.json': 0, 'shop/customer.csv': 0 });
    expect(methods(large.zip)).toEqual({ 'access-results.json': 8, 'shop/customer.csv': 8 });
    expect(parseCsv(unzipText(large.zip)['shop/customer.csv']!)).toHaveLength(201);
    expect(large.zip.byteLength).toBeLessThan(JSON.stringify(rows).length / 4);
  });
});

describe('CSV cells a spreadsheet would run', () => {
  it('get a leading apostrophe (OWASP); numbers and phone numbers stay as stored', () => {
    const csv = toCsv([{ field_name: 'value', data_categories: ['user'] }] as never, [
      { value: '=HYPERLINK("http://evil.example","click")' },
      { value: '@SUM(A1)' },
      { value: '+cmd|calc' },
      { value: '-2+3' },
      { value: '\t=1' },
      { value: '+1 212 555 0100' },
      { value: '-12.5' },
      { value: -3 },
      { value: 'plain' },
    ]);
    expect(parseCsv(csv).slice(1).map(([cell]) => cell)).toEqual([
      `'=HYPERLINK("http://evil.example","click")`,
      "'@SUM(A1)",
      "'+cmd|calc",
      "'-2+3",
      "'\t=1",
      '+1 212 555 0100',
      '-12.5',
      '-3',
      'plain',
    ]);
  });
});

describe('signed download links', () => {
  const key = linkKey(randomBytes(32));
  const expires = 1_900_000_000;
  const signature = signDownload(key, 'pri_a', expires);

  it('verify for the request and expiry they were made for, only', () => {
    expect(verifyDownload(key, 'pri_a', expires, signature)).toBe(true);
    expect(verifyDownload(key, 'pri_b', expires, signature)).toBe(false);
    expect(verifyDownload(key, 'pri_a', expires + 1, signature)).toBe(false);
    expect(verifyDownload(linkKey(randomBytes(32)), 'pri_a', expires, signature)).toBe(false);
    expect(verifyDownload(key, 'pri_a', expires, '')).toBe(false);
    expect(verifyDownload(key, 'pri_a', expires, `${signature}A`)).toBe(false);
  });

  it('refuse every other spelling of the signature, including one that decodes to the same bytes', () => {
    for (let i = 0; i < signature.length; i += 1) {
      for (const replacement of ['A', 'B', 'Q', '_']) {
        if (signature[i] === replacement) continue;
        expect(verifyDownload(key, 'pri_a', expires, signature.slice(0, i) + replacement + signature.slice(i + 1))).toBe(false);
      }
    }
  });

  it('use a key derived from the encryption key, not the key itself', () => {
    const encryptionKey = randomBytes(32);
    expect(linkKey(encryptionKey).equals(encryptionKey)).toBe(false);
    expect(linkKey(encryptionKey).equals(linkKey(Buffer.from(encryptionKey)))).toBe(true);
  });
});

describe('configuration of access packages', () => {
  it('defaults to a directory under DSRFLOW_DATA_DIR and 7 days', () => {
    expect(loadConfig({ DSRFLOW_DATA_DIR: '/var/lib/dsrflow' }).accessPackages).toEqual({
      storage: { kind: 'local', directory: '/var/lib/dsrflow/access-packages' },
      publicUrl: undefined,
    });
    expect(loadConfig({}).execution.accessPackageExpiryMs).toBe(7 * 86_400_000);
  });

  it('reads a directory, a file: URL, a bucket with its credentials, the expiry and the public URL', () => {
    expect(loadConfig({ DSRFLOW_ACCESS_PACKAGE_STORAGE: '/srv/packages' }).accessPackages.storage).toEqual({ kind: 'local', directory: '/srv/packages' });
    expect(loadConfig({ DSRFLOW_ACCESS_PACKAGE_STORAGE: 'file:///srv/packages' }).accessPackages.storage).toEqual({ kind: 'local', directory: '/srv/packages' });
    const config = loadConfig({
      DSRFLOW_ACCESS_PACKAGE_STORAGE: 's3://dsr-packages/eu/prod',
      DSRFLOW_ACCESS_PACKAGE_S3_ENDPOINT: 'http://minio:9000',
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'eu-west-1',
      DSRFLOW_ACCESS_PACKAGE_EXPIRY: '3s',
      DSRFLOW_PUBLIC_URL: 'https://privacy.example.com/',
    });
    expect(config.accessPackages).toEqual({
      storage: { kind: 's3', bucket: 'dsr-packages', prefix: 'eu/prod/', region: 'eu-west-1', endpoint: 'http://minio:9000', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: undefined } },
      publicUrl: 'https://privacy.example.com',
    });
    expect(config.execution.accessPackageExpiryMs).toBe(3000);
  });

  it.each([
    [{ DSRFLOW_ACCESS_PACKAGE_STORAGE: 's3://dsr-packages' }, /AWS_ACCESS_KEY_ID: required when DSRFLOW_ACCESS_PACKAGE_STORAGE is an s3:\/\/ bucket/],
    [{ DSRFLOW_ACCESS_PACKAGE_STORAGE: 's3://Bad_Bucket' }, /DSRFLOW_ACCESS_PACKAGE_STORAGE: expected a directory, or s3:\/\/bucket/],
    [{ DSRFLOW_ACCESS_PACKAGE_EXPIRY: '500ms' }, /DSRFLOW_ACCESS_PACKAGE_EXPIRY: expected at least 1s/],
    [{ DSRFLOW_ACCESS_PACKAGE_EXPIRY: 'a week' }, /DSRFLOW_ACCESS_PACKAGE_EXPIRY: expected a duration/],
    [{ DSRFLOW_PUBLIC_URL: 'privacy.example.com' }, /DSRFLOW_PUBLIC_URL: expected an http\(s\) URL/],
  ])('refuses %o, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
