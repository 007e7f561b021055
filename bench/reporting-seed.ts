/**
 * A reporting data set of any size, written by Postgres itself (`insert … select generate_series`):
 * privacy requests over two years with realistic statuses, timestamps, regulations (a quarter CCPA)
 * and due dates (30 and 45 days), four execution log
 * rows (two datasets) per request that started, approved and finished audit rows, a few requests
 * with thousands of log rows, and encrypted identities for the newest requests.
 *
 * The secondary indexes are dropped for the load and built again afterwards from their own
 * definitions (pg_indexes), which is several times faster than maintaining them row by row and
 * leaves exactly the schema the migrations made. Used by bench/reporting.ts (a million requests)
 * and test/integration/explain.test.ts (fewer).
 */
import { encrypt } from '../src/crypto.js';
import type { Sql } from '../src/db/client.js';

export interface ReportingVolume {
  requests: number;
  /** Requests (the newest) that get `bigLogRows` extra log rows each. */
  bigLogs?: number;
  bigLogRows?: number;
  /** The newest requests get an identity encrypted with this key. */
  identities?: { count: number; key: Buffer };
}

export interface SeededVolume {
  requests: number;
  executionLogs: number;
  auditLogs: number;
  identities: number;
  /** The request with the most log rows. */
  biggestLog: string | null;
}

const TABLES = ['privacy_request', 'privacy_request_identity', 'execution_log', 'audit_log'];
const TWO_YEARS_SECONDS = 2 * 365 * 86_400;

