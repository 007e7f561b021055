/**
 * GET /api/v1/report/metrics (CCPA §7102(a)) over HTTP against a real Postgres: a hand-computed
 * fixture written straight into the database (requests of 2026 in every final and open status,
 * with and without warnings, extensions, denial codes and duplicates, under three regulations,
 * plus requests of 2025 and 2027 that must not count), every number of the JSON and the CSV,
 * bad input refused naming the field, and the scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import { parseCsv, requestId } from '../support/reporting.js';

let harness: Harness;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => new Date(iso);
const plus = (date: Date, ms: number) => new Date(date.getTime() + ms);
/** Due dates that must be past (or not) whenever the test runs: relative to now. */
const NOW = Date.now();
const PAST = new Date(NOW - DAY);
const FUTURE = new Date(NOW + 30 * DAY);

interface Seed {
  n: number;
  regulation: string;
  action_types: ('access' | 'erasure')[];
  status: string;
  created_at: Date;
  /** Days from created_at to finished_processing_at (complete) or reviewed_at (denied). */
  days?: number;
  due_at?: Date | null;
  extended_due_at?: Date | null;
  warnings?: unknown[] | null;
  denial_reason_code?: string | null;
  /** A denial recorded without reviewed_at: updated_at is then the time of the denial. */
  deniedWithoutReviewer?: boolean;
}

/**
 * Days to respond: R1 2, R2 5.5, R3 40, R4 45, R5 3.5, R6 1 (no reviewed_at: updated_at), R7 10.375,
 * R14 50, R16 0.5, R17 4. Everything else is open, canceled or a duplicate.
 */
const SEEDS: Seed[] = [
  // R1: complete without warnings, one day after its due date: late.
  { n: 1, regulation: 'gdpr', action_types: ['access'], status: 'complete', created_at: at('2026-01-10T00:00:00Z'), days: 2, due_at: at('2026-01-11T00:00:00Z') },
  // R2: both types, complete with a warning: complied with in part, under both.
  {
    n: 2, regulation: 'gdpr', action_types: ['access', 'erasure'], status: 'complete', created_at: at('2026-02-01T00:00:00Z'), days: 5.5, due_at: at('2026-03-03T00:00:00Z'),
    warnings: [{ phase: 'erasure', collection: 'shop:orders', reason: 'the collection has no primary key' }],
  },
  // R3: warnings stored as an empty list count as none; complete 10 days after its due date.
  { n: 3, regulation: 'gdpr', action_types: ['erasure'], status: 'complete', created_at: at('2026-03-01T00:00:00Z'), days: 40, due_at: at('2026-03-31T00:00:00Z'), warnings: [] },
  // R4: complete after its due date but before its extended one: not late.
  {
    n: 4, regulation: 'gdpr', action_types: ['access'], status: 'complete', created_at: at('2026-04-01T00:00:00Z'), days: 45,
    due_at: at('2026-05-01T00:00:00Z'), extended_due_at: at('2026-05-31T00:00:00Z'),
  },
  { n: 5, regulation: 'ccpa', action_types: ['access'], status: 'denied', created_at: at('2026-05-01T00:00:00Z'), days: 3.5, denial_reason_code: 'insuf_verification' },
  { n: 6, regulation: 'ccpa', action_types: ['erasure'], status: 'denied', created_at: at('2026-05-02T00:00:00Z'), days: 1, denial_reason_code: 'insuf_verification', deniedWithoutReviewer: true },
  // R7: denied without a code: in `denied`, not in `denied_by_reason`.
  { n: 7, regulation: 'ccpa', action_types: ['access', 'erasure'], status: 'denied', created_at: at('2026-05-03T00:00:00Z'), days: 10.375 },
  { n: 8, regulation: 'ccpa', action_types: ['access'], status: 'canceled', created_at: at('2026-06-01T00:00:00Z'), due_at: PAST },
  // R9: open and past its due date: overdue.
  { n: 9, regulation: 'ccpa', action_types: ['erasure'], status: 'in_processing', created_at: at('2026-06-02T00:00:00Z'), due_at: PAST },
  { n: 10, regulation: 'gdpr', action_types: ['access'], status: 'pending', created_at: at('2026-06-03T00:00:00Z'), due_at: FUTURE },
  // R11: past its due date, but extended to a date still ahead: not overdue. `error` is not final.
  { n: 11, regulation: 'ccpa', action_types: ['access'], status: 'error', created_at: at('2026-06-04T00:00:00Z'), due_at: PAST, extended_due_at: FUTURE },
  { n: 12, regulation: 'gdpr', action_types: ['access'], status: 'duplicate', created_at: at('2026-07-01T00:00:00Z'), due_at: PAST },
  { n: 13, regulation: 'ccpa', action_types: ['access', 'erasure'], status: 'duplicate', created_at: at('2026-07-02T00:00:00Z'), due_at: PAST },
  // R14: complete after its extended due date: late.
  {
    n: 14, regulation: 'ccpa', action_types: ['erasure'], status: 'complete', created_at: at('2026-08-01T00:00:00Z'), days: 50,
    due_at: at('2026-09-15T00:00:00Z'), extended_due_at: at('2026-09-18T00:00:00Z'),
  },
  // R15: open without a due date: never overdue.
  { n: 15, regulation: 'gdpr', action_types: ['access'], status: 'paused', created_at: at('2026-09-01T00:00:00Z') },
  // R16: received at the first instant of the year.
  { n: 16, regulation: 'lgpd', action_types: ['access'], status: 'complete', created_at: at('2026-01-01T00:00:00Z'), days: 0.5, due_at: at('2026-01-16T00:00:00Z') },
  // R17: a denial code a spreadsheet would run as a formula.
  { n: 17, regulation: 'gdpr', action_types: ['erasure'], status: 'denied', created_at: at('2026-10-01T00:00:00Z'), days: 4, denial_reason_code: '=1+2' },
  { n: 18, regulation: 'gdpr', action_types: ['access'], status: 'approved', created_at: at('2026-12-31T23:59:59.999Z'), due_at: PAST },
  // Received in another year: never counted.
  { n: 90, regulation: 'gdpr', action_types: ['access'], status: 'complete', created_at: at('2025-12-31T23:59:59.999Z'), days: 1 },
  { n: 91, regulation: 'ccpa', action_types: ['erasure'], status: 'denied', created_at: at('2027-01-01T00:00:00Z'), days: 1, denial_reason_code: 'insuf_verification' },
  { n: 92, regulation: 'gdpr', action_types: ['access'], status: 'approved', created_at: at('2025-06-01T00:00:00Z'), due_at: PAST },
  { n: 93, regulation: 'vcdpa', action_types: ['access', 'erasure'], status: 'duplicate', created_at: at('2027-03-01T00:00:00Z') },
];

