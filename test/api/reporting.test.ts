/**
 * GET /api/v1/privacy-request as reference 000 describes it, over HTTP against a real Postgres:
 * every filter, paging to and past the end, newest first with a stable tie-break, verbose logs
 * capped at 50 per group, identities until their TTL, bad values refused naming the parameter,
 * the page size cap, and the CSV export (the same rows as the JSON, quoting that survives,
 * streamed from a cursor). The listing fixture is written straight into the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ApiServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { insertIdentities, purgeExpiredIdentities } from '../../src/db/privacy-requests.js';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { allPages, csvObjects, listPage, parseCsv, requestId, seedAudit, seedLogs, seedRequests, type SeededRequest } from '../support/reporting.js';

let harness: Harness;

const T0 = Date.parse('2026-01-01T00:00:00Z');
const minutes = (n: number) => new Date(T0 + n * 60_000);
const STATUSES = ['complete', 'error', 'paused', 'pending', 'in_processing', 'denied'] as const;

/**
 * 120 requests created four at a time (so ties need the id tie-break), with ids that do not
 * follow creation order, statuses, policies and timestamps in rotation; plus requests whose
 * external ids hold LIKE wildcards and CSV specials, created a day earlier.
 */
function fixture(): SeededRequest[] {
  const requests: SeededRequest[] = [];
  for (let n = 1; n <= 120; n += 1) {
    const created = T0 + Math.floor(n / 4) * 60_000;
    const status = STATUSES[n % STATUSES.length]!;
    const started = status === 'pending' || status === 'denied' ? null : new Date(created + 60_000);
    requests.push({
      id: requestId((n * 37) % 1000),
      external_id: `page-${String(n).padStart(3, '0')}`,
      policy_key: n % 3 === 0 ? 'erasure_policy' : 'default_access_policy',
      action_types: n % 4 === 0 ? ['access', 'erasure'] : ['access'],
      status,
      created_at: new Date(created),
      requested_at: n % 5 === 0 ? new Date(created - 3_600_000) : null,
      started_processing_at: started,
      finished_processing_at: status === 'complete' ? new Date(created + 120_000) : null,
      errored_at: status === 'error' ? new Date(created + 180_000) : null,
      paused_at: status === 'paused' ? new Date(created + 90_000) : null,
      reviewed_at: status === 'denied' ? new Date(created + 30_000) : null,
      reviewed_by: status === 'denied' ? 'dpo@shop.example' : null,
      denial_reason: status === 'denied' ? `reason ${n}` : null,
    });
  }
  const earlier = (n: number) => new Date(T0 - 86_400_000 + n * 1000);
  const special = (n: number, external_id: string, extra: Partial<SeededRequest> = {}): SeededRequest => ({
    id: requestId(n, '11111111'),
    external_id,
    policy_key: 'default_access_policy',
    action_types: ['access'],
    status: 'complete',
    created_at: earlier(n),
    ...extra,
  });
  requests.push(
    special(1, 'ab_1'),
    special(2, 'ab%2'),
    special(3, 'abX1'),
    special(4, 'ab\\3'),
    special(6, 'ü-1'),
    special(7, 'ü-2'),
    special(8, 'ý-3'),
    special(5, 'say "hi", then\nleave', { status: 'denied', reviewed_by: 'Doe, Jane', reviewed_at: earlier(6), denial_reason: 'no, "never"\r\nagain' }),
  );
  return requests;
}

const FIXTURE = fixture();
const newestFirst = (a: SeededRequest, b: SeededRequest) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
const expected = (predicate: (request: SeededRequest) => boolean) => FIXTURE.filter(predicate).sort(newestFirst).map((request) => request.id);
const ids = (items: { id: string }[]) => items.map((item) => item.id);

beforeAll(async () => {
  harness = await createHarness({ example: false });
  await seedRequests(harness.sql, FIXTURE);
  // Postgres keeps microseconds; the JSON and the CSV both show milliseconds, the same way.
  await harness.sql`update privacy_request set requested_at = '2025-12-31 10:00:00.123987+00', reviewed_at = '2025-12-31 10:00:00.999999+00' where external_id = 'ü-1'`;
});
afterAll(() => harness?.close());

