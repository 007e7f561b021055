/**
 * The worker's plan snapshot cache (src/execution/context.ts) and a batch's shared reads: each
 * snapshot read once while hundreds of requests run, within a count and a size; failures and
 * missing plans are not kept.
 */
import { describe, expect, it } from 'vitest';
import type { PlanSnapshot } from '../../src/db/plans.js';
import { batchMemo, SnapshotCache } from '../../src/execution/context.js';

const snapshot = (name: string) => ({ policy: { key: name }, datasets: {}, plan: { collections: [] } }) as unknown as PlanSnapshot;

describe('SnapshotCache', () => {
  it('reads a snapshot once for steps that ask at the same moment, and then from memory', async () => {
    const cache = new SnapshotCache();
    let reads = 0;
    const load = async () => {
      reads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { snapshot: snapshot('a'), bytes: 100 };
    };
    const answers = await Promise.all(Array.from({ length: 8 }, () => cache.get('pri_a', load)));
    expect(new Set(answers).size).toBe(1);
    expect(await cache.get('pri_a', load)).toBe(answers[0]);
    expect(reads).toBe(1);
  });

  it('forgets the least recently used beyond its count, and beyond its size', async () => {
    const byCount = new SnapshotCache(2, 1_000_000);
    for (const id of ['a', 'b']) byCount.remember(id, snapshot(id), 10);
    await byCount.get('a', async () => undefined); // a is used: b is now the oldest
    byCount.remember('c', snapshot('c'), 10);
    let reads = 0;
    const count = async () => ((reads += 1), { snapshot: snapshot('x'), bytes: 10 });
    await byCount.get('a', count);
    await byCount.get('c', count);
    expect(reads).toBe(0);
    await byCount.get('b', count);
    expect(reads).toBe(1);

    const bySize = new SnapshotCache(100, 250);
    for (const id of ['a', 'b', 'c']) bySize.remember(id, snapshot(id), 100);
    expect(bySize.size).toBe(2);
    // One snapshot larger than the whole budget is still kept, alone: its request needs it now.
    bySize.remember('huge', snapshot('huge'), 10_000);
    expect(bySize.size).toBe(1);
  });

  it('keeps neither a missing plan nor a failed read', async () => {
    const cache = new SnapshotCache();
    expect(await cache.get('pri_new', async () => undefined)).toBeUndefined();
    await expect(cache.get('pri_new', async () => Promise.reject(new Error('connection refused')))).rejects.toThrow('connection refused');
    expect(await cache.get('pri_new', async () => ({ snapshot: snapshot('late'), bytes: 1 }))).toMatchObject({ policy: { key: 'late' } });
    expect(cache.size).toBe(1);
  });
});

describe('batchMemo', () => {
  it('loads each key once for the steps of a batch, and loads a failed one again', async () => {
    const shared = batchMemo();
    let loads = 0;
    const identities = () => shared('identities', async () => ((loads += 1), { email: 'jane@example.com' }));
    expect(await Promise.all([identities(), identities(), identities()])).toHaveLength(3);
    expect(loads).toBe(1);

    let attempts = 0;
    const flaky = () => shared('connector:pg', async () => ((attempts += 1), attempts === 1 ? Promise.reject(new Error('database down')) : 'connector'));
    await expect(flaky()).rejects.toThrow('database down');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await flaky()).toBe('connector');
    expect(attempts).toBe(2);
  });
});
