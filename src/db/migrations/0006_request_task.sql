-- One row per request, phase and collection: where that collection stands (Fides' RequestTask).
-- The workflow writes it on each transition of its lifecycle machine (src/domain/lifecycle.ts);
-- GET /privacy-request/{id}/tasks reads it.

create table request_task (
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  action_type text not null check (action_type in ('access', 'erasure')),
  -- dataset:collection
  collection text not null,
  connection_key text not null,
  -- The collection's place in the plan (an order in which upstream collections come first).
  position integer not null default 0,
  manual boolean not null default false,
  -- The collections this one waits for in this phase.
  upstream text[] not null default '{}',
  status text not null check (status in ('pending', 'in_processing', 'awaiting_input', 'paused', 'complete', 'skipped', 'error')),
  -- 1, then one more per retry of this collection.
  run integer not null default 1,
  -- Attempts of the current run (the activity's retries), written by the activity itself, and
  -- of the runs before it.
  attempts integer not null default 0,
  earlier_attempts integer not null default 0,
  row_count integer,
  skipped_reason text,
  error_category text,
  error_message text,
  errored_at timestamptz,
  deadline_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (privacy_request_id, action_type, collection)
);

-- What a complete request could not do (collections skipped): shown, filtered and exported.
alter table privacy_request add column warnings jsonb;
create index privacy_request_with_warnings on privacy_request (created_at desc, id desc) where warnings is not null;

-- The task rows of a request derived from its plan, execution log and manual tasks: how the task
-- view was computed before request_task existed. It fills request_task for requests planned
-- before this migration, and keeps it current for requests that still run on the workflow of
-- that time (privacyRequestWorkflow, whose status transitions call it).
create function refresh_request_tasks(request_id text) returns void language sql as $$
  with request as (
    select r.id, r.action_types, p.plan, p.datasets
    from privacy_request r join privacy_request_plan p on p.privacy_request_id = r.id
    where r.id = request_id
  ),
  planned as (
    select request.id, phase, position::integer - 1 as position, c ->> 'key' as collection, c ->> 'connectionKey' as connection_key,
      c ->> 'dataset' as dataset_name, c ->> 'collection' as collection_name,
      array(select jsonb_array_elements_text(c -> case when phase = 'access' then 'upstream' else 'erasureUpstream' end)) as upstream,
      coalesce((
        select (d -> 'fides_meta' ->> 'manual')::boolean from jsonb_array_elements(request.datasets -> (c ->> 'dataset') -> 'collections') d
        where d ->> 'name' = c ->> 'collection'
      ), false) or exists (select 1 from connection_config cc where cc.key = c ->> 'connectionKey' and cc.connection_type = 'manual') as manual
    from request, jsonb_array_elements(request.plan -> 'collections') with ordinality as plan_collection (c, position),
      unnest(case when 'erasure' = any(request.action_types) then array['access', 'erasure'] else array['access'] end) as phase
  ),
  progress as (
    select l.dataset_name, l.collection_name, l.action_type,
      (array_agg(l.status order by l.id desc))[1] as last_status,
      (count(*) filter (where l.status in ('in_processing', 'retrying')))::int as attempts,
      (array_agg(l.row_count order by l.id desc) filter (where l.status in ('complete', 'skipped')))[1] as row_count,
      (array_agg(l.message order by l.id desc) filter (where l.status = 'skipped'))[1] as skipped_reason,
      (array_agg(l.message order by l.id desc) filter (where l.status = 'error'))[1] as error_message,
      (array_agg(l.error_category order by l.id desc) filter (where l.status = 'error'))[1] as error_category,
      max(l.created_at) filter (where l.status = 'error') as errored_at,
      min(l.created_at) as started_at,
      max(l.created_at) filter (where l.status in ('complete', 'skipped')) as finished_at,
      max(l.created_at) as updated_at,
      -- Event keys end with `:run:event` (src/domain/lifecycle.ts eventKey).
      max(case when reverse(split_part(reverse(l.event_key), ':', 2)) ~ '^[0-9]{1,9}$' then reverse(split_part(reverse(l.event_key), ':', 2))::integer end) as run
    from execution_log l where l.privacy_request_id = request_id
    group by l.dataset_name, l.collection_name, l.action_type
  ),
  manual as (
    select distinct on (m.collection, m.action_type) m.collection, m.action_type, m.run, m.status, m.deadline_at, m.created_at, m.updated_at
    from manual_task m where m.privacy_request_id = request_id
    order by m.collection, m.action_type, m.run desc
  )
  insert into request_task (privacy_request_id, action_type, collection, connection_key, position, manual, upstream, status, run, attempts, row_count,
    skipped_reason, error_category, error_message, errored_at, deadline_at, started_at, finished_at, updated_at)
  select planned.id, planned.phase, planned.collection, planned.connection_key, planned.position, planned.manual or m.collection is not null, planned.upstream,
    case
      when p.last_status is null or p.last_status = 'paused' then
        case when m.status = 'awaiting_input' then case when m.deadline_at <= now() then 'paused' else 'awaiting_input' end
             else case when p.last_status is null then 'pending' else 'awaiting_input' end end
      when p.last_status in ('in_processing', 'retrying') then 'in_processing'
      when p.last_status in ('complete', 'skipped', 'error') then p.last_status
      else 'pending'
    end,
    greatest(coalesce(m.run, 1), coalesce(p.run, 1)),
    coalesce(p.attempts, 0), p.row_count,
    case when p.last_status = 'skipped' then p.skipped_reason end,
    p.error_category,
    case when p.error_category is not null and p.error_message like p.error_category || ': %' then substr(p.error_message, length(p.error_category) + 3) else p.error_message end,
    p.errored_at, m.deadline_at, coalesce(p.started_at, m.created_at), p.finished_at, coalesce(p.updated_at, m.updated_at, now())
  from planned
  left join progress p on p.dataset_name = planned.dataset_name and p.collection_name = planned.collection_name and p.action_type = planned.phase
  left join manual m on m.collection = planned.collection and m.action_type = planned.phase
  on conflict (privacy_request_id, action_type, collection) do update set
    manual = excluded.manual, status = excluded.status, run = excluded.run, attempts = excluded.attempts, row_count = excluded.row_count,
    skipped_reason = excluded.skipped_reason, error_category = excluded.error_category, error_message = excluded.error_message,
    errored_at = excluded.errored_at, deadline_at = excluded.deadline_at, started_at = excluded.started_at,
    finished_at = excluded.finished_at, updated_at = excluded.updated_at
$$;

select refresh_request_tasks(privacy_request_id) from privacy_request_plan;