describe('paging and order', () => {
  it('lists newest first, requests created in the same instant by id descending, 50 a page by default', async () => {
    const body = await listPage(harness, '');
    expect(body).toMatchObject({ total: 128, page: 1, size: 50, pages: 3 });
    expect(ids(body.items)).toEqual(expected(() => true).slice(0, 50));
    // The fixture really has ties, broken by id descending, and ids that do not follow creation order.
    const items = body.items as unknown as { created_at: string; id: string }[];
    const ties = items.slice(1).filter((item, i) => item.created_at === items[i]!.created_at);
    expect(ties.length).toBeGreaterThan(10);
    for (const [i, item] of items.entries()) if (i > 0 && item.created_at === items[i - 1]!.created_at) expect(item.id < items[i - 1]!.id).toBe(true);
    expect([...items].sort((a, b) => (a.id < b.id ? 1 : -1))).not.toEqual(items);
  });

  it('pages without overlap or gaps, whatever the size', async () => {
    for (const size of [7, 50]) {
      const items = await allPages(harness, '', size);
      expect(ids(items as { id: string }[]), `size ${size}`).toEqual(expected(() => true));
    }
  });

  it('answers a partial last page, an exact last page, and an empty page past the end with the total', async () => {
    expect(await listPage(harness, 'size=50&page=3').then((body) => [body.items.length, body.pages])).toEqual([28, 3]);
    const exact = await listPage(harness, 'size=32&page=4');
    expect(exact).toMatchObject({ total: 128, page: 4, size: 32, pages: 4 });
    expect(ids(exact.items)).toEqual(expected(() => true).slice(96, 128));
    expect(await listPage(harness, 'size=32&page=5')).toEqual({ items: [], total: 128, page: 5, size: 32, pages: 4 });
    const beyond = await listPage(harness, 'size=50&page=4');
    expect(beyond).toEqual({ items: [], total: 128, page: 4, size: 50, pages: 3 });
    expect(await listPage(harness, 'page=1000000')).toMatchObject({ items: [], total: 128, pages: 3 });
  });

  it('answers an empty first page when nothing matches', async () => {
    expect(await listPage(harness, 'external_id=nothing-like-this')).toEqual({ items: [], total: 0, page: 1, size: 50, pages: 0 });
  });
});

