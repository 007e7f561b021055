-- SaaS connections (issue 13): Fides' saas_config per connection, and the rate limits their
-- requests share across every worker.

alter table connection_config drop constraint connection_config_connection_type_check;
alter table connection_config add constraint connection_config_connection_type_check
  check (connection_type in ('postgres', 'mariadb', 'http', 'saas', 'manual'));

-- One saas_config per connection: `config` as validated (with <instance_fides_key> filled in),
-- `source` the text as uploaded, for whoever wants to see the file they sent.
create table saas_config (
  connection_key text primary key references connection_config (key) on delete cascade,
  fides_key text not null,
  config jsonb not null,
  source text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Fixed windows per limit: a request takes a place in the current window of its key with one
-- atomic upsert, or waits for the next window. Windows older than a day are removed as new ones start.
create table saas_rate_limit (
  key text not null,
  window_start bigint not null,
  count integer not null,
  primary key (key, window_start)
);
