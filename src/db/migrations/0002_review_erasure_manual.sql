-- Review, erasure confirmation, erasure and manual collections.

alter table privacy_request
  -- Asked for by the request itself (the policy may ask too).
  add column requires_erasure_confirmation boolean not null default false,
  add column denial_reason text,
  add column paused_at timestamptz,
  -- Per collection, how many rows erasure would change; shown while awaiting confirmation.
  add column erasure_preview jsonb,
  -- Per-request secret for masking (AES-256-GCM, see src/crypto.ts): a retried erasure writes the same values.
  add column masking_secret_encrypted bytea;

-- A collection a person handles (connection type `manual`, or `fides_meta.manual`): what they
-- must do (action_needed: locators, fields to get or update) and until when.
create table manual_task (
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  collection text not null,
  action_type text not null check (action_type in ('access', 'erasure')),
  run integer not null,
  action_needed jsonb not null,
  deadline_at timestamptz not null,
  status text not null default 'awaiting_input' check (status in ('awaiting_input', 'complete', 'skipped')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (privacy_request_id, collection, action_type, run)
);