describe('filters', () => {
  const paging = FIXTURE.filter((request) => request.external_id?.startsWith('page-'));
  const some = paging[41]!;
  const cases: [string, string, (request: SeededRequest) => boolean][] = [
    ['request_id', `request_id=${some.id}`, (r) => r.id === some.id],
    ['id (the same as request_id)', `id=${some.id}`, (r) => r.id === some.id],
    ['request_id and id that differ', `id=${some.id}&request_id=${paging[0]!.id}`, () => false],
    ['external_id prefix', 'external_id=page-01', (r) => /^page-01/.test(r.external_id ?? '')],
    ['external_id with _ matching only itself', 'external_id=ab_', (r) => r.external_id === 'ab_1'],
    ['external_id with % matching only itself', 'external_id=ab%25', (r) => r.external_id === 'ab%2'],
    ['external_id with a backslash', 'external_id=ab%5C', (r) => r.external_id === 'ab\\3'],
    ['external_id beyond ASCII', `external_id=${encodeURIComponent('ü')}`, (r) => r.external_id === 'ü-1' || r.external_id === 'ü-2'],
    ['one status', 'status=error', (r) => r.status === 'error'],
    ['repeated status', 'status=paused&status=complete', (r) => r.status === 'paused' || r.status === 'complete'],
    ['action_type', 'action_type=erasure', (r) => r.action_types.includes('erasure')],
    ['policy_key', 'policy_key=erasure_policy', (r) => r.policy_key === 'erasure_policy'],
    ['created_gt with a date-time', 'created_gt=2026-01-01T00:10:00Z', (r) => r.created_at > minutes(10)],
    ['created_lt with a date', 'created_lt=2026-01-01', (r) => r.created_at < minutes(0)],
    ['created_gt with an offset', 'created_gt=2026-01-01T01:20:00%2B01:00', (r) => r.created_at > minutes(20)],
    ['created_gt with an unencoded + (a space on arrival)', 'created_gt=2026-01-01T01:20:00+01:00', (r) => r.created_at > minutes(20)],
    ['created_gt without an offset (UTC)', 'created_gt=2026-01-01T00:20:00', (r) => r.created_at > minutes(20)],
    ['created window', 'created_gt=2026-01-01T00:05:00Z&created_lt=2026-01-01T00:09:00Z', (r) => r.created_at > minutes(5) && r.created_at < minutes(9)],
    ['started_gt', 'started_gt=2026-01-01T00:20:00Z', (r) => !!r.started_processing_at && r.started_processing_at > minutes(20)],
    ['started_lt', 'started_lt=2026-01-01T00:05:00Z', (r) => !!r.started_processing_at && r.started_processing_at < minutes(5)],
    ['completed_gt', 'completed_gt=2026-01-01T00:15:00Z', (r) => !!r.finished_processing_at && r.finished_processing_at > minutes(15)],
    ['completed_lt', 'completed_lt=2026-01-01T00:15:00Z', (r) => !!r.finished_processing_at && r.finished_processing_at < minutes(15)],
    ['errored_gt', 'errored_gt=2026-01-01T00:25:00Z', (r) => !!r.errored_at && r.errored_at > minutes(25)],
    ['errored_lt', 'errored_lt=2026-01-01T00:25:00Z', (r) => !!r.errored_at && r.errored_at < minutes(25)],
    [
      'several at once',
      'status=complete&status=error&policy_key=default_access_policy&created_gt=2026-01-01T00:03:00Z&external_id=page-',
      (r) => ['complete', 'error'].includes(r.status) && r.policy_key === 'default_access_policy' && r.created_at > minutes(3) && !!r.external_id?.startsWith('page-'),
    ],
  ];

  it.each(cases)('%s', async (_name, query, predicate) => {
    const want = expected(predicate);
    const items = await allPages(harness, query, 50);
    expect(ids(items as { id: string }[])).toEqual(want);
    expect((await listPage(harness, query)).total).toBe(want.length);
  });

  it('has cases that select something and leave something out', () => {
    for (const [name, , predicate] of cases.filter(([name]) => !name.includes('differ'))) {
      const count = FIXTURE.filter(predicate).length;
      expect(count, name).toBeGreaterThan(0);
      expect(count, name).toBeLessThan(FIXTURE.length);
    }
  });
});

describe('bad query values', () => {
  it.each([
    ['status=finished', 'status'],
    ['created_gt=yesterday', 'created_gt'],
    ['created_lt=2026-02-30', 'created_lt'],
    ['started_gt=2026-01-01T25:00:00Z', 'started_gt'],
    ['completed_lt=1', 'completed_lt'],
    ['errored_gt=', 'errored_gt'],
    ['action_type=delete', 'action_type'],
    ['size=51', 'size'],
    ['size=0', 'size'],
    ['page=0', 'page'],
    ['page=two', 'page'],
    ['verbose=maybe', 'verbose'],
    ['include_identities=yes', 'include_identities'],
    ['download_csv=2', 'download_csv'],
    ['external_id=a%00b', 'external_id'],
  ])('%s answers 422 naming %s', async (query, parameter) => {
    const response = await harness.fetch(`/api/v1/privacy-request?${query}`);
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: string; message: string; detail: { loc: (string | number)[] }[] };
    expect(body.error).toBe('validation_error');
    expect(body.detail[0]!.loc.slice(0, 2)).toEqual(['query', parameter]);
    expect(body.message).toContain(`query.${parameter}`);
  });
});

