-- Messages to the data subject (receipt, verification code, extension, denial, completion), sent
-- over SMTP by the worker (src/execution/messages.ts), and the templates they are written from.

-- One row per message, claimed (status sending) in its own transaction before the SMTP server is
-- called: a second attempt with the same idempotency key never sends it again.
create table message (
  id bigserial primary key,
  privacy_request_id text not null references privacy_request (id) on delete cascade,
  message_type text not null check (message_type in ('receipt', 'verification_code', 'extension', 'denial', 'completion')),
  idempotency_key text not null unique,
  -- sha256 (hex) of the lower-cased address: which address it went to can be checked, never read.
  recipient_hash text,
  -- sending: claimed, the SMTP server called; sent: accepted by it; skipped: no SMTP server or no
  -- email identity; uncertain: an attempt died mid-send (it may or may not have arrived, never
  -- sent twice); failed: the server refused it for good (5xx).
  status text not null check (status in ('sending', 'sent', 'skipped', 'uncertain', 'failed')),
  -- The Message-ID header (deterministic from the idempotency key).
  provider_message_id text,
  attempts integer not null default 1,
  error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index message_privacy_request on message (privacy_request_id, id);
-- What an operator looks at: messages that may not have arrived.
create index message_attention on message (created_at) where status in ('uncertain', 'failed');

-- An operator's wording for a message type; without a row the built-in default applies
-- (src/messages/templates.ts).
create table message_template (
  message_type text primary key check (message_type in ('receipt', 'verification_code', 'extension', 'denial', 'completion')),
  subject text not null,
  text_body text not null,
  html_body text not null,
  updated_at timestamptz not null default now(),
  updated_by text
);
