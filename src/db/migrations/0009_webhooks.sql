-- Signed webhooks (Standard Webhooks): who wants which events, and every delivery of an event to
-- one of them, with each attempt. Deliveries are written in the transaction of the transition
-- that caused them (an outbox) and sent by a Temporal workflow per delivery, with retries.

create table webhook_subscription (
  -- `whk_<uuid>`
  id text primary key,
  url text not null,
  -- AES-256-GCM of the `whsec_…` signing secret (see src/crypto.ts); never returned by the API.
  secret_encrypted bytea not null,
  event_types text[] not null check (cardinality(event_types) > 0),
  description text,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table webhook_delivery (
  -- `whd_<uuid>`; also the `webhook-id` header, the same on every attempt.
  id text primary key,
  -- The event this delivers (one event goes to every subscription that wants its type).
  event_id text not null,
  event_type text not null,
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  subscription_id text not null references webhook_subscription (id) on delete cascade,
  -- The body sent, as built when the event happened: ids, statuses and times, never identities.
  body jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  last_status_code integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (event_id, subscription_id)
);
create index webhook_delivery_subscription on webhook_delivery (subscription_id, created_at desc, id desc);
create index webhook_delivery_request on webhook_delivery (privacy_request_id);

-- Every attempt: the receiver's status code, or why there was none (never the secret).
create table webhook_delivery_attempt (
  delivery_id text not null references webhook_delivery (id) on delete cascade,
  attempt integer not null,
  status_code integer,
  error text,
  duration_ms integer not null,
  at timestamptz not null default now(),
  primary key (delivery_id, attempt)
);