describe('the page size cap', () => {
  const auth = () => ({ headers: { authorization: `Bearer ${harness.token}` } });
  const withCap = async (maxPageSize: number, run: (api: ApiServer) => Promise<void>) => {
    const app = harness.createApp({ maxPageSize });
    const api = await listen(app, '127.0.0.1', 0);
    try {
      await run(api);
    } finally {
      await api.close();
    }
  };

  it('comes from DSRFLOW_MAX_PAGE_SIZE, 50 unless set', () => {
    expect(loadConfig({}).maxPageSize).toBe(50);
    expect(loadConfig({ DSRFLOW_MAX_PAGE_SIZE: '200' }).maxPageSize).toBe(200);
    expect(() => loadConfig({ DSRFLOW_MAX_PAGE_SIZE: '0' })).toThrow(/DSRFLOW_MAX_PAGE_SIZE: expected an integer from 1 to 1000/);
    expect(loadConfig({ DSRFLOW_MAINTENANCE_INTERVAL: '2s' }).maintenanceIntervalMs).toBe(2000);
    expect(() => loadConfig({ DSRFLOW_MAINTENANCE_INTERVAL: 'hourly' })).toThrow(/DSRFLOW_MAINTENANCE_INTERVAL: expected a duration/);
  });

  it('is configurable: below 50 it is also the default size', async () => {
    await withCap(3, async (api) => {
      const page = (await (await fetch(`${api.url}/api/v1/privacy-request`, auth())).json()) as { size: number; items: unknown[]; pages: number };
      expect(page).toMatchObject({ size: 3, pages: 43 });
      expect(page.items).toHaveLength(3);
      expect((await fetch(`${api.url}/api/v1/privacy-request?size=4`, auth())).status).toBe(422);
    });
  });

  it('is configurable: above 50 the default stays 50', async () => {
    await withCap(200, async (api) => {
      const page = (await (await fetch(`${api.url}/api/v1/privacy-request`, auth())).json()) as { size: number };
      expect(page.size).toBe(50);
      const large = (await (await fetch(`${api.url}/api/v1/privacy-request?size=200`, auth())).json()) as { items: unknown[] };
      expect(large.items).toHaveLength(128);
      expect((await fetch(`${api.url}/api/v1/privacy-request?size=201`, auth())).status).toBe(422);
    });
  });
});

