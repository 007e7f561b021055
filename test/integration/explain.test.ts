/**
 * The reporting queries stay on indexes at volume: 100,000 requests with their log rows (the
 * benchmark, bench/reporting.ts, times the same at a million). The plans are the ones Postgres
 * actually ran for the real functions, collected with auto_explain (log_level notice, so they
 * arrive as notices on the test's own connection), with the parameters the API binds.
 *
 * - A single request's log, its task view and the verbose listing never scan a log table
 *   sequentially, and the verbose listing reads at most 50 entries per dataset however long the log.
 * - Every listing page is read through an index of privacy_request, and so is the count of every
 *   filter that selects a small part of the requests.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/client.js';
import { collectionProgress, listExecutionLogs } from '../../src/db/execution-log.js';
import { purgeExpiredIdentities, readIdentitiesOf } from '../../src/db/privacy-requests.js';
import { firstAuditLogsPerAction } from '../../src/db/audit-log.js';
import { firstExecutionLogsPerDataset } from '../../src/db/execution-log.js';
import { countPrivacyRequests, listPrivacyRequests, pageOfPrivacyRequests, type PrivacyRequestFilters } from '../../src/db/privacy-requests.js';
import { seedReportingVolume, type SeededVolume } from '../../bench/reporting-seed.js';
import { createHarness, type Harness } from '../support/harness.js';

const REQUESTS = 100_000;
const BIG_LOG_ROWS = 3000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

let harness: Harness;
let explained: Sql;
let volume: SeededVolume;
let plans: { query: string; plan: PlanNode }[] = [];

beforeAll(async () => {
  harness = await createHarness({ example: false });
  volume = await seedReportingVolume(harness.sql, { requests: REQUESTS, bigLogs: 2, bigLogRows: BIG_LOG_ROWS, identities: { count: 20_000, key: harness.encryptionKey } });
  // One connection, as the API's pool would use, that reports the plan of every statement it runs.
  explained = postgres(harness.env.DATABASE_URL!, {
    max: 1,
    types: { int8: { to: 20, from: [20], serialize: (value: number) => String(value), parse: Number } },
    onnotice: (notice) => {
      const text = notice.message;
      if (!text.includes('plan:')) return;
      const explain = JSON.parse(text.slice(text.indexOf('{'))) as { 'Query Text': string; Plan: PlanNode };
      plans.push({ query: explain['Query Text'], plan: explain.Plan });
    },
  }) as unknown as Sql;
  await explained`load 'auto_explain'`;
  await explained`select set_config('auto_explain.log_min_duration', '0', false), set_config('auto_explain.log_level', 'notice', false),
                         set_config('auto_explain.log_format', 'json', false), set_config('auto_explain.log_analyze', 'on', false),
                         set_config('auto_explain.log_timing', 'off', false)`;
}, 300_000);
afterAll(async () => {
  await explained?.end();
  await harness?.close();
});

/** Runs the function on the explaining connection and returns the plans of its statements. */
async function plansOf(run: (sql: Sql) => Promise<unknown>): Promise<{ query: string; plan: PlanNode }[]> {
  plans = [];
  await run(explained);
  return plans.filter((entry) => !/set_config|pg_catalog/.test(entry.query));
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}
const seqScans = (plan: PlanNode, table: string) => nodes(plan).filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === table);
const indexesUsed = (plan: PlanNode) => nodes(plan).flatMap((node) => (node['Index Name'] ? [node['Index Name']] : []));
/** Rows (or index entries) the plan read from the table, those its filters removed included, over all loops. */
const rowsRead = (plan: PlanNode, table: string) =>
  nodes(plan)
    .filter((node) => node['Relation Name'] === table)
    .reduce((sum, node) => sum + ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * (node['Actual Loops'] ?? 1), 0);
const describePlan = (plan: PlanNode): string =>
  nodes(plan)
    .map((node) => `${node['Node Type']}${node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`)
    .join(' > ');

it('seeded the volume', () => {
  expect(volume.requests).toBe(REQUESTS);
  expect(volume.executionLogs).toBeGreaterThan(3 * REQUESTS);
  expect(volume.auditLogs).toBeGreaterThan(REQUESTS);
});

describe('one request', () => {
  it("reads the request's log page by page through its index, even deep into a long log", async () => {
    for (const page of [1, 40]) {
      const statements = await plansOf((sql) => listExecutionLogs(sql, volume.biggestLog!, page, 50));
      expect(statements).toHaveLength(2);
      for (const { query, plan } of statements) {
        expect(seqScans(plan, 'execution_log'), `${query}\n${describePlan(plan)}`).toEqual([]);
        expect(indexesUsed(plan).filter((name) => name.startsWith('execution_log_')).length, `${query}\n${describePlan(plan)}`).toBeGreaterThan(0);
      }
    }
  });

  it('derives the task view from the index', async () => {
    const [statement] = await plansOf((sql) => collectionProgress(sql, volume.biggestLog!));
    expect(seqScans(statement!.plan, 'execution_log'), describePlan(statement!.plan)).toEqual([]);
  });
});

