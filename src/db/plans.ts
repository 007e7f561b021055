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

/** Stores the snapshot unless one exists; returns the stored one (the first plan wins). */
export async function saveSnapshot(sql: Sql, privacyRequestId: string, snapshot: PlanSnapshot): Promise<PlanSnapshot> {
  await sql`
    insert into privacy_request_plan (privacy_request_id, policy, datasets, plan)
    values (${privacyRequestId}, ${sql.json(asJson(snapshot.policy))}, ${sql.json(asJson(snapshot.datasets))}, ${sql.json(asJson(snapshot.plan))})
    on conflict (privacy_request_id) do nothing`;
  return (await getSnapshot(sql, privacyRequestId))!;
}

export async function getSnapshot(sql: Sql, privacyRequestId: string): Promise<PlanSnapshot | undefined> {
  const [row] = await sql<PlanSnapshot[]>`
    select policy, datasets, plan from privacy_request_plan where privacy_request_id = ${privacyRequestId}`;
  return row;
}