describe('verbose', () => {
  const V = requestId(1, '22222222');
  const QUIET = requestId(2, '22222222');
  const at = (seconds: number) => new Date(T0 - 2 * 86_400_000 + seconds * 1000);

  beforeAll(async () => {
    const base = { policy_key: 'default_access_policy', action_types: ['access'] as ('access' | 'erasure')[], status: 'complete' };
    await seedRequests(harness.sql, [
      { ...base, id: V, external_id: 'verbose-1', created_at: at(0) },
      { ...base, id: QUIET, external_id: 'verbose-2', created_at: at(1) },
    ]);
    await seedAudit(harness.sql, V, [
      { action: 'approved', user_id: 'system', message: null, created_at: at(1) },
      ...Array.from({ length: 55 }, (_, i) => ({ action: 'action_rejected', user_id: null, message: `rejected ${i}`, created_at: at(2) })),
    ]);
    // alpha: 60 collections started and finished; beta: one collection; interleaved in time.
    await seedLogs(harness.sql, V, [
      ...Array.from({ length: 60 }, (_, i) => ({ dataset_name: 'alpha', collection_name: `c${i}`, status: i % 2 ? 'complete' : 'in_processing', message: i % 2 ? 'success' : 'starting', row_count: i % 2 ? i : null, created_at: at(10 + i) })),
      { dataset_name: 'beta', collection_name: 'orders', status: 'in_processing', message: 'starting', created_at: at(20) },
      { dataset_name: 'beta', collection_name: 'orders', status: 'error', message: 'timeout: canceling statement due to statement timeout', error_category: 'timeout', created_at: at(21) },
    ]);
    await seedAudit(harness.sql, V, [{ action: 'finished', user_id: 'system', message: null, created_at: at(100) }]);
  });

  it('groups execution logs by dataset and audit logs by kind, in time order, at most 50 per group', async () => {
    const body = await listPage<{ results: Record<string, Record<string, unknown>[]> }>(harness, 'external_id=verbose-1&verbose=true');
    const { results } = body.items[0]!;
    expect(Object.keys(results)).toEqual(['Request approved', 'Action rejected', 'alpha', 'beta', 'Request finished']);
    expect(results.alpha).toHaveLength(50);
    expect(results.alpha!.map((entry) => entry.collection_name)).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    expect(results['Action rejected']).toHaveLength(50);
    expect(results.alpha![1]).toEqual({
      collection_name: 'c1',
      fields_affected: [],
      message: 'success',
      action_type: 'access',
      status: 'complete',
      updated_at: at(11).toISOString(),
      user_id: null,
    });
    expect(results.beta).toEqual([
      { collection_name: 'orders', fields_affected: [], message: 'starting', action_type: 'access', status: 'in_processing', updated_at: at(20).toISOString(), user_id: null },
      { collection_name: 'orders', fields_affected: [], message: 'timeout: canceling statement due to statement timeout', action_type: 'access', status: 'error', updated_at: at(21).toISOString(), user_id: null },
    ]);
    expect(results['Request approved']).toEqual([
      { collection_name: null, fields_affected: null, message: '', action_type: null, status: 'approved', updated_at: at(1).toISOString(), user_id: 'system' },
    ]);
    expect(results['Request finished']).toEqual([
      { collection_name: null, fields_affected: null, message: '', action_type: null, status: 'finished', updated_at: at(100).toISOString(), user_id: 'system' },
    ]);
  });

  it('gives a request without logs empty results, and adds no results without verbose', async () => {
    const verbose = await listPage<{ results: unknown }>(harness, 'external_id=verbose-&verbose=true');
    expect(verbose.items.find((item) => item.id === QUIET)!.results).toEqual({});
    const plain = await listPage(harness, 'external_id=verbose-');
    expect(plain.items).toHaveLength(2);
    for (const item of plain.items) expect(item).not.toHaveProperty('results');
  });

  it('keeps every entry in the log endpoint, paged', async () => {
    const first = (await (await harness.fetch(`/api/v1/privacy-request/${V}/log?size=50`)).json()) as { items: { collection_name: string; error_category: string | null }[]; total: number; pages: number };
    expect(first).toMatchObject({ total: 62, pages: 2 });
    const second = (await (await harness.fetch(`/api/v1/privacy-request/${V}/log?size=50&page=2`)).json()) as { items: { collection_name: string; status: string; error_category: string | null }[] };
    expect(second.items).toHaveLength(12);
    expect(second.items.at(-1)).toMatchObject({ collection_name: 'orders', status: 'error', error_category: 'timeout' });
    const past = (await (await harness.fetch(`/api/v1/privacy-request/${V}/log?size=50&page=3`)).json()) as { items: unknown[]; total: number };
    expect(past).toMatchObject({ items: [], total: 62 });
    expect((await harness.fetch(`/api/v1/privacy-request/${V}/log?size=51`)).status).toBe(422);
    expect((await harness.fetch(`/api/v1/privacy-request/${requestId(999, '99999999')}/log`)).status).toBe(404);
  });
});

