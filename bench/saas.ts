/**
 * SaaS benchmarks (issue 13):
 *
 * - `saas-stream`: an access request whose Stripe charges (Fides' stripe config, unchanged) are
 *   10,000 records over 100 pages, read by a worker in a process of its own; its resident memory
 *   is sampled from /proc while it reads, against the same request with one page of 100 records.
 * - `saas-rate-limit`: two processes, each a SaaS connector with its own Postgres pool, read as
 *   fast as a `rate_limit_config` of 10 requests a second lets them, for a minute; the vendor
 *   counts what arrives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import postgres from 'postgres';
import { apiDeps, createApp } from '../src/api/app.js';
import { listen } from '../src/api/server.js';
import { ensureRootClient, issueClientToken } from '../src/auth/service.js';
import { loadConfig } from '../src/config.js';
import { connect, ensureDatabase } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { savePolicy } from '../src/db/policies.js';
import { defaultAccessPolicy } from '../src/example/load.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { dataConverter } from '../src/temporal/codec.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { bundleWorkflows } from '../src/worker/index.js';
import { startStripe, stripeData } from '../test/support/vendors/stripe.js';
import { startVendor } from '../test/support/vendors/server.js';
import type { Benchmark, BenchmarkResult } from './run.js';

const SERVER = process.env.DSRFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const example = (name: string) => readFile(new URL(`../src/example/fides-saas/${name}`, import.meta.url), 'utf8');

/** Resident and peak resident memory of a process, in MiB (Linux). */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

function child(script: string, env: Record<string, string>, nodeOptions: string[] = []): { process: ChildProcess; output: Promise<string>; ready: Promise<void>; heap: { at: number; mib: number }[] } {
  const proc = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const heap: { at: number; mib: number }[] = [];
  let partial = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const data = chunk.toString();
    partial += data;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const match = /^heap (\d+) ([\d.]+)$/.exec(line);
      if (match) heap.push({ at: Number(match[1]), mib: Number(match[2]) });
      else text += `${line}\n`;
    }
    if (text.includes('ready')) markReady();
  });
  const output = new Promise<string>((resolve, reject) => {
    proc.on('exit', (code) => (code === 0 || code === null ? resolve(text) : reject(new Error(`${script} exited with ${code}`))));
  });
  return { process: proc, output, ready, heap };
}

// saas-stream ------------------------------------------------------------------------------------