async function seed(): Promise<void> {
  const rows = SEEDS.map((s) => {
    const responded = s.days === undefined ? null : plus(s.created_at, s.days * DAY);
    const denied = s.status === 'denied';
    return {
      id: requestId(s.n, '22222222'),
      external_id: `metrics-${s.n}`,
      policy_key: 'default_access_policy',
      action_types: s.action_types,
      status: s.status,
      regulation: s.regulation,
      created_at: s.created_at,
      // The time of the last status change; the fixture's complete and reviewed requests keep their creation
      // time here, so only the right columns can give their days to respond.
      updated_at: denied && s.deniedWithoutReviewer ? responded : s.created_at,
      finished_processing_at: s.status === 'complete' ? responded : null,
      reviewed_at: denied && !s.deniedWithoutReviewer ? responded : null,
      reviewed_by: denied && !s.deniedWithoutReviewer ? 'user:dpo' : null,
      canceled_at: s.status === 'canceled' ? plus(s.created_at, DAY) : null,
      due_at: s.due_at ?? null,
      extended_due_at: s.extended_due_at ?? null,
      warnings: s.warnings === undefined || s.warnings === null ? null : harness.sql.json(s.warnings as never),
      denial_reason_code: s.denial_reason_code ?? null,
      duplicate_of: null,
    };
  });
  await harness.sql`insert into privacy_request ${harness.sql(rows as never[])}`;
}

const none = {
  received: 0, duplicates: 0, complied_in_whole: 0, complied_in_part: 0, denied: 0, denied_by_reason: {}, canceled: 0,
  open: 0, overdue_open: 0, completed_late: 0, median_days_to_respond: null, mean_days_to_respond: null,
};