export async function seedReportingVolume(sql: Sql, volume: ReportingVolume): Promise<SeededVolume> {
  const n = volume.requests;
  const step = Math.max(1, Math.floor(TWO_YEARS_SECONDS / Math.max(1, n / 2)));
  const indexes = await sql<{ indexname: string; indexdef: string }[]>`
    select i.indexname, i.indexdef from pg_indexes i
    where i.schemaname = 'public' and i.tablename in ${sql(TABLES)}
      and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`;
  for (const index of indexes) await sql`drop index ${sql(index.indexname)}`;

  await sql.begin(async (tx) => {
    await tx`set local synchronous_commit = off`;
    // Two requests per instant (ties for the id tie-break); n = 1 is the oldest.
    await tx`
      insert into privacy_request (id, external_id, policy_key, action_types, status, created_at, updated_at, reviewed_at, reviewed_by,
                                   started_processing_at, finished_processing_at, errored_at, canceled_at, paused_at, denial_reason,
                                   regulation, due_at)
      select id, external_id, policy_key, action_types, status, created_at, created_at,
        case when status = 'denied' then created_at + interval '10 minutes' end,
        case when status = 'denied' then 'dpo@example.com' end,
        case when status in ('pending', 'denied', 'approved') then null else created_at + interval '5 seconds' end,
        case when status = 'complete' then created_at + interval '1 minute' end,
        case when status = 'error' then created_at + interval '30 seconds' end,
        case when status = 'canceled' then created_at + interval '2 minutes' end,
        case when status = 'paused' then created_at + interval '20 seconds' end,
        case when status = 'denied' then 'identity could not be verified' end,
        regulation,
        created_at + case when regulation = 'ccpa' then interval '45 days' else interval '30 days' end
      from (
        select
          'pri_' || md5(n::text)::uuid as id,
          'ext-' || n as external_id,
          (array['default_access_policy', 'erasure_policy', 'marketing_policy'])[1 + n % 3] as policy_key,
          case when n % 3 = 1 then '{access,erasure}'::text[] else '{access}'::text[] end as action_types,
          case
            when n % 100 < 85 then 'complete'
            when n % 100 < 87 then 'error'
            when n % 100 = 87 then 'paused'
            when n % 100 < 91 then 'pending'
            when n % 100 = 91 then 'in_processing'
            when n % 100 < 95 then 'denied'
            when n % 100 < 97 then 'canceled'
            when n % 100 = 97 then 'awaiting_erasure_confirmation'
            else 'approved'
          end as status,
          case when n % 4 = 0 then 'ccpa' else 'gdpr' end as regulation,
          timestamptz '2024-01-01 00:00:00+00' + (n / 2) * make_interval(secs => ${step}) as created_at
        from generate_series(1, ${n}) as n
      ) request`;
    // In creation order, as a running system writes them.
    await tx`
      insert into execution_log (privacy_request_id, event_key, connection_key, dataset_name, collection_name, action_type, status, message, fields_affected, row_count, error_category, created_at)
      select request.id, 'access:' || step.dataset || ':' || step.collection || ':1:' || step.event, step.dataset || '_db', step.dataset, step.collection, 'access',
        case when step.k = 4 and request.status = 'error' then 'error' else step.event end,
        case when step.k = 4 and request.status = 'error' then 'timeout: canceling statement due to statement timeout' when step.event = 'complete' then 'success' else 'starting' end,
        '[]'::jsonb,
        case when step.event = 'complete' and request.status <> 'error' then 1 + step.k end,
        case when step.k = 4 and request.status = 'error' then 'timeout' end,
        request.started_processing_at + step.k * interval '1 second'
      from privacy_request request
      cross join (values (1, 'shop', 'customer', 'in_processing'), (2, 'shop', 'customer', 'complete'), (3, 'crm', 'contact', 'in_processing'), (4, 'crm', 'contact', 'complete')) as step (k, dataset, collection, event)
      where request.started_processing_at is not null
      order by request.created_at, request.id, step.k`;
    await tx`
      insert into audit_log (privacy_request_id, event_key, action, user_id, message, created_at)
      select request.id, entry.action, entry.action, 'system', null, request.created_at + entry.after
      from privacy_request request
      cross join (values ('approved', interval '1 second'), ('finished', interval '1 minute')) as entry (action, after)
      where request.started_processing_at is not null and (entry.action = 'approved' or request.status = 'complete')
      order by request.created_at, request.id, entry.after`;
    if (volume.bigLogs && volume.bigLogRows) {
      await tx`
        insert into execution_log (privacy_request_id, event_key, connection_key, dataset_name, collection_name, action_type, status, message, fields_affected, row_count, created_at)
        select request.id, 'access:warehouse:table_' || k || ':1:complete', 'warehouse_db', 'warehouse', 'table_' || k, 'access', 'complete', 'success', '[]'::jsonb, k,
               request.started_processing_at + k * interval '1 millisecond'
        from (select id, started_processing_at from privacy_request where started_processing_at is not null order by created_at desc, id desc limit ${volume.bigLogs}) request
        cross join generate_series(1, ${volume.bigLogRows}) as k`;
    }
  });

  let identities = 0;
  if (volume.identities) {
    const newest = await sql<{ id: string }[]>`select id from privacy_request order by created_at desc, id desc limit ${volume.identities.count}`;
    const expiresAt = new Date(Date.now() + 30 * 86_400_000);
    const key = volume.identities.key;
    for (let i = 0; i < newest.length; i += 1000) {
      const rows = newest.slice(i, i + 1000).map(({ id }, j) => ({
        privacy_request_id: id,
        field_name: 'email',
        value_encrypted: encrypt(key, `person-${i + j}@example.com`, `identity:${id}:email`),
        expires_at: expiresAt,
      }));
      await sql`insert into privacy_request_identity ${sql(rows)}`;
      identities += rows.length;
    }
  }

  for (const index of indexes) await sql.unsafe(index.indexdef);
  for (const table of TABLES) await sql.unsafe(`vacuum (analyze) ${table}`);

  const [counts] = await sql<{ requests: number; execution_logs: number; audit_logs: number }[]>`
    select (select count(*) from privacy_request)::int as requests, (select count(*) from execution_log)::int as execution_logs, (select count(*) from audit_log)::int as audit_logs`;
  const [biggest] = await sql<{ id: string }[]>`
    select id from privacy_request where started_processing_at is not null order by created_at desc, id desc limit 1`;
  return {
    requests: counts!.requests,
    executionLogs: counts!.execution_logs,
    auditLogs: counts!.audit_logs,
    identities,
    biggestLog: volume.bigLogs ? (biggest?.id ?? null) : null,
  };
}