describe('include_identities', () => {
  const KEPT = requestId(1, '33333333');
  const EXPIRED = requestId(2, '33333333');

  beforeAll(async () => {
    const base = { policy_key: 'default_access_policy', action_types: ['access'] as ('access' | 'erasure')[], status: 'complete' };
    await seedRequests(harness.sql, [
      { ...base, id: KEPT, external_id: 'identity-1', created_at: new Date(T0 - 3 * 86_400_000) },
      { ...base, id: EXPIRED, external_id: 'identity-2', created_at: new Date(T0 - 3 * 86_400_000 + 1000) },
    ]);
    await insertIdentities(harness.sql, KEPT, { email: 'kept@example.com', loyalty_id: 'L-1' }, harness.encryptionKey, 3_600_000);
    await insertIdentities(harness.sql, EXPIRED, { email: 'gone@example.com' }, harness.encryptionKey, 3_600_000);
    await harness.sql`update privacy_request_identity set expires_at = now() - interval '1 second' where privacy_request_id = ${EXPIRED}`;
  });

  it('returns the identities while their time to live lasts, and {} afterwards', async () => {
    const response = await harness.fetch('/api/v1/privacy-request?external_id=identity-&include_identities=true');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { items: { id: string; identity: Record<string, string> }[] };
    expect(Object.fromEntries(body.items.map((item) => [item.id, item.identity]))).toEqual({
      [KEPT]: { email: 'kept@example.com', loyalty_id: 'L-1' },
      [EXPIRED]: {},
    });
    // The API hides an expired identity at once; removing it from storage is the worker's purge (test/e2e/identity-ttl.test.ts).
    expect(await harness.sql`select 1 from privacy_request_identity where privacy_request_id = ${EXPIRED}`).toHaveLength(1);
  });

  it('are purged from storage in batches, however many expired, and only those (no worker here: the purge runs alone)', async () => {
    const backlog = Array.from({ length: 25 }, (_, i) => requestId(100 + i, '33333333'));
    await seedRequests(harness.sql, backlog.map((id, i) => ({ id, external_id: null, policy_key: 'default_access_policy', action_types: ['access'] as ('access' | 'erasure')[], status: 'complete', created_at: new Date(T0 - 4 * 86_400_000 + i) })));
    for (const id of backlog) await insertIdentities(harness.sql, id, { email: 'someone@example.com' }, harness.encryptionKey, 3_600_000);
    await harness.sql`update privacy_request_identity set expires_at = now() - interval '1 minute' where privacy_request_id = any(${harness.sql.array(backlog)})`;
    expect(await purgeExpiredIdentities(harness.sql, 10)).toBe(26);
    expect(await harness.sql`select 1 from privacy_request_identity where privacy_request_id = any(${harness.sql.array([...backlog, EXPIRED])})`).toHaveLength(0);
    expect(await harness.sql`select field_name from privacy_request_identity where privacy_request_id = ${KEPT} order by 1`).toEqual([{ field_name: 'email' }, { field_name: 'loyalty_id' }]);
    expect(await purgeExpiredIdentities(harness.sql, 10)).toBe(0);
  });

  it('leaves identities out unless asked', async () => {
    const body = await listPage(harness, 'external_id=identity-');
    for (const item of body.items) expect(item).not.toHaveProperty('identity');
  });
});

