/**
 * Throughput against Temporal's own floor (issue 14), side by side in one run, on one Temporal
 * dev server (SQLite in memory) and the machine's Postgres, for N requests (BENCH_REQUESTS,
 * default 500) for the Fides example's customers:
 *
 * - raw start loop: `client.workflow.start` with nothing else, one at a time and INTAKE_CONCURRENCY
 *   at a time (no worker polls that task queue);
 * - intake: POST /api/v1/privacy-request in batches of 50, and single-item calls from
 *   INTAKE_CONCURRENCY clients at once (no worker polls: only the intake is measured);
 * - floor: the same requests as a minimal workflow (bench/floor/workflows.ts: the example's 11
 *   collections as no-op activities, in dependency order), on a worker with dsrflow's worker
 *   settings, started the way dsrflow's intake starts them;
 * - dsrflow end to end: the API and one worker, from the first submission until every workflow
 *   returned its outcome;
 * - latency: single requests at an offered load of 1, 5 and 10 requests/s for
 *   BENCH_LATENCY_SECONDS (default 20) each, p50/p95/p99 of created_at → finished_processing_at.
 *
 * Targets: intake at least 0.8× the raw start loop at the same concurrency; end to end at least
 * 0.8× the floor. BENCH_THROUGHPUT_PARTS=raw,intake,floor,e2e,latency runs only some of them.
 */
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import protoPackage from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { apiDeps, createApp } from '../src/api/app.js';
import { listen, type ApiServer } from '../src/api/server.js';
import { planTraversal } from '../src/domain/graph.js';
import { defaultAccessPolicy, exampleDataset, EXAMPLE_CONNECTION_KEY } from '../src/example/load.js';
import { INTAKE_CONCURRENCY } from '../src/service/privacy-requests.js';
import { dataConverter } from '../src/temporal/codec.js';
import { bundleWorkflows, createWorker, WORKER_TUNING } from '../src/worker/index.js';
import { postgresCpu, processCpu } from './cpu.js';
import type { FloorCollection } from './floor/workflows.js';
import type { Benchmark, BenchmarkResult } from './run.js';
import { openBenchService } from './service.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500);
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 10);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const OFFERED_LOADS = [1, 5, 10];
const BATCH = 50;
const TARGET = 0.8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PARTS = new Set((process.env.BENCH_THROUGHPUT_PARTS ?? 'raw,intake,floor,e2e,latency').split(','));
/** The example's customers (src/example/fides-postgres-example/postgres_sample.sql). */
const CUSTOMERS = ['customer-1@example.com', 'customer-2@example.com', 'jane@example.com'];
const FLOOR_WORKFLOWS = fileURLToPath(new URL('./floor/workflows.ts', import.meta.url));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const f = (value: number, digits = 1) => value.toFixed(digits);

/**
 * The load generator's HTTP client: node:http over kept-alive connections. Node's fetch (undici)
 * took a fifth of this process's CPU in the single-item intake (a CPU profile, 2026-12-02), CPU
 * that the API under test then did not get; what a submission costs is the API's, not the client's.
 */
const keptAlive = new Agent({ keepAlive: true, maxSockets: 64 });
function postJson(url: URL, token: string, body: unknown): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', agent: keptAlive, headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: `Bearer ${token}` } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.setTimeout(60_000, () => request.destroy(new Error('the API did not answer within 60 s')));
    request.on('error', reject);
    request.end(payload);
  });
}

