-- Regulatory deadlines, identity verification, duplicates and legal holds (issue 12).
-- Messages to the data subject and webhooks have their own tables (0008, 0009).

-- The policy's regime: what a request made under it defaults to.
alter table policy
  add column regulation text not null default 'gdpr'
    check (regulation in ('gdpr', 'ccpa', 'vcdpa', 'cpa', 'ctdpa', 'tdpsa', 'lgpd', 'custom')),
  -- For `custom`: the number of calendar days to respond.
  add column custom_days integer check (custom_days between 1 and 366),
  add column requires_identity_verification boolean not null default false;

alter table privacy_request drop constraint privacy_request_status_check;
alter table privacy_request add constraint privacy_request_status_check check (status in (
  'identity_unverified', 'pending', 'approved', 'denied', 'in_processing', 'paused',
  'awaiting_erasure_confirmation', 'error', 'complete', 'canceled', 'duplicate'));

alter table privacy_request
  add column regulation text not null default 'gdpr'
    check (regulation in ('gdpr', 'ccpa', 'vcdpa', 'cpa', 'ctdpa', 'tdpsa', 'lgpd', 'custom')),
  -- When the request must be answered, from receipt (or from verification, where the regime says so).
  add column due_at timestamptz,
  -- CCPA: confirm receipt within 10 business days.
  add column acknowledge_by timestamptz,
  -- One extension per request: the new due date, why, when and by whom.
  add column extended_due_at timestamptz,
  add column extension_reason text,
  add column extended_at timestamptz,
  add column extended_by text,
  add column identity_verified_at timestamptz,
  -- Why a request was denied, as a code (insuf_verification), and when.
  add column denial_reason_code text,
  add column denied_at timestamptz,
  -- A duplicate of an open (or recent) request for the same identity and policy: never run.
  add column duplicate_of text references privacy_request (id) on delete set null,
  -- The hash of the identities a duplicate is recognised by (never the values).
  add column identity_digest text,
  add column legal_hold boolean not null default false,
  add column legal_hold_reason text;

create index privacy_request_due on privacy_request ((coalesce(extended_due_at, due_at)), id)
  where status not in ('complete', 'denied', 'canceled', 'duplicate');
create index privacy_request_identity_digest on privacy_request (identity_digest, policy_key, created_at desc);

-- The code a person must give to prove they are who the request names: stored hashed.
create table identity_verification (
  privacy_request_id text primary key references privacy_request (id) on delete cascade,
  code_hash text not null,
  expires_at timestamptz not null,
  attempts integer not null default 0,
  verified_at timestamptz,
  locked_at timestamptz,
  created_at timestamptz not null default now()
);
