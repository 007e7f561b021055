/**
 * The dev server's transfer queue polls often enough for a long request (src/temporal/dev-server.ts,
 * DEV_SERVER_DYNAMIC_CONFIG; docs/decisions.md, "The transfer queue's poll rate"). With Temporal's
 * default of 20 polls a second, a chain of steps ran at full speed for about two seconds, then
 * every activity waited ~37 ms to be picked up and every workflow task ~20 ms: a 1,100-collection
 * request took 13.8 s instead of about 7.5. Here a chain of 150 no-op activities runs against the test
 * run's dev server (started by test/global-setup.ts with startDevServer), and the late steps must
 * still be picked up as fast as the early ones.
 *
 * The deploy file (deploy/temporal/dynamicconfig.yaml, for docker-compose.yml's cluster) must say
 * the same as the dev server's settings.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/temporal/dev-server.js';

const STEPS = 150;
let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `transfer-queue-${inject('runId')}`;

beforeAll(async () => {
  const address = inject('temporalAddress');
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('../fixtures/chain-workflow.ts', import.meta.url)), logger: new DefaultLogger('WARN') });
  connection = await NativeConnection.connect({ address });
  worker = await Worker.create({ connection, taskQueue, workflowBundle, activities: { chainStep: async () => undefined } });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address }) });
}, 60_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
});

const millis = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(time!.seconds) * 1000 + (time!.nanos ?? 0) / 1e6;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

it('hands a long chain of steps to the worker as fast at its end as at its start', async () => {
  const handle = await client.workflow.start('chainWorkflow', { taskQueue, workflowId: `chain-${inject('runId')}`, args: [STEPS] });
  expect(await handle.result()).toBe(STEPS);
  const events = (await handle.fetchHistory()).events!;
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  // Schedule → start of each activity and of each workflow task, in the order they ran.
  const pickUp = (started: 'activityTaskStartedEventAttributes' | 'workflowTaskStartedEventAttributes') =>
    events.filter((event) => event[started]).map((event) => millis(event.eventTime) - millis(byId.get(Number(event[started]!.scheduledEventId))!.eventTime));
  const activities = pickUp('activityTaskStartedEventAttributes');
  const workflowTasks = pickUp('workflowTaskStartedEventAttributes');
  expect(activities).toHaveLength(STEPS);
  // The last third: long after a rate limiter's burst would have been spent.
  const late = (values: number[]) => values.slice(-Math.floor(values.length / 3));
  expect(median(late(activities)), `activities' pick-up times: ${late(activities).map((ms) => ms.toFixed(0)).join(' ')}`).toBeLessThan(15);
  expect(median(late(workflowTasks)), `workflow tasks' pick-up times: ${late(workflowTasks).map((ms) => ms.toFixed(0)).join(' ')}`).toBeLessThan(15);
}, 60_000);

it('is what the cluster of docker-compose.yml gets too', async () => {
  const deployed = parse(await readFile(new URL('../../deploy/temporal/dynamicconfig.yaml', import.meta.url), 'utf8')) as Record<string, { value: unknown }[]>;
  expect(Object.fromEntries(Object.entries(deployed).map(([key, [entry]]) => [key, entry!.value]))).toEqual(DEV_SERVER_DYNAMIC_CONFIG);
  const compose = await readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
  expect(compose).toContain('DYNAMIC_CONFIG_FILE_PATH: config/dynamicconfig/dsrflow.yaml');
  expect(compose).toContain('./deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/dsrflow.yaml:ro');
});
