/**
 * The floor workflow (bench/throughput.ts): what Temporal itself costs for a request shaped like
 * the Fides example, without any of dsrflow's work. Each collection is a no-op activity, started
 * when its upstream collections are done (as dsrflow's lifecycle starts them), with the same
 * activity options dsrflow's collection steps have by default.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface FloorCollection {
  key: string;
  upstream: string[];
}

export interface FloorActivities {
  floorCollection(key: string): Promise<void>;
}

const { floorCollection } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 3 },
});

/** Runs every collection once its upstream ones finished; `collections` in dependency order. */
export async function floorRequest(collections: FloorCollection[]): Promise<{ status: 'complete' }> {
  const done = new Map<string, Promise<void>>();
  for (const collection of collections) {
    const upstream = collection.upstream.map((key) => done.get(key)!);
    done.set(
      collection.key,
      Promise.all(upstream).then(() => floorCollection(collection.key)),
    );
  }
  await Promise.all(done.values());
  return { status: 'complete' };
}
