/**
 * SQL of the compliance metrics (GET /report/metrics): the requests received in a period, counted
 * per regulation and request type (access, erasure) and for all regulations together, in one
 * statement. The definitions are in docs/decisions.md ("Compliance metrics") and the route's
 * description; this is the one place that computes them.
 */
import type { Sql } from './client.js';

export const METRIC_REQUEST_TYPES = ['access', 'erasure'] as const;
export type MetricRequestType = (typeof METRIC_REQUEST_TYPES)[number];

export interface MetricCounts {
  received: number;
  duplicates: number;
  complied_in_whole: number;
  complied_in_part: number;
  denied: number;
  /** Denied requests per denial_reason_code (those without a code are only in `denied`). */
  denied_by_reason: Record<string, number>;
  canceled: number;
  open: number;
  overdue_open: number;
  completed_late: number;
  median_days_to_respond: number | null;
  mean_days_to_respond: number | null;
}

export interface MetricRow extends MetricCounts {
  /** null: every regulation together. */
  regulation: string | null;
  request_type: MetricRequestType;
}

export interface PeriodMetrics {
  /** The database's now(): what `open` and `overdue_open` were measured against. */
  asOf: Date;
  rows: MetricRow[];
}

/**
 * Counts of the requests created in [from, to). A request counts once under each of its action
 * types. Statuses that never change again: complete, denied, canceled, duplicate; every other one
 * is open. A request responded when it became complete (finished_processing_at) or denied (the
 * denial is a review: statusUpdate stamps reviewed_at with its time; updated_at, the time of the
 * last status change, for a denial recorded without a reviewer).
 */
export async function periodMetrics(sql: Sql, from: Date, to: Date): Promise<PeriodMetrics> {
  const rows = await sql<(Omit<MetricRow, 'request_type'> & { request_type: MetricRequestType | null; as_of: Date })[]>`
    with received as (
      select r.regulation, t.request_type, r.status, r.denial_reason_code,
        r.status not in ('complete', 'denied', 'canceled', 'duplicate') as open,
        coalesce(r.extended_due_at, r.due_at) as due,
        r.finished_processing_at,
        coalesce(r.warnings <> '[]'::jsonb, false) as has_warnings,
        extract(epoch from (case r.status when 'complete' then r.finished_processing_at when 'denied' then coalesce(r.reviewed_at, r.updated_at) end) - r.created_at)
          / 86400 as days_to_respond
      from privacy_request r cross join lateral unnest(r.action_types) as t (request_type)
      where r.created_at >= ${from} and r.created_at < ${to} and t.request_type in ('access', 'erasure')
    ),
    counted as (
      select regulation, request_type,
        (count(*) filter (where status <> 'duplicate'))::int as received,
        (count(*) filter (where status = 'duplicate'))::int as duplicates,
        (count(*) filter (where status = 'complete' and not has_warnings))::int as complied_in_whole,
        (count(*) filter (where status = 'complete' and has_warnings))::int as complied_in_part,
        (count(*) filter (where status = 'denied'))::int as denied,
        (count(*) filter (where status = 'canceled'))::int as canceled,
        (count(*) filter (where open))::int as open,
        (count(*) filter (where open and due < now()))::int as overdue_open,
        (count(*) filter (where status = 'complete' and finished_processing_at > due))::int as completed_late,
        round((percentile_cont(0.5) within group (order by days_to_respond::float8))::numeric, 1)::float8 as median_days_to_respond,
        round(avg(days_to_respond), 1)::float8 as mean_days_to_respond
      from received
      group by grouping sets ((regulation, request_type), (request_type))
    ),
    reasons as (
      select regulation, request_type, jsonb_object_agg(denial_reason_code, n) as denied_by_reason
      from (
        select regulation, request_type, denial_reason_code, count(*)::int as n
        from received
        where status = 'denied' and denial_reason_code is not null
        group by grouping sets ((regulation, request_type, denial_reason_code), (request_type, denial_reason_code))
      ) per_code
      group by regulation, request_type
    )
    select now() as as_of, counted.*, coalesce(reasons.denied_by_reason, '{}'::jsonb) as denied_by_reason
    from (select 1) as clock
    left join counted on true
    left join reasons on reasons.regulation is not distinct from counted.regulation and reasons.request_type = counted.request_type
    order by counted.regulation nulls first, counted.request_type`;
  const asOf = rows[0]!.as_of;
  return {
    asOf,
    rows: rows
      .filter((row): row is typeof row & { request_type: MetricRequestType } => row.request_type !== null)
      .map((row) => ({
        regulation: row.regulation,
        request_type: row.request_type,
        received: row.received,
        duplicates: row.duplicates,
        complied_in_whole: row.complied_in_whole,
        complied_in_part: row.complied_in_part,
        denied: row.denied,
        denied_by_reason: row.denied_by_reason,
        canceled: row.canceled,
        open: row.open,
        overdue_open: row.overdue_open,
        completed_late: row.completed_late,
        median_days_to_respond: row.median_days_to_respond,
        mean_days_to_respond: row.mean_days_to_respond,
      })),
  };
}