describe('download_csv', () => {
  const HEADER = [
    'id', 'external_id', 'status', 'policy_key', 'action_types', 'requested_at', 'created_at', 'reviewed_at', 'reviewed_by', 'created_by',
    'started_processing_at', 'finished_processing_at', 'errored_at', 'canceled_at', 'paused_at', 'denial_reason', 'warnings',
    'regulation', 'due_at', 'extended_due_at', 'acknowledge_by', 'extension_reason', 'identity_verified_at', 'denial_reason_code', 'duplicate_of', 'legal_hold',
  ];
  /** A JSON listing item as the CSV writes it: lists joined by `;`, no warnings as an empty cell. */
  const asCsv = (item: Record<string, unknown>) =>
    Object.fromEntries(HEADER.map((column) => {
      const value = item[column];
      if (column === 'warnings') {
        const warnings = value as { phase: string; collection: string; reason: string }[];
        return [column, warnings.length ? warnings.map((warning) => `${warning.phase} ${warning.collection}: ${warning.reason}`).join('; ') : null];
      }
      return [column, value === null || value === undefined ? null : Array.isArray(value) ? value.join(';') : String(value)];
    }));

  const csv = async (query: string) => {
    const response = await harness.fetch(`/api/v1/privacy-request?download_csv=true${query ? `&${query}` : ''}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="privacy-requests-[\dT-]+Z\.csv"$/);
    return response.text();
  };

  it.each([
    ['no filter', ''],
    ['a status filter', 'status=error'],
    ['several filters', 'status=denied&created_gt=2025-12-01'],
    ['a filter that selects nothing', 'external_id=nothing-like-this'],
  ])('has the header and the same rows as the JSON listing with %s, ignoring paging', async (_name, query) => {
    const text = await csv(`${query}${query ? '&' : ''}size=5&page=2`);
    expect(parseCsv(text)[0]).toEqual(HEADER);
    const rows = csvObjects(text);
    const json = await allPages(harness, query, 50);
    expect(rows).toEqual(json.map(asCsv));
    if (query !== 'external_id=nothing-like-this') expect(rows.length).toBeGreaterThan(5);
  });

  it('keeps quotes, commas and line breaks in a field', async () => {
    const text = await csv('external_id=say');
    const [row] = csvObjects(text);
    expect(row).toMatchObject({ external_id: 'say "hi", then\nleave', reviewed_by: 'Doe, Jane', denial_reason: 'no, "never"\r\nagain', status: 'denied' });
    // Quoted as RFC 4180 writes it, records ending in CRLF.
    expect(text).toContain('"say ""hi"", then\nleave"');
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')[0]).toBe(HEADER.join(','));
  });

  it('neutralises cells a spreadsheet would run as formulas (OWASP CSV injection), and leaves negative numbers alone', async () => {
    const formulas = ['=HYPERLINK("http://evil.example","click")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '-42', '-4.5', '+1 (212) 555-0100', '+cmd|calc'];
    const seeded = formulas.map((external_id, n) => ({
      id: requestId(900 + n, '99999999'),
      external_id: `formula-${n}`,
      policy_key: 'default_access_policy',
      action_types: ['access' as const],
      status: 'denied',
      created_at: new Date('2020-01-01T00:00:00Z'),
      denial_reason: external_id,
      reviewed_by: external_id,
    }));
    await seedRequests(harness.sql, seeded);
    try {
      const rows = csvObjects(await csv('external_id=formula-'));
      const byId = new Map(rows.map((row) => [row.external_id, row]));
      formulas.forEach((formula, n) => {
        const expected = ['-42', '-4.5', '+1 (212) 555-0100'].includes(formula) ? formula : `'${formula}`;
        expect(byId.get(`formula-${n}`)).toMatchObject({ denial_reason: expected, reviewed_by: expected });
      });
    } finally {
      await harness.sql`delete from privacy_request where external_id like 'formula-%'`;
    }
  });

  describe('many requests', () => {
    beforeAll(async () => {
      await harness.sql`
        insert into privacy_request (id, external_id, policy_key, action_types, status, created_at)
        select 'pri_44444444-0000-4000-8000-' || lpad(n::text, 12, '0'), 'bulk-' || n, 'default_access_policy', '{access}', 'complete',
               timestamptz '2025-06-01' + (n / 3) * interval '1 second'
        from generate_series(1, 50000) as n`;
    });

    it('streams every row, in listing order, across cursor batches', async () => {
      const rows = csvObjects(await csv('external_id=bulk-'));
      const order = await harness.sql<{ id: string }[]>`select id from privacy_request where external_id like 'bulk-%' order by created_at desc, id desc`;
      expect(rows).toHaveLength(50_000);
      expect(rows.map((row) => row.id)).toEqual(order.map((row) => row.id));
    });

    it('closes the cursor when the client goes away', async () => {
      // Nothing else runs against this file's database meanwhile (no worker here): a busy session is the export.
      const exportOpen = async () =>
        (
          await harness.sql`
            select 1 from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle' and backend_type = 'client backend'`
        ).length > 0;
      const controller = new AbortController();
      const response = await harness.fetch('/api/v1/privacy-request?download_csv=true&external_id=bulk-', { signal: controller.signal });
      const reader = response.body!.getReader();
      await reader.read();
      // The client reads no further: the API stops reading from Postgres, mid-export.
      await eventually(async () => ((await exportOpen()) ? true : undefined), { timeoutMs: 10_000, what: 'the export to wait for the client' });
      controller.abort();
      await reader.cancel().catch(() => undefined);
      // Once the client is gone, the cursor is closed and its connection is free again.
      await eventually(async () => ((await exportOpen()) ? undefined : true), { timeoutMs: 10_000, what: 'the CSV cursor to close' });
    });
  });
});