describe('the verbose listing and identities of a page', () => {
  let page: string[];
  beforeAll(async () => {
    page = (await harness.sql<{ id: string }[]>`select id from privacy_request order by created_at desc, id desc limit 50`).map((row) => row.id);
    expect(page).toContain(volume.biggestLog);
  });

  it('reads at most 50 log entries per dataset, whatever the length of the log', async () => {
    const [statement] = await plansOf((sql) => firstExecutionLogsPerDataset(sql, page, 50));
    expect(seqScans(statement!.plan, 'execution_log'), describePlan(statement!.plan)).toEqual([]);
    expect(indexesUsed(statement!.plan)).toContain('execution_log_privacy_request_dataset');
    // Two requests hold 3,000 entries each in one dataset; 50 requests × 3 datasets × 50 entries is the bound.
    expect(rowsRead(statement!.plan, 'execution_log')).toBeLessThan(50 * 3 * 51);
    expect(rowsRead(statement!.plan, 'execution_log')).toBeLessThan(2 * BIG_LOG_ROWS);
  });

  it('reads audit entries and identities through their indexes', async () => {
    for (const [run, table] of [
      [(sql: Sql) => firstAuditLogsPerAction(sql, page, 50), 'audit_log'],
      [(sql: Sql) => readIdentitiesOf(sql, page, harness.encryptionKey), 'privacy_request_identity'],
      [(sql: Sql) => purgeExpiredIdentities(sql), 'privacy_request_identity'],
    ] as const) {
      const [statement] = await plansOf(run);
      expect(seqScans(statement!.plan, table), `${statement!.query}\n${describePlan(statement!.plan)}`).toEqual([]);
    }
  });
});

describe('listing pages', () => {
  const at = (days: number) => new Date(Date.parse('2024-01-01T00:00:00Z') + days * 86_400_000);
  /** [name, filters, page, whether the filter is selective enough that its count must use an index too] */
  const cases: [string, PrivacyRequestFilters, number, boolean][] = [
    ['newest first', {}, 1, false],
    ['a deep page', {}, 100, false],
    ['request_id', { request_id: 'pri_a87ff679-a2f3-e71d-9181-a67b7542122c' }, 1, true],
    ['external_id prefix', { external_id: 'ext-4242' }, 1, true],
    ['status error', { status: ['error'] }, 1, true],
    ['status paused or error', { status: ['paused', 'error'] }, 1, true],
    ['status complete', { status: ['complete'] }, 1, false],
    ['policy_key', { policy_key: 'erasure_policy' }, 1, false],
    ['action_type', { action_type: 'erasure' }, 1, false],
    ['action_type, status error', { action_type: 'erasure', status: ['error'] }, 1, false],
    ['created in a week', { created_gt: at(300), created_lt: at(307) }, 1, true],
    ['started in a week', { started_gt: at(300), started_lt: at(307) }, 1, true],
    ['completed in a week', { completed_gt: at(300), completed_lt: at(307) }, 1, true],
    ['errored in the last month', { errored_gt: at(700) }, 1, true],
    ['errored in a month, status error', { status: ['error'], errored_gt: at(400), errored_lt: at(430) }, 1, true],
  ];

  // Postgres plans a prepared statement's first runs for its parameters, then may switch to one
  // generic plan for any parameters: both must use the indexes.
  const modes = ['custom', 'generic'] as const;
  it.each(modes.flatMap((mode) => cases.map(([name, ...rest]) => [`${name} (${mode} plan)`, ...rest, mode] as const)))('%s', async (_name, filters, page, selective, mode) => {
    await explained`select set_config('plan_cache_mode', ${mode === 'generic' ? 'force_generic_plan' : 'force_custom_plan'}, false)`;
    // The listing counts only when its page is full; both queries are checked here either way.
    const [list] = await plansOf((sql) => pageOfPrivacyRequests(sql, filters, page, 50));
    const [count] = await plansOf((sql) => countPrivacyRequests(sql, filters));
    const statements = [list!, count!];
    if (process.env.SHOW_PLANS) for (const { query, plan } of statements) console.log(`${_name}: ${query.replace(/\s+/g, ' ').slice(0, 60)}…\n  ${describePlan(plan)}`);
    expect(seqScans(list!.plan, 'privacy_request'), describePlan(list!.plan)).toEqual([]);
    expect(indexesUsed(list!.plan).length, describePlan(list!.plan)).toBeGreaterThan(0);
    if (selective) {
      expect(seqScans(count!.plan, 'privacy_request'), describePlan(count!.plan)).toEqual([]);
      expect(indexesUsed(count!.plan).length, describePlan(count!.plan)).toBeGreaterThan(0);
      // An index that fits: neither query reads more than a small part of the requests.
      for (const { plan } of statements) expect(rowsRead(plan, 'privacy_request'), describePlan(plan)).toBeLessThan(REQUESTS * 0.05);
    }
  });

  it('uses filters that select something', async () => {
    // The request_id case names a request of the volume (md5 of 4 as a UUID); the others match many.
    for (const [name, filters, , selective] of cases) {
      const total = await countPrivacyRequests(harness.sql, filters);
      expect(total, name).toBeGreaterThan(0);
      if (selective) expect(total, name).toBeLessThan(REQUESTS * 0.05);
    }
  });

  it('counts only when the page is full', async () => {
    const few = await plansOf((sql) => listPrivacyRequests(sql, { external_id: 'ext-4242' }, 1, 50));
    expect(few.map(({ query }) => /count\(\*\)/.test(query))).toEqual([false]);
    const many = await plansOf((sql) => listPrivacyRequests(sql, { status: ['error'] }, 1, 50));
    expect(many.map(({ query }) => /count\(\*\)/.test(query))).toEqual([false, true]);
  });
});
