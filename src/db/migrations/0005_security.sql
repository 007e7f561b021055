-- Who may call the API, and who did what.
--
-- OAuth2 clients (client credentials) and users (people, with roles) get short-lived opaque
-- bearer tokens. Only hashes are stored: scrypt for client secrets and passwords, SHA-256 for
-- tokens (random 256-bit values, so a fast hash is enough and lookups stay an index probe).

create table oauth_client (
  id text primary key,
  name text,
  secret_hash text not null,
  scopes text[] not null,
  -- The root client comes from DSRFLOW_ROOT_CLIENT_ID/SECRET and cannot be changed through the API.
  root boolean not null default false,
  created_by text,
  created_at timestamptz not null default now(),
  secret_rotated_at timestamptz not null default now()
);

create table app_user (
  username text primary key,
  password_hash text not null,
  roles text[] not null,
  disabled boolean not null default false,
  -- Consecutive failed logins, and the lockout they caused.
  failed_logins integer not null default 0,
  locked_until timestamptz,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  password_changed_at timestamptz not null default now()
);

-- A token belongs to exactly one client or one user; deleting either deletes its tokens, which is
-- how revocation is immediate. The scopes a token grants are those it was issued with, narrowed
-- at every call to what its client or user holds now.
create table access_token (
  token_hash bytea primary key,
  client_id text references oauth_client (id) on delete cascade,
  username text references app_user (username) on delete cascade,
  scopes text[] not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  check ((client_id is null) <> (username is null))
);
create index access_token_client on access_token (client_id) where client_id is not null;
create index access_token_user on access_token (username) where username is not null;
create index access_token_expires_at on access_token (expires_at);

-- Every change to configuration (connections, datasets, policies, clients, users) and who made it.
create table configuration_change (
  id bigserial primary key,
  resource text not null,
  key text not null,
  change text not null,
  actor text not null,
  created_at timestamptz not null default now()
);
create index configuration_change_resource on configuration_change (resource, key, id);

-- Who submitted a request, and who downloaded a package (a client, a user, or a signed link).
alter table privacy_request add column created_by text;
alter table access_package_download add column actor text;