async function stream(): Promise<BenchmarkResult> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const id = randomBytes(3).toString('hex');
  const serviceDb = `dsrflow_bench_saas_${id}`;
  const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH });
  const temporal = await startDevServer({ cliPath, port: 0, uiPort: false });
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const dir = await mkdtemp(join(tmpdir(), 'dsrflow-bench-'));
  const padding = 'x'.repeat(2000);
  const rows: Record<string, string>[] = [];
  let passed = true;
  try {
    await ensureDatabase(databaseUrl(serviceDb));
    const env = {
      DATABASE_URL: databaseUrl(serviceDb),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `bench-saas-${id}`,
      DSRFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DSRFLOW_SAAS_LOOPBACK_HTTP: 'true',
      DSRFLOW_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const sql = connect(config.databaseUrl);
    await migrate(sql);
    const key = config.encryptionKey!;
    await sql.begin((tx) => savePolicy(tx, defaultAccessPolicy));
    const bundle = await bundleWorkflows();
    const bundlePath = join(dir, 'workflows.js');
    await writeFile(bundlePath, bundle.code);
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverter(key) });
    const api = await listen(createApp(apiDeps(config, { sql, temporal: client, encryptionKey: key })), '127.0.0.1', 0);
    const root = { id: 'bench-root', secret: randomBytes(32).toString('base64url') };
    await ensureRootClient(sql, root);
    const issued = await issueClientToken(sql, config.auth, { clientId: root.id, clientSecret: root.secret });
    if ('error' in issued) throw new Error(issued.error_description);
    const call = async (path: string, method: string, body: string, type = 'application/json') => {
      const response = await fetch(`${api.url}/api/v1${path}`, { method, headers: { 'content-type': type, authorization: `Bearer ${issued.access_token}` }, body });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, unknown>>;
    };

    for (const [run, records, holdAll] of [[0, 100, false], [1, 10_000, false], [2, 10_000, true]] as const) {
      const email = `bench-${run}@example.com`;
      const data = stripeData(email, records);
      for (const charge of data.objects.get('charge')!) charge.description = padding;
      const stripe = await startStripe({ data });
      const connectionKey = `stripe_${run}`;
      await call('/connection', 'PATCH', JSON.stringify([{ key: connectionKey, connection_type: 'saas', access: 'read', secrets: { host: stripe.host, api_key: stripe.apiKey, payment_types: 'card', items_per_page: 100 } }]));
      // One Stripe connection at a time: the dataset's fides_key is the config's.
      await sql`delete from connection_config where key like 'stripe_%' and key <> ${connectionKey}`;
      await call(`/connection/${connectionKey}/saas_config`, 'PUT', await example('stripe_config.yml'), 'application/x-yaml');
      await call(`/connection/${connectionKey}/dataset`, 'PATCH', await example('stripe_dataset.yml'), 'application/x-yaml');

      const worker = child('bench/saas-worker.ts', { ...env, BENCH_WORKFLOW_BUNDLE: bundlePath, BENCH_HOLD_ALL: String(holdAll) }, ['--expose-gc']);
      await worker.ready;
      const pid = worker.process.pid!;
      const baseline = await memoryOf(pid);
      let peakDuringRead = baseline.rss;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peakDuringRead = Math.max(peakDuringRead, (await memoryOf(pid).catch(() => baseline)).rss);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const chargePages = () => stripe.requests.filter((request) => request.path === '/v1/charges').length;
      const started = Date.now();
      const submitted = await call('/privacy-request', 'POST', JSON.stringify([{ policy_key: defaultAccessPolicy.key, identity: { email } }]));
      const requestId = (submitted.succeeded as { id: string }[])[0]!.id;
      // Until the charges are stored (the read), then the rest of the request (the access package).
      let readSeconds = 0;
      for (const deadline = Date.now() + 180_000; Date.now() < deadline; ) {
        const [done] = await sql`
          select 1 from execution_log where privacy_request_id = ${requestId} and collection_name = 'charge' and status = 'complete'`;
        if (done) {
          readSeconds = (Date.now() - started) / 1000;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const readPeak = peakDuringRead;
      const readEnded = Date.now();
      const heapBefore = worker.heap.filter((sample) => sample.at < started).at(-1)?.mib ?? worker.heap[0]?.mib ?? 0;
      const heapPeak = Math.max(heapBefore, ...worker.heap.filter((sample) => sample.at >= started && sample.at <= readEnded).map((sample) => sample.mib));
      const outcome = await Promise.race([
        client.workflow.getHandle(requestId).result(),
        new Promise<{ status: string }>((resolve) => setTimeout(() => resolve({ status: 'did not finish within 3 minutes' }), 180_000)),
      ]);
      const seconds = (Date.now() - started) / 1000;
      sampling = false;
      await sampler;
      const whole = await memoryOf(pid);
      const [stored] = await sql<{ count: number; bytes: number }[]>`
        select count(*)::int as count, coalesce(sum(length(row::text)), 0)::int as bytes from access_result where privacy_request_id = ${requestId} and collection_name = 'charge'`;
      worker.process.kill('SIGTERM');
      await worker.output.catch(() => undefined);
      await stripe.close();
      if (outcome.status !== 'complete' || stored!.count !== records) passed = false;
      rows.push({
        'charges (records)': records.toLocaleString('en-US'),
        read: holdAll ? 'whole, then stored (for comparison)' : 'streamed, page by page',
        'pages read': String(chargePages()),
        'records stored': stored!.count.toLocaleString('en-US'),
        'data read (MiB)': (stored!.bytes / 1024 / 1024).toFixed(1),
        'worker RSS before (MiB)': baseline.rss.toFixed(0),
        'peak RSS during the read (MiB)': readPeak.toFixed(0),
        'growth during the read (MiB)': (readPeak - baseline.rss).toFixed(0),
        'peak RSS, whole request (MiB)': whole.hwm.toFixed(0),
        'live heap before (MiB)': heapBefore.toFixed(1),
        'peak live heap during the read (MiB)': heapPeak.toFixed(1),
        'live heap growth (MiB)': (heapPeak - heapBefore).toFixed(1),
        'until stored (s)': readSeconds.toFixed(1),
        'request (s)': seconds.toFixed(1),
        outcome: outcome.status,
      });
    }
    await api.close();
    await client.connection.close();
    await sql.end();
  } finally {
    await temporal.stop();
    await admin`drop database if exists ${admin(serviceDb)} with (force)`.catch(() => undefined);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
  const small = rows[0]!;
  const large = rows[1]!;
  const held = rows[2]!;
  const growth = (row: Record<string, string>) => Number(row['live heap growth (MiB)']);
  const data = Number(large['data read (MiB)']);
  // Streaming holds a page at a time: what the worker holds during the read does not grow with the
  // records (it stays near the one-page read's), where reading every page first holds them all.
  const extraStreamed = growth(large) - growth(small);
  const extraHeld = growth(held) - growth(small);
  const streamed = extraStreamed < Math.max(5, extraHeld / 4);
  return {
    title: 'A SaaS read of 10,000 records over 100 pages streams into the results',
    rows,
    notes: [
      `Target: the read streams: what the worker holds while reading 10,000 records over 100 pages stays near what it holds for one page (live heap +${growth(large).toFixed(1)} MiB against +${growth(small).toFixed(1)} MiB), where reading every page before storing any holds them all (+${growth(held).toFixed(1)} MiB), for ${data} MiB of records. ${passed && streamed ? 'Met.' : 'NOT met.'} Resident memory (RSS) grows in both cases: V8 lets garbage pile up before it collects, and keeps the pages it grew into; the live heap is what is held.`,
      "Setup: Fides' stripe config and dataset unchanged, `items_per_page` 100; the Stripe stand-in (test/support/vendors/stripe.ts) in the benchmark's process with one customer whose charges carry a 2,000-byte description each; the default access policy (the whole request, 13 Stripe collections, then the access package). The worker runs in a process of its own (bench/saas-worker.ts, workflow bundle built beforehand, a fresh process per row); its VmRSS is sampled from /proc every 20 ms from when it polls until the charges are stored (the read), and VmHWM is its peak over the whole request; the live heap is `process.memoryUsage().heapUsed` after a full collection, every 100 ms, in the worker (node --expose-gc): building the access package holds every record of the request, which is not streamed yet. The comparison row reads the same 100 pages whole before storing them (BENCH_HOLD_ALL).",
    ],
    passed: passed && streamed,
  };
}

// saas-rate-limit --------------------------------------------------------------------------------

const RATE_CONFIG = `saas_config:
  fides_key: limited
  name: Limited vendor
  connector_params:
    - name: host
    - name: api_key
  client_config:
    protocol: https
    host: <host>
    authentication:
      strategy: bearer
      configuration:
        token: <api_key>
  rate_limit_config:
    limits:
      - rate: 10
        period: second
  endpoints:
    - name: item
      requests:
        read:
          method: GET
          path: /items
          query_params:
            - name: email
              value: <email>
          param_values:
            - name: email
              identity: email
`;

async function rateLimit(): Promise<BenchmarkResult> {
  const seconds = Number(process.env.BENCH_RATE_SECONDS ?? 60);
  const id = randomBytes(3).toString('hex');
  const serviceDb = `dsrflow_bench_rate_${id}`;
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const arrivals: number[] = [];
  const vendor = await startVendor(() => {
    arrivals.push(Date.now());
    return { status: 200, body: [{ id: 1 }] };
  });
  try {
    await ensureDatabase(databaseUrl(serviceDb));
    const sql = connect(databaseUrl(serviceDb), { max: 1 });
    await migrate(sql);
    await sql.end();
    // Both start on a whole second, a few seconds from now (tsx needs a moment to load).
    const start = Math.ceil((Date.now() + 5000) / 1000) * 1000;
    const end = start + seconds * 1000;
    const env = { DATABASE_URL: databaseUrl(serviceDb), BENCH_CONFIG: RATE_CONFIG, BENCH_VENDOR: vendor.host, BENCH_START: String(start), BENCH_END: String(end) };
    const workers = [child('bench/saas-rate-client.ts', env), child('bench/saas-rate-client.ts', env)];
    const reads = (await Promise.all(workers.map((worker) => worker.output))).map((text) => Number(text.trim()));
    const inWindow = arrivals.filter((at) => at >= start && at < end);
    const rate = inWindow.length / seconds;
    const perSecond = new Map<number, number>();
    for (const at of inWindow) perSecond.set(Math.floor((at - start) / 1000), (perSecond.get(Math.floor((at - start) / 1000)) ?? 0) + 1);
    const counts = [...perSecond.values()];
    const deviation = Math.abs(rate - 10) / 10;
    const passed = deviation <= 0.05;
    return {
      title: 'A SaaS rate limit of 10 requests a second holds across two workers',
      rows: [
        {
          'limit (requests/s)': '10',
          workers: '2',
          'duration (s)': String(seconds),
          'requests received': String(inWindow.length),
          'requests per worker': reads.join(' + '),
          'rate (requests/s)': rate.toFixed(2),
          deviation: `${(deviation * 100).toFixed(1)}%`,
          'busiest second': String(Math.max(...counts)),
          'quietest second': String(Math.min(...counts)),
        },
      ],
      notes: [
        `Target: the vendor receives 10 requests a second within 5% over the minute, from two workers that each ask for more. ${passed ? 'Met.' : 'NOT met.'}`,
        'Setup: two processes (bench/saas-rate-client.ts), each a SaaS connector with its own Postgres pool and four reads in flight, sharing `rate_limit_config: {limits: [{rate: 10, period: second}]}` through the saas_rate_limit table (src/connectors/rate-limiter.ts: one atomic upsert per request into the current one-second window of the database clock; a refused request sleeps until the next window). A loopback vendor stand-in counts arrivals by its own clock; "busiest second" is per second of that clock, so a request that took its place at the end of one window and arrived in the next counts in the next.',
      ],
      passed,
    };
  } finally {
    await vendor.close();
    await admin`drop database if exists ${admin(serviceDb)} with (force)`.catch(() => undefined);
    await admin.end();
  }
}

export const saasStream: Benchmark = { name: 'saas-stream', run: stream };
export const saasRateLimit: Benchmark = { name: 'saas-rate-limit', run: rateLimit };
