-- dsrflow's own store: configuration (connections, datasets, policies), privacy requests and
-- everything that proves what happened to them (execution log, audit log, access results).

-- Configuration -----------------------------------------------------------------------------

create table connection_config (
  key text primary key,
  name text,
  connection_type text not null check (connection_type in ('postgres', 'mariadb', 'http', 'manual')),
  access text not null check (access in ('read', 'write')),
  -- AES-256-GCM of the JSON secrets (see src/crypto.ts); never returned by the API.
  secrets_encrypted bytea,
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table dataset_config (
  fides_key text primary key,
  connection_key text not null references connection_config (key) on delete cascade,
  -- The validated fideslang dataset (one element of the YAML `dataset:` list), as JSON.
  dataset jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index dataset_config_connection_key on dataset_config (connection_key);

create table policy (
  key text primary key,
  name text not null,
  requires_approval boolean not null default false,
  requires_erasure_confirmation boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table policy_rule (
  policy_key text not null references policy (key) on delete cascade,
  key text not null,
  name text not null,
  action_type text not null check (action_type in ('access', 'erasure')),
  -- Erasure rules: {strategy, configuration}; null for access rules.
  masking_strategy jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (policy_key, key)
);

create table rule_target (
  policy_key text not null,
  rule_key text not null,
  key text not null,
  name text,
  data_category text not null,
  created_at timestamptz not null default now(),
  primary key (policy_key, rule_key, key),
  foreign key (policy_key, rule_key) references policy_rule (policy_key, key) on delete cascade
);

-- Privacy requests --------------------------------------------------------------------------

create table privacy_request (
  id text primary key,
  external_id text,
  policy_key text not null,
  -- The policy's action types when the request was made: the request keeps them if the policy changes.
  action_types text[] not null,
  status text not null check (status in (
    'identity_unverified', 'pending', 'approved', 'denied', 'in_processing', 'paused',
    'awaiting_erasure_confirmation', 'error', 'complete', 'canceled')),
  requested_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  reviewed_at timestamptz,
  reviewed_by text,
  started_processing_at timestamptz,
  finished_processing_at timestamptz,
  errored_at timestamptz,
  canceled_at timestamptz,
  -- Where a paused or failed request stopped: {step, collection, action_needed}.
  stopped_collection_details jsonb
);
create index privacy_request_created_at on privacy_request (created_at desc, id desc);
create index privacy_request_external_id on privacy_request (external_id text_pattern_ops);
create index privacy_request_status on privacy_request (status, created_at desc);

create table privacy_request_identity (
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  field_name text not null,
  -- AES-256-GCM, bound to the request id and field name; purged after expires_at.
  value_encrypted bytea not null,
  expires_at timestamptz not null,
  primary key (privacy_request_id, field_name)
);
create index privacy_request_identity_expires_at on privacy_request_identity (expires_at);

-- The policy and datasets as they were when the request was planned, and the plan itself:
-- configuration edits never change a running request.
create table privacy_request_plan (
  privacy_request_id text primary key references privacy_request (id) on delete cascade,
  policy jsonb not null,
  datasets jsonb not null,
  plan jsonb not null,
  created_at timestamptz not null default now()
);

-- Execution log: one row per step of one collection (in_processing, retrying, complete, error…).
-- event_key makes each row's insert idempotent under activity retries and worker crashes.
create table execution_log (
  id bigserial primary key,
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  event_key text not null,
  connection_key text,
  dataset_name text not null,
  collection_name text not null,
  action_type text not null check (action_type in ('access', 'erasure')),
  status text not null,
  message text,
  fields_affected jsonb,
  row_count integer,
  created_at timestamptz not null default now(),
  unique (privacy_request_id, event_key)
);
create index execution_log_privacy_request on execution_log (privacy_request_id, id);

-- Audit log: what happened to the request as a whole (approved, denied, finished…) and who did it.
create table audit_log (
  id bigserial primary key,
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  event_key text not null,
  action text not null,
  user_id text,
  message text,
  created_at timestamptz not null default now(),
  unique (privacy_request_id, event_key)
);
create index audit_log_privacy_request on audit_log (privacy_request_id, id);

-- Rows found by access, per collection. They never travel through Temporal history.
create table access_result (
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  dataset_name text not null,
  collection_name text not null,
  row_index integer not null,
  row jsonb not null,
  primary key (privacy_request_id, dataset_name, collection_name, row_index)
);
