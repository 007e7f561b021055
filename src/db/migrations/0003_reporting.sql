-- Reporting (issue 6): the error category of a failed collection step in its own column, and
-- the indexes that keep the listings fast at a million requests and their log rows
-- (test/integration/explain.test.ts checks the plans, bench/reporting.ts the times).

alter table execution_log
  add column error_category text check (error_category in ('authentication', 'permission', 'not_found', 'rate_limited', 'timeout', 'server', 'bad_data'));

-- Errors recorded before this column carry the category as the prefix of their message.
update execution_log
set error_category = substring(message from '^(authentication|permission|not_found|rate_limited|timeout|server|bad_data): ')
where status = 'error' and message ~ '^(authentication|permission|not_found|rate_limited|timeout|server|bad_data): ';

-- Filters that narrow the listing, each ending in the listing's order (created_at desc, id desc)
-- so a page is read straight from the index.
drop index privacy_request_status;
create index privacy_request_status on privacy_request (status, created_at desc, id desc);
create index privacy_request_policy_key on privacy_request (policy_key, created_at desc, id desc);

-- action_type=erasure (access is nearly every request, so it needs none).
create index privacy_request_erasure on privacy_request (created_at desc, id desc) where action_types @> '{erasure}';

-- Date filters on the processing timestamps; most requests have no errored_at.
create index privacy_request_started_processing_at on privacy_request (started_processing_at) where started_processing_at is not null;
create index privacy_request_finished_processing_at on privacy_request (finished_processing_at) where finished_processing_at is not null;
create index privacy_request_errored_at on privacy_request (errored_at) where errored_at is not null;

-- Verbose listings: the first 50 log entries of each dataset of a request, without reading the rest.
create index execution_log_privacy_request_dataset on execution_log (privacy_request_id, dataset_name, id);