/** Runs `count` jobs, `concurrency` at a time; answers the seconds it took. */
async function timed(count: number, concurrency: number, job: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await job(i);
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Starts counting CPU time; the answer stops and gives milliseconds per request. */
async function cpuMeter(temporalPid: number | undefined): Promise<(count: number) => Promise<NonNullable<Measure['cpu']>>> {
  const own = process.cpuUsage();
  const temporal = await processCpu(temporalPid);
  const postgres = await postgresCpu();
  return async (count) => {
    const used = process.cpuUsage(own);
    return {
      own: (used.user + used.system) / 1000 / count,
      temporal: (((await processCpu(temporalPid)) - temporal) * 1000) / count,
      postgres: (((await postgresCpu()) - postgres) * 1000) / count,
    };
  };
}

interface Measure {
  what: string;
  count: number;
  seconds: number;
  /** CPU milliseconds per request: this process (API, worker, load), the Temporal server, Postgres. */
  cpu?: { own: number; temporal: number; postgres: number };
}

type Events = Awaited<ReturnType<typeof eventsPerWorkflow>>;

interface Latency {
  load: number;
  requests: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Requests completed per second over the window from the first submission to the last completion. */
  completedPerSecond: number;
}

/** History events per workflow, and per event type, from a sample (child workflows' own events not counted). */
async function eventsPerWorkflow(client: Client, ids: string[]): Promise<{ total: number; byType: Record<string, number> }> {
  const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / 10)) === 0).slice(0, 10);
  const EventType = protoPackage.temporal.api.enums.v1.EventType;
  const byType: Record<string, number> = {};
  let total = 0;
  for (const id of sample) {
    for (const event of (await client.workflow.getHandle(id).fetchHistory()).events ?? []) {
      total += 1;
      const name = (EventType[event.eventType ?? 0] ?? '?').replace(/^EVENT_TYPE_/, '').toLowerCase();
      byType[name] = (byType[name] ?? 0) + 1 / sample.length;
    }
  }
  return { total: total / sample.length, byType };
}