/**
 * Worked out by hand from SEEDS (the 2025 and 2027 requests left out).
 *
 * All, access: R1 R2 R4 R5 R7 R8 R10 R11 R15 R16 R18 (11) and duplicates R12 R13.
 *   whole R1 R4 R16; part R2; denied R5 R7 (R5 insuf_verification); canceled R8; open R10 R11 R15 R18;
 *   overdue R18 (R10 due ahead, R11 extended, R15 no due date); late R1 (R4 within its extension).
 *   days: 0.5 (R16), 2 (R1), 3.5 (R5), 5.5 (R2), 10.375 (R7), 45 (R4)
 *   median = (3.5 + 5.5) / 2 = 4.5; mean = 66.875 / 6 = 11.1458… → 11.1
 * All, erasure: R2 R3 R6 R7 R9 R14 R17 (7) and duplicate R13.
 *   whole R3 R14; part R2; denied R6 R7 R17 (R6 insuf_verification, R17 =1+2); open R9, overdue R9;
 *   late R3 (40 days, due after 30) and R14 (50 days, due after 48 when extended).
 *   days: 1 (R6, updated_at), 4 (R17), 5.5 (R2), 10.375 (R7), 40 (R3), 50 (R14)
 *   median = (5.5 + 10.375) / 2 = 7.9375 → 7.9; mean = 110.875 / 6 = 18.479… → 18.5
 * ccpa, access: R5 R7 R8 R11, duplicate R13. days 3.5, 10.375: median = mean = 13.875 / 2 = 6.9375 → 6.9
 * ccpa, erasure: R6 R7 R9 R14, duplicate R13. days 1, 10.375, 50: median 10.375 → 10.4; mean = 61.375 / 3 = 20.458… → 20.5
 * gdpr, access: R1 R2 R4 R10 R15 R18, duplicate R12. days 2, 5.5, 45: median 5.5; mean = 52.5 / 3 = 17.5
 * gdpr, erasure: R2 R3 R17. days 4, 5.5, 40: median 5.5; mean = 49.5 / 3 = 16.5
 * lgpd, access: R16. days 0.5: median = mean = 0.5. lgpd, erasure: nothing.
 */
const EXPECTED = {
  year: 2026,
  from: '2026-01-01T00:00:00.000Z',
  to: '2027-01-01T00:00:00.000Z',
  access: {
    received: 11, duplicates: 2, complied_in_whole: 3, complied_in_part: 1, denied: 2, denied_by_reason: { insuf_verification: 1 }, canceled: 1,
    open: 4, overdue_open: 1, completed_late: 1, median_days_to_respond: 4.5, mean_days_to_respond: 11.1,
  },
  erasure: {
    received: 7, duplicates: 1, complied_in_whole: 2, complied_in_part: 1, denied: 3, denied_by_reason: { insuf_verification: 1, '=1+2': 1 }, canceled: 0,
    open: 1, overdue_open: 1, completed_late: 2, median_days_to_respond: 7.9, mean_days_to_respond: 18.5,
  },
  by_regulation: {
    ccpa: {
      access: {
        received: 4, duplicates: 1, complied_in_whole: 0, complied_in_part: 0, denied: 2, denied_by_reason: { insuf_verification: 1 }, canceled: 1,
        open: 1, overdue_open: 0, completed_late: 0, median_days_to_respond: 6.9, mean_days_to_respond: 6.9,
      },
      erasure: {
        received: 4, duplicates: 1, complied_in_whole: 1, complied_in_part: 0, denied: 2, denied_by_reason: { insuf_verification: 1 }, canceled: 0,
        open: 1, overdue_open: 1, completed_late: 1, median_days_to_respond: 10.4, mean_days_to_respond: 20.5,
      },
    },
    gdpr: {
      access: {
        received: 6, duplicates: 1, complied_in_whole: 2, complied_in_part: 1, denied: 0, denied_by_reason: {}, canceled: 0,
        open: 3, overdue_open: 1, completed_late: 1, median_days_to_respond: 5.5, mean_days_to_respond: 17.5,
      },
      erasure: {
        received: 3, duplicates: 0, complied_in_whole: 1, complied_in_part: 1, denied: 1, denied_by_reason: { '=1+2': 1 }, canceled: 0,
        open: 0, overdue_open: 0, completed_late: 1, median_days_to_respond: 5.5, mean_days_to_respond: 16.5,
      },
    },
    lgpd: {
      access: {
        received: 1, duplicates: 0, complied_in_whole: 1, complied_in_part: 0, denied: 0, denied_by_reason: {}, canceled: 0,
        open: 0, overdue_open: 0, completed_late: 0, median_days_to_respond: 0.5, mean_days_to_respond: 0.5,
      },
      erasure: none,
    },
  },
};

/** The same numbers as CSV: `all` first, then the regulations by name; the formula-like code neutralised. */
const EXPECTED_CSV = [
  'regulation,request_type,received,duplicates,complied_in_whole,complied_in_part,denied,denied_by_reason,canceled,open,overdue_open,completed_late,median_days_to_respond,mean_days_to_respond',
  'all,access,11,2,3,1,2,insuf_verification: 1,1,4,1,1,4.5,11.1',
  "all,erasure,7,1,2,1,3,'=1+2: 1; insuf_verification: 1,0,1,1,2,7.9,18.5",
  'ccpa,access,4,1,0,0,2,insuf_verification: 1,1,1,0,0,6.9,6.9',
  'ccpa,erasure,4,1,1,0,2,insuf_verification: 1,0,1,1,1,10.4,20.5',
  'gdpr,access,6,1,2,1,0,,0,3,1,1,5.5,17.5',
  "gdpr,erasure,3,0,1,1,1,'=1+2: 1,0,0,0,1,5.5,16.5",
  'lgpd,access,1,0,1,0,0,,0,0,0,0,0.5,0.5',
  'lgpd,erasure,0,0,0,0,0,,0,0,0,0,,',
].map((line) => `${line}\r\n`).join('');

