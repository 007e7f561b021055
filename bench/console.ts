/**
 * The console's inbox over a million requests (issue 15): server time of the first page, as the
 * API process spends it (the app's own fetch, no network), for the filters a privacy team uses;
 * and the weight of each page (HTML + CSS + JS).
 *
 * - A fresh database gets 1,000,000 requests (bench/reporting-seed.ts: statuses, regulations, due
 *   dates over two years; indexes built after the load, then VACUUM ANALYZE).
 * - A signed-in user's session cookie, as a browser sends it; each case runs 3 times to warm up,
 *   then 11 times; the median and the slowest are reported.
 *
 * Target: every first page under 300 ms of server time; every page under 200 KB.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { apiDeps, createApp } from '../src/api/app.js';
import { hashSecret } from '../src/auth/secrets.js';
import { issueUserToken } from '../src/auth/service.js';
import { ASSETS } from '../src/console/assets.js';
import { loadConfig } from '../src/config.js';
import { connect, ensureDatabase } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { insertUser } from '../src/db/users.js';
import { seedReportingVolume } from './reporting-seed.js';
import type { Benchmark, BenchmarkResult } from './run.js';

const REQUESTS = Number(process.env.BENCH_CONSOLE_REQUESTS ?? 1_000_000);
const WARM_UP = 3;
const RUNS = 11;
const TARGET_MS = 300;
const TARGET_BYTES = 200 * 1024;
const SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();

const CASES: [string, string][] = [
  ['inbox, no filter', '/console'],
  ['overdue', '/console?due=overdue'],
  ['due within 7 days', '/console?due=week'],
  ['status=error', '/console?status=error'],
  ['status=awaiting_erasure_confirmation', '/console?status=awaiting_erasure_confirmation'],
  ['policy', '/console?policy_key=erasure_policy'],
  ['action type erasure', '/console?action_type=erasure'],
  ['regulation CCPA', '/console?regulation=ccpa'],
  ['regulation CCPA, overdue', '/console?regulation=ccpa&due=overdue'],
  ['external id prefix', '/console?external_id=ext-99999'],
];
/** Deeper pages are shown, not held to the first page's target: OFFSET paging reads the rows it skips. */
const DEEP: [string, string][] = [['page 400 (10,000 requests in)', '/console?page=400']];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function run(): Promise<BenchmarkResult> {
  const name = `dsrflow_bench_console_${randomBytes(3).toString('hex')}`;
  const url = databaseUrl(name);
  await ensureDatabase(url);
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const sql = connect(url, { applicationName: 'dsrflow-bench-console' });
  try {
    await migrate(sql);
    const seedStart = performance.now();
    const volume = await seedReportingVolume(sql, { requests: REQUESTS, identities: { count: 1000, key: randomBytes(32) } });
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const config = loadConfig({ DATABASE_URL: url, DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn' });
    // The inbox never calls Temporal: the client connects lazily (never, here).
    const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:7233' }), namespace: config.temporal.namespace });
    const app = createApp(apiDeps(config, { sql, temporal, encryptionKey: config.encryptionKey! }));
    await insertUser(sql, { username: 'bench-dpo', passwordHash: await hashSecret('bench-password-1'), roles: ['approver'], createdBy: null });
    const issued = await issueUserToken(sql, config.auth, { username: 'bench-dpo', password: 'bench-password-1' });
    if ('error' in issued) throw new Error(issued.error_description);
    const headers = { host: '127.0.0.1', cookie: `dsrflow_session=${issued.access_token}` };

    const rows: Record<string, string>[] = [];
    let passed = true;
    for (const [label, path] of [...CASES, ...DEEP]) {
      const held = CASES.some(([, first]) => first === path);
      const times: number[] = [];
      let bytes = 0;
      let shown = '';
      for (let i = 0; i < WARM_UP + RUNS; i += 1) {
        const start = performance.now();
        const response = await app.request(path, { headers });
        const body = await response.text();
        const elapsed = performance.now() - start;
        if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${body.slice(0, 300)}`);
        if (i >= WARM_UP) times.push(elapsed);
        bytes = Buffer.byteLength(body);
        shown = /<span role="status">([^<]+)<\/span>/.exec(body)?.[1] ?? '?';
      }
      const pageBytes = bytes + Buffer.byteLength(ASSETS.css.body) + Buffer.byteLength(ASSETS.js.body);
      const ok = median(times) < TARGET_MS && pageBytes < TARGET_BYTES;
      if (held) passed &&= ok;
      rows.push({
        case: label,
        matching: shown,
        'median ms': median(times).toFixed(1),
        'slowest ms': Math.max(...times).toFixed(1),
        'page KB (HTML+CSS+JS)': (pageBytes / 1024).toFixed(1),
        target: held ? (ok ? 'met' : 'missed') : 'not a first page',
      });
    }
    return {
      title: "The console's inbox over a million requests",
      rows,
      notes: [
        `Target: the inbox's first page answers in under ${TARGET_MS} ms of server time over ${volume.requests.toLocaleString('en')} requests, and each page weighs under 200 KB. ${passed ? 'Met' : 'Missed'} for every case above.`,
        `The inbox counts at most 10,000 matching requests (the listing's \`count_limit\`) and shows "10,000+" beyond: an exact count over a million rows took 200–540 ms alone in the first run of this benchmark. "Due within 7 days" reads open requests through the partial index on the due date (\`open=true\`).`,
        `Server time is the app's own \`fetch\` (the console page, its API calls made in-process with the session's token, the listing and the count in Postgres, and the HTML), measured from \`app.request\` without the network; ${WARM_UP} warm-up runs, then ${RUNS}. A page of 25 requests; the policy list for the filter is read on each page too.`,
        `Data: ${volume.requests.toLocaleString('en')} requests over two years (85% complete, the rest open, denied, canceled…; a quarter CCPA, due 45 days after receipt, the others GDPR, 30 days), ${volume.executionLogs.toLocaleString('en')} execution log rows and ${volume.auditLogs.toLocaleString('en')} audit log rows, seeded in ${seedSeconds.toFixed(0)} s (bench/reporting-seed.ts). Every open request is past its due date here (the data ends in 2025), so "overdue" selects all open ones.`,
        'Run with `npm run bench -- console` (BENCH_CONSOLE_REQUESTS to change the volume).',
      ],
      passed,
    };
  } finally {
    await sql.end({ timeout: 1 });
    await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
  }
}

export const consoleInbox: Benchmark = { name: 'console', run };
