/** SQL for `privacy_request_plan`: the snapshot a request runs from. */
import type { Dataset } from '../domain/datasets.js';
import type { TraversalPlan } from '../domain/graph.js';
import type { Policy } from '../domain/policies.js';
import { asJson, type Sql } from './client.js';

export interface PlanSnapshot {
  policy: Policy;
  /** fides_key → dataset, as they were when the request was planned. */
  datasets: Record<string, Dataset>;
  plan: TraversalPlan;
}

/** Stores the snapshot unless one exists; returns the stored one (the first plan wins) and its stored size. */
export async function saveSnapshot(sql: Sql, privacyRequestId: string, snapshot: PlanSnapshot): Promise<{ snapshot: PlanSnapshot; bytes: number }> {
  await sql`
    insert into privacy_request_plan (privacy_request_id, policy, datasets, plan)
    values (${privacyRequestId}, ${sql.json(asJson(snapshot.policy))}, ${sql.json(asJson(snapshot.datasets))}, ${sql.json(asJson(snapshot.plan))})
    on conflict (privacy_request_id) do nothing`;
  return (await getSnapshot(sql, privacyRequestId))!;
}

/** The request's snapshot, and the bytes Postgres stores it in (compressed), which the worker's cache counts. */
export async function getSnapshot(sql: Sql, privacyRequestId: string): Promise<{ snapshot: PlanSnapshot; bytes: number } | undefined> {
  const [row] = await sql<(PlanSnapshot & { bytes: number })[]>`
    select policy, datasets, plan, pg_column_size(policy) + pg_column_size(datasets) + pg_column_size(plan) as bytes
    from privacy_request_plan where privacy_request_id = ${privacyRequestId}`;
  if (!row) return undefined;
  const { bytes, ...snapshot } = row;
  return { snapshot, bytes };
}