beforeAll(async () => {
  harness = await createHarness({ example: false });
  await seed();
});
afterAll(() => harness?.close());

async function metrics(query: string, init?: RequestInit) {
  const response = await harness.fetch(`/api/v1/report/metrics?${query}`, init);
  return { response, text: await response.text() };
}

describe('GET /report/metrics', () => {
  it('counts the requests received in the year, per type and per regulation, exactly', async () => {
    const before = Date.now();
    const { response, text } = await metrics('year=2026');
    expect(response.status, text).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const { as_of, ...body } = JSON.parse(text) as { as_of: string };
    expect(body).toEqual(EXPECTED);
    // The database's clock at the query, which open and overdue requests were measured against.
    expect(Date.parse(as_of)).toBeGreaterThanOrEqual(before - 5_000);
    expect(Date.parse(as_of)).toBeLessThanOrEqual(Date.now() + 5_000);
  });

  it('adds up: received is whole + part + denied + canceled + open, and the regulations add up to all', async () => {
    const body = JSON.parse((await metrics('year=2026')).text) as typeof EXPECTED;
    for (const type of ['access', 'erasure'] as const) {
      const all = body[type];
      expect(all.received).toBe(all.complied_in_whole + all.complied_in_part + all.denied + all.canceled + all.open);
      const regulations = Object.values(body.by_regulation).map((byType) => byType[type]);
      for (const key of ['received', 'duplicates', 'complied_in_whole', 'complied_in_part', 'denied', 'canceled', 'open', 'overdue_open', 'completed_late'] as const) {
        expect(regulations.reduce((sum, counts) => sum + counts[key], 0), `${type} ${key}`).toBe(all[key]);
      }
    }
  });

  it('answers the same numbers as CSV, one record per regulation (or all) and type, formulas neutralised', async () => {
    const { response, text } = await metrics('year=2026&format=csv');
    expect(response.status, text).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="privacy-request-metrics-2026.csv"');
    expect(text).toBe(EXPECTED_CSV);
    // An RFC 4180 reader finds the same fields.
    const records = parseCsv(text);
    expect(records).toHaveLength(9);
    expect(records.every((record) => record.length === 14)).toBe(true);
  });

  it('answers zeros and nulls for a year without requests', async () => {
    const { response, text } = await metrics('year=2030');
    expect(response.status, text).toBe(200);
    const { as_of: _, ...body } = JSON.parse(text) as { as_of: string };
    expect(body).toEqual({ year: 2030, from: '2030-01-01T00:00:00.000Z', to: '2031-01-01T00:00:00.000Z', access: none, erasure: none, by_regulation: {} });
    const csv = await metrics('year=2030&format=csv');
    expect(csv.text).toBe(`${EXPECTED_CSV.split('\r\n')[0]}\r\nall,access,0,0,0,0,0,,0,0,0,0,,\r\nall,erasure,0,0,0,0,0,,0,0,0,0,,\r\n`);
  });

  it.each([
    ['year=abc', 'year'],
    ['year=1999', 'year'],
    ['year=2101', 'year'],
    ['year=2026.5', 'year'],
    ['year=%202026', 'year'],
    ['year=0x7EA', 'year'],
    ['', 'year'],
    ['year=2026&format=xml', 'format'],
  ])('?%s answers 422 naming %s', async (query, field) => {
    const { response, text } = await metrics(query);
    expect(response.status, text).toBe(422);
    const body = JSON.parse(text) as { error: string; message: string; detail: { loc: string[] }[] };
    expect(body.error).toBe('validation_error');
    expect(body.detail.map((detail) => detail.loc)).toEqual([['query', field]]);
    expect(body.message).toContain(field);
  });

  it('needs privacy-request:read: 403 without it, 401 without a token', async () => {
    const others = await harness.tokenFor(['privacy-request:create', 'policy:read']);
    const refused = await metrics('year=2026', { headers: { authorization: `Bearer ${others}` } });
    expect(refused.response.status, refused.text).toBe(403);
    expect(refused.text).not.toContain('received');
    const reader = await harness.tokenFor(['privacy-request:read']);
    expect((await metrics('year=2026', { headers: { authorization: `Bearer ${reader}` } })).response.status).toBe(200);
    const anonymous = await fetch(`${harness.api.url}/api/v1/report/metrics?year=2026`);
    expect(anonymous.status).toBe(401);
  });
});