async function run(): Promise<BenchmarkResult> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const service = await openBenchService('floor');
  const { id, temporal, closers, configFor, sql, key } = service;
  const config = configFor(`bench-${id}`);
  const measures: Measure[] = [];
  const latencies: Latency[] = [];
  let floorEvents: Events | undefined;
  let dsrflowEvents: Events | undefined;
  try {
    const connection = await Connection.connect({ address: temporal.address });
    closers.unshift(() => connection.close());
    const client = new Client({ connection, dataConverter: dataConverter(key) });
    const plainClient = new Client({ connection });

    // The example's plan, as the floor workflow's input: collections in dependency order.
    const plan = planTraversal({ datasets: [{ connectionKey: EXAMPLE_CONNECTION_KEY, dataset: (await exampleDataset())[0]! }], identities: ['email'] });
    const collections: FloorCollection[] = plan.collections.map((collection) => ({ key: collection.key, upstream: collection.upstream }));

    /** An API in this process whose requests go to `taskQueue`. */
    const startApi = async (taskQueue: string): Promise<{ api: ApiServer; post: (body: unknown) => Promise<string[]> }> => {
      const api = await listen(createApp(apiDeps(configFor(taskQueue), { sql, temporal: client, encryptionKey: key })), '127.0.0.1', 0);
      closers.unshift(() => api.close());
      closers.unshift(async () => keptAlive.destroy()); // before the API closes: its kept-alive connections
      const token = await service.rootToken(api);
      const url = new URL('/api/v1/privacy-request', api.url);
      const post = async (body: unknown) => {
        const { status, text } = await postJson(url, token, body);
        const answer = JSON.parse(text) as { succeeded: { id: string }[]; failed: unknown[] };
        if (status !== 200 || answer.failed.length > 0) throw new Error(`submission failed: ${status} ${text.slice(0, 500)}`);
        return answer.succeeded.map((request) => request.id);
      };
      return { api, post };
    };
    const item = (i: number) => ({ policy_key: defaultAccessPolicy.key, identity: { email: CUSTOMERS[i % CUSTOMERS.length]! } });
    const submitBatches = async (post: (body: unknown) => Promise<string[]>, count: number, offset = 0) => {
      const ids: string[] = [];
      for (let start = 0; start < count; start += BATCH) ids.push(...(await post(Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => item(offset + start + i)))));
      return ids;
    };

    /** A measure of REQUESTS with the CPU it took (this process: the client, and the API and worker where they run). */
    const metered = async (what: string, run: () => Promise<number>): Promise<Measure> => {
      const stop = await cpuMeter(temporal.process.pid);
      const seconds = await run();
      return { what, count: REQUESTS, seconds, cpu: await stop(REQUESTS) };
    };

    // ---- The raw start loop and the intake: no worker polls these task queues ----------------
    if (PARTS.has('raw')) {
      const rawQueue = `raw-${id}`;
      const start = (i: number, tag: string) => plainClient.workflow.start('floorRequest', { taskQueue: rawQueue, workflowId: `raw-${tag}-${i}-${id}`, args: [collections] });
      await timed(WARM_UP, 1, (i) => start(i, 'warm'));
      measures.push(await metered('raw start loop, one at a time', () => timed(REQUESTS, 1, (i) => start(i, 'seq'))));
      measures.push(await metered(`raw start loop, ${INTAKE_CONCURRENCY} at a time`, () => timed(REQUESTS, INTAKE_CONCURRENCY, (i) => start(i, 'conc'))));
    }
    if (PARTS.has('intake')) {
      const { post } = await startApi(`intake-${id}`);
      await submitBatches(post, WARM_UP);
      measures.push(await metered(`intake, batches of ${BATCH}`, () => timed(REQUESTS / BATCH, 1, (i) => submitBatches(post, BATCH, i * BATCH))));
      measures.push(await metered(`intake, single-item calls, ${INTAKE_CONCURRENCY} at a time`, () => timed(REQUESTS, INTAKE_CONCURRENCY, (i) => post([item(i)]))));
    }

    // ---- The floor and dsrflow end to end, in alternating rounds ---------------------------------
    // One round of each after the other, ROUNDS times: the machine's pace drifts over minutes (on
    // this shared 2-core machine the floor alone ran anywhere from 11 to 15 requests/s), and
    // alternating rounds puts both under the same drift. The ratio is of the rounds' totals.
    let floorRound: ((round: number) => Promise<void>) | undefined;
    let dsrflowRound: ((round: number) => Promise<void>) | undefined;
    const floorIds: string[] = [];
    const dsrflowIds: string[] = [];
    if (PARTS.has('floor')) {
      const floorQueue = `floor-${id}`;
      const bundle = await bundleWorkflowCode({ workflowsPath: FLOOR_WORKFLOWS, logger: new DefaultLogger('WARN') });
      const worker = await Worker.create({
        connection: await NativeConnection.connect({ address: temporal.address }),
        taskQueue: floorQueue,
        workflowBundle: bundle,
        activities: { floorCollection: async () => undefined },
        ...WORKER_TUNING,
      });
      const running = worker.run();
      closers.unshift(async () => {
        worker.shutdown();
        await running;
      });
      const floorRun = async (count: number, tag: string) => {
        const ids: string[] = [];
        const started = performance.now();
        // Started as the intake starts a batch: INTAKE_CONCURRENCY at a time.
        await timed(count, INTAKE_CONCURRENCY, async (i) => {
          const workflowId = `floor-${tag}-${i}-${id}`;
          ids.push(workflowId);
          await plainClient.workflow.start('floorRequest', { taskQueue: floorQueue, workflowId, args: [collections] });
        });
        await Promise.all(ids.map((workflowId) => plainClient.workflow.getHandle(workflowId).result()));
        return { ids, seconds: (performance.now() - started) / 1000 };
      };
      await floorRun(WARM_UP, 'warm');
      floorRound = async (round) => {
        measures.push(
          await metered(`floor workflow, round ${round}`, async () => {
            const measured = await floorRun(REQUESTS, `run${round}`);
            floorIds.push(...measured.ids);
            return measured.seconds;
          }),
        );
      };
    }

    let post: ((body: unknown) => Promise<string[]>) | undefined;
    /** Waited for as the floor's are: every workflow's result (a request's workflow returns once its last bookkeeping is written), with no polling of the database. */
    const finish = async (ids: string[]) => {
      const outcomes = await Promise.all(ids.map((requestId) => client.workflow.getHandle(requestId).result() as Promise<{ status: string }>));
      const wrong = outcomes.find((outcome) => outcome.status !== 'complete');
      if (wrong) throw new Error(`a request finished ${wrong.status}`);
    };
    if (PARTS.has('e2e') || PARTS.has('latency')) {
      const worker = await createWorker({ config, sql, encryptionKey: key, workflowBundle: await bundleWorkflows() });
      const running = worker.run();
      closers.unshift(async () => {
        await worker.shutdown();
        await running;
      });
      post = (await startApi(config.temporal.taskQueue)).post;
      await finish(await submitBatches(post, WARM_UP));
      if (PARTS.has('e2e')) {
        dsrflowRound = async (round) => {
          measures.push(
            await metered(`dsrflow, round ${round}`, async () => {
              const started = performance.now();
              const ids = await submitBatches(post!, REQUESTS, WARM_UP + (round - 1) * REQUESTS);
              await finish(ids);
              dsrflowIds.push(...ids);
              return (performance.now() - started) / 1000;
            }),
          );
        };
      }
    }
    for (let round = 1; round <= ROUNDS; round++) {
      await floorRound?.(round);
      await dsrflowRound?.(round);
    }
    // The totals over the rounds, which the target is checked on.
    for (const [prefix, what] of [['floor workflow, round', 'floor workflow, end to end'], ['dsrflow, round', 'dsrflow, end to end']] as const) {
      const rounds = measures.filter((measure) => measure.what.startsWith(prefix));
      if (rounds.length === 0) continue;
      const count = rounds.reduce((sum, measure) => sum + measure.count, 0);
      const perRequest = (pick: (cpu: NonNullable<Measure['cpu']>) => number) => rounds.reduce((sum, measure) => sum + pick(measure.cpu!) * measure.count, 0) / count;
      measures.push({
        what,
        count,
        seconds: rounds.reduce((sum, measure) => sum + measure.seconds, 0),
        cpu: { own: perRequest((cpu) => cpu.own), temporal: perRequest((cpu) => cpu.temporal), postgres: perRequest((cpu) => cpu.postgres) },
      });
    }
    if (floorIds.length) floorEvents = await eventsPerWorkflow(plainClient, floorIds);
    if (dsrflowIds.length) dsrflowEvents = await eventsPerWorkflow(client, dsrflowIds);

    if (post) {
      if (PARTS.has('latency')) {
        for (const load of OFFERED_LOADS) {
          const count = load * LATENCY_SECONDS;
          const ids: string[] = [];
          const started = performance.now();
          const sent: Promise<void>[] = [];
          for (let i = 0; i < count; i++) {
            const due = started + (i * 1000) / load;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
            sent.push(post([item(i)]).then((submitted) => void ids.push(...submitted)));
          }
          await Promise.all(sent);
          await finish(ids);
          const seconds = (performance.now() - started) / 1000;
          const durations = (await sql<{ s: number }[]>`select extract(epoch from finished_processing_at - created_at)::float8 as s from privacy_request where id = any(${ids})`).map((row) => row.s).sort((a, b) => a - b);
          latencies.push({ load, requests: count, p50: percentile(durations, 50), p95: percentile(durations, 95), p99: percentile(durations, 99), max: durations.at(-1)!, completedPerSecond: count / seconds });
        }
      }
    }
  } finally {
    await service.close();
  }
  return report(measures, latencies, { floorEvents, dsrflowEvents });
}

function report(measures: Measure[], latencies: Latency[], events: { floorEvents: Events | undefined; dsrflowEvents: Events | undefined }): BenchmarkResult {
  const rate = (what: string) => {
    const found = measures.find((measure) => measure.what.startsWith(what));
    return found ? found.count / found.seconds : undefined;
  };
  const rawConcurrent = rate(`raw start loop, ${INTAKE_CONCURRENCY}`);
  const floor = rate('floor workflow, end to end');
  const against = (measure: Measure) => {
    // A round of dsrflow against the floor's round before it; the totals against each other.
    const round = /^dsrflow, (round \d+)$/.exec(measure.what)?.[1];
    const base = measure.what.startsWith('intake') ? rawConcurrent : round ? rate(`floor workflow, ${round}`) : measure.what.startsWith('dsrflow') ? floor : undefined;
    return base ? `${f(measure.count / measure.seconds / base, 2)}×` : '';
  };
  const rows = measures.map((measure) => ({
    measure: measure.what,
    requests: String(measure.count),
    'wall time (s)': f(measure.seconds),
    'requests/s': f(measure.count / measure.seconds, 1),
    'against its floor': against(measure),
    'CPU ms/request: API+worker, Temporal, Postgres': measure.cpu ? `${f(measure.cpu.own, 0)}, ${f(measure.cpu.temporal, 0)}, ${f(measure.cpu.postgres, 0)}` : '',
  }));
  const notes: string[] = [];
  const verdicts: boolean[] = [];
  const intakeRatios = measures.filter((measure) => measure.what.startsWith('intake')).map((measure) => ({ what: measure.what, ratio: rawConcurrent ? measure.count / measure.seconds / rawConcurrent : NaN }));
  if (rawConcurrent && intakeRatios.length) {
    const met = intakeRatios.every((entry) => entry.ratio >= TARGET);
    verdicts.push(met);
    notes.push(`Target: intake at least ${TARGET}× the raw start loop at the same concurrency (${INTAKE_CONCURRENCY}). ${met ? 'Met' : 'NOT met'}: ${intakeRatios.map((entry) => `${entry.what} ${f(entry.ratio, 2)}×`).join('; ')}.`);
  }
  const e2e = rate('dsrflow, end to end');
  if (floor && e2e) {
    const met = e2e / floor >= TARGET;
    verdicts.push(met);
    notes.push(
      `Target: dsrflow end to end at least ${TARGET}× the floor workflow. ${met ? 'Met' : 'NOT met'}: ${f(e2e / floor, 2)}× (${f(e2e, 2)} against ${f(floor, 2)} requests/s). ` +
        (events.floorEvents && events.dsrflowEvents ? `History events per workflow (10 sampled): floor ${f(events.floorEvents.total)}, dsrflow ${f(events.dsrflowEvents.total)}.` : ''),
    );
  }
  if (events.floorEvents || events.dsrflowEvents) {
    const types = [...new Set([...Object.keys(events.floorEvents?.byType ?? {}), ...Object.keys(events.dsrflowEvents?.byType ?? {})])].sort();
    notes.push(
      [
        'History events per workflow by type (10 sampled workflows each):',
        '',
        '| event type | floor | dsrflow |',
        '| --- | ---: | ---: |',
        ...types.map((type) => `| ${type} | ${f(events.floorEvents?.byType[type] ?? 0)} | ${f(events.dsrflowEvents?.byType[type] ?? 0)} |`),
      ].join('\n'),
    );
  }
  if (latencies.length) {
    notes.push(
      [
        `Latency, created_at → finished_processing_at, single-item calls at a fixed offered load for ${LATENCY_SECONDS} s each (the next load starts once the previous one's requests finished):`,
        '',
        '| offered load (requests/s) | requests | p50 (s) | p95 (s) | p99 (s) | max (s) | completed/s |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...latencies.map((entry) => `| ${entry.load} | ${entry.requests} | ${f(entry.p50, 2)} | ${f(entry.p95, 2)} | ${f(entry.p99, 2)} | ${f(entry.max, 2)} | ${f(entry.completedPerSecond, 2)} |`),
      ].join('\n'),
    );
  }
  notes.push(
    `Setup: ${REQUESTS} requests per measure (BENCH_REQUESTS) after ${WARM_UP} unmeasured warm-up ones, one of ${CUSTOMERS.length} example customers' emails each, under the Fides example's default_access_policy. ` +
      `The Temporal CLI dev server (SQLite in memory), Postgres, the API, the worker and the load generator share the machine. ` +
      `Raw start loop: \`client.workflow.start\` of the floor workflow, no worker polling. Intake: the API with no worker polling its task queue; the load generator posts with node:http over kept-alive connections. ` +
      `Floor: bench/floor/workflows.ts, the example's ${11} collections as no-op activities started when their upstream ones finish, on a worker with dsrflow's worker settings (WORKER_TUNING), started ${INTAKE_CONCURRENCY} at a time, wall time until every result. ` +
      `dsrflow: POST /api/v1/privacy-request in batches of ${BATCH}, wall time until every workflow returned its outcome. ` +
      `The floor and dsrflow run in ${ROUNDS} alternating rounds (BENCH_ROUNDS; the machine's pace drifts over minutes); "end to end" is the total of the rounds, which the target is checked on.`,
  );
  return { title: "Throughput against Temporal's own floor", rows, notes, ...(verdicts.length ? { passed: verdicts.every(Boolean) } : {}) };
}

export const throughput: Benchmark = { name: 'throughput', run };
